"""bench/train-step, the PyTorch eager peer: the same models, batch and step as the JVM side.

A plain, idiomatic implementation of Hugging Face's BERT (post-LN, learned positions, token types,
exact GELU, LayerNorm eps 1e-12, dropout 0.1 on embeddings, attention probabilities and both
residual branches; MLM head dense-GELU-LayerNorm-tied decoder evaluated at the predicted positions
only; pooler + NSP head) and Llama (pre-RMSNorm, RoPE in the rotate_half layout, SwiGLU, no
biases, causal mask, untied lm_head over every position, shifted cross-entropy). One step =
forward, backward, clip_grad_norm_(1.0), AdamW (torch defaults, weight decay 0.01 except biases
and norm weights), zero_grad.

Prints `result side=torch step_seconds=… cpu_seconds=… loss_before=… loss_after=…` (the loss on the
first batch in inference mode before and after, a sanity check) and a version line for run.sh.

    /usr/bin/python3 torch_peer.py --preset bert-mini --steps 10 --warmup 3 --threads 2
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B, T, V = 16, 128, 8192
PREDICTIONS = 20  # Google BERT's max_predictions_per_seq at T = 128
CLS, SEP, MASK, FIRST_WORD = 2, 3, 4, 5

# (architecture, layers, hidden, heads, intermediate), as lmspark's ModelConfig presets.
PRESETS = {
    "bert-mini": ("bert", 4, 256, 4, 1024),
    "bert-small": ("bert", 4, 512, 8, 2048),
    "llama-small": ("llama", 4, 512, 8, 1376),
}


class BertLayer(nn.Module):
    def __init__(self, h, heads, inter, p):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.output = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=1e-12)
        self.up, self.down = nn.Linear(h, inter), nn.Linear(inter, h)
        self.mlp_norm = nn.LayerNorm(h, eps=1e-12)
        self.dropout = nn.Dropout(p)

    def split(self, x):
        b, t, h = x.shape
        return x.view(b, t, self.heads, h // self.heads).transpose(1, 2)

    def forward(self, x, bias):
        b, t, h = x.shape
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + bias
        probs = self.dropout(scores.softmax(-1))
        context = (probs @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attention_norm(x + self.dropout(self.output(context)))
        return self.mlp_norm(x + self.dropout(self.down(F.gelu(self.up(x)))))


class BertPretraining(nn.Module):
    def __init__(self, layers, h, heads, inter, p=0.1):
        super().__init__()
        self.word = nn.Embedding(V, h)
        self.position = nn.Embedding(T, h)
        self.token_type = nn.Embedding(2, h)
        self.embeddings_norm = nn.LayerNorm(h, eps=1e-12)
        self.dropout = nn.Dropout(p)
        self.layers = nn.ModuleList(BertLayer(h, heads, inter, p) for _ in range(layers))
        self.mlm_dense = nn.Linear(h, h)
        self.mlm_norm = nn.LayerNorm(h, eps=1e-12)
        self.decoder_bias = nn.Parameter(torch.zeros(V))
        self.pooler = nn.Linear(h, h)
        self.nsp = nn.Linear(h, 2)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def loss(self, ids, types, mask, labels, nsp_labels):
        positions = torch.arange(ids.shape[1])
        x = self.word(ids) + self.position(positions) + self.token_type(types)
        x = self.dropout(self.embeddings_norm(x))
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, bias)
        # MLM: the vocabulary projection at predicted positions only.
        flat = labels.view(-1)
        picked = (flat != -100).nonzero().squeeze(1)
        t = self.mlm_norm(F.gelu(self.mlm_dense(x.reshape(-1, x.shape[-1])[picked])))
        scores = F.linear(t, self.word.weight, self.decoder_bias)
        mlm = F.cross_entropy(scores, flat[picked])
        nsp = F.cross_entropy(self.nsp(torch.tanh(self.pooler(x[:, 0]))), nsp_labels)
        return mlm + nsp


class RMSNorm(nn.Module):
    def __init__(self, h, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(h))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, h, heads, inter):
        super().__init__()
        self.heads = heads
        self.query, self.key = nn.Linear(h, h, bias=False), nn.Linear(h, h, bias=False)
        self.value, self.output = nn.Linear(h, h, bias=False), nn.Linear(h, h, bias=False)
        self.attention_norm, self.mlp_norm = RMSNorm(h), RMSNorm(h)
        self.gate = nn.Linear(h, inter, bias=False)
        self.up = nn.Linear(h, inter, bias=False)
        self.down = nn.Linear(inter, h, bias=False)

    def split(self, x):
        b, t, h = x.shape
        return x.view(b, t, self.heads, h // self.heads).transpose(1, 2)

    def forward(self, x, bias, cos, sin):
        b, t, h = x.shape
        y = self.attention_norm(x)
        q, k, v = self.split(self.query(y)), self.split(self.key(y)), self.split(self.value(y))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, h)
        x = x + self.output(context)
        y = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class Llama(nn.Module):
    def __init__(self, layers, h, heads, inter):
        super().__init__()
        self.heads = heads
        self.word = nn.Embedding(V, h)
        self.layers = nn.ModuleList(LlamaLayer(h, heads, inter) for _ in range(layers))
        self.final_norm = RMSNorm(h)
        self.lm_head = nn.Linear(h, V, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def loss(self, ids, mask):
        b, t = ids.shape
        d = self.word.weight.shape[1] // self.heads
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        freqs = torch.arange(t).float()[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        causal = torch.ones(t, t).tril()[None, None]
        allowed = causal * mask[:, None, None, :].float()
        bias = (1.0 - allowed) * torch.finfo(torch.float32).min
        x = self.word(ids)
        for layer in self.layers:
            x = layer(x, bias, cos, sin)
        logits = self.lm_head(self.final_norm(x))
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


def bert_batch(g):
    ids = torch.randint(FIRST_WORD, V, (B, T), generator=g)
    ids[:, 0] = CLS
    sep_a = T // 2 - 1
    ids[:, sep_a] = SEP
    ids[:, -1] = SEP
    types = (torch.arange(T) > sep_a).long().expand(B, T).contiguous()
    labels = torch.full((B, T), -100, dtype=torch.long)
    candidates = [t for t in range(1, T - 1) if t != sep_a]
    for b in range(B):
        chosen = torch.tensor(candidates)[torch.randperm(len(candidates), generator=g)[:PREDICTIONS]]
        labels[b, chosen] = ids[b, chosen]
        ids[b, chosen] = MASK  # (the 80/10/10 split does not change the work)
    nsp = torch.randint(0, 2, (B,), generator=g)
    return ids, types, torch.ones(B, T, dtype=torch.long), labels, nsp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="bert-mini", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(7)
    arch, layers, h, heads, inter = PRESETS[args.preset]
    g = torch.Generator().manual_seed(100)
    if arch == "bert":
        model = BertPretraining(layers, h, heads, inter)
        batches = [bert_batch(g) for _ in range(4)]
        step_loss = lambda i: model.loss(*batches[i % 4])
    else:
        model = Llama(layers, h, heads, inter)
        batches = [torch.randint(FIRST_WORD, V, (B, T), generator=g) for _ in range(4)]
        mask = torch.ones(B, T, dtype=torch.long)
        step_loss = lambda i: model.loss(batches[i % 4], mask)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-4)

    def step(i):
        loss = step_loss(i)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    def inference_loss():
        model.eval()
        with torch.no_grad():
            value = step_loss(0).item()
        model.train()
        return value

    before = inference_loss()
    for i in range(args.warmup):
        step(i)
    wall, cpu = [], []
    for i in range(args.steps):
        w, c = time.perf_counter(), time.process_time()
        step(args.warmup + i)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    print(f"result side=torch_version torch={torch.__version__} threads={torch.get_num_threads()}")
    print("result side=torch step_seconds=" + ",".join(f"{x:.4f}" for x in wall)
          + " cpu_seconds=" + ",".join(f"{x:.4f}" for x in cpu)
          + f" loss_before={before:.4f} loss_after={inference_loss():.4f}")


if __name__ == "__main__":
    main()
