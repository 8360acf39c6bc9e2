"""Reference logits and MLM loss of a small rotary masked LM, from an independent PyTorch implementation.

Writes model/src/test/resources/fixtures/rotary_mlm.json: random weights (normal, std 0.3, named as
lmspark names them) of lmspark's "rotary-mlm" architecture -- the XLM framework's
RotaryTransformerMLMModel with lmspark's fixed details: token embeddings (no positions added), pre-LN layers
(LayerNorm eps 1e-5 -> QKV/output projections with biases, RoPE over the whole head in the
rotate_half layout with theta 10000, bidirectional attention with the padding mask -> residual;
LayerNorm -> Linear, exact GELU, Linear -> residual), a final LayerNorm and an untied bias-free
unembedding (lm_head.weight). The batch has a right-padded row and a left-padded row with explicit
position ids (counted from the first real token).

Run with Debian's python3-torch:  /usr/bin/python3 model/src/test/python/make_rotary_mlm_fixtures.py
"""
import json
import math
import os

import torch

torch.manual_seed(23)
B, T, V, H, A, I, L = 2, 8, 50, 32, 2, 64, 2
D = H // A
EPS = 1e-5
ids = torch.randint(5, V, (B, T))
mask = torch.ones(B, T, dtype=torch.long)
mask[0, 6:] = 0  # right padding
mask[1, :3] = 0  # left padding
ids[mask == 0] = 0
positions = torch.stack([torch.arange(T), (torch.arange(T) - 3).clamp(min=0)])
labels = torch.full((B, T), -100)
labels[0, 1], labels[0, 4], labels[1, 3], labels[1, 6] = 7, 19, 42, 3


def rand(*shape):
    # Rounded to 6 decimals so the JSON stays small; the reference computes with the rounded values.
    return torch.round(torch.randn(*shape, dtype=torch.float64) * 0.3e6) / 1e6


w = {"embeddings.word": rand(V, H)}
for i in range(L):
    p = f"layers.{i}."
    for n in ("query", "key", "value", "output"):
        w[p + f"attention.{n}.weight"], w[p + f"attention.{n}.bias"] = rand(H, H), rand(H)
    w[p + "attention_norm.weight"], w[p + "attention_norm.bias"] = 1 + rand(H), rand(H)
    w[p + "mlp.up.weight"], w[p + "mlp.up.bias"] = rand(I, H), rand(I)
    w[p + "mlp.down.weight"], w[p + "mlp.down.bias"] = rand(H, I), rand(H)
    w[p + "mlp_norm.weight"], w[p + "mlp_norm.bias"] = 1 + rand(H), rand(H)
w["final_norm.weight"], w["final_norm.bias"] = 1 + rand(H), rand(H)
w["lm_head.weight"] = rand(V, H)


def layer_norm(x, name):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + EPS) * w[name + ".weight"] + w[name + ".bias"]


def linear(x, name):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def rope(x, pos):
    """x (B, A, T, D); angle of pair (j, j + D/2) at position t is t / theta^(2j/D)."""
    inv = 1.0 / (10000.0 ** (torch.arange(0, D // 2, dtype=torch.float64) * 2 / D))
    ang = pos.to(torch.float64)[:, None, :, None] * inv  # (B, 1, T, D/2)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    c, s = torch.cos(ang), torch.sin(ang)
    return torch.cat((x1 * c - x2 * s, x2 * c + x1 * s), dim=-1)


def forward(ids, mask, pos):
    b, t = ids.shape
    x = w["embeddings.word"][ids]
    keep = mask[:, None, None, :].bool()
    for i in range(L):
        p = f"layers.{i}."
        h = layer_norm(x, p + "attention_norm")
        q, k, v = (linear(h, p + "attention." + n).view(b, t, A, D).transpose(1, 2) for n in ("query", "key", "value"))
        q, k = rope(q, pos), rope(k, pos)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        scores = scores.masked_fill(~keep, float("-inf"))
        ctx = torch.softmax(scores, dim=-1) @ v
        x = x + linear(ctx.transpose(1, 2).reshape(b, t, H), p + "attention.output")
        h = layer_norm(x, p + "mlp_norm")
        up = linear(h, p + "mlp.up")
        gelu = 0.5 * up * (1 + torch.erf(up / math.sqrt(2)))
        x = x + linear(gelu, p + "mlp.down")
    x = layer_norm(x, "final_norm")
    return x @ w["lm_head.weight"].T


logits = forward(ids, mask, positions)
logp = torch.log_softmax(logits, dim=-1)
picked = labels != -100
nll = -logp[picked, labels[picked]]
out = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "rotary_mlm.json")
with open(out, "w") as f:
    json.dump({"generator": "model/src/test/python/make_rotary_mlm_fixtures.py", "torch": torch.__version__,
               "dims": {"B": B, "T": T, "V": V, "H": H, "A": A, "I": I, "L": L},
               "ids": ids.flatten().tolist(), "attention_mask": mask.flatten().tolist(),
               "position_ids": positions.flatten().tolist(), "labels": labels.flatten().tolist(),
               "logits": [float(f"{x:.9g}") for x in logits.flatten().tolist()], "mlm_loss_mean": float(nll.mean()),
               "mlm_loss_sum": float(nll.sum()),
               "weights": {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in w.items()}},
              f)
print("wrote", os.path.normpath(out))
