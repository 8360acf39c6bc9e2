"""Reference hidden states of small transformer trunks, from an independent PyTorch implementation.

Writes model/src/test/resources/fixtures/transformer.json with two trunks of random weights (normal,
std 0.3, named as lmspark names them) and their hidden states for a padded batch:
- "bert": BERT architecture (learned positions, token types, post-LN LayerNorm eps 1e-12, exact GELU,
  biases, bidirectional attention with the padding mask);
- "llama": Llama architecture (RoPE in the rotate_half layout, theta 10000, pre-RMSNorm eps 1e-5,
  SwiGLU, no biases, causal attention).
This code follows Hugging Face's modeling_bert.py / modeling_llama.py, written out here so it runs
without transformers installed.

Run with Debian's python3-torch:  /usr/bin/python3 model/src/test/python/make_transformer_fixtures.py
"""
import json
import math
import os

import torch

torch.manual_seed(11)
B, T, V, H, A, I, L, P = 2, 6, 19, 8, 2, 16, 2, 16
D = H // A
ids = torch.randint(0, V, (B, T))
mask = torch.ones(B, T, dtype=torch.long)
mask[1, 4:] = 0
types = torch.zeros(B, T, dtype=torch.long)
types[0, 3:] = 1


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64) * 0.3


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def attention(x, p, w, bias_mask, rope=None):
    def lin(name, t):
        y = t @ w[p + "attention." + name + ".weight"].T
        b = w.get(p + "attention." + name + ".bias")
        return y if b is None else y + b
    q, k, v = (lin(n, x).view(B, T, A, D).transpose(1, 2) for n in ("query", "key", "value"))
    if rope is not None:
        cos, sin = rope
        def rot(t):
            return torch.cat((-t[..., D // 2:], t[..., :D // 2]), dim=-1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
    scores = q @ k.transpose(-1, -2) / math.sqrt(D) + bias_mask
    ctx = torch.softmax(scores, dim=-1) @ v
    return lin("output", ctx.transpose(1, 2).reshape(B, T, H))


def bert():
    w = {"embeddings.word": rand(V, H), "embeddings.position": rand(P, H), "embeddings.token_type": rand(2, H),
         "embeddings.norm.weight": 1 + rand(H), "embeddings.norm.bias": rand(H)}
    for i in range(L):
        p = f"layers.{i}."
        for n in ("query", "key", "value", "output"):
            w[p + f"attention.{n}.weight"], w[p + f"attention.{n}.bias"] = rand(H, H), rand(H)
        w[p + "mlp.up.weight"], w[p + "mlp.up.bias"] = rand(I, H), rand(I)
        w[p + "mlp.down.weight"], w[p + "mlp.down.bias"] = rand(H, I), rand(H)
        for n in ("attention_norm", "mlp_norm"):
            w[p + n + ".weight"], w[p + n + ".bias"] = 1 + rand(H), rand(H)
    eps = 1e-12
    x = w["embeddings.word"][ids] + w["embeddings.position"][torch.arange(T)][None] + w["embeddings.token_type"][types]
    x = layer_norm(x, w["embeddings.norm.weight"], w["embeddings.norm.bias"], eps)
    bias = torch.zeros(B, 1, 1, T, dtype=torch.float64).masked_fill(mask[:, None, None, :] == 0, float("-inf"))
    for i in range(L):
        p = f"layers.{i}."
        x = layer_norm(x + attention(x, p, w, bias), w[p + "attention_norm.weight"], w[p + "attention_norm.bias"], eps)
        h = x @ w[p + "mlp.up.weight"].T + w[p + "mlp.up.bias"]
        h = torch.nn.functional.gelu(h) @ w[p + "mlp.down.weight"].T + w[p + "mlp.down.bias"]
        x = layer_norm(x + h, w[p + "mlp_norm.weight"], w[p + "mlp_norm.bias"], eps)
    return w, x


def bert_heads(w, hidden):
    """BertForPreTraining's heads: MLM transform + tied decoder + bias; pooler (tanh) + NSP."""
    heads = {"mlm_head.dense.weight": rand(H, H), "mlm_head.dense.bias": rand(H),
             "mlm_head.norm.weight": 1 + rand(H), "mlm_head.norm.bias": rand(H), "mlm_head.decoder.bias": rand(V),
             "pooler.dense.weight": rand(H, H), "pooler.dense.bias": rand(H), "nsp.weight": rand(2, H), "nsp.bias": rand(2)}
    t = torch.nn.functional.gelu(hidden @ heads["mlm_head.dense.weight"].T + heads["mlm_head.dense.bias"])
    t = layer_norm(t, heads["mlm_head.norm.weight"], heads["mlm_head.norm.bias"], 1e-12)
    scores = t @ w["embeddings.word"].T + heads["mlm_head.decoder.bias"]
    pooled = torch.tanh(hidden[:, 0] @ heads["pooler.dense.weight"].T + heads["pooler.dense.bias"])
    nsp = pooled @ heads["nsp.weight"].T + heads["nsp.bias"]
    return heads, scores, nsp


def llama():
    w = {"embeddings.word": rand(V, H)}
    for i in range(L):
        p = f"layers.{i}."
        for n in ("query", "key", "value", "output"):
            w[p + f"attention.{n}.weight"] = rand(H, H)
        w[p + "mlp.gate.weight"], w[p + "mlp.up.weight"], w[p + "mlp.down.weight"] = rand(I, H), rand(I, H), rand(H, I)
        w[p + "attention_norm.weight"], w[p + "mlp_norm.weight"] = 1 + rand(H), 1 + rand(H)
    w["final_norm.weight"] = 1 + rand(H)
    eps = 1e-5
    inv = 1.0 / (10000 ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv[None]
    emb = torch.cat((freqs, freqs), dim=-1)
    rope = (emb.cos()[None, None], emb.sin()[None, None])
    causal = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), diagonal=1)
    bias = torch.zeros(B, 1, 1, T, dtype=torch.float64).masked_fill(mask[:, None, None, :] == 0, float("-inf")) + causal
    x = w["embeddings.word"][ids]
    for i in range(L):
        p = f"layers.{i}."
        x = x + attention(rms_norm(x, w[p + "attention_norm.weight"], eps), p, w, bias, rope)
        h = rms_norm(x, w[p + "mlp_norm.weight"], eps)
        g = h @ w[p + "mlp.gate.weight"].T
        x = x + (torch.nn.functional.silu(g) * (h @ w[p + "mlp.up.weight"].T)) @ w[p + "mlp.down.weight"].T
    return w, rms_norm(x, w["final_norm.weight"], eps)


cases = {}
mlm_labels = torch.full((B, T), -100)
mlm_labels[0, 1], mlm_labels[0, 4], mlm_labels[1, 2] = 3, 7, 11
nsp_labels = torch.tensor([0, 1])
for name, fn in (("bert", bert), ("llama", llama)):
    weights, hidden = fn()
    case = {"hidden": hidden.flatten().tolist()}
    if name == "bert":
        heads, scores, nsp = bert_heads(weights, hidden)
        weights.update(heads)
        mlm_loss = torch.nn.functional.cross_entropy(scores.view(-1, V), mlm_labels.view(-1), ignore_index=-100)
        nsp_loss = torch.nn.functional.cross_entropy(nsp, nsp_labels)
        case.update({"prediction_scores": scores.flatten().tolist(), "seq_relationship": nsp.flatten().tolist(),
                     "mlm_labels": mlm_labels.flatten().tolist(), "nsp_labels": nsp_labels.tolist(),
                     "mlm_loss": float(mlm_loss), "nsp_loss": float(nsp_loss)})
    if name == "llama":
        # LlamaForCausalLM: an untied output head; loss on labels shifted by one, padding ignored.
        weights["lm_head.weight"] = rand(V, H)
        logits = hidden @ weights["lm_head.weight"].T
        clm_labels = ids.masked_fill(mask == 0, -100)
        clm_loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), clm_labels[:, 1:].reshape(-1),
                                                     ignore_index=-100)
        case.update({"logits": logits.flatten().tolist(), "clm_labels": clm_labels.flatten().tolist(),
                     "clm_loss": float(clm_loss)})
    case["weights"] = {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in weights.items()}
    cases[name] = case
out = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "transformer.json")
with open(out, "w") as f:
    json.dump({"generator": "model/src/test/python/make_transformer_fixtures.py", "torch": torch.__version__,
               "dims": {"B": B, "T": T, "V": V, "H": H, "A": A, "I": I, "L": L, "P": P},
               "ids": ids.flatten().tolist(), "attention_mask": mask.flatten().tolist(),
               "token_type_ids": types.flatten().tolist(), "cases": cases}, f)
print("wrote", os.path.normpath(out))
