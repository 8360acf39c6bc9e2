#!/usr/bin/env bash
# Regenerates the golden training fixture, spark-jobs/src/test/resources/fixtures/golden-mlm: a
# small MLM+NSP dataset (WordPiece, rows of 32, two train shards) made by the real commands from
# the built-in prose corpus. It is committed and no test regenerates it, so the golden training
# run (TrainGoldenTest) reads the same bytes whatever else changes in data prep.
#
# Regenerating it changes the golden SHA-256 in TrainGoldenTest: record the new one from a run of
# the trainer the golden value is meant to pin, never from the code under test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
OUT="${1:-$ROOT/spark-jobs/src/test/resources/fixtures/golden-mlm}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
lmspark() { "$ROOT/deploy/bin/lmspark" "$@"; }
lmspark sample-corpus --output "$work/prose" --size-mb 0.06 --seed 17
lmspark train-tokenizer --input "$work/prose" --output "$work/wordpiece" --lowercase \
  --vocab-size 400
lmspark prepare --input "$work/prose" --tokenizer "$work/wordpiece" --output "$work/data" \
  --max-length 32 --nsp --shards 2 --validation-fraction 0.05 --seed 17
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
cp -r "$work/data" "$OUT"
echo "golden dataset written to $OUT" >&2
