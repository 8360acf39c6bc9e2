#!/usr/bin/env bash
# Regenerates the training tests' datasets, spark-jobs/src/test/resources/fixtures/train: an
# MLM+NSP one (WordPiece, rows of 64, three train shards), a packed CLM+FIM one (byte-level BPE
# with the FIM sentinels, rows of 64) and an MLM dataset of seq2seq rows (rows of 48), each made
# by the real commands from the built-in sample corpora. TrainJobTest and the other training
# tests copy them instead of making them in every run (that took half a minute of the fast suite);
# the data-prep tests still make theirs from text, so a change to data prep is tested there and
# shows up here only when these are regenerated. Run after `mvn package`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
OUT="${1:-$ROOT/spark-jobs/src/test/resources/fixtures/train}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
lmspark() { "$ROOT/deploy/bin/lmspark" "$@"; }
lmspark sample-corpus --output "$work/prose" --size-mb 0.3 --seed 5
lmspark sample-corpus --output "$work/code" --kind code --size-mb 0.3
lmspark sample-corpus --output "$work/pairs" --kind seq2seq --size-mb 0.1
lmspark train-tokenizer --input "$work/prose" --output "$work/wordpiece" --lowercase \
  --vocab-size 1000
lmspark train-tokenizer --input "$work/code" --output "$work/bpe" --type bpe --vocab-size 400
lmspark prepare --input "$work/pairs" --tokenizer "$work/wordpiece" --output "$work/seq2seq" \
  --objective mlm-seq2seq --max-length 48 --validation-fraction 0.1
lmspark prepare --input "$work/prose" --tokenizer "$work/wordpiece" --output "$work/mlm" \
  --max-length 64 --nsp --shards 3 --validation-fraction 0.05
lmspark prepare --input "$work/code" --tokenizer "$work/bpe" --output "$work/clm" \
  --objective clm --pack --fim-rate 0.5 --max-length 64 --shards 3 --validation-fraction 0.05
rm -rf "$OUT"
mkdir -p "$OUT"
for d in mlm clm seq2seq; do cp -r "$work/$d" "$OUT/$d"; done
echo "training datasets written to $OUT" >&2
