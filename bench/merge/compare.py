#!/usr/bin/python3
"""Compare two bf16 safetensors outputs tensor by tensor: max difference in bf16 units in the last place.

usage: compare.py A/model.safetensors B/model.safetensors
Prints the number of elements, the fraction bit-identical and the largest |a - b| in ulps of the
larger magnitude; exits 1 when any tensor is missing or any element differs by more than 1 ulp.
"""
import json, struct, sys
import numpy as np

def tensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        out[name] = data[8 + size + begin: 8 + size + end].view(np.uint16)
    return out

def to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)

a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
if sorted(a) != sorted(b):
    print("tensor names differ")
    sys.exit(1)
n_total = n_same = 0
worst = 0.0
for name in sorted(a):
    fa, fb = to_f32(a[name]), to_f32(b[name])
    ulp = np.maximum(np.abs(fa), np.abs(fb)) * 2.0**-7  # bf16 has 7 stored mantissa bits
    ulp[ulp == 0] = np.finfo(np.float32).tiny
    worst = max(worst, float(np.max(np.abs(fa - fb) / ulp)))
    n_same += int(np.count_nonzero(a[name] == b[name]))
    n_total += a[name].size
print(f"{n_total} elements, {n_same / n_total:.6f} bit-identical, largest difference {worst:.3f} bf16 ulp")
sys.exit(0 if worst <= 1.0 else 1)
