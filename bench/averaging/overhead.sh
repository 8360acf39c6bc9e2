#!/usr/bin/env bash
# bench/averaging/overhead.sh: what a round of parameter averaging costs beyond training.
# `lmspark train --master local-cluster[2,1,MB]` (two executor JVMs, one core and so one intra-op
# thread each: spark.executor.cores=1) with 2 workers of bert-small at batch 16 on 64-token MLM rows
# (bench/averaging's dataset), for H=10 and H=50 local steps per round. Per round, from
# metrics.jsonl: overhead_fraction = (round_s − compute_s) / round_s over rounds 2..R (the first
# warms up), where round_s is the whole round (workers, shuffle, combine, publish) and compute_s the
# slowest worker's local steps (reading rows included; its state, the parameters, the replica and
# the update excluded). Each H runs --repeats times and the median overhead counts. The split of
# the rest (setup_s, send_s, job_s − compute_s, combine_s) is recorded per round. The bars: ≤ 3% at
# H=10, ≤ 1% at H=50. The last line carries loss_gap, the gap of 2 workers × H=10 `average` to 1
# worker at the global batch from the newest bench/averaging/run.sh result with K=2, H=10.
# Results: bench/results/averaging-overhead-<UTC time>.json.
#
#   bench/averaging/overhead.sh [--rounds 4] [--local-steps 10,50] [--repeats 3] [--executor-memory-mb 3072]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS=4
HS="10,50"
REPEATS=3
MB=3072
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds|--local-steps|--repeats|--executor-memory-mb)
      [[ $# -ge 2 ]] || { echo "bench/averaging/overhead: $1 needs a value (see --help)" >&2; exit 2; } ;;
  esac
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --local-steps) HS="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --executor-memory-mb) MB="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/averaging/overhead: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 2 ]] ||
  { echo "bench/averaging/overhead: --rounds must be ≥ 2 (got $ROUNDS)" >&2; exit 2; }
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] ||
  { echo "bench/averaging/overhead: --repeats must be a whole number ≥ 1 (got $REPEATS)" >&2; exit 2; }
[[ "$MB" =~ ^[1-9][0-9]*$ ]] ||
  { echo "bench/averaging/overhead: --executor-memory-mb must be a whole number (got $MB)" >&2; exit 2; }
IFS=, read -r -a H_LIST <<<"$HS"
for h in "${H_LIST[@]}"; do
  [[ "$h" =~ ^[1-9][0-9]*$ ]] ||
    { echo "bench/averaging/overhead: --local-steps takes whole numbers, comma-separated (got $h)" >&2; exit 2; }
done

LMSPARK="$ROOT/deploy/bin/lmspark"
WORK="$ROOT/bench/work/averaging"
DATA="$WORK/data-prose4mb-wp4096-mlm64-seed42"
mkdir -p "$WORK/overhead" "$ROOT/bench/results"
VERSION="$("$LMSPARK" --version 2>/dev/null | tr '\n' ' ')"
# shellcheck source=bench/averaging/dataset.sh
source "$ROOT/bench/averaging/dataset.sh"
averaging_dataset
MASTER="local-cluster[2,1,$MB]"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
LIST="$WORK/overhead-runs.txt"
: >"$LIST"
for h in "${H_LIST[@]}"; do
  for ((rep = 1; rep <= REPEATS; rep++)); do
    out="$WORK/overhead/bert-small-H$h-$rep"
    cmd=("$LMSPARK" train --master "$MASTER" --conf spark.executor.cores=1 --conf spark.executor.memory="${MB}m" --data "$DATA" --output "$out"
      --model bert-small --workers 2 --rounds "$ROUNDS" --local-steps "$h" --batch-size 16 --lr 1e-4
      --lr-schedule constant --checkpoint-every 0 --overwrite)
    echo "bench/averaging/overhead: ${cmd[*]#$ROOT/}" >&2
    "${cmd[@]}" >"$out.out" 2>"$out.log" ||
      { echo "bench/averaging/overhead: H=$h failed; see $out.log" >&2; exit 1; }
    printf '%s\t%s\t%s\n' "$h" "$out" "${cmd[*]#$ROOT/}" >>"$LIST"
  done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

LIST="$LIST" OUT_FILE="$ROOT/bench/results/averaging-overhead-$STAMP.json" RESULTS="$ROOT/bench/results" \
COMMAND="bench/averaging/overhead.sh ${ARGS[*]}" MASTER="$MASTER" LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" \
GIT_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)" VERSION="$VERSION" \
JAVA_VERSION="$(java -version 2>&1 | head -n 1)" python3 - <<'PY'
import glob, json, os, platform
env = os.environ
import statistics
KEYS = ("round_s", "compute_s", "setup_s", "send_s", "job_s", "combine_s", "driver_bytes_in", "driver_heap_mb", "delta_bytes")
repeats = {}
for line in open(env["LIST"]):
    h, out, command = line.rstrip("\n").split("\t")
    records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
    timed = [r for r in records if r["round"] >= 2]
    round_s = sum(r["round_s"] for r in timed)
    compute_s = sum(r["compute_s"] for r in timed)
    split = {k: sum(r[k] for r in timed) / len(timed) for k in KEYS}
    split["job_beyond_compute_s"] = split["job_s"] - split["compute_s"]
    repeats.setdefault(h, []).append({"command": command, "timed_rounds": len(timed),
                     "overhead_fraction": (round_s - compute_s) / round_s,
                     "mean_per_round": split,
                     "worker_compute_s": [r["worker_compute_s"] for r in timed],
                     "tokens_per_s": sum(r["tokens_per_s"] for r in timed) / len(timed)})
runs = {}
for h, reps in repeats.items():
    median = statistics.median(r["overhead_fraction"] for r in reps)
    middle = min(reps, key=lambda r: abs(r["overhead_fraction"] - median))
    runs[f"H{h}"] = {"local_steps": int(h), "overhead_fraction": median,
                     "overhead_fractions": [r["overhead_fraction"] for r in reps],
                     "mean_per_round": middle["mean_per_round"], "repeats": reps}
# The quality gap: newest K=2, H=10 result of bench/averaging/run.sh.
loss_gap, gap_file = None, None
for f in sorted(glob.glob(os.path.join(env["RESULTS"], "averaging-2*.json")), reverse=True):
    q = json.load(open(f))
    s = q.get("settings", {})
    if s.get("workers") == 2 and s.get("local_steps") == 10 and "average" in q.get("summary", {}):
        loss_gap, gap_file = q["summary"]["average"]["gap_pct"] / 100.0, os.path.basename(f)
        break
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "benchmark": "averaging-overhead",
    "question": "(round wall time - slowest worker's compute) / round wall time, 2 workers of bert-small, one thread each",
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
                "load_average_before": env["LOAD_BEFORE"], "load_average_after": env["LOAD_AFTER"]},
    "command": env["COMMAND"], "git_commit": env["GIT_COMMIT"],
    "versions": {"lmspark": env["VERSION"].strip(), "java": env["JAVA_VERSION"]},
    "settings": {"preset": "bert-small", "workers": 2, "master": env["MASTER"], "executor_cores": 1,
                 "batch_size": 16, "length": 64, "bars": {"H10": 0.03, "H50": 0.01}},
    "runs": runs, "loss_gap": loss_gap, "loss_gap_from": gap_file,
    "notes": "rounds 2..R; overhead_fraction is the median over the repeats; mean_per_round (seconds, bytes, MiB) is the repeat nearest the median; loss_gap is a fraction (0.01 = 1%)",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
print(f"bench/averaging/overhead: results in {env['OUT_FILE']} (load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after)")
for name, r in runs.items():
    m = r["mean_per_round"]
    print(f"averaging-overhead preset=bert-small H={r['local_steps']} round_s={m['round_s']:.2f} compute_s={m['compute_s']:.2f} "
          f"setup_s={m['setup_s']:.2f} send_s={m['send_s']:.2f} job_beyond_compute_s={m['job_beyond_compute_s']:.2f} "
          f"combine_s={m['combine_s']:.2f} overhead_fraction={r['overhead_fraction']:.4f} "
          f"(repeats {', '.join(f'{x:.4f}' for x in r['overhead_fractions'])})")
last = runs.get("H50") or list(runs.values())[-1]
gap = "n/a" if loss_gap is None else f"{loss_gap:.4f}"
print(f"averaging preset=bert-small H={last['local_steps']} overhead_fraction={last['overhead_fraction']:.4f} loss_gap={gap}")
PY
