"""Text domains extracted from what Debian installs on this machine.

The universe of files is every regular file that dpkg lists as installed by a package whose
maintainer is Debian's (third-party archives such as Google Cloud's or NodeSource's are left out,
see THIRD_PARTY_MAINTAINER), plus those packages' maintainer scripts (/var/lib/dpkg/info). Each domain is a rule on those paths (and, for shell, on the first
line). Sampling is deterministic: candidates are visited in the order of sha256(seed, domain, path),
so adding or removing a package only inserts or removes its own files from the order. Files are
read (gzip'd ones decompressed), rejected if they hold NUL bytes or are too short, de-duplicated by
the sha256 of their text, and assigned whole to one split, in visiting order: test until it holds
`eval_bytes`, then validation, then train until `train_bytes`. A file longer than the per-document
cap contributes one chunk of it, starting at a line boundary chosen from the same hash, so that
documents are not all licence headers.
"""

import gzip
import hashlib
import os
import re
import subprocess

# Packages from archives other than Debian's (present on this machine, not "what Debian installs").
THIRD_PARTY_MAINTAINER = re.compile(r"nodesource|google-cloud-sdk|googlegroups\.com|@google\.com",
                                    re.I)

# Domain rules. Each in-distribution domain is drawn from one coherent source (a project or a
# family of packages): pilot runs with broad domains (all of /usr/include, every Python file,
# every man page, all Markdown or JSON) gave LoRA experts only 1 to 9% over the base, because
# the base already knew what such a mixed domain shares with the others. held_out: no expert and
# no base training data; measures out-of-distribution generalisation; each held-out domain has
# in-distribution relatives (shell ~ perl, python; markdown ~ html; rst ~ cmake, whose modules
# document themselves in rst; pascal ~ ada; xml ~ svg, html).
DOMAINS = [
    dict(name="c_headers", held_out=False,
         desc="C headers of the Linux kernel API (package linux-libc-dev, *.h)"),
    dict(name="python", held_out=False,
         desc="Python: the SymPy library (package python3-sympy, *.py)"),
    dict(name="cmake", held_out=False, desc="CMake modules (*.cmake, CMakeLists.txt)"),
    dict(name="licences", held_out=False,
         desc="licences: /usr/share/common-licenses/* and /usr/share/doc/*/copyright"),
    dict(name="man", held_out=False,
         desc="manual pages of the Linux man-pages project, troff source (packages manpages, "
              "manpages-dev)"),
    dict(name="changelog", held_out=False,
         desc="package docs: Debian changelogs (/usr/share/doc/*/changelog.Debian.gz)"),
    dict(name="perl", held_out=False, desc="Perl modules and scripts (*.pm, *.pl)"),
    dict(name="html", held_out=False, desc="HTML (*.html, *.htm, *.html.gz)"),
    dict(name="javascript", held_out=False, desc="JavaScript, not minified (*.js, not *.min.js)"),
    dict(name="ada", held_out=False, desc="Ada (GNAT runtime sources, *.adb, *.ads)"),
    dict(name="locales", held_out=False,
         desc="glibc locale definitions (/usr/share/i18n/locales/*)"),
    dict(name="svg", held_out=False, desc="SVG images, mostly icons (*.svg)"),
    dict(name="m4", held_out=False, desc="m4 macros: autoconf, automake, libtool, gettext (*.m4)"),
    dict(name="alsa_conf", held_out=False,
         desc="ALSA configuration files (/usr/share/alsa/**/*.conf)"),
    dict(name="shell", held_out=True,
         desc="shell scripts: *.sh, or a #!/bin/sh, bash or dash first line, including dpkg "
              "maintainer scripts"),
    dict(name="markdown", held_out=True, desc="Markdown (*.md, *.markdown, *.md.gz)"),
    dict(name="rst", held_out=True, desc="reStructuredText (*.rst)"),
    dict(name="pascal", held_out=True, desc="Pascal (Free Pascal sources, *.pas, *.pp)"),
    dict(name="xml", held_out=True, desc="XML (*.xml, *.xml.gz)"),
]

MAINT_SCRIPTS = ("preinst", "postinst", "prerm", "postrm", "config")

_SHEBANG_SH = re.compile(rb"^#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b")


def _base(path):
    return path.rsplit("/", 1)[-1]


def _maybe_shell(path):
    b = _base(path)
    if b.endswith((".sh", ".bash")) or path.startswith("/var/lib/dpkg/info/"):
        return True
    if path.startswith(("/usr/include/", "/usr/share/man/", "/usr/share/doc/",
                        "/usr/share/locale/", "/usr/share/i18n/", "/usr/share/zoneinfo/",
                        "/usr/share/icons/", "/usr/share/fonts/", "/usr/lib/jvm/")):
        return False
    return "." not in b


def _match(name, p, pkg):
    b = _base(p)
    if name == "c_headers":
        return pkg == "linux-libc-dev" and b.endswith(".h")
    if name == "python":
        return pkg == "python3-sympy" and b.endswith(".py")
    if name == "cmake":
        return b.endswith(".cmake") or b == "CMakeLists.txt"
    if name == "licences":
        return (p.startswith("/usr/share/common-licenses/")
                or (p.startswith("/usr/share/doc/") and b == "copyright"))
    if name == "man":
        return (pkg in ("manpages", "manpages-dev")
                and re.match(r"/usr/share/man/man[0-9n][^/]*/[^/]+\.gz$", p) is not None)
    if name == "changelog":
        return p.startswith("/usr/share/doc/") and b == "changelog.Debian.gz"
    if name == "perl":
        return b.endswith((".pm", ".pl"))
    if name == "html":
        return b.endswith((".html", ".htm", ".html.gz"))
    if name == "javascript":
        return b.endswith(".js") and not b.endswith(".min.js")
    if name == "ada":
        return b.endswith((".adb", ".ads"))
    if name == "locales":
        return p.startswith("/usr/share/i18n/locales/")
    if name == "svg":
        return b.endswith(".svg")
    if name == "m4":
        return b.endswith(".m4")
    if name == "alsa_conf":
        return p.startswith("/usr/share/alsa/") and b.endswith(".conf")
    if name == "shell":
        return _maybe_shell(p)
    if name == "markdown":
        return b.endswith((".md", ".markdown", ".md.gz"))
    if name == "rst":
        return b.endswith(".rst")
    if name == "pascal":
        return b.endswith((".pas", ".pp"))
    if name == "xml":
        return b.endswith((".xml", ".xml.gz"))
    raise KeyError(name)


def debian_files():
    """(path -> package) for regular files installed by Debian's packages; sorted paths."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Architecture}\t${Maintainer}\n"],
                         capture_output=True, text=True, check=True).stdout
    owner = {}
    for line in sorted(out.splitlines()):
        pkg, arch, maint = line.split("\t", 2)
        if THIRD_PARTY_MAINTAINER.search(maint):
            continue
        for lst in (f"/var/lib/dpkg/info/{pkg}:{arch}.list", f"/var/lib/dpkg/info/{pkg}.list"):
            if os.path.exists(lst):
                with open(lst, encoding="utf-8", errors="surrogateescape") as fh:
                    for p in fh:
                        p = p.rstrip("\n")
                        if p and p not in owner:
                            owner[p] = pkg
                break
        # maintainer scripts, installed by dpkg from the package's control area
        for ext in MAINT_SCRIPTS:
            for p in (f"/var/lib/dpkg/info/{pkg}:{arch}.{ext}", f"/var/lib/dpkg/info/{pkg}.{ext}"):
                if os.path.exists(p):
                    owner.setdefault(p, pkg)
    files = {}
    for p in sorted(owner):
        try:
            if os.path.isfile(p) and not os.path.islink(p):
                files[p] = owner[p]
        except OSError:
            pass
    return files


def _order_key(seed, domain, path):
    return hashlib.sha256(f"{seed}\0{domain}\0{path}".encode("utf-8", "surrogateescape")).digest()


def _read(path, max_raw=8 << 20):
    """(raw file bytes, text bytes) or None."""
    try:
        if os.path.getsize(path) > max_raw:
            return None
        with open(path, "rb") as fh:
            raw = fh.read()
        text = gzip.decompress(raw) if path.endswith(".gz") else raw
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return raw, text


def _chunk(text, cap, key):
    """text itself if short, else `cap` bytes starting at a line boundary picked by `key`."""
    if len(text) <= cap:
        return text
    starts = [0] + [m.end() for m in re.finditer(rb"\n", text[: len(text) - cap // 2])]
    start = starts[int.from_bytes(key[:8], "little") % len(starts)]
    piece = text[start:start + cap]
    nl = piece.rfind(b"\n")
    if nl > cap // 2:
        piece = piece[: nl + 1]
    return piece


def extract(seed, eval_bytes, eval_doc_cap, train_bytes, train_doc_cap, fewshot_n, fewshot_cap,
            min_doc=192, files=None, domains=None, log=print):
    """Returns {domain: dict(test=[(path, pkg, sha, text)], validation=[...], train=[...],
    fewshot=[...], n_candidates=int)}."""
    files = debian_files() if files is None else files
    paths = list(files)
    result = {}
    for d in (domains or DOMAINS):
        name = d["name"]
        cands = [p for p in paths if _match(name, p, files[p])]
        cands.sort(key=lambda p: _order_key(seed, name, p))
        seen = set()
        splits = dict(test=[], validation=[], train=[])
        sizes = dict(test=0, validation=0, train=0)
        n_read = 0
        for p in cands:
            if sizes["train"] >= train_bytes and len(splits["train"]) >= fewshot_n:
                break
            if name == "shell" and not _base(p).endswith((".sh", ".bash")):
                try:
                    with open(p, "rb") as fh:
                        if not _SHEBANG_SH.match(fh.read(64)):
                            continue
                except OSError:
                    continue
            r = _read(p)
            if r is None:
                continue
            raw, text = r
            n_read += 1
            if b"\0" in text or len(text) < min_doc:
                continue
            if name == "man" and text.lstrip().startswith(b".so "):
                continue
            th = hashlib.sha256(text).digest()
            if th in seen:
                continue
            seen.add(th)
            key = _order_key(seed, name + "/chunk", p)
            if sizes["test"] < eval_bytes:
                split, cap = "test", eval_doc_cap
            elif sizes["validation"] < eval_bytes:
                split, cap = "validation", eval_doc_cap
            else:
                split, cap = "train", train_doc_cap
            piece = _chunk(text, cap, key)
            splits[split].append((p, files[p], hashlib.sha256(raw).hexdigest(), piece))
            sizes[split] += len(piece)
        fewshot = [(p, pkg, sha, _chunk(t, fewshot_cap, _order_key(seed, name + "/fewshot", p)))
                   for (p, pkg, sha, t) in splits["train"][:fewshot_n]]
        result[name] = dict(splits, fewshot=fewshot, n_candidates=len(cands), held_out=d["held_out"],
                            desc=d["desc"])
        log(f"corpus {name:11s} candidates {len(cands):6d}  files test/val/train "
            f"{len(splits['test'])}/{len(splits['validation'])}/{len(splits['train'])}  bytes "
            f"{sizes['test']}/{sizes['validation']}/{sizes['train']}")
    return result
