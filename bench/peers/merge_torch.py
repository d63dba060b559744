#!/usr/bin/python3
"""torch peer of `moerge merge` for bench/merge: mergekit's per-tensor loop with torch ops.

usage: merge_torch.py METHOD OUT_DIR --base DIR --models DIR... [--weight W] [--density D] [--seed S]
METHOD: linear (the base and the models, weight W each, normalised), task_arithmetic, ties, dare_ties
(task vectors of the models against the base, weight W, density D, normalize true, lambda 1).
For each tensor name, as mergekit does: load the tensor from every model's safetensors, compute in
float32 with torch ops, cast to bf16, write it. Sparsification follows mergekit's sparsify.py
(magnitude: the top density fraction of |tau| per tensor, here by torch.topk; random: a
torch.bernoulli mask rescaled by 1/density) and consensus its get_mask(method="sum") then the
disjoint mean (generalized_task_arithmetic.py). The output is one safetensors file whose header is
written first and whose tensors are then streamed in order (mergekit buffers a shard in memory).
"""
import argparse, json, os, struct, time
import numpy as np
import torch

def read_header(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    return header, 8 + size

class SafetensorsReader:
    """Minimal reader: numpy.memmap of each tensor, viewed as torch bf16 (BF16 only)."""

    def __init__(self, model_dir):
        self.path = os.path.join(model_dir, "model.safetensors")
        self.header, self.data_offset = read_header(self.path)

    def get(self, name):
        entry = self.header[name]
        assert entry["dtype"] == "BF16", f"{self.path}: {name} is {entry['dtype']}, not BF16"
        begin, end = entry["data_offsets"]
        array = np.memmap(self.path, dtype=np.uint16, mode="c", offset=self.data_offset + begin,
                          shape=((end - begin) // 2,))
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16).reshape(entry["shape"])

def magnitude(tensor, density):
    """mergekit sparsify.magnitude: keep the k = int(density * numel) largest |values|."""
    if density >= 1:
        return tensor
    k = int(density * tensor.numel())
    mask = torch.zeros_like(tensor)
    top = torch.topk(tensor.abs().view(-1), k, sorted=False).indices
    mask.view(-1)[top] = 1
    return tensor * mask

def bernoulli(tensor, density):
    """mergekit sparsify.bernoulli with rescale: random mask of keep probability density, / density."""
    if density >= 1:
        return tensor
    mask = torch.bernoulli(torch.full_like(tensor, density))
    return tensor * mask / density

def merge_tensor(method, base, models, weight, density):
    if method == "linear":
        tensors = torch.stack([base] + models, dim=0)
        weights = torch.full((tensors.shape[0],) + (1,) * (tensors.dim() - 1), weight)
        return (weights * tensors).sum(dim=0) / weights.sum(dim=0)
    deltas = [model - base for model in models]
    if method == "ties":
        deltas = [magnitude(delta, density) for delta in deltas]
    elif method == "dare_ties":
        deltas = [bernoulli(delta, density) for delta in deltas]
    deltas = torch.stack(deltas, dim=0)
    weights = torch.full((deltas.shape[0],) + (1,) * (deltas.dim() - 1), weight)
    weighted = deltas * weights
    if method in ("ties", "dare_ties"):
        # get_mask(method="sum"): the sign of the summed weighted deltas, >= 0 counts as +.
        majority_sign = (weighted.sum(dim=0) >= 0).to(weighted.dtype) * 2 - 1
        mask = weighted.sign() == majority_sign
        mixed = (weighted * mask).sum(dim=0)
        divisor = (weights * mask).sum(dim=0)
    else:
        mixed = weighted.sum(dim=0)
        divisor = weights.sum(dim=0).expand_as(mixed).clone()
    divisor[divisor.abs() < 1e-8] = 1  # normalize: true
    return base + mixed / divisor

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=["linear", "task_arithmetic", "ties", "dare_ties"])
    parser.add_argument("out")
    parser.add_argument("--base", required=True)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--weight", type=float, default=0.5)
    parser.add_argument("--density", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.time()
    base = SafetensorsReader(args.base)
    models = [SafetensorsReader(path) for path in args.models]
    names = sorted(base.header)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in names:
        n_byte = 2 * int(np.prod(base.header[name]["shape"]))
        header[name] = {"dtype": "BF16", "shape": base.header[name]["shape"], "data_offsets": [offset, offset + n_byte]}
        offset += n_byte
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.base, "config.json")) as f:
        config = f.read()
    with open(os.path.join(args.out, "config.json"), "w") as f:
        f.write(config)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for name in names:
            base_tensor = base.get(name).float()
            model_tensors = [model.get(name).float() for model in models]
            merged = merge_tensor(args.method, base_tensor, model_tensors, args.weight, args.density)
            out.write(merged.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    n_input = sum(os.path.getsize(reader.path) for reader in [base] + models)
    seconds = time.time() - start
    print(f"merge_torch {args.method}: {len(names)} tensors, {n_input / 1e9:.3f} GB read in {seconds:.2f} s "
          f"({n_input / 1e9 / seconds:.3f} GB/s)")

if __name__ == "__main__":
    main()
