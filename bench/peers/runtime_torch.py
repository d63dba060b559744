#!/usr/bin/python3
"""Torch peer of bench/runtime: the same Llama forward as moerge's runtime, written the standard
Hugging Face way (modeling_llama v4.40 eager attention, as with torch 1.13 which has no SDPA):
nn.Linear projections, RMSNorm in f32, RoPE with rotate_half, softmax(QK^T / sqrt(d)) with a
causal mask at prefill, and a KV cache of past keys / values per layer grown with torch.cat at
each decode step (DynamicCache). Weights come from the same safetensors file, widened to f32.
Runs under torch.inference_mode with torch.set_num_threads(2) (OpenBLAS).

Timings (warm-up, then best and median of R), one line per result in moerge_bench_runtime's format:
  RESULT mode=<prefill|decode> phase=.. batch=B n_token=T best_s=.. median_s=.. tokens_per_s=.. runs=R
  prefill: B sequences of L random bytes, logits of every position.
  decode:  a P-token prompt per sequence into the cache (not timed), then N one-token steps at batch B.
--check-dir DIR: reads check_tokens.npy / check_logits.npy written by moerge_bench_runtime (2
sequences, a 32-token prefill into the cache then 4 decode steps), recomputes them and prints
  CHECK rows=.. max_abs_diff=.. max_rel_diff=..   (max_rel_diff = max |peer - moerge| / max |moerge|)

usage: runtime_torch.py --model DIR --mode prefill|decode [--batch B] [--length L] [--prompt P]
                        [--steps N] [--repeat R] [--seed S] [--threads 2] [--check-dir DIR]
"""
import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def read_safetensors(path):
    """name -> float32 torch tensor (F32, BF16, F16)."""
    with open(path, "rb") as handle:
        (n_header,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(n_header))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n_header)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "F32":
            values = raw.view("<f4").astype(np.float32)
        elif info["dtype"] == "F16":
            values = raw.view("<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            values = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}, not a float")
        out[name] = torch.from_numpy(values.reshape(info["shape"]).copy())
    return out


def linear(weight):
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    layer.weight = nn.Parameter(weight, requires_grad=False)
    return layer


class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, hidden):
        variance = hidden.pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, config, state, prefix):
        super().__init__()
        self.n_head = config["num_attention_heads"]
        self.n_kv = config.get("num_key_value_heads") or self.n_head
        self.d_head = config["hidden_size"] // self.n_head
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (
            linear(state[f"{prefix}.{name}.weight"]) for name in ("q_proj", "k_proj", "v_proj", "o_proj"))

    def forward(self, hidden, cos, sin, mask, past):
        batch, seq, _ = hidden.shape
        q = self.q_proj(hidden).view(batch, seq, self.n_head, self.d_head).transpose(1, 2)
        k = self.k_proj(hidden).view(batch, seq, self.n_kv, self.d_head).transpose(1, 2)
        v = self.v_proj(hidden).view(batch, seq, self.n_kv, self.d_head).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q = (q * cos) + (rotate_half(q) * sin)
        k = (k * cos) + (rotate_half(k) * sin)
        if past is not None:  # DynamicCache.update: concatenate along the sequence axis
            k = torch.cat([past[0], k], dim=-2)
            v = torch.cat([past[1], v], dim=-2)
        present = (k, v)
        n_rep = self.n_head // self.n_kv
        if n_rep > 1:  # repeat_kv
            k = k[:, :, None].expand(batch, self.n_kv, n_rep, k.shape[-2], self.d_head).reshape(batch, self.n_head, -1, self.d_head)
            v = v[:, :, None].expand(batch, self.n_kv, n_rep, v.shape[-2], self.d_head).reshape(batch, self.n_head, -1, self.d_head)
        weights = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d_head)
        if mask is not None:
            weights = weights + mask
        weights = F.softmax(weights, dim=-1, dtype=torch.float32)
        out = torch.matmul(weights, v).transpose(1, 2).contiguous().reshape(batch, seq, -1)
        return self.o_proj(out), present


class DecoderLayer(nn.Module):
    def __init__(self, config, state, layer_idx):
        super().__init__()
        prefix = f"model.layers.{layer_idx}"
        eps = config.get("rms_norm_eps", 1e-6)
        self.self_attn = Attention(config, state, prefix + ".self_attn")
        self.gate_proj, self.up_proj, self.down_proj = (
            linear(state[f"{prefix}.mlp.{name}.weight"]) for name in ("gate_proj", "up_proj", "down_proj"))
        self.input_layernorm = RMSNorm(state[prefix + ".input_layernorm.weight"], eps)
        self.post_attention_layernorm = RMSNorm(state[prefix + ".post_attention_layernorm.weight"], eps)

    def forward(self, hidden, cos, sin, mask, past):
        attn, present = self.self_attn(self.input_layernorm(hidden), cos, sin, mask, past)
        hidden = hidden + attn
        normed = self.post_attention_layernorm(hidden)
        hidden = hidden + self.down_proj(F.silu(self.gate_proj(normed)) * self.up_proj(normed))
        return hidden, present


class LlamaForCausalLM(nn.Module):
    def __init__(self, config, state):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding.from_pretrained(state["model.embed_tokens.weight"])
        self.layers = nn.ModuleList(DecoderLayer(config, state, idx) for idx in range(config["num_hidden_layers"]))
        self.norm = RMSNorm(state["model.norm.weight"], config.get("rms_norm_eps", 1e-6))
        head = state["model.embed_tokens.weight"] if config.get("tie_word_embeddings") else state["lm_head.weight"]
        self.lm_head = linear(head)
        d_head = config["hidden_size"] // config["num_attention_heads"]
        theta = config.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, d_head, 2, dtype=torch.int64).float() / d_head))

    def forward(self, input_ids, past=None):
        """input_ids [batch, seq]; past: per layer (k, v) [batch, n_kv, past_len, d_head] or None.
        Returns logits [batch, seq, vocab] and the new cache."""
        batch, seq = input_ids.shape
        past_len = 0 if past is None else past[0][0].shape[-2]
        hidden = self.embed_tokens(input_ids)
        position_ids = torch.arange(past_len, past_len + seq)[None, :].expand(batch, -1)
        freqs = (self.inv_freq[None, :, None].expand(batch, -1, 1) @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = None
        if seq > 1:  # causal mask over past + new positions (HF: finfo.min above the diagonal)
            mask = torch.full((seq, past_len + seq), torch.finfo(torch.float32).min).triu(past_len + 1)[None, None]
        presents = []
        for layer_idx, layer in enumerate(self.layers):
            hidden, present = layer(hidden, cos, sin, mask, None if past is None else past[layer_idx])
            presents.append(present)
        return self.lm_head(self.norm(hidden)), presents


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def print_result(mode, phase, batch, n_token, seconds):
    best, median = min(seconds), statistics.median(seconds)
    print(f"RESULT mode={mode} phase={phase} batch={batch} n_token={n_token} best_s={best:.9g} "
          f"median_s={median:.9g} tokens_per_s={n_token / best:.9g} runs={len(seconds)} peak_rss_kb={peak_rss_kb()}",
          flush=True)


def check(model, check_dir):
    tokens = torch.from_numpy(np.load(os.path.join(check_dir, "check_tokens.npy")).astype(np.int64))
    reference = np.load(os.path.join(check_dir, "check_logits.npy"))
    n_prefill, n_seq = 32, tokens.shape[0]
    logits, past = model(tokens[:, :n_prefill])
    rows = [logits.reshape(-1, logits.shape[-1])]
    for step_idx in range(n_prefill, tokens.shape[1]):
        logits, past = model(tokens[:, step_idx:step_idx + 1], past)
        rows.append(logits.reshape(n_seq, -1))
    ours = torch.cat(rows).numpy()
    if ours.shape != reference.shape:
        raise SystemExit(f"{check_dir}/check_logits.npy: shape {reference.shape}, the peer computed {ours.shape}")
    diff = np.abs(ours - reference).max()
    print(f"CHECK rows={ours.shape[0]} max_abs_diff={diff:.3g} max_rel_diff={diff / np.abs(reference).max():.3g}",
          flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--mode", choices=("prefill", "decode"), required=True)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check-dir")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json")) as handle:
        config = json.load(handle)
    index = os.path.join(args.model, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as handle:
            shards = sorted(set(json.load(handle)["weight_map"].values()))
        state = {}
        for shard in shards:
            state.update(read_safetensors(os.path.join(args.model, shard)))
    else:
        state = read_safetensors(os.path.join(args.model, "model.safetensors"))
    model = LlamaForCausalLM(config, state).eval()
    del state
    rng = np.random.default_rng(args.seed)
    with torch.inference_mode():
        if args.check_dir:
            check(model, args.check_dir)
        if args.mode == "prefill":
            ids = torch.from_numpy(rng.integers(0, 256, (args.batch, args.length)))

            def run():
                start = time.perf_counter()
                model(ids)
                return time.perf_counter() - start
            n_token = args.batch * args.length
        else:
            ids = torch.from_numpy(rng.integers(0, 256, (args.batch, args.prompt + args.steps)))

            def run():
                _, past = model(ids[:, :args.prompt])
                start = time.perf_counter()
                for step_idx in range(args.prompt, args.prompt + args.steps):
                    _, past = model(ids[:, step_idx:step_idx + 1], past)
                return time.perf_counter() - start
            n_token = args.batch * args.steps
        run()  # warm-up
        seconds = [run() for _ in range(args.repeat)]
    print_result(args.mode, args.mode, args.batch, n_token, seconds)


if __name__ == "__main__":
    sys.exit(main())
