#!/usr/bin/env bash
# bench/prepare: tokens/s of `lmspark prepare` (MLM+NSP and CLM+FIM) in local[2], side by side in one
# run with the raw-tokenizer peer (HuggingFaceTokenizer.batchEncode over batches of 1024 documents,
# RAYON_NUM_THREADS=2, same corpus, one JVM), plus a per-stage time breakdown from a second,
# --stage-timing run. Results: bench/results/prepare-<objective>-<UTC time>.json; the last line of
# output is the summary of the last objective run.
#
#   bench/prepare/run.sh [--size-mb 200] [--objective mlm-nsp|clm-fim|both]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZE_MB=200
OBJECTIVES="mlm-nsp clm-fim"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --objective) [[ "$2" == both ]] || OBJECTIVES="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench/prepare: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
LMSPARK="$ROOT/deploy/bin/lmspark"
WORK="$ROOT/bench/work/prepare-$SIZE_MB"
RESULTS="$ROOT/bench/results"
export LMSPARK_DRIVER_MEMORY="${LMSPARK_DRIVER_MEMORY:-8g}"
export RAYON_NUM_THREADS=2
mkdir -p "$WORK" "$RESULTS"

"$LMSPARK" --version >/dev/null   # builds the application when needed
LIB="$ROOT/spark-jobs/target/lib"
# TokenizerPeer is compiled by the normal build (the bench module); built here when missing or stale.
CLASSES="$ROOT/bench/target/classes"
if [[ ! "$CLASSES/TokenizerPeer.class" -nt "$ROOT/bench/prepare/TokenizerPeer.java" ]]; then
  (cd "$ROOT" && mvn -B -q -DskipTests -Dspotless.check.skip=true compile -pl bench -am) >&2 ||
    { echo "bench/prepare: building the bench module failed; run: mvn -pl bench -am compile" >&2; exit 1; }
fi

corpus() { # kind dir
  [[ -f "$WORK/$2/part-00000.jsonl" ]] || "$LMSPARK" sample-corpus --kind "$1" --size-mb "$SIZE_MB" --output "$WORK/$2" --overwrite >&2
}
tokenizer() { # corpus dir type extra…
  local corpus=$1 dir=$2 type=$3; shift 3
  [[ -f "$WORK/$dir/tokenizer.json" ]] || "$LMSPARK" train-tokenizer --master 'local[2]' --input "$WORK/$corpus" \
    --output "$WORK/$dir" --type "$type" --vocab-size 8192 --overwrite "$@" >&2
}

for objective in $OBJECTIVES; do
  case "$objective" in
    mlm-nsp)
      corpus prose prose; tokenizer prose wordpiece wordpiece --lowercase
      CORPUS="$WORK/prose"; TOK="$WORK/wordpiece"
      ARGS=(--objective mlm --nsp --max-length 128) ;;
    clm-fim)
      corpus code code; tokenizer code bpe bpe
      CORPUS="$WORK/code"; TOK="$WORK/bpe"
      ARGS=(--objective clm --pack --fim-rate 0.5 --max-length 512) ;;
    *) echo "bench/prepare: unknown objective $objective" >&2; exit 2 ;;
  esac
  echo "bench/prepare: $objective on $SIZE_MB MB" >&2
  read -r PEER_TOKENS PEER_SECONDS < <(java -Dai.djl.offline=true -cp "$CLASSES:$LIB/*" TokenizerPeer "$CORPUS" "$TOK/tokenizer.json" 2>/dev/null | tail -n 1)
  COMMAND=("$LMSPARK" prepare --master 'local[2]' --input "$CORPUS" --tokenizer "$TOK" --output "$WORK/data-$objective" --overwrite "${ARGS[@]}")
  RUN_OUT="$("${COMMAND[@]}" 2>/dev/null)"
  TIMING_OUT="$("${COMMAND[@]}" --stage-timing 2>/dev/null)"
  STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
  PEER_TOKENS=$PEER_TOKENS PEER_SECONDS=$PEER_SECONDS RUN_OUT="$RUN_OUT" TIMING_OUT="$TIMING_OUT" \
  DATA="$WORK/data-$objective" OBJECTIVE="$objective" SIZE_MB="$SIZE_MB" COMMAND="${COMMAND[*]}" \
  OUT_FILE="$RESULTS/prepare-$objective-$STAMP.json" python3 - <<'PY'
import json, os, platform, re, subprocess
env = os.environ
manifest = json.load(open(os.path.join(env["DATA"], "manifest.json")))
tokens = sum(manifest["num_tokens"].values())
def seconds(out):
    return float(re.search(r"written to .* in ([0-9.]+) s", out).group(1))
def stages(out):
    line = [l for l in out.splitlines() if l.strip().startswith("stages")][0]
    return {k: float(v) for k, v in re.findall(r"(\S+) ([0-9.]+)s", line)}
lm_seconds = seconds(env["RUN_OUT"])
peer_tokens, peer_seconds = int(env["PEER_TOKENS"]), float(env["PEER_SECONDS"])
lm_rate, peer_rate = tokens / lm_seconds, peer_tokens / peer_seconds
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "benchmark": "prepare", "objective": env["OBJECTIVE"], "corpus_mb": int(env["SIZE_MB"]),
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1), "os": platform.platform()},
    "command": env["COMMAND"],
    "lmspark": {"tokens": tokens, "seconds": lm_seconds, "tokens_per_s": lm_rate, "examples": manifest["num_examples"],
                 "stage_seconds": stages(env["TIMING_OUT"]), "stage_timing_run_seconds": seconds(env["TIMING_OUT"])},
    "tokenizer_peer": {"tokens": peer_tokens, "seconds": peer_seconds, "tokens_per_s": peer_rate,
                        "what": "HuggingFaceTokenizer.batchEncode, batches of 1024 documents, RAYON_NUM_THREADS=2, no truncation or padding"},
    "ratio": lm_rate / peer_rate,
    "versions": {"lmspark": manifest["provenance"]["lmspark_version"], "spark": manifest["provenance"]["spark_version"], "jvm": manifest["provenance"]["jvm"]},
    "notes": "lmspark time is the prepare job's own (Spark start-up excluded); tokens = non-padding tokens of the output",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
breakdown = " ".join(f"{k}={v:.1f}s" for k, v in result["lmspark"]["stage_seconds"].items())
print(f"bench/prepare: breakdown ({env['OBJECTIVE']}, --stage-timing run): {breakdown}")
print(f"prepare objective={env['OBJECTIVE']} lmspark_tokens_per_s={lm_rate:.0f} tokenizer_tokens_per_s={peer_rate:.0f} ratio={lm_rate / peer_rate:.2f}")
PY
done
