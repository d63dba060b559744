#!/usr/bin/python3
"""Build moerge's expert zoo: a byte-level Llama base and domain experts trained on Debian's text.

    /usr/bin/python3 tools/zoo/build_zoo.py [--quick] [--out DIR] [--seed N] [--resume]

Without --quick the zoo is written to data/zoo/ of this repository (about 55 minutes on 2 cores);
--quick uses tiny sizes and a few steps, writes to a temporary directory, then runs check_zoo.py
on the result and exits non-zero if it fails. --resume (a development aid) reuses an expert or
base already in --out whose recorded hyper-parameters match; the committed zoo is built fresh.
See data/zoo/README.md for what is built and how.
"""

import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# The 2 cores are shared with other builds: spinning OpenMP workers then cost 3-5x per step.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import corpus  # noqa: E402
import llama  # noqa: E402
from llama import BOS, EOS  # noqa: E402

FULL = dict(
    model=dict(d=128, n_layers=4, n_heads=4, d_ff=344, ctx=128, rope_theta=10000.0, eps=1e-5),
    corpus=dict(eval_bytes=20000, eval_doc_cap=2048, train_bytes=1200000, train_doc_cap=32768,
                heldout_train_bytes=24000, fewshot_n=5, fewshot_cap=1024),
    base=dict(steps=1000, batch=32, lr=3e-3, warmup=100, final_lr_frac=0.1, wd=0.1),
    lora=dict(r=8, alpha=16, steps=250, batch=24, lr=5e-3, warmup=10, final_lr_frac=0.1),
    multitask=dict(steps=600, batch=32, lr=3e-3, warmup=20, final_lr_frac=0.1),
    gates=dict(steps=100, batch=8, lr=1e-2),
    full=dict(domains=["c_headers", "python", "cmake", "licences", "man", "changelog", "perl",
                       "html"],
              steps=150, batch=32, lr=1e-3, warmup=10, final_lr_frac=0.1, wd=0.0),
    fisher=dict(n_windows=64),
    eval=dict(batch=64),
    max_total_mb=40.0,
)

QUICK = dict(
    model=dict(d=32, n_layers=2, n_heads=2, d_ff=64, ctx=64, rope_theta=10000.0, eps=1e-5),
    corpus=dict(eval_bytes=1200, eval_doc_cap=512, train_bytes=16000, train_doc_cap=4096,
                heldout_train_bytes=3000, fewshot_n=5, fewshot_cap=256),
    base=dict(steps=30, batch=8, lr=3e-3, warmup=5, final_lr_frac=0.1, wd=0.1),
    lora=dict(r=4, alpha=8, steps=6, batch=4, lr=3e-3, warmup=1, final_lr_frac=0.1),
    multitask=dict(steps=8, batch=4, lr=3e-3, warmup=1, final_lr_frac=0.1),
    gates=dict(steps=4, batch=2, lr=1e-2),
    full=dict(domains=["c_headers", "python"], steps=4, batch=4, lr=1e-3, warmup=1,
              final_lr_frac=0.1, wd=0.0),
    fisher=dict(n_windows=4),
    eval=dict(batch=64),
    max_total_mb=40.0,
)

LORA_PREFIX = "base_model.model."


def log(msg):
    print(msg, flush=True)


def stage_seed(seed, *parts):
    h = hashlib.sha256(("\0".join([str(seed)] + [str(p) for p in parts])).encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


def hp_hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def fmt_time(s):
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s"


# ---------------------------------------------------------------------------------------------
# data

class Stream:
    """The training documents of one domain as one byte array with document offsets."""

    def __init__(self, docs):
        self.data = np.frombuffer(b"".join(docs), dtype=np.uint8).astype(np.int64)
        self.lens = np.array([len(d) for d in docs], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lens)[:-1]])
        self.p = self.lens / self.lens.sum()

    def sample(self, rng, n, L):
        """n windows of up to L bytes lying inside one document each: inputs [BOS, b0..b(L-2)],
        targets [b0..b(L-1)], -100 past a short document's end (the same windows as the bpb)."""
        doc = rng.choice(len(self.lens), size=n, p=self.p)
        ln = self.lens[doc]
        off = (rng.random(n) * np.maximum(ln - L + 1, 1)).astype(np.int64)
        pos = np.arange(L)[None, :]
        valid = pos < (ln - off)[:, None]
        idx = np.where(valid, self.starts[doc][:, None] + off[:, None] + pos, 0)
        tgt = np.where(valid, self.data[idx], -100)
        inp = np.empty_like(tgt)
        inp[:, 0] = BOS
        inp[:, 1:] = np.where(tgt[:, :-1] >= 0, tgt[:, :-1], EOS)
        return torch.from_numpy(inp), torch.from_numpy(tgt)


def sample_mixture(streams, names, rng, n, L):
    """n windows, each from a domain drawn uniformly from `names`."""
    which = rng.integers(0, len(names), size=n)
    inps, tgts = [], []
    for j, name in enumerate(names):
        k = int((which == j).sum())
        if k:
            i, t = streams[name].sample(rng, k, L)
            inps.append(i)
            tgts.append(t)
    perm = torch.from_numpy(rng.permutation(n))
    return torch.cat(inps)[perm], torch.cat(tgts)[perm]


def eval_windows(docs, L):
    """All windows of all documents, as padded [N, L] inputs and targets (bpb definition)."""
    inps, tgts = [], []
    for d in docs:
        b = np.frombuffer(d, dtype=np.uint8).astype(np.int64)
        for s in range(0, len(b), L):
            w = b[s:s + L]
            t = np.full(L, -100, dtype=np.int64)
            t[:len(w)] = w
            i = np.full(L, EOS, dtype=np.int64)
            i[0] = BOS
            i[1:len(w)] = w[:-1]
            inps.append(i)
            tgts.append(t)
    return torch.from_numpy(np.stack(inps)), torch.from_numpy(np.stack(tgts))


@torch.no_grad()
def bits_per_byte(params, cfg, windows, batch, adapters=None):
    inp, tgt = windows
    total_bits, total_bytes = 0.0, 0
    for s in range(0, len(inp), batch):
        logits = llama.forward(params, cfg, inp[s:s + batch], adapters)
        t = tgt[s:s + batch]
        lp = torch.log_softmax(logits, dim=-1)
        mask = t >= 0
        nll = -lp.gather(-1, t.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        total_bits += float(nll[mask].double().sum()) / math.log(2)
        total_bytes += int(mask.sum())
    return total_bits / total_bytes, total_bytes


# ---------------------------------------------------------------------------------------------
# training

def lr_at(step, steps, hp):
    warm = hp.get("warmup", 0)
    if step < warm:
        return hp["lr"] * (step + 1) / warm
    frac = (step - warm) / max(1, steps - warm)
    lo = hp.get("final_lr_frac", 1.0)
    return hp["lr"] * (lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * frac)))


def train_loop(tag, params_to_opt, loss_fn, hp, steps, seed, decay=None, clip=1.0, progress=None,
               groups=None):
    """Adam(W) with warmup + cosine; loss_fn(rng) -> scalar loss in nats per byte. `groups`
    (optional) are param groups with an "lr_mult"."""
    rng = np.random.default_rng(seed)
    if groups is None:
        groups = [{"params": params_to_opt, "weight_decay": 0.0}]
    if decay:
        groups = [{"params": [p for p in params_to_opt if p.dim() >= 2], "weight_decay": decay},
                  {"params": [p for p in params_to_opt if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=hp["lr"], betas=(0.9, 0.95), eps=1e-8)
    t0 = time.time()
    every = max(1, steps // 10)
    ema = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, hp) * g.get("lr_mult", 1.0)
        loss = loss_fn(rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params_to_opt, clip)
        opt.step()
        bpb = float(loss) / math.log(2)
        ema = bpb if ema is None else 0.9 * ema + 0.1 * bpb
        if step % every == 0 or step == steps - 1:
            el = time.time() - t0
            rate = (step + 1) / el
            eta = (steps - step - 1) / rate
            extra = progress() if progress else ""
            log(f"  [{tag}] step {step + 1}/{steps}  loss {bpb:.4f} bpb (ema {ema:.4f})  "
                f"lr {opt.param_groups[0]['lr']:.2e}  {rate:.2f} step/s  ETA {fmt_time(eta)}{extra}")
    return time.time() - t0


def lm_loss(params, cfg, inp, tgt, adapters=None):
    logits = llama.forward(params, cfg, inp, adapters)
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1), ignore_index=-100)


def new_lora(cfg, r, gen):
    lora = {}
    for mod, d_in, d_out in llama.lora_modules(cfg):
        bound = 1.0 / math.sqrt(d_in)  # PEFT default: kaiming_uniform_(a=sqrt(5)) on A, B = 0
        a = (torch.rand(r, d_in, generator=gen) * 2 - 1) * bound
        lora[mod] = (a.requires_grad_(True), torch.zeros(d_out, r, requires_grad=True))
    return lora


# ---------------------------------------------------------------------------------------------
# writers

def write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")


def save_hf_model(dirpath, cfg, params, dtype):
    os.makedirs(dirpath, exist_ok=True)
    c = dict(cfg)
    c["torch_dtype"] = {torch.float32: "float32", torch.bfloat16: "bfloat16"}[dtype]
    write_json(os.path.join(dirpath, "config.json"), c)
    llama.save_safetensors(os.path.join(dirpath, "model.safetensors"),
                           {k: v.detach().to(dtype) for k, v in params.items()})


def save_lora(dirpath, lora, hp, base_rel):
    os.makedirs(dirpath, exist_ok=True)
    write_json(os.path.join(dirpath, "adapter_config.json"), {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base_rel,
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "layers_pattern": None, "layers_to_transform": None,
        "lora_alpha": hp["alpha"], "lora_dropout": 0.0, "modules_to_save": None,
        "peft_type": "LORA", "r": hp["r"], "rank_pattern": {}, "revision": None,
        "target_modules": list(llama.LORA_TARGETS), "task_type": "CAUSAL_LM",
        "use_dora": False, "use_rslora": False})
    tensors = {}
    for mod, (a, b) in lora.items():
        tensors[f"{LORA_PREFIX}{mod}.lora_A.weight"] = a.detach().float()
        tensors[f"{LORA_PREFIX}{mod}.lora_B.weight"] = b.detach().float()
    llama.save_safetensors(os.path.join(dirpath, "adapter_model.safetensors"), tensors)


def load_lora(dirpath):
    t = llama.load_safetensors(os.path.join(dirpath, "adapter_model.safetensors"))
    lora = {}
    for k in t:
        if k.endswith(".lora_A.weight"):
            mod = k[len(LORA_PREFIX):-len(".lora_A.weight")]
            lora[mod] = (t[k], t[k.replace("lora_A", "lora_B")])
    return lora


def reuse_ok(dirpath, hph, files, resume):
    if not resume:
        return False
    meta = os.path.join(dirpath, "moerge_expert.json")
    if not all(os.path.exists(os.path.join(dirpath, f)) for f in files + ["moerge_expert.json"]):
        return False
    with open(meta) as fh:
        return json.load(fh).get("hyperparameters_hash") == hph


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, a few steps, then check")
    ap.add_argument("--out", help="output directory (default: data/zoo, or a temp dir with --quick)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true",
                    help="reuse base/experts already in --out with the same hyper-parameters")
    ap.add_argument("--keep", action="store_true", help="with --quick: keep the temp dir")
    ap.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE",
                    help="override a hyper-parameter (tuning aid), e.g. --set base.steps=800")
    args = ap.parse_args()

    t_start = time.time()
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    HP = json.loads(json.dumps(QUICK if args.quick else FULL))
    for kv in args.set:
        key, val = kv.split("=", 1)
        stage, name = key.split(".", 1)
        HP[stage][name] = json.loads(val)
    torch.set_num_threads(args.threads)
    tmp_out = None
    if args.out:
        out = os.path.abspath(args.out)
    elif args.quick:
        out = tmp_out = tempfile.mkdtemp(prefix="moerge-zoo-quick-")
    else:
        out = os.path.join(REPO, "data", "zoo")
    if not args.resume and os.path.isdir(out):
        for sub in ("base", "experts", "eval", "results"):
            shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    argv = ["/usr/bin/python3", "tools/zoo/build_zoo.py"] + sys.argv[1:]
    log(f"zoo build: {'quick' if args.quick else 'full'}, seed {args.seed}, out {out}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    timings = {}

    # --- corpus -------------------------------------------------------------------------------
    t0 = time.time()
    ch = HP["corpus"]
    files = corpus.debian_files()
    log(f"corpus: {len(files)} files installed by Debian packages")
    doms_in = [d for d in corpus.DOMAINS if not d["held_out"]]
    doms_ho = [d for d in corpus.DOMAINS if d["held_out"]]
    data = {}
    for group, tb in ((doms_in, ch["train_bytes"]), (doms_ho, ch["heldout_train_bytes"])):
        data.update(corpus.extract(args.seed, ch["eval_bytes"], ch["eval_doc_cap"], tb,
                                   ch["train_doc_cap"], ch["fewshot_n"], ch["fewshot_cap"],
                                   files=files, domains=group, log=log))
    bad = [n for n, d in data.items()
           if not d["test"] or not d["validation"] or len(d["fewshot"]) < ch["fewshot_n"]
           or (not d["held_out"] and sum(len(x[3]) for x in d["train"]) < ch["train_bytes"] // 4)]
    if bad:
        sys.exit(f"error: not enough text on this machine for domain(s) {', '.join(bad)}")
    id_names = [d["name"] for d in doms_in]
    ho_names = [d["name"] for d in doms_ho]
    all_names = id_names + ho_names

    eval_root = os.path.join(out, "eval")
    manifest_rows = []
    for name in all_names:
        d = data[name]
        for split in ("test", "validation", "fewshot", "train"):
            for i, (p, pkg, sha, text) in enumerate(d[split]):
                fname = "-"
                if split != "train":
                    base = os.path.basename(p)
                    base = base[:-3] if base.endswith(".gz") else base
                    base = "".join(c if c.isascii() and (c.isalnum() or c in "._+-") else "_"
                                   for c in base)
                    fname = f"{i:03d}-{base}"
                    dd = os.path.join(eval_root, name, split)
                    os.makedirs(dd, exist_ok=True)
                    with open(os.path.join(dd, fname), "wb") as fh:
                        fh.write(text)
                manifest_rows.append((name, split, fname, len(text), sha, pkg, p))
    with open(os.path.join(out, "corpus_manifest.tsv"), "w", encoding="utf-8",
              errors="surrogateescape") as fh:
        fh.write("# domain\tsplit\teval_file\tbytes_used\tsource_sha256\tpackage\tsource_path\n")
        for r in manifest_rows:
            fh.write("\t".join(str(x) for x in r) + "\n")
    domains_json = {"seed": args.seed, "held_out": ho_names, "in_distribution": id_names,
                    "domains": []}
    for dd in corpus.DOMAINS:
        d = data[dd["name"]]
        domains_json["domains"].append({
            "name": dd["name"], "held_out": dd["held_out"], "description": dd["desc"],
            "candidate_files": d["n_candidates"],
            **{f"{s}_files": len(d[s]) for s in ("train", "validation", "test", "fewshot")},
            **{f"{s}_bytes": sum(len(x[3]) for x in d[s])
               for s in ("train", "validation", "test", "fewshot")},
            "eval_dirs": {s: f"eval/{dd['name']}/{s}" for s in ("validation", "test", "fewshot")},
            "lora_expert": None if dd["held_out"] else f"experts/lora/{dd['name']}",
            "full_expert": (f"experts/full/{dd['name']}"
                            if dd["name"] in HP["full"]["domains"] else None)})
    write_json(os.path.join(out, "domains.json"), domains_json)
    streams = {n: Stream([x[3] for x in data[n]["train"]]) for n in id_names}
    timings["corpus"] = time.time() - t0
    log(f"corpus done in {fmt_time(timings['corpus'])}")

    # --- base ---------------------------------------------------------------------------------
    mh = HP["model"]
    cfg = llama.make_config(d=mh["d"], n_layers=mh["n_layers"], n_heads=mh["n_heads"],
                            d_ff=mh["d_ff"], ctx=mh["ctx"], rope_theta=mh["rope_theta"],
                            eps=mh["eps"])
    L = cfg["max_position_embeddings"]
    test_w = {n: eval_windows([x[3] for x in data[n]["test"]], L) for n in all_names}
    val_w = {n: eval_windows([x[3] for x in data[n]["validation"]], L) for n in all_names}
    eb = HP["eval"]["batch"]
    base_dir = os.path.join(out, "base")
    bh = HP["base"]
    base_hph = hp_hash([args.seed, HP["model"], HP["corpus"], bh])
    t0 = time.time()
    if reuse_ok(base_dir, base_hph, ["model.safetensors", "config.json"], args.resume):
        params = llama.load_safetensors(os.path.join(base_dir, "model.safetensors"))
        log("base: reused")
    else:
        gen = torch.Generator().manual_seed(stage_seed(args.seed, "base-init"))
        params = llama.init_params(cfg, gen)
        n_par = sum(v.numel() for v in params.values())
        log(f"base: {n_par} parameters, {bh['steps']} steps of {bh['batch']} x {L} bytes "
            f"on {len(id_names)} domains")
        for v in params.values():
            v.requires_grad_(True)
        probe = id_names[0]
        train_loop("base", list(params.values()),
                   lambda rng: lm_loss(params, cfg, *sample_mixture(streams, id_names, rng,
                                                                   bh["batch"], L)),
                   bh, bh["steps"], stage_seed(args.seed, "base-data"), decay=bh["wd"],
                   progress=lambda: f"  val[{probe}] "
                   f"{bits_per_byte(params, cfg, val_w[probe], eb)[0]:.3f}")
        params = {k: v.detach() for k, v in params.items()}
        save_hf_model(base_dir, cfg, params, torch.float32)
        write_json(os.path.join(base_dir, "moerge_expert.json"),
                   {"kind": "base", "hyperparameters": bh, "hyperparameters_hash": base_hph,
                    "train_domains": id_names, "seed": args.seed})
    timings["base"] = time.time() - t0
    log(f"base done in {fmt_time(timings['base'])}")

    # --- LoRA experts + PHATGOOSE gates -------------------------------------------------------
    lh, gh = HP["lora"], HP["gates"]
    scale = lh["alpha"] / lh["r"]
    loras = {}
    t0 = time.time()
    targets = id_names + ["multitask"]
    for j, name in enumerate(targets):
        t1 = time.time()
        ddir = os.path.join(out, "experts", "lora", name)
        hp = dict(lh, **HP["multitask"]) if name == "multitask" else lh
        train_names = id_names if name == "multitask" else [name]
        with_gates = name != "multitask"
        hph = hp_hash([args.seed, base_hph, name, hp, gh if with_gates else None])
        need = ["adapter_config.json", "adapter_model.safetensors"] + (
            ["phatgoose_gates.safetensors"] if with_gates else [])
        if reuse_ok(ddir, hph, need, args.resume):
            loras[name] = load_lora(ddir)
            log(f"lora {name}: reused")
            continue
        log(f"lora {name} ({j + 1}/{len(targets)}): r {hp['r']}, alpha {hp['alpha']}, "
            f"{hp['steps']} steps of {hp['batch']} x {L}")
        gen = torch.Generator().manual_seed(stage_seed(args.seed, "lora-init", name))
        lora = new_lora(cfg, hp["r"], gen)
        ad = llama.Adapters(lora, scale)
        train_loop(f"lora {name}", [t for ab in lora.values() for t in ab],
                   lambda rng: lm_loss(params, cfg, *sample_mixture(streams, train_names, rng,
                                                                   hp["batch"], L), ad),
                   hp, hp["steps"], stage_seed(args.seed, "lora-data", name))
        lora = {m: (a.detach(), b.detach()) for m, (a, b) in lora.items()}
        loras[name] = lora
        if name != "multitask":
            vb = bits_per_byte(params, cfg, val_w[name], eb)[0]
            ve = bits_per_byte(llama.merged_params(params, llama.Adapters(lora, scale)), cfg,
                               val_w[name], eb)[0]
            log(f"lora {name}: validation bpb base {vb:.4f} -> expert {ve:.4f} "
                f"({100 * (vb - ve) / vb:.1f}% better)")
        save_lora(ddir, lora, hp, "../../../base")
        meta = {"kind": "lora", "domain": name, "train_domains": train_names,
                "hyperparameters": hp, "hyperparameters_hash": hph, "seed": args.seed,
                "base": "../../../base"}
        if with_gates:
            # PHATGOOSE: a gate vector per module, sigmoid(v . x) scales that module's LoRA
            # output; trained with base and expert frozen, on the expert's training data.
            gates = {m: torch.zeros(a.shape[1], requires_grad=True) for m, (a, b) in lora.items()}
            gad = llama.Adapters(lora, scale, gates)
            train_loop(f"gates {name}", list(gates.values()),
                       lambda rng: lm_loss(params, cfg, *streams[name].sample(rng, gh["batch"], L),
                                           gad),
                       dict(gh, warmup=0, final_lr_frac=1.0), gh["steps"],
                       stage_seed(args.seed, "gates-data", name), clip=0)
            llama.save_safetensors(
                os.path.join(ddir, "phatgoose_gates.safetensors"),
                {f"{LORA_PREFIX}{m}.gate": v.detach() for m, v in gates.items()},
                {"method": "phatgoose", "steps": str(gh["steps"]), "batch": str(gh["batch"]),
                 "lr": str(gh["lr"]), "init": "zeros", "rule": "lora_out * sigmoid(gate . x)"})
            meta["phatgoose_gates"] = dict(gh, file="phatgoose_gates.safetensors")
        write_json(os.path.join(ddir, "moerge_expert.json"), meta)
        log(f"lora {name} done in {fmt_time(time.time() - t1)}")
    timings["lora"] = time.time() - t0

    # --- full fine-tunes + diagonal Fisher ----------------------------------------------------
    fh_, fish = HP["full"], HP["fisher"]
    fulls = {}
    t0 = time.time()
    for j, name in enumerate(fh_["domains"]):
        t1 = time.time()
        ddir = os.path.join(out, "experts", "full", name)
        hph = hp_hash([args.seed, base_hph, name, fh_, fish])
        if reuse_ok(ddir, hph, ["config.json", "model.safetensors", "fisher.safetensors"],
                    args.resume):
            fulls[name] = llama.load_safetensors(os.path.join(ddir, "model.safetensors"))
            log(f"full {name}: reused")
            continue
        log(f"full {name} ({j + 1}/{len(fh_['domains'])}): {fh_['steps']} steps of "
            f"{fh_['batch']} x {L}, lr {fh_['lr']}")
        p2 = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        train_loop(f"full {name}", list(p2.values()),
                   lambda rng: lm_loss(p2, cfg, *streams[name].sample(rng, fh_["batch"], L)),
                   fh_, fh_["steps"], stage_seed(args.seed, "full-data", name), decay=fh_["wd"])
        # shipped in bf16; everything downstream (Fisher, bpb) uses the bf16 values
        p2 = {k: v.detach().to(torch.bfloat16).float() for k, v in p2.items()}
        save_hf_model(ddir, cfg, p2, torch.bfloat16)
        # diagonal empirical Fisher: mean over n windows of the squared gradient of that
        # window's mean NLL (nats per byte), at the shipped weights
        rng = np.random.default_rng(stage_seed(args.seed, "fisher-data", name))
        inp, tgt = streams[name].sample(rng, fish["n_windows"], L)
        pf = {k: v.clone().requires_grad_(True) for k, v in p2.items()}
        fisher = {k: torch.zeros_like(v) for k, v in p2.items()}
        for n in range(fish["n_windows"]):
            for v in pf.values():
                v.grad = None
            lm_loss(pf, cfg, inp[n:n + 1], tgt[n:n + 1]).backward()
            for k, v in pf.items():
                fisher[k] += v.grad.detach() ** 2
        fisher = {k: (v / fish["n_windows"]).to(torch.bfloat16) for k, v in fisher.items()}
        llama.save_safetensors(os.path.join(ddir, "fisher.safetensors"), fisher,
                               {"method": "diagonal_empirical_fisher",
                                "n_windows": str(fish["n_windows"]), "window": str(L),
                                "loss": "mean NLL in nats per byte of each window",
                                "reduction": "mean over windows of squared gradients"})
        write_json(os.path.join(ddir, "moerge_expert.json"),
                   {"kind": "full", "domain": name, "hyperparameters": fh_,
                    "fisher": dict(fish, file="fisher.safetensors"),
                    "hyperparameters_hash": hph, "seed": args.seed, "dtype": "bfloat16"})
        fulls[name] = p2
        log(f"full {name} done in {fmt_time(time.time() - t1)}")
    timings["full"] = time.time() - t0

    # --- evaluation: bits per byte on every domain's test split --------------------------------
    t0 = time.time()
    systems = [("base", params, None)]
    systems += [(f"lora_{n}", llama.merged_params(params, llama.Adapters(loras[n], scale)), n)
                for n in id_names]
    systems += [("multitask",
                 llama.merged_params(params, llama.Adapters(loras["multitask"], scale)), None)]
    systems += [(f"full_{n}", fulls[n], n) for n in fh_["domains"]]
    res = {}
    n_bytes = {}
    for k, (sysname, p, _) in enumerate(systems):
        for n in all_names:
            res[(sysname, n)], n_bytes[n] = bits_per_byte(p, cfg, test_w[n], eb)
        el = time.time() - t0
        log(f"  [eval] {sysname} ({k + 1}/{len(systems)}) mean in-dist "
            f"{np.mean([res[(sysname, n)] for n in id_names]):.4f}  ETA "
            f"{fmt_time(el / (k + 1) * (len(systems) - k - 1))}")
    for n in id_names:
        res[("oracle", n)] = res[(f"lora_{n}", n)]
    val = {}
    for n in all_names:
        val[("base", n)], _ = bits_per_byte(params, cfg, val_w[n], eb)
        if n in id_names:
            val[("oracle", n)] = bits_per_byte(
                llama.merged_params(params, llama.Adapters(loras[n], scale)), cfg, val_w[n], eb)[0]
    timings["eval"] = time.time() - t0
    os.makedirs(os.path.join(out, "results"), exist_ok=True)
    sysnames = [s[0] for s in systems] + ["oracle"]
    with open(os.path.join(out, "results", "bpb.csv"), "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["system", "domain", "split", "n_bytes", "bits_per_byte"])
        for s in sysnames:
            for n in all_names:
                if (s, n) in res:
                    w.writerow([s, n, "held_out" if n in ho_names else "in_distribution",
                                n_bytes[n], repr(res[(s, n)])])
    with open(os.path.join(out, "results", "bpb_validation.csv"), "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["system", "domain", "split", "n_bytes", "bits_per_byte"])
        for (s, n), v in sorted(val.items(), key=lambda kv: (kv[0][0], all_names.index(kv[0][1]))):
            w.writerow([s, n, "held_out" if n in ho_names else "in_distribution",
                        int((val_w[n][1] >= 0).sum()), repr(v)])

    # --- criteria -----------------------------------------------------------------------------
    crit = []
    for n in id_names:
        b, e = res[("base", n)], res[(f"lora_{n}", n)]
        crit.append((f"lora_{n} >= 10% better than base on {n}", (b - e) / b >= 0.10,
                     f"{100 * (b - e) / b:.1f}%"))
    oracle_avg = float(np.mean([res[("oracle", n)] for n in id_names]))
    for s in sysnames:
        if s in ("oracle",):
            continue
        avg = float(np.mean([res[(s, n)] for n in id_names]))
        if s.startswith("lora_") or s == "multitask" or s.startswith("full_"):
            crit.append((f"oracle average beats {s} on all in-distribution domains",
                         oracle_avg < avg, f"{oracle_avg:.4f} < {avg:.4f}"))
    n_fail = sum(1 for c in crit if not c[1])
    note = " (informational with --quick: too few steps to specialise)" if args.quick else ""
    for c in crit:
        if not c[1] and not args.quick:
            log(f"criterion FAILED: {c[0]} ({c[2]})")
    log(f"criteria: {len(crit) - n_fail}/{len(crit)} hold{note}")

    # --- README, build info, MANIFEST ---------------------------------------------------------
    timings["total"] = time.time() - t_start
    info = {"command": " ".join(argv), "seed": args.seed, "quick": args.quick,
            "started_utc": started.isoformat(), "seconds": {k: round(v, 1) for k, v in timings.items()},
            "torch": torch.__version__, "numpy": np.__version__, "threads": args.threads,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "hyperparameters": HP,
            "criteria": [{"name": c[0], "holds": bool(c[1]), "value": c[2]} for c in crit]}
    write_json(os.path.join(out, "build_info.json"), info)
    import model_card
    with open(os.path.join(out, "README.md"), "w") as fh:
        fh.write(model_card.render(info, cfg, domains_json, res, val, sysnames, id_names,
                                   ho_names, n_bytes, params, loras, HP))
    write_manifest(out)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    log(f"zoo written to {out}: {total / 1e6:.2f} MB; total time {fmt_time(timings['total'])}")

    if args.quick:
        rc = subprocess.call(["/usr/bin/python3", os.path.join(HERE, "check_zoo.py"), out])
        if rc == 0 and tmp_out and not args.keep:
            shutil.rmtree(tmp_out)
        log(f"quick build {'passed' if rc == 0 else 'FAILED'} in {fmt_time(time.time() - t_start)}")
        sys.exit(rc)
    if n_fail:
        sys.exit(2)


def write_manifest(out):
    rows = []
    for r, _, fs in os.walk(out):
        for f in fs:
            p = os.path.join(r, f)
            rel = os.path.relpath(p, out)
            if rel == "MANIFEST.sha256":
                continue
            with open(p, "rb") as fh:
                rows.append((rel, hashlib.sha256(fh.read()).hexdigest()))
    with open(os.path.join(out, "MANIFEST.sha256"), "w") as fh:
        for rel, h in sorted(rows):
            fh.write(f"{h}  {rel}\n")


if __name__ == "__main__":
    main()
