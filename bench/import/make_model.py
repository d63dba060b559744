#!/usr/bin/python3
"""Write a generated Llama-style HF model directory of about SIZE GiB (bf16) for benchmarks.

usage: make_model.py OUT_DIR [--gib 1.0]
The values are random bits of a repeated 64 MiB block: throughput does not depend on them.
"""
import argparse, json, os, struct
import numpy as np

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    hidden, ff, vocab, heads = 2048, 5632, 32000, 16
    per_layer = 4 * hidden * hidden + 3 * hidden * ff + 2 * hidden
    fixed = 2 * vocab * hidden + hidden
    n_layer = max(1, round((args.gib * 2**30 / 2 - fixed) / per_layer))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "intermediate_size": ff, "num_hidden_layers": n_layer, "num_attention_heads": heads,
        "num_key_value_heads": heads, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "vocab_size": vocab, "bos_token_id": 1, "eos_token_id": 2,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "hidden_act": "silu",
        "attention_bias": False,
    }
    shapes = {"model.embed_tokens.weight": [vocab, hidden], "model.norm.weight": [hidden],
              "lm_head.weight": [vocab, hidden]}
    for layer in range(n_layer):
        p = f"model.layers.{layer}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[p + f"self_attn.{name}.weight"] = [hidden, hidden]
        shapes[p + "mlp.gate_proj.weight"] = [ff, hidden]
        shapes[p + "mlp.up_proj.weight"] = [ff, hidden]
        shapes[p + "mlp.down_proj.weight"] = [hidden, ff]
        shapes[p + "input_layernorm.weight"] = [hidden]
        shapes[p + "post_attention_layernorm.weight"] = [hidden]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in sorted(shapes):
        n_bytes = 2 * int(np.prod(shapes[name]))
        header[name] = {"dtype": "BF16", "shape": shapes[name], "data_offsets": [offset, offset + n_bytes]}
        offset += n_bytes
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    os.makedirs(args.out, exist_ok=True)
    # Random bf16 values in a sane range: random mantissa/sign, exponent near 2^-7.
    rng = np.random.default_rng(0)
    block = (rng.integers(0, 2**16, size=32 * 2**20, dtype=np.uint32).astype(np.uint16) & 0x807F) | 0x3C00
    block = block.tobytes()
    with open(os.path.join(args.out, "model.safetensors"), "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        remaining = offset
        while remaining > 0:
            chunk = block[: min(len(block), remaining)]
            out.write(chunk)
            remaining -= len(chunk)
    with open(os.path.join(args.out, "config.json"), "w") as out:
        json.dump(config, out, indent=2)
    print(f"{args.out}: {n_layer} layers, {offset / 2**30:.3f} GiB of bf16 tensors")

if __name__ == "__main__":
    main()
