#!/usr/bin/env bash
# bench/train-spark: the distributed trainer's throughput against the bare training step.
# One worker of `lmspark train` in local[2] (H local steps per round, batch 16, rows of 128 tokens)
# against bench/train-step at the same preset, batch and length, in the same run:
#   spark      tokens/s of `train` rounds 2..R (the first round warms up), computed from
#              metrics.jsonl as Σ tokens / Σ round_s, so it includes everything a round costs:
#              the Spark job, broadcasting the global parameters, reading the rows from Parquet,
#              the H steps, serializing the worker's state and delta, the driver's averaging
#   step       bench/train-step's lmspark side (the same TrainingStep on synthetic batches)
# Data: the built-in prose corpus with an 8192-token WordPiece vocabulary, prepared as packed CLM rows
# (llama-small; no padding, so every token is real, as in bench/train-step) or MLM+NSP rows
# (bert-mini; padded, so the comparison is in rows×128 per second: bench/train-step's rows are full).
# Results: bench/results/train-spark-<UTC time>.json; the last line is the summary.
#
#   bench/train-spark/run.sh [--preset llama-small|bert-mini] [--rounds 5] [--local-steps 50]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRESET=llama-small
ROUNDS=5
H=50
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) PRESET="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --local-steps) H="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/train-spark: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$PRESET" in
  llama-small) OBJECTIVE=clm ;;
  bert-mini) OBJECTIVE=mlm ;;
  *) echo "bench/train-spark: --preset $PRESET; use llama-small or bert-mini" >&2; exit 2 ;;
esac
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 2 && "$H" =~ ^[1-9][0-9]*$ ]] ||
  { echo "bench/train-spark: --rounds must be ≥ 2 and --local-steps ≥ 1 (got $ROUNDS, $H)" >&2; exit 2; }

LMSPARK="$ROOT/deploy/bin/lmspark"
WORK="$ROOT/bench/work/train-spark"
mkdir -p "$WORK" "$ROOT/bench/results"
"$LMSPARK" --version >/dev/null
if [[ ! -f "$WORK/corpus/part-00000.jsonl" ]]; then
  "$LMSPARK" sample-corpus --output "$WORK/corpus" --size-mb 8 --overwrite >&2
fi
if [[ ! -f "$WORK/tokenizer/tokenizer.json" ]]; then
  "$LMSPARK" train-tokenizer --input "$WORK/corpus" --output "$WORK/tokenizer" --vocab-size 8192 \
    --lowercase --overwrite >&2
fi
DATA="$WORK/data-$OBJECTIVE"
if [[ ! -f "$DATA/manifest.json" ]]; then
  if [[ "$OBJECTIVE" == clm ]]; then
    "$LMSPARK" prepare --input "$WORK/corpus" --tokenizer "$WORK/tokenizer" --output "$DATA" \
      --objective clm --pack --max-length 128 --overwrite >&2
  else
    "$LMSPARK" prepare --input "$WORK/corpus" --tokenizer "$WORK/tokenizer" --output "$DATA" \
      --nsp --max-length 128 --overwrite >&2
  fi
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
RUN="$WORK/run-$PRESET"
echo "bench/train-spark: train $PRESET, 1 worker, $ROUNDS rounds × $H steps × 16 rows, local[2]" >&2
"$LMSPARK" train --master 'local[2]' --data "$DATA" --output "$RUN" --overwrite --model "$PRESET" \
  --workers 1 --rounds "$ROUNDS" --local-steps "$H" --batch-size 16 --lr 1e-4 \
  --lr-schedule constant --checkpoint-every 0 2>"$WORK/train-$PRESET.log" >/dev/null ||
  { echo "bench/train-spark: train failed; see $WORK/train-$PRESET.log" >&2; exit 1; }
echo "bench/train-spark: bench/train-step --preset $PRESET" >&2
STEP_LINE="$("$ROOT/bench/train-step/run.sh" --preset "$PRESET" --steps 10 | tail -n 1)"
STEP_JSON="$(ls -t "$ROOT"/bench/results/train-step-*.json | head -n 1)"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

RUN="$RUN" STEP_JSON="$STEP_JSON" STEP_LINE="$STEP_LINE" PRESET="$PRESET" ROUNDS="$ROUNDS" H="$H" \
OUT_FILE="$ROOT/bench/results/train-spark-$STAMP.json" COMMAND="bench/train-spark/run.sh ${ARGS[*]}" \
LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" DATA="$DATA" \
GIT_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)" JAVA_VERSION="$(java -version 2>&1 | head -n 1)" \
python3 - <<'PY'
import json, os, platform
env = os.environ
records = [json.loads(l) for l in open(os.path.join(env["RUN"], "metrics.jsonl"))]
timed = [r for r in records if r["round"] >= 2]
tokens = sum(r["tokens"] - p["tokens"] for p, r in zip(records, records[1:]) if r["round"] >= 2)
seconds = sum(r["round_s"] for r in timed)
rows = sum(r["examples"] - p["examples"] for p, r in zip(records, records[1:]) if r["round"] >= 2)
length = json.load(open(os.path.join(env["DATA"], "manifest.json")))["max_length"]
step = json.load(open(env["STEP_JSON"]))["presets"][env["PRESET"]]
step_tps = step["lmspark"]["tokens_per_s"]
spark_tps = tokens / seconds
spark_rows_tps = rows * length / seconds
ratio = spark_rows_tps / step_tps
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "benchmark": "train-spark",
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
                "load_average_before": env["LOAD_BEFORE"], "load_average_after": env["LOAD_AFTER"]},
    "command": env["COMMAND"], "git_commit": env["GIT_COMMIT"], "java": env["JAVA_VERSION"],
    "settings": {"preset": env["PRESET"], "workers": 1, "master": "local[2]", "rounds": int(env["ROUNDS"]),
                 "local_steps": int(env["H"]), "batch": 16, "length": length, "timed_rounds": len(timed)},
    "spark": {"real_tokens_per_s": spark_tps, "row_tokens_per_s": spark_rows_tps,
              "round_seconds": [r["round_s"] for r in timed], "metrics": records},
    "train_step": {"tokens_per_s": step_tps, "result_file": os.path.basename(env["STEP_JSON"]),
                   "summary": env["STEP_LINE"]},
    "ratio": ratio,
    "notes": "ratio = spark rows×length per second ÷ train-step tokens per second (train-step rows are "
             "all real tokens); real_tokens_per_s counts only non-padding tokens",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
print(f"bench/train-spark: results in {env['OUT_FILE']} (load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after)")
print(f"train-spark preset={env['PRESET']} H={env['H']} spark_tokens_per_s={spark_rows_tps:.0f} "
      f"spark_real_tokens_per_s={spark_tps:.0f} step_tokens_per_s={step_tps:.0f} ratio={ratio:.3f}")
PY
