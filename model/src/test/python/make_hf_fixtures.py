"""Small Hugging Face model folders and their logits, from an independent PyTorch implementation.

Writes, under model/src/test/resources/fixtures/hf/<name>/, what `save_pretrained` writes for three
tiny models with random float32 weights (normal, std 0.3, so that every mistake shows), named as
Hugging Face names them:
- bert-for-pretraining: BertForPreTraining (prediction logits and seq_relationship logits);
- bert-lm-head: BertLMHeadModel (is_decoder, causal mask, no pooler);
- llama: LlamaForCausalLM (RoPE rotate_half with a non-default theta, RMSNorm, SwiGLU, untied head).
Each folder holds config.json (keys sorted, indent 2, as `PretrainedConfig.to_json_file` writes),
model.safetensors (written by hand below: the `safetensors` package is not installed) and
expected.json (the inputs — a batch of 2 with a right-padded row — and the logits, computed in
float64 from the float32 weights).

The forward passes follow transformers' modeling_bert.py and modeling_llama.py, written out here so
they run without transformers installed: exact (erf) GELU, LayerNorm with the config's eps, the
padding mask as the dtype's most negative value added to the scores, tied decoder weights.
`save_pretrained` drops tied copies from safetensors files: cls.predictions.decoder.weight (tied to
the word embeddings) and cls.predictions.decoder.bias (tied to cls.predictions.bias); position_ids
buffers are not persistent, so they are not written either.

Run with Debian's python3-torch:  /usr/bin/python3 model/src/test/python/make_hf_fixtures.py
"""
import json
import math
import os
import struct

import torch

B, T, V = 2, 6, 40
ROOT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "hf")
gen = torch.Generator().manual_seed(2024)

ids = torch.randint(5, V, (B, T), generator=gen)
mask = torch.ones(B, T, dtype=torch.long)
mask[1, 4:] = 0
ids[1, 4:] = 0  # [PAD]
types = torch.zeros(B, T, dtype=torch.long)
types[0, 3:] = 1


def rand(*shape):
    return (torch.randn(*shape, generator=gen) * 0.3).to(torch.float32)


def norm_weight(n):
    return (1 + torch.randn(n, generator=gen) * 0.3).to(torch.float32)


def f64(w):
    return {k: v.to(torch.float64) for k, v in w.items()}


def write_safetensors(path, tensors):
    """The safetensors layout: u64 LE header size, JSON header (names sorted, compact, space-padded
    to a multiple of 8, `__metadata__` first), then the little-endian data in header order."""
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        assert t.dtype == torch.float32
        raw = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def write_config(path, config):
    with open(path, "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")


def extended_mask(m, causal):
    """get_extended_attention_mask: (B, 1, 1|T, T), 0 where allowed, the most negative value elsewhere."""
    allowed = m[:, None, None, :].to(torch.float64)
    if causal:
        seq = torch.arange(m.shape[1])
        allowed = allowed * (seq[None, :] <= seq[:, None]).to(torch.float64)[None, None]
    return (1.0 - allowed) * torch.finfo(torch.float64).min


def linear(x, w, name):
    y = x @ w[name + ".weight"].T
    return y + w[name + ".bias"] if name + ".bias" in w else y


def layer_norm(x, w, name, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


# ---------------------------------------------------------------------------------------------- BERT


def bert_config(architecture, h, layers, heads, inter, positions, decoder):
    c = {"architectures": [architecture], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
         "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": h, "initializer_range": 0.02,
         "intermediate_size": inter, "layer_norm_eps": 1e-12, "max_position_embeddings": positions,
         "model_type": "bert", "num_attention_heads": heads, "num_hidden_layers": layers, "pad_token_id": 0,
         "position_embedding_type": "absolute", "torch_dtype": "float32", "type_vocab_size": 2,
         "use_cache": True, "vocab_size": V}
    if decoder:
        c["is_decoder"] = True
    return c


def bert_weights(c, pooler):
    h, inter = c["hidden_size"], c["intermediate_size"]
    w = {"bert.embeddings.word_embeddings.weight": rand(V, h),
         "bert.embeddings.position_embeddings.weight": rand(c["max_position_embeddings"], h),
         "bert.embeddings.token_type_embeddings.weight": rand(c["type_vocab_size"], h),
         "bert.embeddings.LayerNorm.weight": norm_weight(h), "bert.embeddings.LayerNorm.bias": rand(h)}
    for i in range(c["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        for n in ("query", "key", "value"):
            w[p + f"attention.self.{n}.weight"], w[p + f"attention.self.{n}.bias"] = rand(h, h), rand(h)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = rand(h, h), rand(h)
        w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"] = norm_weight(h), rand(h)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = rand(inter, h), rand(inter)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = rand(h, inter), rand(h)
        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"] = norm_weight(h), rand(h)
    if pooler:
        w["bert.pooler.dense.weight"], w["bert.pooler.dense.bias"] = rand(h, h), rand(h)
    w["cls.predictions.transform.dense.weight"], w["cls.predictions.transform.dense.bias"] = rand(h, h), rand(h)
    w["cls.predictions.transform.LayerNorm.weight"] = norm_weight(h)
    w["cls.predictions.transform.LayerNorm.bias"] = rand(h)
    w["cls.predictions.bias"] = rand(V)
    if pooler:
        w["cls.seq_relationship.weight"], w["cls.seq_relationship.bias"] = rand(2, h), rand(2)
    return w


def bert_forward(c, w, token_types, decoder, ids=ids, mask=mask):
    """BertModel (+ pooler when present), then BertOnlyMLMHead / BertPreTrainingHeads, on `ids` and
    `mask` (B, T) (default: the fixtures' batch)."""
    h, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    d = h // heads
    B, T = ids.shape
    x = (w["bert.embeddings.word_embeddings.weight"][ids]
         + w["bert.embeddings.position_embeddings.weight"][torch.arange(T)][None]
         + w["bert.embeddings.token_type_embeddings.weight"][token_types])
    x = layer_norm(x, w, "bert.embeddings.LayerNorm", eps)
    bias = extended_mask(mask, decoder)
    for i in range(c["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        q, k, v = (linear(x, w, p + "attention.self." + n).view(B, T, heads, d).transpose(1, 2)
                   for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, h)
        x = layer_norm(linear(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm", eps)
        inner = gelu(linear(x, w, p + "intermediate.dense"))
        x = layer_norm(linear(inner, w, p + "output.dense") + x, w, p + "output.LayerNorm", eps)
    t = gelu(linear(x, w, "cls.predictions.transform.dense"))
    t = layer_norm(t, w, "cls.predictions.transform.LayerNorm", eps)
    logits = t @ w["bert.embeddings.word_embeddings.weight"].T + w["cls.predictions.bias"]
    if decoder:
        return logits, None
    pooled = torch.tanh(linear(x[:, 0], w, "bert.pooler.dense"))
    return logits, linear(pooled, w, "cls.seq_relationship")


# --------------------------------------------------------------------------------------------- Llama


def llama_config(h, layers, heads, inter, positions):
    return {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
            "bos_token_id": 0, "eos_token_id": 0, "head_dim": h // heads, "hidden_act": "silu", "hidden_size": h,
            "initializer_range": 0.02, "intermediate_size": inter, "max_position_embeddings": positions,
            "mlp_bias": False, "model_type": "llama", "num_attention_heads": heads, "num_hidden_layers": layers,
            "num_key_value_heads": heads, "pad_token_id": 1, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
            "rope_scaling": None, "rope_theta": 500000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
            "use_cache": True, "vocab_size": V}


def llama_weights(c):
    h, inter = c["hidden_size"], c["intermediate_size"]
    w = {"model.embed_tokens.weight": rand(V, h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for n in ("q", "k", "v", "o"):
            w[p + f"self_attn.{n}_proj.weight"] = rand(h, h)
        w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"] = rand(inter, h), rand(inter, h)
        w[p + "mlp.down_proj.weight"] = rand(h, inter)
        w[p + "input_layernorm.weight"], w[p + "post_attention_layernorm.weight"] = norm_weight(h), norm_weight(h)
    w["model.norm.weight"] = norm_weight(h)
    w["lm_head.weight"] = rand(V, h)
    return w


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama_forward(c, w, ids=ids, mask=mask):
    """LlamaForCausalLM's logits on `ids` and `mask` (B, T) (default: the fixtures' batch)."""
    h, heads, eps, inter = c["hidden_size"], c["num_attention_heads"], c["rms_norm_eps"], c["intermediate_size"]
    d = c.get("head_dim", h // heads)
    B, T = ids.shape
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    bias = extended_mask(mask, True)
    x = w["model.embed_tokens.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q, k, v = (linear(a, w, p + f"self_attn.{n}_proj").view(B, T, heads, d).transpose(1, 2) for n in "qkv")
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        scores = q @ k.transpose(-1, -2) * d ** -0.5 + bias
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, h)
        x = x + linear(ctx, w, p + "self_attn.o_proj")
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(m, w, p + "mlp.gate_proj")
        x = x + linear(torch.nn.functional.silu(gate) * linear(m, w, p + "mlp.up_proj"), w, p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    return linear(x, w, "lm_head")


# ---------------------------------------------------------------------------------------------- main


def write_case(name, config, weights, inputs, outputs):
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    write_config(os.path.join(folder, "config.json"), config)
    write_safetensors(os.path.join(folder, "model.safetensors"), weights)
    expected = {"generator": "model/src/test/python/make_hf_fixtures.py", "torch": torch.__version__,
                "batch": B, "time": T, "vocab": V}
    expected.update({k: v.flatten().tolist() for k, v in inputs.items()})
    expected.update({k: v.flatten().tolist() for k, v in outputs.items()})
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f)
    print("wrote", os.path.normpath(folder))


if __name__ == "__main__":
    c = bert_config("BertForPreTraining", 16, 2, 2, 32, 16, decoder=False)
    w = bert_weights(c, pooler=True)
    logits, nsp = bert_forward(c, f64(w), types, decoder=False)
    write_case("bert-for-pretraining", c, w, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
               {"prediction_logits": logits, "seq_relationship_logits": nsp})

    c = bert_config("BertLMHeadModel", 16, 2, 4, 24, 16, decoder=True)
    w = bert_weights(c, pooler=False)
    logits, _ = bert_forward(c, f64(w), torch.zeros_like(types), decoder=True)
    write_case("bert-lm-head", c, w, {"input_ids": ids, "attention_mask": mask}, {"logits": logits})

    c = llama_config(16, 2, 2, 24, 32)
    w = llama_weights(c)
    write_case("llama", c, w, {"input_ids": ids, "attention_mask": mask}, {"logits": llama_forward(c, f64(w))})
