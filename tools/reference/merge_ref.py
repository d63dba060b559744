#!/usr/bin/python3
"""Independent numpy/torch reference of moerge's merge methods (docs/methods.md), used by the tests.

Written from the methods' semantics and their public reference code (mergekit's
generalized_task_arithmetic.py, sparsify.py, slerp.py, model_stock.py; the TIES paper's
merge_utils.py for the global scope; PEFT's svd convention), not from moerge's C++. Where moerge
fixes what those leave open (ties at the top-k boundary, the random stream), this file follows
docs/methods.md: ties are broken by the lower element index ranking higher, and random draws come
from Philox4x32-10, implemented here in numpy from the Random123 paper's round function.

Usage:
  merge_ref.py self-test        check Philox4x32-10 against the known-answer vectors
  merge_ref.py run CASE_DIR...  for each CASE_DIR: read CASE_DIR/case.json and the .npy inputs it
                                names, write the .npy outputs it names into CASE_DIR
  merge_ref.py merge RECIPE.yml OUT.safetensors
                                merge the HF model directories of a recipe (scalar parameters only)
                                with the functions above; write every tensor as F32

case.json: {"method": ..., plus the method's fields; see run_case()}. Every array is a float32
.npy file (C order) named relative to CASE_DIR.
"""
import json
import os
import sys

import numpy as np
import torch

# ---------------------------------------------------------------------------------------------
# Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11)
# ---------------------------------------------------------------------------------------------
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counters, key):
    """counters: uint64 array [n, 4] holding 32-bit words; key: (k0, k1). Returns uint64 [n, 4]."""
    c = [counters[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = key
    for round_idx in range(10):
        rk0 = np.uint64((k0 + round_idx * PHILOX_W0) & 0xFFFFFFFF)
        rk1 = np.uint64((k1 + round_idx * PHILOX_W1) & 0xFFFFFFFF)
        p0 = PHILOX_M0 * c[0]  # exact: both factors < 2^32
        p1 = PHILOX_M1 * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK32
        c = [hi1 ^ c[1] ^ rk0, lo1, hi0 ^ c[3] ^ rk1, lo0]
    return np.stack(c, axis=1)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def philox_key(seed: int, model_index: int, tensor_name: str):
    material = seed.to_bytes(8, "little") + model_index.to_bytes(4, "little") + tensor_name.encode("utf-8")
    h = fnv1a64(material)
    return (h & 0xFFFFFFFF, h >> 32)


STREAM_DARE = 0
STREAM_DELLA = 1


def uniforms(key, stream: int, first: int, n: int):
    """u of elements first .. first+n-1: word (e % 4) of Philox(counter (e // 4, stream, 0))."""
    index = np.arange(first, first + n, dtype=np.uint64)
    group = index // np.uint64(4)
    counters = np.stack([group & MASK32, group >> np.uint64(32),
                         np.full_like(group, stream), np.zeros_like(group)], axis=1)
    words = philox4x32_10(counters, key)
    word = words[np.arange(n), (index % np.uint64(4)).astype(np.int64)]
    return (word >> np.uint64(8)).astype(np.float64) * 2.0 ** -24


def self_test(quiet=False):
    cases = [  # Random123's kat_vectors for philox4x32 10 rounds
        ([0, 0, 0, 0], (0, 0), [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        ([0xFFFFFFFF] * 4, (0xFFFFFFFF, 0xFFFFFFFF), [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], (0xA4093822, 0x299F31D0),
         [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
    ]
    for ctr, key, expected in cases:
        got = philox4x32_10(np.array([ctr], dtype=np.uint64), key)[0]
        if [int(x) for x in got] != expected:
            raise SystemExit(f"philox4x32_10 known answer failed: {[hex(int(x)) for x in got]} != "
                             f"{[hex(x) for x in expected]}")
    if not quiet:
        print("ok")


# ---------------------------------------------------------------------------------------------
# Sparsification (mergekit sparsify.py semantics, with the documented tie rule)
# ---------------------------------------------------------------------------------------------
def descending_rank(tau):
    """Rank of each element in descending |x| order, ties: lower index first (stable sort)."""
    flat = np.abs(tau.reshape(-1).astype(np.float64))
    order = np.argsort(-flat, kind="stable")
    rank = np.empty(flat.size, dtype=np.int64)
    rank[order] = np.arange(flat.size)
    return rank.reshape(tau.shape)


def rescale_values(tau, keep, mode, p, density):
    """Masked tau (float32) under a rescale mode; p is the per-element keep probability."""
    masked = np.where(keep, tau, np.float32(0))
    if mode == "none":
        return masked.astype(np.float32)
    if mode == "inverse_density":
        return np.where(keep, tau.astype(np.float64) / p, 0.0).astype(np.float32)
    if mode == "l1":
        before = np.abs(tau.astype(np.float64)).sum()
        after = np.abs(masked.astype(np.float64)).sum()
        if before < 1e-7 or after < 1e-7:
            return masked.astype(np.float32)
        return (masked.astype(np.float64) * (before / after)).astype(np.float32)
    raise ValueError(mode)


def sparsify(tau, params, key):
    """Returns (sparsified float32 tensor, keep mask)."""
    method = params.get("method", "none")
    density = float(params.get("density", 1.0))
    mode = params.get("rescale", "none")
    n = tau.size
    if method == "none" or density >= 1.0:
        return tau.copy(), np.ones(tau.shape, dtype=bool)
    if method in ("magnitude", "magnitude_outliers"):
        n_keep = int(density * n)
        if method == "magnitude":
            begin, end = 0, n_keep
        else:  # drop the gamma*n largest, then the smallest, so that n_keep remain
            n_top = int(float(params.get("gamma", 0.01)) * n)
            n_bottom = n - n_keep - n_top
            if n_bottom < 0:
                n_top += n_bottom
            begin, end = n_top, n_top + n_keep
        rank = descending_rank(tau)
        keep = (rank >= begin) & (rank < end)
        return rescale_values(tau, keep, mode, density, density), keep
    if method == "random":
        u = uniforms(key, STREAM_DARE, 0, n).reshape(tau.shape)
        keep = u < density
        return rescale_values(tau, keep, mode, density, density), keep
    if method == "della_magprune":
        epsilon = float(params.get("epsilon", 0.15))
        if density <= 0:
            return np.zeros_like(tau), np.zeros(tau.shape, dtype=bool)
        rows = tau.reshape(1, -1) if tau.ndim < 2 else tau.reshape(tau.shape[0], -1)
        n_row, row_length = rows.shape
        p = np.empty(rows.shape, dtype=np.float64)
        column = np.arange(row_length)
        for row_idx in range(n_row):
            # ascending |x|; among equal magnitudes the higher index comes first (ranks lower)
            order = np.lexsort((-column, np.abs(rows[row_idx].astype(np.float64))))
            rank = np.empty(row_length, dtype=np.int64)
            rank[order] = column
            rank_norm = np.full(row_length, 0.5) if row_length == 1 else rank / (row_length - 1)
            p[row_idx] = (density - epsilon) + rank_norm * 2 * epsilon
        p = p.reshape(tau.shape)
        u = uniforms(key, STREAM_DELLA, 0, n).reshape(tau.shape)
        keep = u < p
        return rescale_values(tau, keep, mode, p, density), keep
    raise ValueError(method)


# ---------------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------------
def generalized_task_arithmetic(base, thetas, weights, sparsify_params, consensus, normalize, lam,
                                seed, tensor_name):
    taus = [(theta - base).astype(np.float32) for theta in thetas]
    sparse, masks = [], []
    for model_idx, tau in enumerate(taus):
        delta, keep = sparsify(tau, sparsify_params[model_idx], philox_key(seed, model_idx, tensor_name))
        sparse.append(delta)
        masks.append(keep)
    weighted = [w * d.astype(np.float64) for w, d in zip(weights, sparse)]
    if consensus in ("sum", "count"):
        if consensus == "sum":
            vote = np.zeros(base.shape)
            for w in weighted:
                vote = vote + w
        else:
            vote = sum(np.sign(w) for w in weighted)
        elected = np.where(vote >= 0, 1.0, -1.0)
        mixed = np.zeros(base.shape)
        divisor = np.zeros(base.shape)
        for w_scalar, w in zip(weights, weighted):
            agree = np.sign(w) == elected
            mixed = mixed + np.where(agree, w, 0.0)
            divisor = divisor + np.where(agree, w_scalar, 0.0)
        divisor[divisor == 0] = 1.0
    else:
        mixed = np.zeros(base.shape)
        for w in weighted:
            mixed = mixed + w
        divisor = float(sum(weights))
        if abs(divisor) < 1e-8:
            divisor = 1.0
    if normalize:
        mixed = mixed / divisor
    mixed = mixed * lam
    return (base.astype(np.float64) + mixed).astype(np.float32), masks


def ties_global(tensors, weights, densities, lam):
    """The TIES paper's merge_utils over the whole flattened task vector of each model (torch)."""
    flat_tv = []
    for model_idx in range(len(weights)):
        parts = [torch.from_numpy((t["models"][model_idx] - t["base"]).astype(np.float32)).reshape(-1)
                 for t in tensors]
        flat_tv.append(torch.cat(parts))
    all_tv = torch.stack(flat_tv)  # [n_model, d]
    trimmed_rows = []
    for model_idx in range(all_tv.shape[0]):
        row = all_tv[model_idx]
        d = row.numel()
        k = d - int(d * densities[model_idx])  # topk_values_mask: keep |x| >= kth smallest
        if k <= 0:
            trimmed_rows.append(row.clone())
            continue
        kth, _ = row.abs().kthvalue(k)
        trimmed_rows.append(row * (row.abs() >= kth))
    trimmed = torch.stack(trimmed_rows).double() * torch.tensor(weights, dtype=torch.float64).unsqueeze(1)
    signs = torch.sign(trimmed.sum(dim=0))  # resolve_sign("mass")
    majority = torch.sign(signs.sum())
    signs[signs == 0] = majority
    keep = torch.where(signs.unsqueeze(0) > 0, trimmed > 0, trimmed < 0)  # disjoint_merge
    selected = trimmed * keep
    counts = (selected != 0).sum(dim=0).double()
    merged = selected.sum(dim=0) / torch.clamp(counts, min=1)
    outputs, offset = [], 0
    for t in tensors:
        n = t["base"].size
        piece = merged[offset:offset + n].numpy().reshape(t["base"].shape)
        outputs.append((t["base"].astype(np.float64) + lam * piece).astype(np.float32))
        offset += n
    return outputs


def slerp(t, v0, v1, dot_threshold=0.9995, eps=1e-8):
    """mergekit's slerp, in float64."""
    a = v0.astype(np.float64)
    b = v1.astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    a_n = a / na if na > eps else a
    b_n = b / nb if nb > eps else b
    dot = np.sum(a_n * b_n)
    if np.abs(dot) > dot_threshold:
        return ((1 - t) * a + t * b).astype(np.float32)
    theta_0 = np.arccos(dot)
    sin_theta_0 = np.sin(theta_0)
    theta_t = theta_0 * t
    s0 = np.sin(theta_0 - theta_t) / sin_theta_0
    s1 = np.sin(theta_t) / sin_theta_0
    return (s0 * a + s1 * b).astype(np.float32)


def model_stock(base, thetas, filter_wise):
    """mergekit's model_stock (torch, float64 after the float32 task vectors)."""
    w0 = torch.from_numpy(base)
    ws = [torch.from_numpy(theta) for theta in thetas]
    shape = w0.shape
    if filter_wise:
        if w0.dim() == 1:
            w0, ws = w0.unsqueeze(0), [w.unsqueeze(0) for w in ws]
        else:
            w0, ws = w0.reshape(w0.shape[0], -1), [w.reshape(w.shape[0], -1) for w in ws]
    else:
        w0, ws = w0.reshape(-1), [w.reshape(-1) for w in ws]
    offsets = [(w - w0).double() for w in ws]
    cos_thetas = []
    for i in range(len(offsets)):
        for j in range(i + 1, len(offsets)):
            norm_product = torch.norm(offsets[i], dim=-1) * torch.norm(offsets[j], dim=-1)
            cos_thetas.append(((offsets[i] * offsets[j]).sum(dim=-1) / norm_product.clamp(min=1e-6)).clamp(-1, 1))
    cos_theta = torch.stack(cos_thetas).mean(dim=0).unsqueeze(-1)
    n = len(ws)
    t = (n * cos_theta) / (1 + (n - 1) * cos_theta)
    w_avg = sum(w.double() for w in ws) / n
    return (t * w_avg + (1 - t) * w0.double()).reshape(shape).float().numpy(), t.reshape(-1).numpy()


def fisher(thetas, fishers, coefficients, floor):
    num = np.zeros(thetas[0].shape)
    den = np.zeros(thetas[0].shape)
    for theta, f, c in zip(thetas, fishers, coefficients):
        weight = c * np.maximum(f.astype(np.float64), floor)
        num += weight * theta.astype(np.float64)
        den += weight
    return (num / den).astype(np.float32)


def regmean(weights, grams, alpha):
    """RegMean for y = x W^T: W = (sum G'_i)^-1 sum G'_i W_i^T, transposed back."""
    g_mod = []
    for g in grams:
        g64 = g.astype(np.float64)
        g_mod.append(alpha * g64 + (1 - alpha) * np.diag(np.diag(g64)))
    lhs = sum(g_mod)
    rhs = sum(g @ w.astype(np.float64).T for g, w in zip(g_mod, weights))
    return np.linalg.solve(lhs, rhs).T.astype(np.float32)


def lora_delta(a, b, scale):
    return (scale * (b.astype(np.float64) @ a.astype(np.float64))).astype(np.float32)


def lora_svd(adapters, rank):
    delta = sum(s * (b.astype(np.float64) @ a.astype(np.float64)) for a, b, s in adapters)
    u, sigma, vh = np.linalg.svd(delta, full_matrices=False)
    k = min(rank, sum(a.shape[0] for a, _, _ in adapters), *delta.shape)
    u, sigma, vh = u[:, :k].copy(), sigma[:k], vh[:k].copy()
    for col in range(k):
        if u[np.argmax(np.abs(u[:, col])), col] < 0:
            u[:, col] *= -1
            vh[col] *= -1
    return (u * sigma).astype(np.float32), vh.astype(np.float32)



# ---------------------------------------------------------------------------------------------
# Recipe driver: whole HF model directories, the functions above per tensor
# ---------------------------------------------------------------------------------------------
GTA_METHODS = {  # sparsify, consensus, normalize default, rescale default
    "task_arithmetic": ("none", "none", False, False),
    "ties": ("magnitude", "sum", True, False),
    "dare_linear": ("random", "none", False, True),
    "dare_ties": ("random", "sum", False, True),
    "breadcrumbs": ("magnitude_outliers", "none", False, False),
    "breadcrumbs_ties": ("magnitude_outliers", "sum", False, False),
    "della": ("della_magprune", "sum", True, True),
    "della_linear": ("della_magprune", "none", False, True),
}


def load_safetensors(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import safetensors_ref

    _, _, tensors = safetensors_ref.read(path)
    return {name: safetensors_ref.values_of(dtype, raw).reshape(shape).astype(np.float32)
            for name, (dtype, shape, raw) in tensors.items()}


def load_model_dir(path):
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        out = {}
        for name in files:
            out.update(load_safetensors(os.path.join(path, name)))
        return out
    return load_safetensors(os.path.join(path, "model.safetensors"))


def save_f32_safetensors(path, tensors):
    import struct

    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run_recipe(recipe_path, out_path):
    import yaml

    with open(recipe_path) as f:
        recipe = yaml.safe_load(f)
    method = recipe["merge_method"]
    params = recipe.get("parameters") or {}
    base_ref = recipe.get("base_model")
    entries = recipe["models"]
    base_is_reference = method in GTA_METHODS or method in ("slerp", "model_stock")
    merged = [e for e in entries if not (base_is_reference and e["model"] == base_ref)]

    def model_param(entry, name, default):
        value = (entry.get("parameters") or {}).get(name, params.get(name, default))
        if isinstance(value, (list, dict)):
            raise SystemExit(f"merge_ref.py: {recipe_path}: only scalar parameters are supported ({name})")
        return float(value)

    base = load_model_dir(base_ref) if base_ref else None
    models = [load_model_dir(e["model"]) for e in merged]
    weights = [model_param(e, "weight", 1.0) for e in merged]
    seed = int(recipe.get("seed", 0))
    names = sorted((base or models[0]).keys())
    out = {}
    if method == "ties" and recipe.get("ties_scope", "tensor") == "global":
        tensors = [{"base": base[n], "models": [m[n] for m in models]} for n in names]
        densities = [model_param(e, "density", 1.0) for e in merged]
        for name, result in zip(names, ties_global(tensors, weights, densities, float(params.get("lambda", 1.0)))):
            out[name] = result
        save_f32_safetensors(out_path, out)
        return
    norms = None
    grams = None
    if method == "regmean":
        grams = [load_safetensors(os.path.join(e["model"], "regmean_gram.safetensors")) for e in merged]
    if method == "fisher":
        fishers = [load_safetensors(os.path.join(e["model"], "fisher.safetensors")) for e in merged]
        if bool(params.get("normalize", False)):
            norms = [np.sqrt(sum(np.sum(f[n].astype(np.float64) ** 2) for n in names)) for f in fishers]
    for name in names:
        thetas = [m[name] for m in models]
        if method in GTA_METHODS:
            sparsify_method, consensus, normalize_default, rescale_default = GTA_METHODS[method]
            rescale = bool(params.get("rescale", rescale_default))
            mode = recipe.get("rescale_mode", "l1") if rescale else "none"
            sparsify_params = [{"method": sparsify_method, "density": model_param(e, "density", 1.0),
                                "gamma": model_param(e, "gamma", 0.01), "epsilon": model_param(e, "epsilon", 0.15),
                                "rescale": mode} for e in merged]
            out[name], _ = generalized_task_arithmetic(
                base[name], thetas, weights, sparsify_params, consensus,
                bool(params.get("normalize", normalize_default)), float(params.get("lambda", 1.0)), seed, name)
        elif method == "linear":
            total = sum(w * t.astype(np.float64) for w, t in zip(weights, thetas))
            if bool(params.get("normalize", True)):
                total = total / sum(weights)
            out[name] = total.astype(np.float32)
        elif method == "slerp":
            out[name] = slerp(float(params["t"]), base[name], thetas[0])
        elif method == "model_stock":
            out[name], _ = model_stock(base[name], thetas, bool(params.get("filter_wise", False)))
        elif method == "fisher":
            coefficients = weights if norms is None else [w / n for w, n in zip(weights, norms)]
            out[name] = fisher(thetas, [f[name] for f in fishers], coefficients, 1e-6)
        elif method == "regmean" and name in grams[0]:
            out[name] = regmean(thetas, [g[name] for g in grams], float(params.get("alpha", 1.0)))
        elif method == "regmean":  # no Gram matrix: the weighted mean
            total = sum(w * t.astype(np.float64) for w, t in zip(weights, thetas))
            out[name] = (total / sum(weights)).astype(np.float32)
        elif method == "passthrough":
            scale = model_param(merged[0], "scale", 1.0)
            out[name] = (thetas[0].astype(np.float64) * scale).astype(np.float32)
        else:
            raise SystemExit(f"merge_ref.py: {recipe_path}: unknown merge_method {method!r}")
    save_f32_safetensors(out_path, out)

# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def run_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)

    def load(name):
        return np.load(os.path.join(case_dir, name)).astype(np.float32)

    def save(name, array):
        np.save(os.path.join(case_dir, name), np.ascontiguousarray(array))

    method = case["method"]
    if method == "gta":
        out, masks = generalized_task_arithmetic(
            load(case["base"]), [load(m) for m in case["models"]], case["weights"], case["sparsify"],
            case.get("consensus", "none"), case["normalize"], case.get("lambda", 1.0), case["seed"],
            case["tensor_name"])
        save(case["out"], out)
        for model_idx, mask in enumerate(masks):
            save(f"mask{model_idx}.npy", mask.astype(np.uint8))
    elif method == "linear":
        thetas = [load(m).astype(np.float64) for m in case["models"]]
        total = sum(w * t for w, t in zip(case["weights"], thetas))
        if case["normalize"]:
            total = total / sum(case["weights"])
        save(case["out"], total.astype(np.float32))
    elif method == "ties_global":
        tensors = [{"base": load(t["base"]), "models": [load(m) for m in t["models"]]} for t in case["tensors"]]
        outs = ties_global(tensors, case["weights"], case["densities"], case.get("lambda", 1.0))
        for t, out in zip(case["tensors"], outs):
            save(t["out"], out)
    elif method == "slerp":
        save(case["out"], slerp(case["t"], load(case["a"]), load(case["b"])))
    elif method == "model_stock":
        out, t = model_stock(load(case["base"]), [load(m) for m in case["models"]], case["filter_wise"])
        save(case["out"], out)
    elif method == "fisher":
        fishers = [load(f) for f in case["fishers"]]
        coefficients = list(case["coefficients"])
        if case.get("normalize", False):  # per-model normalisation by the Fisher's L2 norm
            coefficients = [c / np.sqrt(np.sum(f.astype(np.float64) ** 2)) for c, f in zip(coefficients, fishers)]
        save(case["out"], fisher([load(m) for m in case["models"]], fishers, coefficients, case["floor"]))
    elif method == "regmean":
        save(case["out"], regmean([load(m) for m in case["models"]], [load(g) for g in case["grams"]],
                                  case["alpha"]))
    elif method == "lora_delta":
        save(case["out"], lora_delta(load(case["a"]), load(case["b"]), case["scale"]))
    elif method == "lora_svd":
        adapters = [(load(x["a"]), load(x["b"]), x["scale"]) for x in case["adapters"]]
        b, a = lora_svd(adapters, case["rank"])
        save(case["out_b"], b)
        save(case["out_a"], a)
    elif method == "uniforms":
        key = philox_key(case["seed"], case["model_index"], case["tensor_name"])
        u = uniforms(key, case["stream"], case["first"], case["n"])
        save(case["out"], u.astype(np.float32))
        with open(os.path.join(case_dir, "key.json"), "w") as f:
            json.dump({"k0": key[0], "k1": key[1]}, f)
    else:
        raise SystemExit(f"merge_ref.py: unknown method {method!r} in {case_dir}/case.json")


def main(argv):
    if len(argv) == 2 and argv[1] == "self-test":
        self_test()
    elif len(argv) >= 3 and argv[1] == "run":
        torch.set_num_threads(1)
        self_test(quiet=True)  # never produce masks from a broken generator
        for case_dir in argv[2:]:
            run_case(case_dir)
    elif len(argv) == 4 and argv[1] == "merge":
        torch.set_num_threads(1)
        self_test(quiet=True)
        run_recipe(argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
