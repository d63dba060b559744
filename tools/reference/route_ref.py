#!/usr/bin/python3
"""Independent numpy reference of moerge's router math (docs/routing.md), used by the tests.

Written from the routers' published semantics (docs/methods.md "Routing"; mttl's per-token
selectors for Arrow, PHATGOOSE and average activation; kernelmachine/cbtm; sail-sg/lorahub), not
from moerge's C++, and computed the direct way wherever the C++ takes a shortcut:
  - Arrow: numpy.linalg.svd of the full d_out x d_in product (the C++ uses the r x r core);
  - PHATGOOSE: softmax over all experts, keep the top 2, renormalise (the C++ takes the softmax
    over the kept logits, which is the same function);
  - c-BTM: distances from explicit differences (the C++ expands ||q - c||^2 into one GEMM);
  - learned router: the same full-batch gradient descent, written out in numpy.
Everything is computed in float64 from the float32 inputs. Ties in top-k go to the lower expert
index (numpy's stable argsort of the negated scores).

Zoo cases (kind "zoo_token"): the experts' vectors are read here from the adapters' own files
(adapter_model.safetensors, adapter_config.json, phatgoose_gates.safetensors) with a small
safetensors reader of its own, so the C++ loaders are checked too.

Usage:
  route_ref.py run CASE_DIR...   for each CASE_DIR: read CASE_DIR/case.json and the .npy inputs it
                                 names, write the .npy outputs (float32 unless stated) into CASE_DIR

case.json: {"kind": ..., plus the kind's fields; see run_case()}. Arrays are .npy files (C order)
named relative to CASE_DIR.
"""
import json
import os
import sys

import numpy as np


# ---------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------
def top_k_order(scores, k):
    """Indices of the k largest scores per row, ties to the lower index. scores: [n, e]."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def keep_top_k(dense_probs, scores, k, renormalise):
    """Zero all but the top-k (by `scores`) entries of each row of dense_probs."""
    n_row, n_expert = scores.shape
    k = n_expert if k == 0 or k > n_expert else k
    kept = np.zeros_like(dense_probs)
    order = top_k_order(scores, k)
    rows = np.arange(n_row)[:, None]
    kept[rows, order] = dense_probs[rows, order]
    if renormalise:
        kept /= kept.sum(axis=1, keepdims=True)
    return kept


def top_k_softmax(logits, k):
    """Softmax over the top-k logits of each row (dense [n, e] output)."""
    n_row, n_expert = logits.shape
    k = n_expert if k == 0 or k > n_expert else k
    order = top_k_order(logits, k)
    rows = np.arange(n_row)[:, None]
    out = np.zeros_like(logits)
    out[rows, order] = softmax(logits[rows, order], axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# Routers
# ---------------------------------------------------------------------------------------------
def arrow_prototype(a, b, scale):
    """Top right singular vector (largest-|entry| positive) and sigma^2 of scale * B A, full SVD."""
    product = scale * (b.astype(np.float64) @ a.astype(np.float64))
    _, s, vh = np.linalg.svd(product, full_matrices=False)
    v = vh[0].copy()
    if s[0] == 0.0:
        return np.zeros_like(v), 0.0
    if v[np.argmax(np.abs(v))] < 0:
        v = -v
    return v, float(s[0]) ** 2


def arrow_weights(x, prototypes, top_k, temperature):
    logits = np.abs(x @ prototypes.T) / temperature
    return top_k_softmax(logits, top_k)


def layer_norm(x, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def phatgoose_weights(x, gates, top_k, eps):
    d = x.shape[1]
    logits = layer_norm(x, eps) @ layer_norm(gates, eps).T / np.sqrt(d)
    return keep_top_k(softmax(logits, axis=1), logits, top_k, renormalise=True)


def centroid_weights(x, centroids, top_k, temperature):
    if temperature is None:
        temperature = np.sqrt(x.shape[1])
    logits = x @ centroids.T / temperature
    return keep_top_k(softmax(logits, axis=1), logits, top_k, renormalise=True)


def unit_rows(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def retrieval_weights(queries, keys, top_k):
    similarity = unit_rows(queries) @ unit_rows(keys).T
    n_row, n_expert = similarity.shape
    k = n_expert if top_k == 0 or top_k > n_expert else top_k
    out = np.zeros_like(similarity)
    out[np.arange(n_row)[:, None], top_k_order(similarity, k)] = 1.0 / k
    return out


def cbtm_weights(queries, centroids, top_k, temperature, normalization):
    distances = ((queries[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    logits = -distances / temperature
    probs = softmax(logits, axis=1)  # over all centroids, as c-BTM's estimate_cluster.py
    return keep_top_k(probs, logits, top_k, renormalise=(normalization == "top_k"))


def cbtm_mix(log_probs, weights):
    """log sum_j w_j p_j, elementwise; experts with w_j = 0 are dropped."""
    terms = [np.log(w) + lp for lp, w in zip(log_probs, weights) if w > 0]
    if not terms:
        return np.full(log_probs[0].shape, -np.inf)
    stacked = np.stack(terms)
    top = stacked.max(axis=0)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(top), safe_top + np.log(np.exp(stacked - safe_top).sum(axis=0)), -np.inf)


def lorahub_combine(a_list, b_list, scales, weights):
    a = sum(w * a_e for a_e, w in zip(a_list, weights))
    b = sum(w * s * b_e for b_e, s, w in zip(b_list, scales, weights))
    return a, b, b @ a


def train_linear_router(x, labels, n_expert, l2, n_step, learning_rate, standardize):
    """Softmax regression by full-batch gradient descent from zero; standardisation folded out."""
    n, d = x.shape
    mean = np.zeros(d)
    inv_std = np.ones(d)
    if standardize:
        mean = x.mean(axis=0)
        std = x.std(axis=0)  # population std
        inv_std = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 1.0)
        x = (x - mean) * inv_std
    if learning_rate == 0:
        # 1 / L with L = 0.5 lambda_max([X, 1]^T [X, 1] / n) + l2, lambda_max by 100 power steps from ones.
        xt = np.hstack([x, np.ones((n, 1))])
        v = np.ones(d + 1) / np.sqrt(d + 1)
        lam = 0.0
        for _ in range(100):
            w = xt.T @ (xt @ v) / n
            lam = np.linalg.norm(w)
            v = w / lam
        learning_rate = 1.0 / (0.5 * lam + l2)
    one_hot = np.eye(n_expert)[labels]
    weight = np.zeros((n_expert, d))
    bias = np.zeros(n_expert)
    losses = []
    for step in range(n_step + 1):
        logits = x @ weight.T + bias
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.append(-log_probs[np.arange(n), labels].mean() + 0.5 * l2 * (weight ** 2).sum())
        if step == n_step:
            break
        residual = (np.exp(log_probs) - one_hot) / n
        grad_weight = residual.T @ x + l2 * weight
        grad_bias = residual.sum(axis=0)
        weight = weight - learning_rate * grad_weight
        bias = bias - learning_rate * grad_bias
    folded = weight * inv_std[None, :]
    return folded, bias - folded @ mean, np.array(losses), learning_rate


# ---------------------------------------------------------------------------------------------
# Adapters on disk (zoo cases)
# ---------------------------------------------------------------------------------------------
def read_safetensors(path):
    """{name: float64 array} of a safetensors file of F32 / F16 / BF16 tensors."""
    with open(path, "rb") as f:
        raw = f.read()
    n_header = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n_header])
    data = raw[8 + n_header:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        chunk = data[begin:end]
        if entry["dtype"] == "F32":
            values = np.frombuffer(chunk, dtype="<f4")
        elif entry["dtype"] == "F16":
            values = np.frombuffer(chunk, dtype="<f2")
        elif entry["dtype"] == "BF16":
            values = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"route_ref.py: {path}: tensor {name} has dtype {entry['dtype']}")
        out[name] = values.astype(np.float64).reshape(entry["shape"])
    return out


def adapter_factors(adapter_dir, module):
    """(A [r, d_in], B [d_out, r], scale) of one module of a PEFT adapter directory."""
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    a = tensors[f"base_model.model.{module}.lora_A.weight"]
    b = tensors[f"base_model.model.{module}.lora_B.weight"]
    r = a.shape[0]
    scale = config["lora_alpha"] / (np.sqrt(r) if config.get("use_rslora") else r)
    return a, b, scale


def zoo_token_weights(case, load):
    """Per-row expert weights [n_row, n_expert] of a token router at one module of zoo adapters."""
    x = load(case["input"])
    module = case["module"]
    kind = case["router"]
    if kind == "arrow":
        prototypes = np.stack([arrow_prototype(*adapter_factors(d, module))[0] for d in case["adapters"]])
        return arrow_weights(x, prototypes, case["top_k"], case.get("temperature", 1.0))
    if kind == "phatgoose":
        gates = np.stack([read_safetensors(os.path.join(d, "phatgoose_gates.safetensors"))[
            f"base_model.model.{module}.gate"] for d in case["adapters"]])
        return phatgoose_weights(x, gates, case["top_k"], case.get("eps", 1e-5))
    if kind == "centroid":
        return centroid_weights(x, load(case["experts"]), case["top_k"], case.get("temperature"))
    raise SystemExit(f"route_ref.py: zoo_token: unknown router '{kind}'")


# ---------------------------------------------------------------------------------------------
# Case files
# ---------------------------------------------------------------------------------------------
def run_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)

    def load(name):
        return np.load(os.path.join(case_dir, name)).astype(np.float64)

    def save(name, array, dtype=np.float32):
        np.save(os.path.join(case_dir, name), np.ascontiguousarray(np.asarray(array, dtype=dtype)))

    kind = case["kind"]
    if kind == "arrow_prototype":
        v, sigma2 = arrow_prototype(load(case["a"]), load(case["b"]), case["scale"])
        save(case["out_v"], v)
        save(case["out_sigma2"], [sigma2], np.float64)
    elif kind == "arrow":
        save(case["out"], arrow_weights(load(case["input"]), load(case["experts"]), case["top_k"], case["temperature"]))
    elif kind == "phatgoose":
        save(case["out"], phatgoose_weights(load(case["input"]), load(case["experts"]), case["top_k"], case["eps"]))
    elif kind == "centroid":
        save(case["out"], centroid_weights(load(case["input"]), load(case["experts"]), case["top_k"],
                                           case.get("temperature")))
    elif kind == "retrieval":
        save(case["out"], retrieval_weights(load(case["input"]), load(case["experts"]), case["top_k"]))
    elif kind == "cbtm":
        save(case["out"], cbtm_weights(load(case["input"]), load(case["experts"]), case["top_k"], case["temperature"],
                                       case["normalization"]))
    elif kind == "zoo_token":
        save(case["out"], zoo_token_weights(case, load))
    elif kind == "cbtm_mix":
        save(case["out"], cbtm_mix([load(name) for name in case["log_probs"]], case["weights"]))
    elif kind == "lorahub_combine":
        a, b, delta = lorahub_combine([load(name) for name in case["a"]], [load(name) for name in case["b"]],
                                      case["scales"], case["weights"])
        save(case["out_a"], a)
        save(case["out_b"], b)
        save(case["out_delta"], delta)
    elif kind == "linear_router":
        labels = np.load(os.path.join(case_dir, case["labels"])).astype(np.int64)
        weight, bias, losses, learning_rate = train_linear_router(
            load(case["features"]), labels, case["n_expert"], case["l2"], case["n_step"], case["learning_rate"],
            case["standardize"])
        save(case["out_weight"], weight)
        save(case["out_bias"], bias)
        save(case["out_loss"], losses, np.float64)
        save(case["out_learning_rate"], [learning_rate], np.float64)
        test = load(case["test_features"])
        save(case["out_probs"], softmax(test @ weight.T + bias, axis=1))
    else:
        raise SystemExit(f"route_ref.py: {case_dir}/case.json: unknown kind '{kind}'")


def main(argv):
    if len(argv) < 3 or argv[1] != "run":
        sys.stderr.write(__doc__)
        return 2
    for case_dir in argv[2:]:
        run_case(case_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
