#!/usr/bin/python3
"""Write the merge benchmark's inputs: a generated bf16 Llama base and N fine-tunes of it.

usage: make_models.py OUT_DIR [--gib 0.55] [--n-finetune 3]
OUT_DIR/base is bench/import/make_model.py's model of about GIB GiB; OUT_DIR/ft<i> has the same
header and config, and every bf16 value of the base with its 3 low mantissa bits XOR'd with a
random pattern of its own (a relative change under 6%, finite, the same exponent), so the
fine-tunes differ from the base and from each other in every tensor.
"""
import argparse, os, shutil, subprocess, struct, sys
import numpy as np

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--gib", type=float, default=0.55)
    parser.add_argument("--n-finetune", type=int, default=3)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    base = os.path.join(args.out, "base")
    subprocess.run([sys.executable, os.path.join(here, "..", "import", "make_model.py"), base, "--gib", str(args.gib)],
                   check=True)
    source = os.path.join(base, "model.safetensors")
    with open(source, "rb") as f:
        header_size = struct.unpack("<Q", f.read(8))[0]
    data_offset = 8 + header_size
    block_elements = 16 * 2**20  # 32 MiB chunks of uint16
    for model_idx in range(1, args.n_finetune + 1):
        out_dir = os.path.join(args.out, f"ft{model_idx}")
        os.makedirs(out_dir, exist_ok=True)
        shutil.copyfile(os.path.join(base, "config.json"), os.path.join(out_dir, "config.json"))
        rng = np.random.default_rng(model_idx)
        pattern = rng.integers(0, 8, size=block_elements, dtype=np.uint16)
        partial = os.path.join(out_dir, "model.safetensors.partial")
        with open(source, "rb") as src, open(partial, "wb") as dst:
            dst.write(src.read(data_offset))
            while True:
                chunk = src.read(2 * block_elements)
                if not chunk:
                    break
                values = np.frombuffer(chunk, dtype=np.uint16)
                dst.write((values ^ pattern[: values.size]).tobytes())
        os.replace(partial, os.path.join(out_dir, "model.safetensors"))
        print(f"{out_dir}: base with perturbed low mantissa bits (seed {model_idx})")

if __name__ == "__main__":
    main()
