"""Reference trajectory of torch.optim.AdamW with global-norm clipping and a warm-up + cosine schedule.

Writes model/src/test/resources/fixtures/adamw.json: two parameters (a 3x4 weight with weight decay, a
bias of 4 without), the gradient fed at each of 6 steps, the learning rate of each step (Hugging Face's
get_cosine_schedule_with_warmup: 2 warm-up steps of 6), the gradient norm before clipping to 1.0, and
both parameters after every step.

Run with Debian's python3-torch:  /usr/bin/python3 model/src/test/python/make_optimizer_fixtures.py
"""
import json
import math
import os

import torch

torch.manual_seed(7)
w = torch.nn.Parameter(torch.randn(3, 4))
b = torch.nn.Parameter(torch.randn(4))
init = {"weight": w.detach().flatten().tolist(), "bias": b.detach().flatten().tolist()}
base_lr, warmup, total, clip = 0.1, 2, 6, 1.0
opt = torch.optim.AdamW(
    [{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
    lr=base_lr, betas=(0.9, 0.999), eps=1e-8)


def lr_at(step):  # step counts from 0, as Hugging Face's LambdaLR
    if step < warmup:
        return base_lr * step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return base_lr * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


steps = []
for step in range(total):
    gw, gb = torch.randn(3, 4) * 3, torch.randn(4) * 3
    w.grad, b.grad = gw.clone(), gb.clone()
    norm = torch.nn.utils.clip_grad_norm_([w, b], clip)
    lr = lr_at(step)
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    steps.append({"grad_weight": gw.flatten().tolist(), "grad_bias": gb.flatten().tolist(), "lr": lr,
                  "norm": float(norm), "weight": w.detach().flatten().tolist(), "bias": b.detach().flatten().tolist()})

out = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "adamw.json")
with open(out, "w") as f:
    json.dump({"generator": "model/src/test/python/make_optimizer_fixtures.py", "torch": torch.__version__,
               "base_lr": base_lr, "warmup": warmup, "total": total, "clip": clip, "weight_decay": 0.1,
               "init": init, "steps": steps}, f, indent=1)
print("wrote", os.path.normpath(out))
