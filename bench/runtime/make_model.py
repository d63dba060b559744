#!/usr/bin/python3
"""Write a generated Llama-style HF model directory (~100M parameters, f32, byte-level vocabulary)
and N random rank-8 LoRA adapters for it (PEFT layout), for bench/runtime; or only the extra
adapters for an existing model (the zoo has 15 LoRAs, the benchmark routes over 16).

usage: make_model.py OUT_DIR [--d-model 768] [--n-layer 12] [--n-head 12] [--n-ff 2560]
                             [--n-ctx 256] [--n-adapter 16] [--seed 0]
       make_model.py --adapters-only BASE_DIR OUT_DIR [--n-adapter 1] [--seed 0] [--prefix gen]

Model: OUT_DIR/base (config.json + model.safetensors); adapters: OUT_DIR/lora/<prefix><k>
(adapter_config.json + adapter_model.safetensors). Weights are random and scaled as HF's
LlamaPreTrainedModel._init_weights does (normal(0, initializer_range = 0.02) for linear layers and
the embedding, RMSNorm weights 1). LoRA A is PEFT's kaiming-uniform init (bound 1 / sqrt(d_in));
B is normal(0, 0.02) instead of PEFT's zeros, so that each adapter changes the output and Arrow's
prototypes (the top singular vector of B A) are well defined.
"""
import argparse
import json
import os
import struct

import numpy as np

MODULES = [("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
           ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj")]


def write_safetensors(path, tensors):
    """tensors: name -> float32 numpy array; written F32, names sorted, header padded to 8 bytes."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in sorted(tensors):
        n_bytes = 4 * tensors[name].size
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + n_bytes]}
        offset += n_bytes
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".partial"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for name in sorted(tensors):
            out.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())
    os.replace(tmp, path)


def module_shapes(config):
    d_model, n_ff = config["hidden_size"], config["intermediate_size"]
    d_kv = config["num_key_value_heads"] * (d_model // config["num_attention_heads"])
    out = {"q_proj": (d_model, d_model), "k_proj": (d_kv, d_model), "v_proj": (d_kv, d_model),
           "o_proj": (d_model, d_model), "gate_proj": (n_ff, d_model), "up_proj": (n_ff, d_model),
           "down_proj": (d_model, n_ff)}
    return out  # name -> (d_out, d_in)


def make_base(out_dir, args, rng):
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": args.d_model,
        "intermediate_size": args.n_ff, "num_hidden_layers": args.n_layer, "num_attention_heads": args.n_head,
        "num_key_value_heads": args.n_head, "max_position_embeddings": args.n_ctx, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "vocab_size": 258, "bos_token_id": 256, "eos_token_id": 257,
        "tie_word_embeddings": False, "torch_dtype": "float32", "hidden_act": "silu", "attention_bias": False,
        "initializer_range": 0.02,
    }
    shapes = module_shapes(config)
    tensors = {"model.embed_tokens.weight": rng.normal(0, 0.02, (258, args.d_model)).astype(np.float32),
               "lm_head.weight": rng.normal(0, 0.02, (258, args.d_model)).astype(np.float32),
               "model.norm.weight": np.ones(args.d_model, np.float32)}
    for layer_idx in range(args.n_layer):
        prefix = f"model.layers.{layer_idx}."
        for block, name in MODULES:
            tensors[f"{prefix}{block}.{name}.weight"] = rng.normal(0, 0.02, shapes[name]).astype(np.float32)
        tensors[prefix + "input_layernorm.weight"] = np.ones(args.d_model, np.float32)
        tensors[prefix + "post_attention_layernorm.weight"] = np.ones(args.d_model, np.float32)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors)
    with open(os.path.join(out_dir, "config.json"), "w") as out:
        json.dump(config, out, indent=2)
    n_param = sum(value.size for value in tensors.values())
    print(f"{out_dir}: {n_param / 1e6:.1f}M parameters (f32), d {args.d_model}, {args.n_layer} layers, "
          f"{args.n_head} heads, d_ff {args.n_ff}, ctx {args.n_ctx}")
    return config


def make_adapter(out_dir, base_dir, config, rank, rng):
    shapes = module_shapes(config)
    tensors = {}
    for layer_idx in range(config["num_hidden_layers"]):
        for block, name in MODULES:
            d_out, d_in = shapes[name]
            path = f"base_model.model.model.layers.{layer_idx}.{block}.{name}"
            bound = 1.0 / np.sqrt(d_in)
            tensors[path + ".lora_A.weight"] = rng.uniform(-bound, bound, (rank, d_in)).astype(np.float32)
            tensors[path + ".lora_B.weight"] = rng.normal(0, 0.02, (d_out, rank)).astype(np.float32)
    adapter_config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": 2 * rank, "lora_dropout": 0.0,
        "bias": "none", "fan_in_fan_out": False, "use_rslora": False, "use_dora": False,
        "target_modules": [name for _, name in MODULES], "inference_mode": True,
        "base_model_name_or_path": os.path.relpath(base_dir, out_dir),
    }
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"), tensors)
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as out:
        json.dump(adapter_config, out, indent=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", help="OUT_DIR, or BASE_DIR OUT_DIR with --adapters-only")
    parser.add_argument("--adapters-only", action="store_true")
    parser.add_argument("--d-model", type=int, default=768)
    parser.add_argument("--n-layer", type=int, default=12)
    parser.add_argument("--n-head", type=int, default=12)
    parser.add_argument("--n-ff", type=int, default=2560)
    parser.add_argument("--n-ctx", type=int, default=256)
    parser.add_argument("--n-adapter", type=int, default=16)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--prefix", default="expert")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.adapters_only:
        if len(args.paths) != 2:
            parser.error("--adapters-only needs BASE_DIR OUT_DIR")
        with open(os.path.join(args.paths[0], "config.json")) as handle:
            config = json.load(handle)
        base_dir, out_dir = args.paths
    else:
        if len(args.paths) != 1:
            parser.error("one OUT_DIR")
        out_dir = args.paths[0]
        base_dir = os.path.join(out_dir, "base")
        config = make_base(base_dir, args, rng)
    for adapter_idx in range(args.n_adapter):
        make_adapter(os.path.join(out_dir, "lora", f"{args.prefix}{adapter_idx:02d}"), base_dir, config, args.rank, rng)
    print(f"{out_dir}/lora: {args.n_adapter} rank-{args.rank} adapters")


if __name__ == "__main__":
    main()
