"""A byte-level Llama decoder laid out exactly as Hugging Face LlamaForCausalLM, in plain torch.

Parameters live in a flat dict keyed by HF tensor names; the forward is functional so that LoRA
deltas and PHATGOOSE gates can be attached per module without wrapping classes. Numerics follow
transformers' modeling_llama: RMSNorm in fp32 (x * rsqrt(mean(x^2) + eps) * weight), RoPE with
rotate_half (first half / second half), inv_freq = 1 / theta^(2i/d_head), softmax in fp32 with
scale 1/sqrt(d_head), SwiGLU MLP down(silu(gate(x)) * up(x)), no biases, untied lm_head.
"""

import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F

BOS, EOS, VOCAB = 256, 257, 258
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_config(d=128, n_layers=4, n_heads=4, d_ff=344, ctx=128, rope_theta=10000.0,
                eps=1e-5, dtype="float32"):
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "head_dim": d // n_heads,
        "hidden_act": "silu",
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": d_ff,
        "max_position_embeddings": ctx,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": n_heads,
        "num_hidden_layers": n_layers,
        "num_key_value_heads": n_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": eps,
        "rope_scaling": None,
        "rope_theta": rope_theta,
        "tie_word_embeddings": False,
        "torch_dtype": dtype,
        "transformers_version": "4.40.0",
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def param_shapes(cfg):
    """HF tensor names and shapes ([out, in] for linear layers), in model order."""
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = d // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", (v, d))]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "self_attn.q_proj.weight", (d, d)), (p + "self_attn.k_proj.weight", (kv, d)),
                (p + "self_attn.v_proj.weight", (kv, d)), (p + "self_attn.o_proj.weight", (d, d)),
                (p + "mlp.gate_proj.weight", (f, d)), (p + "mlp.up_proj.weight", (f, d)),
                (p + "mlp.down_proj.weight", (d, f)),
                (p + "input_layernorm.weight", (d,)), (p + "post_attention_layernorm.weight", (d,))]
    out += [("model.norm.weight", (d,)), ("lm_head.weight", (v, d))]
    return out


def lora_modules(cfg):
    """(module path without '.weight', d_in, d_out) for every LoRA target, in model order."""
    mods = []
    for name, shape in param_shapes(cfg):
        parts = name.split(".")
        if len(shape) == 2 and parts[-2] in LORA_TARGETS:
            mods.append((name[: -len(".weight")], shape[1], shape[0]))
    return mods


def init_params(cfg, gen):
    params = {}
    for name, shape in param_shapes(cfg):
        if len(shape) == 1:
            params[name] = torch.ones(shape)
        else:
            params[name] = torch.randn(shape, generator=gen) * cfg["initializer_range"]
    return params


def rms_norm(x, w, eps):
    dt = x.dtype
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(dt)


def rope_cos_sin(cfg, T):
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    t = torch.arange(T, dtype=torch.int64).float()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Adapters:
    """LoRA (A: r x d_in, B: d_out x r, scale) and optional PHATGOOSE gates (v: d_in) per module."""

    def __init__(self, lora=None, scale=1.0, gates=None):
        self.lora = lora or {}
        self.scale = scale
        self.gates = gates or {}

    def delta(self, mods, x):
        """Sum of the LoRA outputs of `mods` (which share input x), concatenated along the output
        like their base weights, or None. delta_m = scale * B_m A_m x * sigmoid(v_m . x)."""
        if not any(m in self.lora for m in mods):
            return None
        if not all(m in self.lora for m in mods):
            raise ValueError("LoRA must cover all or none of " + ", ".join(mods))
        a = [self.lora[m][0] for m in mods]
        b = [self.lora[m][1] for m in mods]
        z = x @ (torch.cat(a, 0) if len(a) > 1 else a[0]).t()
        if self.gates:
            v = torch.stack([self.gates[m] for m in mods], 0)
            g = torch.sigmoid(x @ v.t())
            z = z * g.repeat_interleave(torch.tensor([t.shape[0] for t in a]), dim=-1)
        bb = torch.block_diag(*b) if len(b) > 1 else b[0]
        return (z @ bb.t()) * self.scale


_ROPE = {}


def _rope(cfg, T):
    key = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["rope_theta"], T)
    if key not in _ROPE:
        cos, sin = rope_cos_sin(cfg, T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        _ROPE[key] = (cos, sin, mask)
    return _ROPE[key]


def forward(params, cfg, tokens, adapters=None):
    """tokens: [B, T] int64 -> logits [B, T, V] (fp32).

    Modules that share an input (q/k/v, gate/up) are computed with one matrix product of the
    concatenated weights; each output element is the same dot product as HF's separate Linear.
    """
    B, T = tokens.shape
    d = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // nh
    eps = cfg["rms_norm_eps"]
    cos, sin, mask = _rope(cfg, T)
    scale = 1.0 / math.sqrt(hd)

    def lins(mods, x):
        w = [params[m + ".weight"] for m in mods]
        y = x @ (torch.cat(w, 0) if len(w) > 1 else w[0]).t()
        if adapters is not None:
            dy = adapters.delta(mods, x)
            if dy is not None:
                y = y + dy
        return list(y.split([t.shape[0] for t in w], dim=-1)) if len(w) > 1 else [y]

    h = F.embedding(tokens, params["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, params[p + "input_layernorm.weight"], eps)
        q, k, v = lins([p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"], x)
        q = q.view(B, T, nh, hd).transpose(1, 2)
        k = k.view(B, T, nkv, hd).transpose(1, 2)
        v = v.view(B, T, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if nkv != nh:
            k = k.repeat_interleave(nh // nkv, dim=1)
            v = v.repeat_interleave(nh // nkv, dim=1)
        att = torch.baddbmm(mask.expand(B * nh, T, T), q.reshape(B * nh, T, hd),
                            k.reshape(B * nh, T, hd).transpose(1, 2), alpha=scale)
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)
        o = torch.bmm(att, v.reshape(B * nh, T, hd)).view(B, nh, T, hd)
        o = o.transpose(1, 2).reshape(B, T, d)
        (a,) = lins([p + "self_attn.o_proj"], o)
        h = h + a
        x = rms_norm(h, params[p + "post_attention_layernorm.weight"], eps)
        g, u = lins([p + "mlp.gate_proj", p + "mlp.up_proj"], x)
        (m,) = lins([p + "mlp.down_proj"], F.silu(g) * u)
        h = h + m
    h = rms_norm(h, params["model.norm.weight"], eps)
    return (h @ params["lm_head.weight"].t()).float()


def merged_params(params, adapters):
    """Base params with delta W = scale * B @ A folded in (for fast evaluation)."""
    out = dict(params)
    for mod, (a, b) in adapters.lora.items():
        out[mod + ".weight"] = params[mod + ".weight"] + adapters.scale * (b @ a)
    return out


# ---------------------------------------------------------------------------------------------
# safetensors, written by hand: u64 LE header length, JSON header (sorted keys, __metadata__
# {"format": "pt"}, padded with spaces to a multiple of 8), then the raw little-endian data.

_DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    return t.numpy().astype("<f4").tobytes()


def save_safetensors(path, tensors, metadata=None):
    names = sorted(tensors)
    header, blobs, off = {}, [], 0
    for n in names:
        t = tensors[n]
        data = tensor_bytes(t)
        header[n] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    meta = {"format": "pt"}
    meta.update(metadata or {})
    header["__metadata__"] = meta
    hj = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hj)))
        fh.write(hj)
        for b in blobs:
            fh.write(b)


def load_safetensors(path):
    """name -> fp32 torch tensor (bf16/f16 widened)."""
    with open(path, "rb") as fh:
        buf = fh.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        raw = buf[base + s: base + e]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name}: unsupported dtype {info['dtype']}")
        out[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    return out
