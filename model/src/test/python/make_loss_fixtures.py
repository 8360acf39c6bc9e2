"""Reference values for lmspark's language-model losses, computed with PyTorch.

Writes model/src/test/resources/fixtures/losses.json: random logits (B x T x V) and labels, and for
each loss its value and its gradient with respect to the logits, following the reference code of the
SMILE paper (Yue et al. 2023: SMILE, random-subset and reverse-subset) and torch's cross-entropy with
ignore_index=-100. Labels are drawn from ids >= 1 and position 0 of every sequence is labelled, so
that code's conventions (id 0 as the ignored label, first-token MLE at position 0) agree with
lmspark's (ignored labels never enter a subset, first-token MLE at the first predicted position).
The random-subset fixture stores the ids it sampled (also >= 1), which the Java test feeds to
lmspark.

Run with Debian's python3-torch:  /usr/bin/python3 model/src/test/python/make_loss_fixtures.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261122)
B, N, V, S = 3, 7, 13, 4
logits = torch.randn(B, N, V, dtype=torch.float64) * 2
labels = torch.randint(1, V, (B, N))
labels[0, 4] = -100
labels[1, 5:] = -100
labels[2, 2] = -100
rand_indices = torch.randint(1, V, (B, N, S))


def ce(reduction):
    x = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(x.view(-1, V), labels.view(-1), ignore_index=-100, reduction=reduction)
    out = loss.sum() if reduction == "none" else loss
    out.backward()
    return loss.detach(), x.grad


def smile(first_token_mle):
    x = logits.clone().requires_grad_(True)
    labels_ = labels.clone()
    labels_[labels_ == -100] = 0
    mask = torch.zeros(B, V, dtype=torch.float64).scatter_(1, labels_, 1.0)
    mask[:, 0] = 0
    mask = mask.unsqueeze(1).expand(-1, N, -1).clone()
    if first_token_mle:
        mask[:, 0, :] = 1
    selected = x.masked_fill(mask == 0, float("-inf"))
    loss = F.cross_entropy(selected.view(-1, V), labels.view(-1), ignore_index=-100)
    loss.backward()
    return loss.detach(), x.grad


def random_subset():
    x = logits.clone().requires_grad_(True)
    labels_ = labels.clone()
    labels_[labels_ == -100] = 0
    with_label = torch.cat((rand_indices, labels_.unsqueeze(2)), dim=2)
    b = torch.arange(B)[:, None, None].expand(B, N, S + 1)
    t = torch.arange(N)[None, :, None].expand(B, N, S + 1)
    mask = torch.zeros(B, N, V, dtype=torch.float64)
    mask[b, t, with_label] = 1
    mask[:, :, 0] = 0
    selected = x.masked_fill(mask == 0, float("-inf"))
    loss = F.cross_entropy(selected.view(-1, V), labels.view(-1), ignore_index=-100)
    loss.backward()
    return loss.detach(), x.grad


def reverse_subset():
    x = logits.clone().requires_grad_(True)
    labels_ = labels.clone()
    labels_[labels_ == -100] = 0
    mask = torch.ones(B, V, dtype=torch.float64).scatter_(1, labels_, 0.0)
    # Id 0 stands for ignored positions here; lmspark never puts an ignored label in the subset.
    mask[:, 0] = 1
    mask = mask.unsqueeze(1).expand(-1, N, -1).clone()
    mask.scatter_(2, labels_.unsqueeze(-1), 1)
    selected = x.masked_fill(mask == 0, float("-inf"))
    loss = F.cross_entropy(selected.view(-1, V), labels.view(-1), ignore_index=-100)
    loss.backward()
    return loss.detach(), x.grad


cases = {}
for name, fn in [
    ("ce_mean", lambda: ce("mean")),
    ("ce_sum", lambda: ce("sum")),
    ("ce_none", lambda: ce("none")),
    ("smile", lambda: smile(False)),
    ("smile_first_token_mle", lambda: smile(True)),
    ("smile_random", random_subset),
    ("smile_reverse", reverse_subset),
]:
    value, grad = fn()
    cases[name] = {"loss": value.flatten().tolist(), "grad": grad.flatten().tolist()}

fixture = {
    "generator": "model/src/test/python/make_loss_fixtures.py",
    "torch": torch.__version__,
    "shape": [B, N, V],
    "sample_num": S,
    "logits": logits.flatten().tolist(),
    "labels": labels.flatten().tolist(),
    "random_ids": rand_indices.flatten().tolist(),
    "cases": cases,
}
out = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "losses.json")
with open(out, "w") as f:
    json.dump(fixture, f, indent=1)
print("wrote", os.path.normpath(out))
