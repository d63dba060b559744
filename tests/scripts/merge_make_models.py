#!/usr/bin/python3
"""Write a Llama-shaped F32 base and two fine-tunes (about 50 MB each, fixed seeds) for the merge
resume and SLURM tests: usage: merge_make_models.py DIR (creates DIR/base, DIR/ft0, DIR/ft1)."""
import json, os, struct, sys
import numpy as np
work = sys.argv[1]  # writes base, ft0 and ft1 under it
hidden, ff, vocab, n_layer = 384, 1024, 4000, 6
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
          "intermediate_size": ff, "num_hidden_layers": n_layer, "num_attention_heads": 6,
          "num_key_value_heads": 6, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
          "rope_theta": 10000.0, "vocab_size": vocab, "tie_word_embeddings": False,
          "torch_dtype": "float32", "hidden_act": "silu"}
shapes = {"model.embed_tokens.weight": (vocab, hidden), "model.norm.weight": (hidden,),
          "lm_head.weight": (vocab, hidden)}
for layer in range(n_layer):
    p = f"model.layers.{layer}."
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        shapes[p + f"self_attn.{name}.weight"] = (hidden, hidden)
    shapes[p + "mlp.gate_proj.weight"] = (ff, hidden)
    shapes[p + "mlp.up_proj.weight"] = (ff, hidden)
    shapes[p + "mlp.down_proj.weight"] = (hidden, ff)
    shapes[p + "input_layernorm.weight"] = (hidden,)
    shapes[p + "post_attention_layernorm.weight"] = (hidden,)
def save(directory, seed, scale):
    os.makedirs(directory)
    rng = np.random.default_rng(seed)
    head, offset, blobs = {}, 0, []
    for name in sorted(shapes):
        blob = (rng.standard_normal(shapes[name], dtype=np.float32) * scale).astype("<f4").tobytes()
        head[name] = {"dtype": "F32", "shape": list(shapes[name]), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(head).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(os.path.join(directory, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            f.write(blob)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
save(os.path.join(work, "base"), 1, 0.02)
save(os.path.join(work, "ft0"), 2, 0.021)
save(os.path.join(work, "ft1"), 3, 0.019)
