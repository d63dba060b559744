#!/usr/bin/python3
"""Check an expert zoo directory with numpy only (no torch, no safetensors package).

    /usr/bin/python3 tools/zoo/check_zoo.py DIR [--full] [--max-mb 40] [--no-numerics]

Checks: safetensors framing (parsed here), HF Llama names / shapes / dtypes against config.json,
PEFT adapter_config.json and LoRA tensor names / shapes, PHATGOOSE gates and Fisher files, the
eval directories, domains.json, results/bpb.csv, MANIFEST.sha256; re-computes bits per byte of
the base, one LoRA expert and one full fine-tune on a domain's test split with an independent
numpy Llama forward and compares with results/bpb.csv. With --full also the size budget and the
specialisation criteria (own LoRA >= 10% better than base on its domain; the average of the
own experts beats every single expert over the in-distribution domains).
"""

import argparse
import csv
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DSIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U8": 1, "BOOL": 1}
BOS, EOS = 256, 257

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def read_safetensors(path):
    """-> (header dict without __metadata__, metadata, {name: float32 array})."""
    with open(path, "rb") as fh:
        buf = fh.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", buf[:8])
    if n % 8 != 0:
        raise ValueError(f"{path}: header length {n} is not a multiple of 8")
    if 8 + n > len(buf):
        raise ValueError(f"{path}: header length {n} beyond file size {len(buf)}")
    raw = buf[8:8 + n]
    if raw[:1] != b"{":
        raise ValueError(f"{path}: header does not start with '{{'")
    header = json.loads(raw.decode("utf-8"))
    meta = header.pop("__metadata__", None)
    if meta is None or meta.get("format") != "pt":
        raise ValueError(f"{path}: __metadata__.format is not 'pt' ({meta})")
    if not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(f"{path}: __metadata__ values must be strings")
    spans, arrays = [], {}
    for name, info in header.items():
        dt, shape, (s, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in DSIZE:
            raise ValueError(f"{path}: {name}: unknown dtype {dt}")
        if (e - s) != DSIZE[dt] * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: {name}: {e - s} bytes for {dt} {shape}")
        spans.append((s, e, name))
        data = buf[8 + n + s: 8 + n + e]
        if dt == "F32":
            a = np.frombuffer(data, "<f4").astype(np.float32)
        elif dt == "F16":
            a = np.frombuffer(data, "<f2").astype(np.float32)
        elif dt == "BF16":
            a = (np.frombuffer(data, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(data, {"I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                                     "U8": "u1", "BOOL": "u1", "F64": "<f8"}[dt])
        arrays[name] = a.reshape(shape)
    spans.sort()
    pos = 0
    for s, e, name in spans:
        if s != pos:
            raise ValueError(f"{path}: {name}: data starts at {s}, expected {pos} (gap/overlap)")
        pos = e
    if 8 + n + pos != len(buf):
        raise ValueError(f"{path}: data ends at {8 + n + pos}, file has {len(buf)} bytes")
    return header, meta, arrays


def llama_shapes(cfg):
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = d // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    s = {"model.embed_tokens.weight": [v, d], "model.norm.weight": [d], "lm_head.weight": [v, d]}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        s.update({p + "self_attn.q_proj.weight": [d, d], p + "self_attn.k_proj.weight": [kv, d],
                  p + "self_attn.v_proj.weight": [kv, d], p + "self_attn.o_proj.weight": [d, d],
                  p + "mlp.gate_proj.weight": [f, d], p + "mlp.up_proj.weight": [f, d],
                  p + "mlp.down_proj.weight": [d, f], p + "input_layernorm.weight": [d],
                  p + "post_attention_layernorm.weight": [d]})
    return s


def check_config(path, dtype):
    with open(path) as fh:
        cfg = json.load(fh)
    want = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
            "tie_word_embeddings": False, "attention_bias": False, "vocab_size": 258,
            "bos_token_id": BOS, "eos_token_id": EOS, "torch_dtype": dtype}
    for k, v in want.items():
        if cfg.get(k) != v:
            fail(f"{path}: {k} = {cfg.get(k)!r}, expected {v!r}")
    for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta"):
        if k not in cfg:
            fail(f"{path}: missing {k}")
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        fail(f"{path}: hidden_size not divisible by num_attention_heads")
    return cfg


def check_model(dirpath, dtype, st_dtype, ref_cfg=None):
    cfg = check_config(os.path.join(dirpath, "config.json"), dtype)
    if ref_cfg is not None:
        for k in ref_cfg:
            if k != "torch_dtype" and cfg.get(k) != ref_cfg[k]:
                fail(f"{dirpath}/config.json: {k} = {cfg.get(k)!r} differs from the base")
    header, _, arrays = read_safetensors(os.path.join(dirpath, "model.safetensors"))
    shapes = llama_shapes(cfg)
    if set(header) != set(shapes):
        fail(f"{dirpath}/model.safetensors: names differ from Llama's: missing "
             f"{sorted(set(shapes) - set(header))[:5]}, extra {sorted(set(header) - set(shapes))[:5]}")
    for k, s in shapes.items():
        if k in header:
            if header[k]["shape"] != s:
                fail(f"{dirpath}/model.safetensors: {k} shape {header[k]['shape']}, expected {s}")
            if header[k]["dtype"] != st_dtype:
                fail(f"{dirpath}/model.safetensors: {k} dtype {header[k]['dtype']}, expected {st_dtype}")
            if not np.isfinite(arrays[k]).all():
                fail(f"{dirpath}/model.safetensors: {k} has non-finite values")
    return cfg, arrays


def lora_modules(cfg):
    d, f = cfg["hidden_size"], cfg["intermediate_size"]
    kv = cfg["num_key_value_heads"] * (d // cfg["num_attention_heads"])
    dims = {"q_proj": (d, d), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (d, d),
            "gate_proj": (d, f), "up_proj": (d, f), "down_proj": (f, d)}
    out = []
    for i in range(cfg["num_hidden_layers"]):
        for t in TARGETS:
            sub = "self_attn" if t in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
            out.append((f"model.layers.{i}.{sub}.{t}", *dims[t]))
    return out


def check_lora(dirpath, cfg, gates_required):
    with open(os.path.join(dirpath, "adapter_config.json")) as fh:
        ac = json.load(fh)
    want = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "bias": "none",
            "fan_in_fan_out": False, "use_rslora": False}
    for k, v in want.items():
        if ac.get(k) != v:
            fail(f"{dirpath}/adapter_config.json: {k} = {ac.get(k)!r}, expected {v!r}")
    for k in ("r", "lora_alpha", "lora_dropout", "base_model_name_or_path", "target_modules"):
        if k not in ac:
            fail(f"{dirpath}/adapter_config.json: missing {k}")
    if sorted(ac.get("target_modules", [])) != sorted(TARGETS):
        fail(f"{dirpath}/adapter_config.json: target_modules {ac.get('target_modules')}")
    base_rel = os.path.normpath(os.path.join(dirpath, ac.get("base_model_name_or_path", "")))
    if not os.path.exists(os.path.join(base_rel, "config.json")):
        fail(f"{dirpath}: base_model_name_or_path does not lead to a model directory")
    r = ac["r"]
    header, _, arrays = read_safetensors(os.path.join(dirpath, "adapter_model.safetensors"))
    want_names = {}
    for mod, d_in, d_out in lora_modules(cfg):
        want_names[f"base_model.model.{mod}.lora_A.weight"] = [r, d_in]
        want_names[f"base_model.model.{mod}.lora_B.weight"] = [d_out, r]
    if set(header) != set(want_names):
        fail(f"{dirpath}/adapter_model.safetensors: names differ from PEFT's: missing "
             f"{sorted(set(want_names) - set(header))[:4]}, extra {sorted(set(header) - set(want_names))[:4]}")
    for k, s in want_names.items():
        if k in header and header[k]["shape"] != s:
            fail(f"{dirpath}/adapter_model.safetensors: {k} shape {header[k]['shape']}, expected {s}")
        if k in arrays and not np.isfinite(arrays[k]).all():
            fail(f"{dirpath}: {k} has non-finite values")
    if not any(np.abs(a).max() > 0 for k, a in arrays.items() if "lora_B" in k):
        fail(f"{dirpath}: every lora_B is zero (expert not trained)")
    gp = os.path.join(dirpath, "phatgoose_gates.safetensors")
    if os.path.exists(gp):
        gh, gmeta, garr = read_safetensors(gp)
        want_g = {f"base_model.model.{m}.gate": [d_in] for m, d_in, _ in lora_modules(cfg)}
        if set(gh) != set(want_g):
            fail(f"{gp}: names differ: missing {sorted(set(want_g) - set(gh))[:4]}, "
                 f"extra {sorted(set(gh) - set(want_g))[:4]}")
        for k, s in want_g.items():
            if k in gh and gh[k]["shape"] != s:
                fail(f"{gp}: {k} shape {gh[k]['shape']}, expected {s}")
            if k in garr and not np.isfinite(garr[k]).all():
                fail(f"{gp}: {k} non-finite")
        if all(np.abs(a).max() == 0 for a in garr.values()):
            fail(f"{gp}: gates all zero (not trained)")
    elif gates_required:
        fail(f"{dirpath}: missing phatgoose_gates.safetensors")
    scale = ac["lora_alpha"] / (math.sqrt(r) if ac.get("use_rslora") else r)
    return {m: (arrays[f"base_model.model.{m}.lora_A.weight"],
                arrays[f"base_model.model.{m}.lora_B.weight"]) for m, _, _ in lora_modules(cfg)
            if f"base_model.model.{m}.lora_A.weight" in arrays}, scale


# --- independent numpy forward (HF LlamaForCausalLM semantics) ---------------------------------

def np_forward(P, cfg, tokens):
    B, T = tokens.shape
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg["num_key_value_heads"]
    hd = d // nh
    eps = cfg["rms_norm_eps"]

    def norm(x, w):
        return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float32) / hd))
    ang = np.arange(T, dtype=np.float32)[:, None] * inv[None, :]
    cos = np.cos(np.concatenate([ang, ang], -1)).astype(np.float32)
    sin = np.sin(np.concatenate([ang, ang], -1)).astype(np.float32)

    def rope(x):
        h = hd // 2
        rot = np.concatenate([-x[..., h:], x[..., :h]], -1)
        return x * cos + rot * sin

    causal = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
    h = P["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = norm(h, P[p + "input_layernorm.weight"])
        q = (x @ P[p + "self_attn.q_proj.weight"].T).reshape(B, T, nh, hd).transpose(0, 2, 1, 3)
        k = (x @ P[p + "self_attn.k_proj.weight"].T).reshape(B, T, nkv, hd).transpose(0, 2, 1, 3)
        v = (x @ P[p + "self_attn.v_proj.weight"].T).reshape(B, T, nkv, hd).transpose(0, 2, 1, 3)
        q, k = rope(q), rope(k)
        if nkv != nh:
            k = np.repeat(k, nh // nkv, axis=1)
            v = np.repeat(v, nh // nkv, axis=1)
        s = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(hd)) + causal
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        h = h + o @ P[p + "self_attn.o_proj.weight"].T
        x = norm(h, P[p + "post_attention_layernorm.weight"])
        g = x @ P[p + "mlp.gate_proj.weight"].T
        u = x @ P[p + "mlp.up_proj.weight"].T
        h = h + ((g / (1 + np.exp(-g))) * u) @ P[p + "mlp.down_proj.weight"].T
    h = norm(h, P["model.norm.weight"])
    return h @ P["lm_head.weight"].T


def np_bpb(P, cfg, docdir, max_docs=None):
    L = cfg["max_position_embeddings"]
    bits, nbytes = 0.0, 0
    files = sorted(os.listdir(docdir))[:max_docs]
    for f in files:
        with open(os.path.join(docdir, f), "rb") as fh:
            b = np.frombuffer(fh.read(), np.uint8).astype(np.int64)
        for s in range(0, len(b), L):
            w = b[s:s + L]
            inp = np.concatenate([[BOS], w[:-1]])[None, :]
            logits = np_forward(P, cfg, inp)[0].astype(np.float64)
            m = logits.max(-1, keepdims=True)
            lse = m[:, 0] + np.log(np.exp(logits - m).sum(-1))
            bits += float((lse - logits[np.arange(len(w)), w]).sum()) / math.log(2)
            nbytes += len(w)
    return bits / nbytes, nbytes


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--full", action="store_true",
                    help="also the size budget and the specialisation criteria")
    ap.add_argument("--max-mb", type=float, default=40.0)
    ap.add_argument("--no-numerics", action="store_true")
    args = ap.parse_args()
    root = args.dir
    n_checked = 0

    def guarded(what, fn, *a):
        nonlocal n_checked
        try:
            n_checked += 1
            return fn(*a)
        except Exception as e:  # report every broken object, keep checking the rest
            fail(f"{what}: {type(e).__name__}: {e}")
            return None

    base = guarded("base", check_model, os.path.join(root, "base"), "float32", "F32")
    if base is None:
        print("check_zoo: base unreadable, stopping")
        return 1
    cfg, base_p = base
    with open(os.path.join(root, "domains.json")) as fh:
        dj = json.load(fh)
    id_names, ho_names = dj["in_distribution"], dj["held_out"]
    if len(ho_names) < 2:
        fail("fewer than 2 held-out domains")
    if set(id_names) & set(ho_names):
        fail("a domain is both held out and in distribution")
    for d in dj["domains"]:
        n = d["name"]
        for split in ("test", "validation", "fewshot"):
            p = os.path.join(root, "eval", n, split)
            files = os.listdir(p) if os.path.isdir(p) else []
            if not files:
                fail(f"eval/{n}/{split}: no documents")
            if split == "fewshot" and len(files) != 5:
                fail(f"eval/{n}/fewshot: {len(files)} examples, expected 5")
        if d["held_out"] and (d["lora_expert"] or d["full_expert"]):
            fail(f"held-out domain {n} has an expert")

    loras = {}
    for n in id_names + ["multitask"]:
        dp = os.path.join(root, "experts", "lora", n)
        r = guarded(f"experts/lora/{n}", check_lora, dp, cfg, n != "multitask")
        if r:
            loras[n] = r
    for n in ho_names:
        if os.path.exists(os.path.join(root, "experts", "lora", n)):
            fail(f"held-out domain {n} has a LoRA expert")
    fulls = {}
    fdir = os.path.join(root, "experts", "full")
    full_names = sorted(os.listdir(fdir)) if os.path.isdir(fdir) else []
    for n in full_names:
        dp = os.path.join(fdir, n)
        r = guarded(f"experts/full/{n}", check_model, dp, "bfloat16", "BF16", cfg)
        if r:
            fulls[n] = r[1]
        fh_ = guarded(f"experts/full/{n}/fisher", read_safetensors,
                      os.path.join(dp, "fisher.safetensors"))
        if fh_:
            header, _, arr = fh_
            shapes = llama_shapes(cfg)
            if set(header) != set(shapes) or any(header[k]["shape"] != shapes[k] for k in shapes):
                fail(f"experts/full/{n}/fisher.safetensors: names/shapes differ from the model's")
            for k, a in arr.items():
                if not np.isfinite(a).all() or (a < 0).any():
                    fail(f"experts/full/{n}/fisher.safetensors: {k} negative or non-finite")
            if all(a.max() == 0 for a in arr.values()):
                fail(f"experts/full/{n}/fisher.safetensors: all zero")
        if n in ho_names:
            fail(f"held-out domain {n} has a full fine-tune")

    # results
    res = {}
    with open(os.path.join(root, "results", "bpb.csv")) as fh:
        rows = list(csv.reader(fh))
    if rows[0][:5] != ["system", "domain", "split", "n_bytes", "bits_per_byte"]:
        fail(f"results/bpb.csv: header {rows[0]}")
    for r in rows[1:]:
        s, d, split, nb, v = r[:5]
        want = "held_out" if d in ho_names else "in_distribution"
        if split != want:
            fail(f"results/bpb.csv: {s},{d}: split {split}, expected {want}")
        v = float(v)
        if not (0 < v < 16):
            fail(f"results/bpb.csv: {s},{d}: bits_per_byte {v}")
        res[(s, d)] = (v, int(nb))
    systems = ["base", "multitask"] + [f"lora_{n}" for n in id_names] + \
        [f"full_{n}" for n in full_names]
    for s in systems:
        for d in id_names + ho_names:
            if (s, d) not in res:
                fail(f"results/bpb.csv: no row for {s} on {d}")

    # independent numerics: numpy forward vs the trainer's figure
    if not args.no_numerics:
        dom = id_names[0]
        cases = [("base", base_p)]
        if dom in loras:
            lora, scale = loras[dom]
            P = dict(base_p)
            for m, (a, b) in lora.items():
                P[m + ".weight"] = base_p[m + ".weight"] + scale * (b @ a)
            cases.append((f"lora_{dom}", P))
        if full_names:
            cases.append((f"full_{full_names[0]}", fulls.get(full_names[0])))
        for s, P in cases:
            if P is None or (s, dom) not in res:
                continue
            v, nb = np_bpb(P, cfg, os.path.join(root, "eval", dom, "test"))
            ref, ref_n = res[(s, dom)]
            ok = abs(v - ref) <= 1e-4 * max(1.0, ref) and nb == ref_n
            print(f"numerics: {s} on {dom}: numpy {v:.6f} over {nb} bytes, trainer {ref:.6f} "
                  f"over {ref_n} bytes -> {'ok' if ok else 'MISMATCH'}")
            if not ok:
                fail(f"numpy forward disagrees with results/bpb.csv for {s} on {dom}")

    # manifest
    mp = os.path.join(root, "MANIFEST.sha256")
    listed = {}
    with open(mp) as fh:
        for line in fh:
            h, rel = line.rstrip("\n").split("  ", 1)
            listed[rel] = h
    present = set()
    for r, _, fs in os.walk(root):
        for f in fs:
            rel = os.path.relpath(os.path.join(r, f), root)
            if rel != "MANIFEST.sha256":
                present.add(rel)
    for rel in sorted(present - set(listed)):
        fail(f"MANIFEST.sha256: {rel} not listed")
    for rel, h in sorted(listed.items()):
        p = os.path.join(root, rel)
        if not os.path.exists(p):
            fail(f"MANIFEST.sha256: {rel} missing")
        elif sha256_file(p) != h:
            fail(f"MANIFEST.sha256: {rel} hash differs")
    total = sum(os.path.getsize(os.path.join(root, rel)) for rel in present) + os.path.getsize(mp)

    if args.full:
        if total > args.max_mb * 1e6:
            fail(f"total size {total / 1e6:.2f} MB > {args.max_mb} MB")
        if len(id_names) + len(ho_names) < 14:
            fail("fewer than 14 domains")
        if len(full_names) < 8:
            fail(f"{len(full_names)} full fine-tunes, expected at least 8")
        for d in id_names:
            b, e = res[("base", d)][0], res[(f"lora_{d}", d)][0]
            if (b - e) / b < 0.10:
                fail(f"lora_{d} is only {100 * (b - e) / b:.1f}% better than base on {d}")
        own = np.mean([res[(f"lora_{d}", d)][0] for d in id_names])
        for s in systems:
            avg = np.mean([res[(s, d)][0] for d in id_names])
            if s != "base" and not own < avg:
                fail(f"own-expert average {own:.4f} does not beat {s} ({avg:.4f})")
    print(f"check_zoo: {root}: {len(loras)} LoRA, {len(fulls)} full, {len(id_names)} + "
          f"{len(ho_names)} domains, {total / 1e6:.2f} MB, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
