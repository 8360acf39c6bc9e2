"""Validation losses of an exported Hugging Face folder, computed by the independent PyTorch
implementation of make_hf_fixtures.py (transformers' BertForPreTraining, BertLMHeadModel and
LlamaForCausalLM written out in float64), on rows printed by `lmspark inspect --format jsonl`.

Prints one JSON object: examples, and mlm_loss and nsp_loss (BERT pretraining) or clm_loss (causal
models), each token- (or pair-) weighted over all rows, as `lmspark evaluate` defines them. Used to
check, outside lmspark, that an exported model gives the losses `evaluate` prints:

  deploy/bin/lmspark export --checkpoint RUN --output HF
  deploy/bin/lmspark inspect --data DATA --split validation --rows 100000 --format jsonl > rows.jsonl
  /usr/bin/python3 model/src/test/python/evaluate_hf_export.py --model HF --rows rows.jsonl
  deploy/bin/lmspark evaluate --checkpoint RUN --data DATA

Run with Debian's python3-torch (no transformers, safetensors or pyarrow needed).
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import make_hf_fixtures as hf  # noqa: E402  (its forward passes; importing it writes nothing)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: {info['dtype']} weights; this check reads float32 exports")
        a, b = info["data_offsets"]
        values = struct.unpack("<%df" % ((b - a) // 4), data[a:b])
        out[name] = torch.tensor(values, dtype=torch.float64).reshape(info["shape"])
    return out


def cross_entropy_sum(logits, labels):
    """Summed cross-entropy over positions whose label is not -100, and their count."""
    keep = labels != -100
    if keep.sum() == 0:
        return 0.0, 0
    lp = torch.log_softmax(logits[keep], dim=-1)
    return float(-lp.gather(-1, labels[keep][:, None]).sum()), int(keep.sum())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="an exported Hugging Face folder")
    p.add_argument("--rows", required=True, help="inspect --format jsonl output")
    p.add_argument("--batch", type=int, default=16)
    args = p.parse_args()
    config = json.load(open(os.path.join(args.model, "config.json")))
    weights = read_safetensors(os.path.join(args.model, "model.safetensors"))
    arch = config["architectures"][0]
    if arch == "LlamaForCausalLM" and "lm_head.weight" not in weights:
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]  # tied
    rows = [json.loads(line) for line in open(args.rows) if line.strip()]
    sums = {}

    def add(name, total, count):
        s, n = sums.get(name, (0.0, 0))
        sums[name] = (s + total, n + count)

    for start in range(0, len(rows), args.batch):
        batch = rows[start:start + args.batch]
        ids = torch.tensor([r["input_ids"] for r in batch])
        mask = torch.tensor([r["attention_mask"] for r in batch])
        labels = torch.tensor([r["labels"] for r in batch])
        if arch == "LlamaForCausalLM":
            logits = hf.llama_forward(config, weights, ids=ids, mask=mask)
        else:
            types = torch.tensor([r["token_type_ids"] for r in batch])
            decoder = arch == "BertLMHeadModel"
            logits, nsp = hf.bert_forward(config, weights, types, decoder, ids=ids, mask=mask)
            if not decoder:
                add("mlm", *cross_entropy_sum(logits, labels))
                if "next_sentence_label" in batch[0]:
                    nsp_labels = torch.tensor([r["next_sentence_label"] for r in batch])
                    add("nsp", *cross_entropy_sum(nsp, nsp_labels))
                continue
        nxt = torch.cat([labels[:, 1:], torch.full((len(batch), 1), -100)], dim=1)
        add("clm", *cross_entropy_sum(logits, nxt))
    out = {"examples": len(rows)}
    for name, (total, count) in sums.items():
        out[name + "_loss"] = total / count
    print(json.dumps(out))


if __name__ == "__main__":
    main()
