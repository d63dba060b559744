#!/usr/bin/python3
"""Writes the tiny, deterministic HF / PEFT test data under tests/data/tiny/ (a random Llama-style
base, its sharded copy, a bf16 full fine-tune with a Fisher file, two LoRA adapters).

Usage: /usr/bin/python3 tools/testdata/make_test_data.py [--out tests/data/tiny]

Safetensors files are written here with struct + json (no safetensors package): an 8-byte
little-endian header length N, the JSON header (keys sorted, padded with spaces so that 8 + N is a
multiple of 8), then the tensors' bytes in key order. The module also serves the other testdata
scripts (make_malformed_hf.py imports write_safetensors and the layout helpers).
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

SEED = 20240611

# The tiny base model: hidden 32, 4 heads of 8, 2 key/value heads (GQA), 2 layers, byte vocab + BOS/EOS.
CONFIG = {
    "_name_or_path": "moerge/tiny-llama-base",
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 256,
    "eos_token_id": 257,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.41.2",
    "use_cache": True,
    "vocab_size": 258,
}

NUMPY_DTYPE = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "U8": np.uint8,
               "I32": np.int32, "I64": np.int64, "F64": np.float64, "BF16": np.uint16}

PROJ_NAMES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def module_path(layer_idx, proj):
    part = "self_attn" if proj in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
    return f"model.layers.{layer_idx}.{part}.{proj}"


def linear_shapes(config):
    """Module path -> (d_out, d_in) of every linear layer inside the decoder blocks."""
    d_model = config["hidden_size"]
    n_ff = config["intermediate_size"]
    n_head = config["num_attention_heads"]
    n_kv_head = config.get("num_key_value_heads", n_head)
    d_head = d_model // n_head
    d_kv = n_kv_head * d_head
    dims = {"q_proj": (d_model, d_model), "k_proj": (d_kv, d_model), "v_proj": (d_kv, d_model),
            "o_proj": (d_model, d_model), "gate_proj": (n_ff, d_model), "up_proj": (n_ff, d_model),
            "down_proj": (d_model, n_ff)}
    out = {}
    for layer_idx in range(config["num_hidden_layers"]):
        for proj in PROJ_NAMES:
            out[module_path(layer_idx, proj)] = dims[proj]
    return out


def llama_shapes(config):
    """HF tensor name -> shape, in the order of LlamaForCausalLM.state_dict()."""
    d_model = config["hidden_size"]
    vocab = config["vocab_size"]
    linears = linear_shapes(config)
    shapes = {"model.embed_tokens.weight": (vocab, d_model)}
    for layer_idx in range(config["num_hidden_layers"]):
        for proj in PROJ_NAMES:
            path = module_path(layer_idx, proj)
            shapes[path + ".weight"] = linears[path]
        shapes[f"model.layers.{layer_idx}.input_layernorm.weight"] = (d_model,)
        shapes[f"model.layers.{layer_idx}.post_attention_layernorm.weight"] = (d_model,)
    shapes["model.norm.weight"] = (d_model,)
    if not config.get("tie_word_embeddings", False):
        shapes["lm_head.weight"] = (vocab, d_model)
    return shapes


def to_bf16_bits(array):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even, as torch does."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, metadata=None, header_override=None):
    """tensors: {name: (dtype_name, numpy array)}; for BF16 the array holds uint16 bit patterns.
    header_override(header_dict) may edit the header before it is serialised (for broken files)."""
    if metadata is None:
        metadata = {"format": "pt"}
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, array = tensors[name]
        little_endian = np.dtype(NUMPY_DTYPE[dtype]).newbyteorder("<")
        blob = np.ascontiguousarray(array, dtype=little_endian).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    if header_override is not None:
        header_override(header)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        for blob in blobs:
            handle.write(blob)


def write_json(path, document):
    """As HF / PEFT write them: indent 2, keys sorted, trailing newline."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=2, sort_keys=True) + "\n")


def make_base(rng, config):
    """Random weights scaled so that activations stay O(1): linears ~ N(0, 1/d_in), norms ~ 1."""
    weights = {}
    for name, shape in llama_shapes(config).items():
        if len(shape) == 1:
            weights[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif name == "model.embed_tokens.weight":
            weights[name] = rng.standard_normal(shape).astype(np.float32)
        else:
            weights[name] = (rng.standard_normal(shape) / np.sqrt(shape[1])).astype(np.float32)
    return weights


def peft_config(r, alpha, targets, use_rslora):
    """adapter_config.json exactly as PEFT 0.11 writes it for a LoRA on a causal LM."""
    return {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": CONFIG["_name_or_path"],
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layer_replication": None,
        "layers_pattern": None,
        "layers_to_transform": None,
        "loftq_config": {},
        "lora_alpha": alpha,
        "lora_dropout": 0.05,
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": r,
        "rank_pattern": {},
        "revision": None,
        "target_modules": sorted(targets),
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": use_rslora,
    }


def make_lora(rng, config, r, targets, b_scale):
    """{module path: (A [r, d_in], B [d_out, r])}: A ~ kaiming-uniform as PEFT inits it, B random
    (a trained adapter: PEFT's zero B would make the delta vanish)."""
    out = {}
    for path, (d_out, d_in) in linear_shapes(config).items():
        if path.rsplit(".", 1)[1] not in targets:
            continue
        bound = 1.0 / np.sqrt(d_in)
        lora_a = rng.uniform(-bound, bound, size=(r, d_in)).astype(np.float32)
        lora_b = (b_scale * rng.standard_normal((d_out, r))).astype(np.float32)
        out[path] = (lora_a, lora_b)
    return out


def lora_tensors(lora, dtype):
    tensors = {}
    for path, (lora_a, lora_b) in lora.items():
        prefix = "base_model.model." + path
        if dtype == "BF16":
            tensors[prefix + ".lora_A.weight"] = ("BF16", to_bf16_bits(lora_a))
            tensors[prefix + ".lora_B.weight"] = ("BF16", to_bf16_bits(lora_b))
        else:
            tensors[prefix + ".lora_A.weight"] = ("F32", lora_a)
            tensors[prefix + ".lora_B.weight"] = ("F32", lora_b)
    return tensors


def tensor_bytes(array):
    return array.size * array.dtype.itemsize


README = """# Tiny HF / PEFT test data

Written by `/usr/bin/python3 tools/testdata/make_test_data.py` (numpy only, seed {seed}; rerunning
it reproduces every byte). Do not edit by hand: change the script and rerun it.

The base is a random Llama-style decoder in the exact Hugging Face layout: hidden 32, intermediate
64, 2 layers, 4 attention heads of 8, 2 key/value heads (grouped-query attention), vocab 258
(bytes 0..255, BOS 256, EOS 257), untied `lm_head`, RMSNorm eps 1e-5, RoPE theta 10000.

| dir | what |
|---|---|
| `base/` | `config.json` (LlamaForCausalLM) + `model.safetensors`, F32, HF tensor names |
| `base_sharded/` | the same tensors (same bytes) in `model-00001-of-00002.safetensors` (embeddings, layer 0) and `model-00002-of-00002.safetensors` (layer 1, final norm, lm_head) + `model.safetensors.index.json` |
| `full_bf16/` | a full fine-tune: base + N(0, 0.01^2) noise, stored BF16 (`torch_dtype` "bfloat16"), + `fisher.safetensors` (same names and shapes, F32, positive diagonal Fisher values) |
| `adapters/lora_a/` | PEFT LoRA, r 4, lora_alpha 8 (scale alpha/r = 2), targets q_proj, v_proj, F32; + `phatgoose_gates.safetensors` (`base_model.model.<module>.gate`, [d_in], F32, for every adapted module) |
| `adapters/lora_b/` | PEFT LoRA, r 2, lora_alpha 4, use_rslora (scale alpha/sqrt(r) = 2.828...), all seven projections (q, k, v, o, gate, up, down), BF16 |

Adapter tensors are `base_model.model.<module>.lora_A.weight` [r, d_in] and
`base_model.model.<module>.lora_B.weight` [d_out, r], with `<module>` e.g.
`model.layers.0.self_attn.q_proj`; B is non-zero in both adapters. k_proj and v_proj have
d_out 16 (2 key/value heads of 8).

`tools/testdata/check_layout.py DIR` checks any of these dirs against the HF / PEFT naming and
shape conventions (run by `tests/scripts/testdata_layout.sh`).
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "data", "tiny"))
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    rng = np.random.default_rng(SEED)

    # base/
    base = make_base(rng, CONFIG)
    write_json(os.path.join(out, "base", "config.json"), CONFIG)
    write_safetensors(os.path.join(out, "base", "model.safetensors"),
                      {name: ("F32", array) for name, array in base.items()})

    # base_sharded/: HF fills shards in state-dict order; split at the layer boundary.
    names = list(base)
    first = [n for n in names if n == "model.embed_tokens.weight" or n.startswith("model.layers.0.")]
    shards = {"model-00001-of-00002.safetensors": first,
              "model-00002-of-00002.safetensors": [n for n in names if n not in first]}
    write_json(os.path.join(out, "base_sharded", "config.json"), CONFIG)
    weight_map = {}
    for shard, shard_names in shards.items():
        write_safetensors(os.path.join(out, "base_sharded", shard),
                          {name: ("F32", base[name]) for name in shard_names})
        weight_map.update({name: shard for name in shard_names})
    total_size = sum(tensor_bytes(array) for array in base.values())
    write_json(os.path.join(out, "base_sharded", "model.safetensors.index.json"),
               {"metadata": {"total_size": total_size}, "weight_map": weight_map})

    # full_bf16/
    full_config = dict(CONFIG, _name_or_path="moerge/tiny-llama-full-ft", torch_dtype="bfloat16")
    write_json(os.path.join(out, "full_bf16", "config.json"), full_config)
    full = {name: ("BF16", to_bf16_bits(array + 0.01 * rng.standard_normal(array.shape).astype(np.float32)))
            for name, array in base.items()}
    write_safetensors(os.path.join(out, "full_bf16", "model.safetensors"), full)
    fisher = {name: ("F32", (np.exp(rng.standard_normal(array.shape)) * 1e-3).astype(np.float32))
              for name, array in base.items()}
    write_safetensors(os.path.join(out, "full_bf16", "fisher.safetensors"), fisher)

    # adapters/lora_a/
    lora_a_dir = os.path.join(out, "adapters", "lora_a")
    lora_a = make_lora(rng, CONFIG, r=4, targets=["q_proj", "v_proj"], b_scale=0.1)
    write_json(os.path.join(lora_a_dir, "adapter_config.json"),
               peft_config(4, 8, ["q_proj", "v_proj"], False))
    write_safetensors(os.path.join(lora_a_dir, "adapter_model.safetensors"), lora_tensors(lora_a, "F32"))
    gates = {"base_model.model." + path + ".gate": ("F32", (0.1 * rng.standard_normal(a.shape[1])).astype(np.float32))
             for path, (a, _) in lora_a.items()}
    write_safetensors(os.path.join(lora_a_dir, "phatgoose_gates.safetensors"), gates)

    # adapters/lora_b/
    lora_b_dir = os.path.join(out, "adapters", "lora_b")
    lora_b = make_lora(rng, CONFIG, r=2, targets=PROJ_NAMES, b_scale=0.1)
    write_json(os.path.join(lora_b_dir, "adapter_config.json"), peft_config(2, 4, PROJ_NAMES, True))
    write_safetensors(os.path.join(lora_b_dir, "adapter_model.safetensors"), lora_tensors(lora_b, "BF16"))

    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(README.format(seed=SEED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
