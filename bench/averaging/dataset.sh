# Sourced by the bench scripts: bench/averaging's dataset — a 4 MB prose sample corpus (seed 42), an
# uncased WordPiece tokenizer of 4,096 tokens, MLM rows of 64 tokens (no NSP), 4% validation —
# made once into $DATA (bench/work/averaging/data-prose4mb-wp4096-mlm64-seed42) with $LMSPARK.
averaging_dataset() {
  [[ -f "$DATA/manifest.json" ]] && return 0
  local work="$ROOT/bench/work/averaging"
  echo "bench: preparing $DATA" >&2
  "$LMSPARK" sample-corpus --kind prose --size-mb 4 --seed 42 --output "$work/corpus-4" --overwrite >&2
  "$LMSPARK" train-tokenizer --master 'local[2]' --input "$work/corpus-4" --output "$work/wordpiece-4-4096" \
    --type wordpiece --vocab-size 4096 --lowercase --overwrite >&2
  "$LMSPARK" prepare --master 'local[2]' --input "$work/corpus-4" --tokenizer "$work/wordpiece-4-4096" \
    --output "$DATA" --objective mlm --max-length 64 --validation-fraction 0.04 --seed 42 --overwrite >&2
}
