"""Renders data/zoo/README.md (the model card) from the figures of one build."""

import numpy as np


def _f(x, nd=3):
    return f"{x:.{nd}f}"


def _mb(n):
    return f"{n / 1e6:.2f}"


def render(info, cfg, domains_json, res, val, sysnames, id_names, ho_names, n_bytes, params,
           loras, HP):
    all_names = id_names + ho_names
    secs = info["seconds"]
    n_par = sum(v.numel() for v in params.values())
    lh, mh, bh, fh, gh = HP["lora"], HP["multitask"], HP["base"], HP["full"], HP["gates"]
    n_lora = sum(a.numel() + b.numel() for a, b in next(iter(loras.values())).values())
    L = cfg["max_position_embeddings"]
    out = []
    w = out.append
    w("# moerge expert zoo\n")
    w("A small byte-level Llama-style base model and real domain experts (LoRA adapters in PEFT "
      "layout, full fine-tunes in Hugging Face layout), all trained on text that Debian installs "
      "on the build machine. moerge's demos, tests and benchmarks merge and route these experts. "
      "Everything here is produced by one command; this file too.\n")
    w("## How it was built\n")
    w("```\n" + info["command"] + "\n```\n")
    w(f"- seed {info['seed']}, started {info['started_utc']}, torch {info['torch']} (Debian, "
      f"OpenBLAS), {info['threads']} threads, {info['cpu_count']} CPUs ({info['machine']}), "
      f"Python {info['python']}")
    w("- time taken: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in secs.items() if k != "total")
      + f"; **total {secs['total'] / 60:.1f} min** (the machine was shared with other builds)")
    w("- `tools/zoo/build_zoo.py --quick` runs the same pipeline with tiny sizes in a temporary "
      "directory in well under 2 minutes and checks the result (`tools/zoo/test_quick.sh`).")
    w("- `tools/zoo/check_zoo.py data/zoo --full` checks names, shapes and dtypes against the "
      "Llama / PEFT conventions with numpy only (its own safetensors parser), re-computes bits per "
      "byte with an independent numpy forward pass, verifies `MANIFEST.sha256`, the size budget "
      "and the specialisation criteria below.")
    w("- Deterministic given the same installed files and the same seed (sorted paths, hash-ordered "
      "sampling, seeded generators); float results may differ in the last bits with another BLAS "
      "or thread count.\n")

    w("## Layout\n")
    w("```")
    w("base/{config.json, model.safetensors}            LlamaForCausalLM, float32")
    w("experts/lora/<domain>/adapter_config.json        PEFT LoRA (one per in-distribution domain)")
    w("experts/lora/<domain>/adapter_model.safetensors  float32")
    w("experts/lora/<domain>/phatgoose_gates.safetensors PHATGOOSE gate per LoRA module, float32")
    w("experts/lora/multitask/...                       one LoRA on all in-distribution domains")
    w("experts/full/<domain>/{config.json, model.safetensors}  full fine-tune, bfloat16")
    w("experts/full/<domain>/fisher.safetensors         diagonal Fisher, bfloat16")
    w("experts/*/<name>/moerge_expert.json              how the expert was trained")
    w("eval/<domain>/{test,validation}/                 evaluation text, one document per file")
    w("eval/<domain>/fewshot/                           5 short examples (LoraHub)")
    w("domains.json                                     domains, held-out flags, file counts")
    w("corpus_manifest.tsv                              every source file used, its sha256, package, split")
    w("results/bpb.csv, results/bpb_validation.csv      bits per byte (columns of design.md)")
    w("build_info.json                                  command, seed, timings, hyper-parameters")
    w("MANIFEST.sha256                                  sha256sum of every file here (sha256sum -c)")
    w("```\n")
    w("`base_model_name_or_path` in each adapter_config.json is `../../../base`, the base "
      "directory relative to the adapter's own directory.\n")

    w("## Architecture\n")
    w(f"Hugging Face `LlamaForCausalLM` exactly (`config.json` with `model_type: llama`): "
      f"RMSNorm (fp32, eps {cfg['rms_norm_eps']}), RoPE (rotate_half, theta {cfg['rope_theta']:g}), "
      f"SwiGLU MLP, no biases, untied `lm_head`, multi-head attention (no GQA).\n")
    w("| hidden | layers | heads | head dim | intermediate | context | vocab | parameters |")
    w("|---|---|---|---|---|---|---|---|")
    w(f"| {cfg['hidden_size']} | {cfg['num_hidden_layers']} | {cfg['num_attention_heads']} | "
      f"{cfg['hidden_size'] // cfg['num_attention_heads']} | {cfg['intermediate_size']} | "
      f"{L} | {cfg['vocab_size']} | {n_par:,} |\n")
    w("Tokens: id = byte value 0..255, BOS = 256, EOS = 257. Tensor names are HF's: "
      "`model.embed_tokens.weight`, `model.layers.{i}.self_attn.{q,k,v,o}_proj.weight`, "
      "`model.layers.{i}.mlp.{gate,up,down}_proj.weight`, `model.layers.{i}.input_layernorm.weight`, "
      "`model.layers.{i}.post_attention_layernorm.weight`, `model.norm.weight`, `lm_head.weight`.\n")

    w("## Bits per byte\n")
    w(f"As in methods.md (\"Evaluation: bits per byte\"): each document is cut into "
      f"consecutive windows of L = {L} bytes (the last one shorter), a window b0..b(n-1) is fed as "
      f"[BOS, b0..b(n-2)] and all n bytes are scored; a domain's figure is total bits over total "
      f"bytes of its split. Training samples windows of the same form (inside one document, at a "
      f"random offset).\n")

    w("## Domains\n")
    w("The corpus is every regular file that dpkg lists for a package maintained in Debian, plus "
      "those packages' maintainer scripts (packages from the machine's third-party archives — "
      "Google Cloud CLI, kubectl, NodeSource's nodejs — are left out). A domain is a rule on paths "
      "and packages (and on the first line for shell). Candidates are visited in the order of "
      "sha256(seed, domain, path); gzip'd files are decompressed; files with NUL bytes, shorter "
      "than 192 bytes, `.so` man-page redirects and exact duplicates (same text) are skipped. "
      f"Each file goes whole to one split: test until it holds {HP['corpus']['eval_bytes']:,} "
      f"bytes, then validation, then train until {HP['corpus']['train_bytes']:,} bytes. A "
      f"document is at most {HP['corpus']['eval_doc_cap']} bytes in the eval splits and "
      f"{HP['corpus']['train_doc_cap']} in train: a longer file contributes one chunk starting at "
      "a line boundary picked by the same hash (so documents are not all licence headers). "
      "Few-shot examples are the first 5 train documents, cut to "
      f"{HP['corpus']['fewshot_cap']} bytes. `corpus_manifest.tsv` lists every source file used "
      "(domain, split, eval file name, bytes used, sha256 of the file as installed, package, "
      "path).\n")
    w("Held-out domains get no expert and give no training text to anything (their train split "
      "only supplies the few-shot examples); each has in-distribution relatives (shell ~ perl, "
      "python; markdown ~ html; rst ~ cmake, whose modules document themselves in rst; pascal ~ "
      "ada; xml ~ svg, html).\n")
    w("Why these domains. Each in-distribution domain comes from one coherent source (a project "
      "or a family of packages). Pilot runs (same base recipe, LoRA rank 8, 200 steps) with broad "
      "domains gave experts only a few percent over the base on their own validation split: all "
      "C headers of /usr/include 7%, every Python file 7 to 9%, every man page 6%, all shell "
      "scripts 8%, Markdown 5%, JSON 1% (70 unrelated files), Vim script 9%; the base already "
      "knew what such a mixed domain shares with the others. Narrowed to one source (Linux UAPI "
      "headers, the SymPy library, the Linux man-pages project) they became real specialists (the "
      "Python standard library alone was still not enough: 9%); shell and Markdown stay as "
      "held-out domains. The issue's examples YAML, "
      "assembly, diffs and Makefiles are absent because Debian's packages on this machine ship "
      "too little of them (5 YAML files, no .S or .diff files, and nearly all Makefiles are "
      "fpcmake's Makefile.fpc).\n")
    w("| domain | held out | source | candidate files | train files | train MB | val files | "
      "val bytes | test files | test bytes |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for d in domains_json["domains"]:
        w(f"| {d['name']} | {'yes' if d['held_out'] else ''} | {d['description']} | "
          f"{d['candidate_files']} | {d['train_files']} | {_mb(d['train_bytes'])} | "
          f"{d['validation_files']} | {d['validation_bytes']:,} | {d['test_files']} | "
          f"{d['test_bytes']:,} |")
    w("")

    w("## Training\n")
    w(f"- **base**: from HF's init (normal 0.02, norms 1), AdamW (0.9, 0.95), weight decay "
      f"{bh['wd']} on matrices, peak lr {bh['lr']}, {bh['warmup']} warm-up steps then cosine to "
      f"{bh['final_lr_frac']}x, clip 1.0; {bh['steps']} steps of {bh['batch']} x {L} bytes, each "
      f"window from an in-distribution domain drawn uniformly.")
    w(f"- **LoRA experts**: rank {lh['r']}, alpha {lh['alpha']} (scale {lh['alpha'] / lh['r']:g}, "
      f"no rsLoRA, no dropout) on q, k, v, o, gate, up, down of every layer ({n_lora:,} "
      f"parameters); PEFT init (A kaiming-uniform, B = 0); {lh['steps']} steps of "
      f"{lh['batch']} x {L} bytes of the domain, lr {lh['lr']} ({lh['warmup']} warm-up, cosine to "
      f"{lh['final_lr_frac']}x), base frozen.")
    w(f"- **multitask LoRA** (upper reference of the routing literature): same form, "
      f"{mh['steps']} steps of {mh['batch']} x {L} bytes from all in-distribution domains.")
    w(f"- **full fine-tunes** ({', '.join(fh['domains'])}): all parameters, {fh['steps']} steps "
      f"of {fh['batch']} x {L} bytes, lr {fh['lr']}, stored in bfloat16 (their figures below are "
      f"of the bf16 weights).")
    w(f"- **PHATGOOSE gates** (`phatgoose_gates.safetensors`, per LoRA expert, not the multitask "
      f"one): one vector v per LoRA module, key `base_model.model.<module>.gate`, shape [d_in]; "
      f"the module computes W0 x + sigmoid(v . x) * scale * B A x, where x is the module's input. "
      f"v starts at 0 and is trained for {gh['steps']} steps (Adam, lr {gh['lr']}, batch "
      f"{gh['batch']} x {L}) on the expert's training data with the base and the expert frozen, "
      f"as the expert's owner would (it needs gradients). moerge's PHATGOOSE router then scores "
      f"<LN(x), LN(v_e)> / sqrt(d).")
    w(f"- **Fisher** (`fisher.safetensors`, per full fine-tune): same names and shapes as the "
      f"model, bfloat16; the diagonal empirical Fisher, mean over "
      f"{HP['fisher']['n_windows']} training windows of the squared gradient of that window's "
      f"mean NLL (nats per byte), at the shipped bf16 weights. Input of Fisher merging.\n")

    w("## Results: bits per byte on the test splits\n")
    w("Computed by the Python trainer (`results/bpb.csv`); moerge's evaluator must reproduce "
      "them to float rounding. *oracle* is each domain's own LoRA expert.\n")
    w("| domain | base | own LoRA (oracle) | improvement | multitask | own full FT | "
      "best other LoRA |")
    w("|---|---|---|---|---|---|---|")
    for n in all_names:
        b = res[("base", n)]
        if n in id_names:
            e = res[(f"lora_{n}", n)]
            imp = f"{100 * (b - e) / b:.1f}%"
            es = _f(e)
        else:
            imp, es = "(held out)", "-"
        full = _f(res[(f"full_{n}", n)]) if (f"full_{n}", n) in res else "-"
        others = [(res[(f"lora_{m}", n)], m) for m in id_names if m != n]
        bo = min(others)
        w(f"| {n} | {_f(b)} | {es} | {imp} | {_f(res[('multitask', n)])} | {full} | "
          f"{_f(bo[0])} ({bo[1]}) |")
    w("")
    w("Mean over domains (in-distribution / held-out):\n")
    w("| system | in-distribution | held-out |")
    w("|---|---|---|")
    for s in sysnames:
        a = [res[(s, n)] for n in id_names if (s, n) in res]
        h = [res[(s, n)] for n in ho_names if (s, n) in res]
        w(f"| {s} | {_f(np.mean(a))} | {_f(np.mean(h)) if h else '-'} |")
    w("")
    w("### Full matrix (rows: systems, columns: test split of each domain)\n")
    w("| system | " + " | ".join(all_names) + " |")
    w("|---" * (len(all_names) + 1) + "|")
    for s in sysnames:
        w(f"| {s} | " + " | ".join(_f(res[(s, n)]) if (s, n) in res else "-" for n in all_names)
          + " |")
    w("")
    w("Bytes scored per domain: " + ", ".join(f"{n} {n_bytes[n]:,}" for n in all_names) + ".\n")
    w("Validation split (`results/bpb_validation.csv`): " + "; ".join(
        f"{n} base {_f(val[('base', n)])}" + (f" / own {_f(val[('oracle', n)])}"
                                              if ('oracle', n) in val else "")
        for n in all_names) + ".\n")

    w("## Requirements checked by this build\n")
    for c in info["criteria"]:
        w(f"- [{'x' if c['holds'] else ' '}] {c['name']}: {c['value']}")
    w("")
    return "\n".join(out) + "\n"
