#!/usr/bin/python3
"""Independent torch reference of Hugging Face LlamaForCausalLM (and PEFT LoRA), to cross-check
moerge's C++ runtime (src/model) and its bits-per-byte evaluator (src/eval).

Written from the semantics of transformers' modeling_llama (v4.40) and PEFT's lora.Linear, as
torch modules, not from moerge's code nor from tools/zoo/llama.py:
  LlamaRMSNorm      weight * (x * rsqrt(mean(x^2) + eps)), in float32
  LlamaRotaryEmbedding  inv_freq = 1 / theta^(arange(0, d, 2).float() / d),
                    freqs = inv_freq @ position_ids (float32), emb = cat(freqs, freqs)
  apply_rotary_pos_emb  q * cos + rotate_half(q) * sin, rotate_half(x) = cat(-x2, x1)
  LlamaAttention    repeat_kv for grouped-query attention, (q k^T) / sqrt(d_head) + causal mask
                    (finfo.min above the diagonal), softmax in float32, then o_proj
  LlamaMLP          down_proj(silu(gate_proj(x)) * up_proj(x))
  LlamaDecoderLayer h + attn(input_layernorm(h)), then h + mlp(post_attention_layernorm(h))
  LlamaForCausalLM  embed_tokens, layers, norm, lm_head (tied to embed_tokens when configured)
  PEFT lora.Linear  base(x) + lora_B(lora_A(x)) * scaling, scaling = alpha / r (alpha / sqrt(r)
                    with use_rslora); several adapters at once: sum of weight_i * their outputs
Weights stored as BF16 or F16 are widened to float32 and every computation is float32 (as moerge).
Tensors are read with tools/reference/safetensors_ref.py (its own safetensors parser).

Commands:
  logits --model DIR [--lora DIR[=WEIGHT]]... --tokens TOKENS.json --out OUT.safetensors
      TOKENS.json: {"sequences": [[id, ...], ...]}; each sequence is run alone from position 0.
      OUT holds "logits" [n_token, vocab] and "hidden" [n_token, hidden] (after the final norm),
      F32, rows of all sequences in order.
  merge-lora --model DIR --lora DIR[=WEIGHT]... --out DIR
      write a HF directory (config.json + model.safetensors, F32) with W0 + sum w s B A folded in.
  generate --model DIR [--lora DIR[=WEIGHT]]... --prompt TEXT --max-new-tokens N
      greedy continuation (argmax over the bytes and EOS, the full sequence re-run at each step, no
      cache); prints the prompt and the continuation.
  bpb --model DIR [--lora DIR[=WEIGHT]]... --docs DIR [--context L]
      bits per byte of every file under DIR (sorted, one document each), as methods.md defines:
      windows of L bytes (the last one shorter), fed as [BOS, b0 .. b(n-2)], all n bytes scored;
      prints JSON {"n_bytes", "bits", "bits_per_byte"}.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_ref  # noqa: E402


# --- files ---------------------------------------------------------------------------------------

def read_safetensors(path):
    _, _, tensors = safetensors_ref.read(path)
    out = {}
    for name, (dtype, shape, raw) in tensors.items():
        values = safetensors_ref.values_of(dtype, raw)
        if values is None or dtype not in ("F32", "F16", "BF16"):
            raise SystemExit(f"{path}: tensor {name} has dtype {dtype}, not a float")
        out[name] = torch.from_numpy(np.array(values, dtype=np.float32).reshape(shape))
    return out


def read_model_dir(path):
    with open(os.path.join(path, "config.json")) as handle:
        config = json.load(handle)
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as handle:
            shards = sorted(set(json.load(handle)["weight_map"].values()))
        state = {}
        for shard in shards:
            state.update(read_safetensors(os.path.join(path, shard)))
    else:
        state = read_safetensors(os.path.join(path, "model.safetensors"))
    return config, state


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name].detach().numpy(), dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def parse_lora_arg(text):
    path, _, weight = text.partition("=")
    return path, float(weight) if weight else 1.0


def read_adapter(path):
    with open(os.path.join(path, "adapter_config.json")) as handle:
        config = json.load(handle)
    r, alpha = config["r"], config["lora_alpha"]
    scaling = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    tensors = read_safetensors(os.path.join(path, "adapter_model.safetensors"))
    prefix = "base_model.model."
    modules = {}
    for name, value in tensors.items():
        for part in ("lora_A", "lora_B"):
            suffix = f".{part}.weight"
            if name.startswith(prefix) and name.endswith(suffix):
                modules.setdefault(name[len(prefix):-len(suffix)], {})[part] = value
    return scaling, modules


# --- the model (HF modeling_llama semantics) ------------------------------------------------------

class LoraLinear(nn.Module):
    """nn.Linear without bias, plus any number of weighted LoRA adapters (PEFT lora.Linear)."""

    def __init__(self, weight):
        super().__init__()
        self.weight = weight
        self.adapters = []  # (A [r, d_in], B [d_out, r], scaling, mix weight)

    def forward(self, x):
        result = x @ self.weight.t()
        for a, b, scaling, mix in self.adapters:
            result = result + mix * (((x @ a.t()) @ b.t()) * scaling)
        return result


class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = weight
        self.eps = eps

    def forward(self, hidden):
        hidden = hidden.to(torch.float32)
        variance = hidden.pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden * torch.rsqrt(variance + self.eps))


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, theta):
        super().__init__()
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))

    def forward(self, position_ids):
        inv_freq = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        positions = position_ids[:, None, :].float()
        freqs = (inv_freq @ positions).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(hidden, n_rep):
    batch, n_kv, seq, d_head = hidden.shape
    if n_rep == 1:
        return hidden
    hidden = hidden[:, :, None, :, :].expand(batch, n_kv, n_rep, seq, d_head)
    return hidden.reshape(batch, n_kv * n_rep, seq, d_head)


class Attention(nn.Module):
    def __init__(self, config, state, prefix):
        super().__init__()
        self.n_head = config["num_attention_heads"]
        self.n_kv = config.get("num_key_value_heads") or self.n_head
        self.d_head = config["hidden_size"] // self.n_head
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            setattr(self, proj, LoraLinear(state[f"{prefix}.{proj}.weight"]))

    def forward(self, hidden, cos, sin, mask):
        batch, seq, _ = hidden.shape
        q = self.q_proj(hidden).view(batch, seq, self.n_head, self.d_head).transpose(1, 2)
        k = self.k_proj(hidden).view(batch, seq, self.n_kv, self.d_head).transpose(1, 2)
        v = self.v_proj(hidden).view(batch, seq, self.n_kv, self.d_head).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q = (q * cos) + (rotate_half(q) * sin)
        k = (k * cos) + (rotate_half(k) * sin)
        k = repeat_kv(k, self.n_head // self.n_kv)
        v = repeat_kv(v, self.n_head // self.n_kv)
        weights = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d_head)
        weights = weights + mask
        weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(weights, v).transpose(1, 2).contiguous().reshape(batch, seq, -1)
        return self.o_proj(out)


class Mlp(nn.Module):
    def __init__(self, state, prefix):
        super().__init__()
        for proj in ("gate_proj", "up_proj", "down_proj"):
            setattr(self, proj, LoraLinear(state[f"{prefix}.{proj}.weight"]))

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config, state, layer_idx):
        super().__init__()
        prefix = f"model.layers.{layer_idx}"
        eps = config.get("rms_norm_eps", 1e-6)
        self.self_attn = Attention(config, state, prefix + ".self_attn")
        self.mlp = Mlp(state, prefix + ".mlp")
        self.input_layernorm = RMSNorm(state[prefix + ".input_layernorm.weight"], eps)
        self.post_attention_layernorm = RMSNorm(state[prefix + ".post_attention_layernorm.weight"], eps)

    def forward(self, hidden, cos, sin, mask):
        hidden = hidden + self.self_attn(self.input_layernorm(hidden), cos, sin, mask)
        return hidden + self.mlp(self.post_attention_layernorm(hidden))


class LlamaForCausalLM(nn.Module):
    def __init__(self, config, state):
        super().__init__()
        if config.get("model_type") != "llama":
            raise SystemExit("not a llama config")
        self.config = config
        self.embed_tokens = state["model.embed_tokens.weight"]
        self.layers = nn.ModuleList(DecoderLayer(config, state, i) for i in range(config["num_hidden_layers"]))
        self.norm = RMSNorm(state["model.norm.weight"], config.get("rms_norm_eps", 1e-6))
        self.lm_head = self.embed_tokens if config.get("tie_word_embeddings") else state["lm_head.weight"]
        d_head = config["hidden_size"] // config["num_attention_heads"]
        self.rotary = RotaryEmbedding(d_head, config.get("rope_theta", 10000.0))

    def linear(self, module_path):
        layer, rest = module_path[len("model.layers."):].split(".", 1)
        block, proj = rest.split(".")
        return getattr(getattr(self.layers[int(layer)], block), proj)

    def add_adapter(self, path, mix):
        scaling, modules = read_adapter(path)
        for module_path, factors in modules.items():
            self.linear(module_path).adapters.append((factors["lora_A"], factors["lora_B"], scaling, mix))

    @torch.no_grad()
    def forward(self, input_ids):
        """input_ids [batch, seq] -> (logits [batch, seq, vocab] float32, final hidden states)."""
        batch, seq = input_ids.shape
        hidden = nn.functional.embedding(input_ids, self.embed_tokens)
        position_ids = torch.arange(seq)[None, :].expand(batch, -1)
        cos, sin = self.rotary(position_ids)
        mask = torch.full((seq, seq), torch.finfo(torch.float32).min).triu(1)[None, None]
        for layer in self.layers:
            hidden = layer(hidden, cos, sin, mask)
        hidden = self.norm(hidden)
        return (hidden @ self.lm_head.t()).float(), hidden


def load(model_dir, loras):
    config, state = read_model_dir(model_dir)
    model = LlamaForCausalLM(config, state)
    for path, mix in loras:
        model.add_adapter(path, mix)
    return model


# --- commands ---------------------------------------------------------------------------------

def command_logits(args):
    model = load(args.model, [parse_lora_arg(text) for text in args.lora])
    with open(args.tokens) as handle:
        sequences = json.load(handle)["sequences"]
    logits, hidden = [], []
    for sequence in sequences:
        out, h = model(torch.tensor([sequence], dtype=torch.int64))
        logits.append(out[0])
        hidden.append(h[0])
    write_safetensors(args.out, {"logits": torch.cat(logits), "hidden": torch.cat(hidden)})


def command_merge_lora(args):
    config, state = read_model_dir(args.model)
    merged = dict(state)
    for path, mix in (parse_lora_arg(text) for text in args.lora):
        scaling, modules = read_adapter(path)
        for module_path, factors in modules.items():
            key = module_path + ".weight"
            merged[key] = merged[key] + mix * scaling * (factors["lora_B"] @ factors["lora_A"])
    os.makedirs(args.out, exist_ok=True)
    config = dict(config)
    config["torch_dtype"] = "float32"
    with open(os.path.join(args.out, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)
    write_safetensors(os.path.join(args.out, "model.safetensors"), merged)


def command_generate(args):
    model = load(args.model, [parse_lora_arg(text) for text in args.lora])
    bos, eos = model.config["bos_token_id"], model.config["eos_token_id"]
    context = model.config["max_position_embeddings"]
    tokens = [bos] + list(args.prompt.encode("utf-8"))
    out = bytearray()
    for _ in range(args.max_new_tokens):
        logits, _ = model(torch.tensor([tokens], dtype=torch.int64))
        allowed = torch.cat((logits[0, -1, :256], logits[0, -1, eos:eos + 1]))
        choice = int(torch.argmax(allowed))
        if choice == 256:
            break
        out.append(choice)
        if len(tokens) >= context:
            break
        tokens.append(choice)
    sys.stdout.buffer.write(args.prompt.encode("utf-8") + bytes(out) + b"\n")


def command_bpb(args):
    model = load(args.model, [parse_lora_arg(text) for text in args.lora])
    context = args.context or model.config["max_position_embeddings"]
    bos = model.config["bos_token_id"]
    paths = []
    for root, _, files in os.walk(args.docs):
        paths += [os.path.join(root, name) for name in files]
    total_bits, total_bytes = 0.0, 0
    for path in sorted(paths):
        with open(path, "rb") as handle:
            data = handle.read()
        for start in range(0, len(data), context):
            window = list(data[start:start + context])
            logits, _ = model(torch.tensor([[bos] + window[:-1]], dtype=torch.int64))
            log_probs = torch.log_softmax(logits[0], dim=-1)
            nll = -log_probs[torch.arange(len(window)), torch.tensor(window)]
            total_bits += float(nll.double().sum()) / math.log(2)
            total_bytes += len(window)
    print(json.dumps({"n_bytes": total_bytes, "bits": total_bits, "bits_per_byte": total_bits / total_bytes}))


def main(argv):
    torch.set_num_threads(int(os.environ.get("LLAMA_REF_THREADS", "1")))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    logits = commands.add_parser("logits")
    logits.add_argument("--model", required=True)
    logits.add_argument("--lora", action="append", default=[])
    logits.add_argument("--tokens", required=True)
    logits.add_argument("--out", required=True)
    merge = commands.add_parser("merge-lora")
    merge.add_argument("--model", required=True)
    merge.add_argument("--lora", action="append", default=[], required=True)
    merge.add_argument("--out", required=True)
    generate = commands.add_parser("generate")
    generate.add_argument("--model", required=True)
    generate.add_argument("--lora", action="append", default=[])
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--max-new-tokens", type=int, default=64)
    bpb = commands.add_parser("bpb")
    bpb.add_argument("--model", required=True)
    bpb.add_argument("--lora", action="append", default=[])
    bpb.add_argument("--docs", required=True)
    bpb.add_argument("--context", type=int, default=0)
    args = parser.parse_args(argv)
    {"logits": command_logits, "merge-lora": command_merge_lora, "generate": command_generate,
     "bpb": command_bpb}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
