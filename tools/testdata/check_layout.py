#!/usr/bin/python3
"""Checks that a directory is a HF Llama model dir or a PEFT LoRA adapter dir laid out as
transformers / PEFT write them: file names, tensor names, shapes and dtypes, safetensors framing.
An independent (numpy-only) cross-check of the test data and of moerge's own exports.

Usage: /usr/bin/python3 tools/testdata/check_layout.py [--base BASE_DIR] DIR [DIR...]
Prints one "ok" line per directory; exits 1 with one "FAIL" line per problem otherwise. With
--base, adapters are also checked against that HF model's shapes (base_model_name_or_path is a
hub name, so it is not resolved); without it, an adapter is checked for self-consistency only.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
              "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
FLOAT_DTYPES = ("F32", "F16", "BF16")
ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


class Problems(Exception):
    pass


def read_safetensors(path):
    """{name: (dtype, shape, numpy float32 array or None)} after checking the file's framing."""
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < 8:
        raise Problems([f"{path}: shorter than the 8-byte header length"])
    (n_header,) = struct.unpack("<Q", blob[:8])
    if 8 + n_header > len(blob):
        raise Problems([f"{path}: header length {n_header} runs past the end of the file"])
    text = blob[8:8 + n_header]
    problems = []
    if (8 + n_header) % 8 != 0:
        problems.append(f"{path}: data section starts at {8 + n_header}, not 8-byte aligned")
    header = json.loads(text.decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (not isinstance(metadata, dict) or
                                 not all(isinstance(v, str) for v in metadata.values())):
        problems.append(f"{path}: __metadata__ must map strings to strings")
    data = blob[8 + n_header:]
    tensors = {}
    spans = []
    for name, info in header.items():
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_SIZE:
            problems.append(f"{path}: tensor {name}: unknown dtype {dtype}")
            continue
        n_byte = DTYPE_SIZE[dtype] * int(np.prod(shape, dtype=np.int64))
        if end - begin != n_byte or end > len(data) or begin < 0:
            problems.append(f"{path}: tensor {name}: data_offsets [{begin}, {end}] do not hold {dtype} x {shape}")
            continue
        spans.append((begin, end, name))
        raw = data[begin:end]
        values = None
        if dtype == "F32":
            values = np.frombuffer(raw, dtype="<f4").reshape(shape)
        elif dtype == "F16":
            values = np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(shape)
        elif dtype == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
        tensors[name] = (dtype, list(shape), values)
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin != position:
            problems.append(f"{path}: tensor {name}: starts at {begin}, expected {position} (gap or overlap)")
        position = end
    if position != len(data):
        problems.append(f"{path}: data section has {len(data) - position} trailing bytes")
    if problems:
        raise Problems(problems)
    return tensors


def llama_shapes(config):
    d_model = config["hidden_size"]
    n_head = config["num_attention_heads"]
    n_kv_head = config.get("num_key_value_heads") or n_head
    d_kv = n_kv_head * (d_model // n_head)
    n_ff = config["intermediate_size"]
    vocab = config["vocab_size"]
    dims = {"q_proj": [d_model, d_model], "k_proj": [d_kv, d_model], "v_proj": [d_kv, d_model],
            "o_proj": [d_model, d_model], "gate_proj": [n_ff, d_model], "up_proj": [n_ff, d_model],
            "down_proj": [d_model, n_ff]}
    shapes = {"model.embed_tokens.weight": [vocab, d_model], "model.norm.weight": [d_model]}
    for layer_idx in range(config["num_hidden_layers"]):
        for proj in ATTN + MLP:
            part = "self_attn" if proj in ATTN else "mlp"
            shapes[f"model.layers.{layer_idx}.{part}.{proj}.weight"] = dims[proj]
        shapes[f"model.layers.{layer_idx}.input_layernorm.weight"] = [d_model]
        shapes[f"model.layers.{layer_idx}.post_attention_layernorm.weight"] = [d_model]
    if not config.get("tie_word_embeddings", False):
        shapes["lm_head.weight"] = [vocab, d_model]
    return shapes


def load_model_tensors(path):
    """Every tensor of a HF model dir: model.safetensors, or the shards its index names."""
    problems = []
    single = os.path.join(path, "model.safetensors")
    index_path = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(single):
        return read_safetensors(single)
    if not os.path.exists(index_path):
        raise Problems([f"{path}: neither model.safetensors nor model.safetensors.index.json"])
    with open(index_path, encoding="utf-8") as handle:
        index = json.load(handle)
    if set(index) != {"metadata", "weight_map"}:
        problems.append(f"{index_path}: top-level keys {sorted(index)}, expected metadata and weight_map")
    tensors = {}
    for shard in sorted(set(index["weight_map"].values())):
        shard_tensors = read_safetensors(os.path.join(path, shard))
        for name in shard_tensors:
            if index["weight_map"].get(name) != shard:
                problems.append(f"{index_path}: {shard} holds {name}, which the weight_map places elsewhere")
        tensors.update(shard_tensors)
    missing = set(index["weight_map"]) - set(tensors)
    if missing:
        problems.append(f"{index_path}: tensors named but absent from their shards: {sorted(missing)}")
    total = sum(DTYPE_SIZE[dtype] * int(np.prod(shape, dtype=np.int64)) for dtype, shape, _ in tensors.values())
    if index.get("metadata", {}).get("total_size") != total:
        problems.append(f"{index_path}: metadata.total_size {index.get('metadata', {}).get('total_size')}, "
                        f"tensors hold {total} bytes")
    if problems:
        raise Problems(problems)
    return tensors


def check_model(path):
    problems = []
    with open(os.path.join(path, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    if config.get("model_type") != "llama" or "LlamaForCausalLM" not in config.get("architectures", []):
        problems.append(f"{path}/config.json: not a LlamaForCausalLM config")
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                "max_position_embeddings"):
        if not isinstance(config.get(key), int) or config[key] <= 0:
            problems.append(f"{path}/config.json: {key} = {config.get(key)!r}, expected a positive integer")
    if problems:
        raise Problems(problems)
    if config["hidden_size"] % config["num_attention_heads"] != 0:
        problems.append(f"{path}/config.json: hidden_size not divisible by num_attention_heads")
    tensors = load_model_tensors(path)
    expected = llama_shapes(config)
    torch_dtype = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}.get(config.get("torch_dtype"))
    for name, shape in expected.items():
        if name not in tensors:
            problems.append(f"{path}: missing tensor {name}")
            continue
        dtype, actual, values = tensors[name]
        if actual != shape:
            problems.append(f"{path}: {name} has shape {actual}, expected {shape}")
        if dtype not in FLOAT_DTYPES:
            problems.append(f"{path}: {name} has dtype {dtype}")
        elif torch_dtype is not None and dtype != torch_dtype:
            problems.append(f"{path}: {name} is {dtype} but config.json says torch_dtype {config['torch_dtype']}")
        elif not np.all(np.isfinite(values)):
            problems.append(f"{path}: {name} holds non-finite values")
    for name in sorted(set(tensors) - set(expected)):
        problems.append(f"{path}: unexpected tensor {name}")
    fisher_path = os.path.join(path, "fisher.safetensors")
    if os.path.exists(fisher_path):
        fisher = read_safetensors(fisher_path)
        if sorted(fisher) != sorted(expected):
            problems.append(f"{fisher_path}: names differ from the model's")
        for name, (dtype, shape, values) in fisher.items():
            if name in expected and (shape != expected[name] or dtype != "F32" or not np.all(values > 0)):
                problems.append(f"{fisher_path}: {name} must be F32 {expected[name]} with positive values")
    if problems:
        raise Problems(problems)
    return f"HF Llama model, {len(tensors)} tensors, {config['num_hidden_layers']} layers"


def check_adapter(path, base_shapes):
    problems = []
    config_path = os.path.join(path, "adapter_config.json")
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    expect = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "bias": "none", "fan_in_fan_out": False}
    for key, value in expect.items():
        if config.get(key) != value:
            problems.append(f"{config_path}: {key} = {config.get(key)!r}, expected {value!r}")
    r = config.get("r")
    if not isinstance(r, int) or r <= 0:
        problems.append(f"{config_path}: r = {r!r}, expected a positive integer")
    if not isinstance(config.get("lora_alpha"), (int, float)) or config["lora_alpha"] <= 0:
        problems.append(f"{config_path}: lora_alpha = {config.get('lora_alpha')!r}, expected a positive number")
    targets = config.get("target_modules")
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        problems.append(f"{config_path}: target_modules = {targets!r}, expected a list of names")
    for key in ("use_rslora", "inference_mode"):
        if not isinstance(config.get(key), bool):
            problems.append(f"{config_path}: {key} = {config.get(key)!r}, expected a bool")
    if problems:
        raise Problems(problems)
    tensors = read_safetensors(os.path.join(path, "adapter_model.safetensors"))
    modules = {}
    for name, (dtype, shape, _) in tensors.items():
        prefix = "base_model.model."
        for suffix, which in ((".lora_A.weight", "A"), (".lora_B.weight", "B")):
            if name.startswith(prefix) and name.endswith(suffix):
                modules.setdefault(name[len(prefix):-len(suffix)], {})[which] = (dtype, shape)
                break
        else:
            problems.append(f"{path}: tensor {name} is not base_model.model.<module>.lora_[AB].weight")
    for module, pair in sorted(modules.items()):
        if set(pair) != {"A", "B"}:
            problems.append(f"{path}: {module} lacks lora_{'B' if 'A' in pair else 'A'}")
            continue
        (a_dtype, a_shape), (b_dtype, b_shape) = pair["A"], pair["B"]
        if module.rsplit(".", 1)[1] not in targets:
            problems.append(f"{path}: {module} is not in target_modules")
        if a_dtype not in FLOAT_DTYPES or b_dtype not in FLOAT_DTYPES:
            problems.append(f"{path}: {module} has dtypes {a_dtype}/{b_dtype}")
        if len(a_shape) != 2 or len(b_shape) != 2 or a_shape[0] != r or b_shape[1] != r:
            problems.append(f"{path}: {module}: A {a_shape}, B {b_shape}; expected [r={r}, d_in], [d_out, r={r}]")
            continue
        if base_shapes is not None:
            base = base_shapes.get(module + ".weight")
            if base is None:
                problems.append(f"{path}: {module}: the base has no {module}.weight")
            elif [b_shape[0], a_shape[1]] != base:
                problems.append(f"{path}: {module}: delta [{b_shape[0]}, {a_shape[1]}] != base {base}")
    gates_path = os.path.join(path, "phatgoose_gates.safetensors")
    if os.path.exists(gates_path):
        gates = read_safetensors(gates_path)
        expected_gates = {f"base_model.model.{module}.gate": [pair["A"][1][1]] for module, pair in modules.items()}
        for name, (dtype, shape, _) in gates.items():
            if expected_gates.get(name) != shape or dtype != "F32":
                problems.append(f"{gates_path}: {name}: {dtype} {shape}, expected F32 {expected_gates.get(name)}")
    if problems:
        raise Problems(problems)
    scale = config["lora_alpha"] / (np.sqrt(r) if config["use_rslora"] else r)
    return f"PEFT LoRA adapter, {len(modules)} modules, r {r}, scale {scale:.6g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--base", help="a HF model dir whose shapes adapters must fit")
    args = parser.parse_args()
    base_shapes = None
    if args.base:
        with open(os.path.join(args.base, "config.json"), encoding="utf-8") as handle:
            base_shapes = llama_shapes(json.load(handle))
    failed = False
    for path in args.dirs:
        try:
            if os.path.exists(os.path.join(path, "adapter_config.json")):
                summary = check_adapter(path, base_shapes)
            elif os.path.exists(os.path.join(path, "config.json")):
                summary = check_model(path)
            else:
                raise Problems([f"{path}: neither adapter_config.json nor config.json"])
            print(f"ok {path}: {summary}")
        except Problems as error:
            failed = True
            for problem in error.args[0]:
                print(f"FAIL {problem}")
        except (OSError, ValueError, KeyError, TypeError) as error:
            failed = True
            print(f"FAIL {path}: {type(error).__name__}: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
