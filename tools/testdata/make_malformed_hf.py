#!/usr/bin/python3
"""Writes the malformed HF / PEFT import corpus under tests/data/malformed/hf/: one small broken
directory per case, and EXPECTED.tsv (case directory, tab, a substring the import error must hold).

Usage: /usr/bin/python3 tools/testdata/make_malformed_hf.py [--out tests/data/malformed/hf]

HF model cases use a micro Llama config (hidden 8, 1 layer) so that each stays a few kB; PEFT
adapter cases are checked against tests/data/tiny/base (hidden 32, k/v 16, intermediate 64).
Deterministic: numpy seed fixed, zip entries dated 1980-01-01.
"""
import argparse
import os
import pickle
import shutil
import sys
import zipfile

import numpy as np

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_test_data as tiny  # noqa: E402  (the safetensors writer and the Llama layout)

SEED = 7

MICRO_CONFIG = dict(tiny.CONFIG, _name_or_path="moerge/micro-llama", hidden_size=8, intermediate_size=16,
                    num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, vocab_size=16,
                    max_position_embeddings=16)


class Corpus:
    def __init__(self, out):
        self.out = out
        self.expected = []
        self.rng = np.random.default_rng(SEED)

    def case(self, name, expected):
        """Start a case directory; `expected` is a substring of the error the import must raise."""
        assert "\t" not in expected and "\n" not in expected
        self.expected.append((name, expected))
        path = os.path.join(self.out, name)
        os.makedirs(path)
        return path

    def micro_weights(self, config=MICRO_CONFIG):
        return {name: ("F32", self.rng.standard_normal(shape).astype(np.float32))
                for name, shape in tiny.llama_shapes(config).items()}

    def lora(self, modules, r=4):
        """{module path: (A [r, d_in], B [d_out, r])} shaped as the tiny base's projection of that name
        (in any layer, so that a layer the base lacks can be named too)."""
        shapes = tiny.linear_shapes(tiny.CONFIG)
        out = {}
        for path in modules:
            d_out, d_in = shapes[tiny.module_path(0, path.rsplit(".", 1)[1])]
            out[path] = (self.rng.uniform(-0.1, 0.1, (r, d_in)).astype(np.float32),
                         (0.1 * self.rng.standard_normal((d_out, r))).astype(np.float32))
        return out


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_torch_zip(path):
    """A file laid out as torch.save writes it (a zip holding archive/data.pkl): never to be loaded."""
    info = zipfile.ZipInfo("archive/data.pkl", date_time=(1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(info, pickle.dumps({"weight": [0.0, 1.0]}, protocol=2))


def hf_cases(corpus):
    def model_dir(name, expected, config=MICRO_CONFIG, edit=None):
        path = corpus.case(name, expected)
        tiny.write_json(os.path.join(path, "config.json"), config)
        weights = corpus.micro_weights(config)
        if edit is not None:
            edit(weights)
        tiny.write_safetensors(os.path.join(path, "model.safetensors"), weights)
        return path

    path = corpus.case("config_not_json", "config is not valid JSON")
    write_text(os.path.join(path, "config.json"), '{"model_type": "llama", "hidden_size": 8,\n')

    config = dict(MICRO_CONFIG)
    del config["hidden_size"]
    path = corpus.case("config_missing_hidden_size", "key 'hidden_size' is missing")
    tiny.write_json(os.path.join(path, "config.json"), config)

    path = corpus.case("config_hidden_size_negative", "key 'hidden_size' must be a positive integer (found -8)")
    tiny.write_json(os.path.join(path, "config.json"), dict(MICRO_CONFIG, hidden_size=-8))

    path = corpus.case("config_hidden_size_string", "key 'hidden_size' must be a positive integer (found string \"8\")")
    tiny.write_json(os.path.join(path, "config.json"), dict(MICRO_CONFIG, hidden_size="8"))

    path = corpus.case("config_heads_not_dividing_hidden",
                       "key 'hidden_size' (8) is not divisible by 'num_attention_heads' (3)")
    tiny.write_json(os.path.join(path, "config.json"), dict(MICRO_CONFIG, num_attention_heads=3))

    path = corpus.case("config_kv_heads_not_dividing_heads",
                       "key 'num_attention_heads' (4) is not divisible by 'num_key_value_heads' (3)")
    tiny.write_json(os.path.join(path, "config.json"), dict(MICRO_CONFIG, num_attention_heads=4, num_key_value_heads=3))

    path = corpus.case("config_model_type_mistral", "key 'model_type' is \"mistral\"")
    tiny.write_json(os.path.join(path, "config.json"),
                    dict(MICRO_CONFIG, model_type="mistral", architectures=["MistralForCausalLM"]))

    path = corpus.case("config_rope_scaling", "key 'rope_scaling' is")
    tiny.write_json(os.path.join(path, "config.json"),
                    dict(MICRO_CONFIG, rope_scaling={"type": "linear", "factor": 2.0}))

    model_dir("missing_lm_head", "tensor 'lm_head.weight' is missing",
              edit=lambda weights: weights.pop("lm_head.weight"))

    def transpose_up(weights):
        dtype, array = weights["model.layers.0.mlp.up_proj.weight"]
        weights["model.layers.0.mlp.up_proj.weight"] = (dtype, np.ascontiguousarray(array.T))
    model_dir("wrong_shape", "tensor 'model.layers.0.mlp.up_proj.weight' has shape [8, 16], expected [16, 8]",
              edit=transpose_up)

    def int8_down(weights):
        _, array = weights["model.layers.0.mlp.down_proj.weight"]
        weights["model.layers.0.mlp.down_proj.weight"] = ("I8", np.clip(array * 40, -127, 127).astype(np.int8))
    model_dir("int8_weight", "tensor 'model.layers.0.mlp.down_proj.weight' has dtype I8", edit=int8_down)

    def add_bias(weights):
        weights["model.layers.0.self_attn.q_proj.bias"] = ("F32", np.zeros(8, dtype=np.float32))
    model_dir("unexpected_tensor", "unexpected tensor 'model.layers.0.self_attn.q_proj.bias'", edit=add_bias)

    def add_lm_head(weights):
        weights["lm_head.weight"] = ("F32", np.zeros((16, 8), dtype=np.float32))
    tied = dict(MICRO_CONFIG, tie_word_embeddings=True)
    model_dir("tied_but_lm_head_present", "unexpected tensor 'lm_head.weight'", config=tied, edit=add_lm_head)

    # Valid on its own, but a different architecture than tests/data/tiny/base.
    model_dir("full_ft_not_base", "tensor 'model.embed_tokens.weight' has shape [16, 8], base has [258, 32]")

    path = corpus.case("pickle_model_only", "moerge never loads pickle files")
    tiny.write_json(os.path.join(path, "config.json"), MICRO_CONFIG)
    with open(os.path.join(path, "pytorch_model.bin"), "wb") as handle:
        handle.write(pickle.dumps({"model.norm.weight": [1.0] * 8}, protocol=2))

    path = corpus.case("no_config", "holds neither adapter_config.json (a PEFT adapter) nor config.json")
    tiny.write_safetensors(os.path.join(path, "model.safetensors"), corpus.micro_weights())


def peft_cases(corpus):
    q0 = "model.layers.0.self_attn.q_proj"
    v0 = "model.layers.0.self_attn.v_proj"

    def adapter_dir(name, expected, config_edit=None, tensors_edit=None, modules=(q0, v0), r=4):
        path = corpus.case(name, expected)
        config = tiny.peft_config(4, 8, ["q_proj", "v_proj"], False)
        if config_edit is not None:
            config_edit(config)
        tiny.write_json(os.path.join(path, "adapter_config.json"), config)
        tensors = tiny.lora_tensors(corpus.lora(modules, r=r), "F32")
        if tensors_edit is not None:
            tensors_edit(tensors)
        tiny.write_safetensors(os.path.join(path, "adapter_model.safetensors"), tensors)
        return path

    adapter_dir("adapter_missing_r", "key 'r' is missing", config_edit=lambda config: config.pop("r"))
    adapter_dir("adapter_r_zero", "key 'r' must be a positive integer (found 0)",
                config_edit=lambda config: config.update(r=0))
    adapter_dir("adapter_negative_alpha", "key 'lora_alpha' must be a positive number (found -8)",
                config_edit=lambda config: config.update(lora_alpha=-8))
    adapter_dir("adapter_peft_type_ia3", "key 'peft_type' is \"IA3\"",
                config_edit=lambda config: config.update(peft_type="IA3"))
    adapter_dir("adapter_target_modules_regex", "key 'target_modules' is the string",
                config_edit=lambda config: config.update(target_modules=".*\\.(q|v)_proj"))
    adapter_dir("adapter_fan_in_fan_out", "key 'fan_in_fan_out' is true",
                config_edit=lambda config: config.update(fan_in_fan_out=True))
    adapter_dir("adapter_rank_pattern", "key 'rank_pattern' is",
                config_edit=lambda config: config.update(rank_pattern={"q_proj": 8}))
    adapter_dir("adapter_use_dora", "key 'use_dora' is true", config_edit=lambda config: config.update(use_dora=True))

    def wrong_rank(tensors):
        key = "base_model.model." + q0 + ".lora_A.weight"
        tensors[key] = ("F32", tensors[key][1][:3])
        key = "base_model.model." + q0 + ".lora_B.weight"
        tensors[key] = ("F32", np.ascontiguousarray(tensors[key][1][:, :3]))
    adapter_dir("adapter_a_wrong_rank", "lora_A has shape [3, 32], expected [r, d_in] with r = 4",
                tensors_edit=wrong_rank)

    adapter_dir("adapter_b_missing", "module '" + v0 + "': has lora_A",
                tensors_edit=lambda tensors: tensors.pop("base_model.model." + v0 + ".lora_B.weight"))

    adapter_dir("adapter_module_not_in_base",
                "the base has no tensor 'model.layers.9.self_attn.q_proj.weight'",
                modules=(q0, "model.layers.9.self_attn.q_proj"))

    def narrow_a(tensors):
        key = "base_model.model." + q0 + ".lora_A.weight"
        tensors[key] = ("F32", np.ascontiguousarray(tensors[key][1][:, :16]))
    adapter_dir("adapter_a_d_in_mismatch", "lora_A has shape [4, 16], expected [4, 32]", tensors_edit=narrow_a)

    adapter_dir("adapter_module_not_targeted", "'k_proj' is not in target_modules",
                modules=(q0, "model.layers.0.self_attn.k_proj"))

    def dora_key(tensors):
        tensors["base_model.model." + q0 + ".lora_magnitude_vector"] = ("F32", np.ones(32, dtype=np.float32))
    adapter_dir("adapter_dora_magnitude_key", "tensor 'base_model.model." + q0 + ".lora_magnitude_vector' is not a "
                "LoRA weight", config_edit=lambda config: config.pop("use_dora"), tensors_edit=dora_key)

    def embedding_key(tensors):
        tensors["base_model.model.model.embed_tokens.lora_embedding_A"] = ("F32", np.zeros((4, 258), np.float32))
    adapter_dir("adapter_embedding_lora", "tensor 'base_model.model.model.embed_tokens.lora_embedding_A' is not a "
                "LoRA weight", tensors_edit=embedding_key)

    path = corpus.case("adapter_pickle_only", "moerge never loads pickle files")
    tiny.write_json(os.path.join(path, "adapter_config.json"), tiny.peft_config(4, 8, ["q_proj", "v_proj"], False))
    write_torch_zip(os.path.join(path, "adapter_model.bin"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "data", "malformed", "hf"))
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    corpus = Corpus(out)
    hf_cases(corpus)
    peft_cases(corpus)
    with open(os.path.join(out, "EXPECTED.tsv"), "w", encoding="utf-8") as handle:
        handle.write("# case directory<TAB>substring of the error its import must raise; written by "
                     "tools/testdata/make_malformed_hf.py. Adapter cases are checked against tests/data/tiny/base.\n")
        for name, expected in corpus.expected:
            handle.write(f"{name}\t{expected}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
