#!/usr/bin/env bash
# bench/scale/run.sh: what the driver and the network carry as the workers grow. `lmspark train
# --master local-cluster[K,1,MB]` (K executor JVMs, one core each) with K = 1, 2, 4, 6 workers of
# bert-small (batch 16, rows of 64, --local-steps H), R rounds each. Per K, from metrics.jsonl:
# driver_heap_mb (old-generation heap after the driver's last collection) at the last round,
# driver_bytes_in (bytes the round's tasks sent the driver) at its largest, delta_bytes (the
# updates sent to the combine), and the round overhead (round_s − compute_s) / round_s. The bars:
# driver heap at K=6 within 15% of K=2, bytes into the driver under 1 MB per round whatever K.
# On a 2-core machine the timings at K ≥ 4 mean nothing (K JVMs share 2 cores): only heap and bytes
# count there. Results: bench/results/scale-<UTC time>.json; the last line sums them up.
#
#   bench/scale/run.sh [--workers 1,2,4,6] [--rounds 6] [--local-steps 2] [--executor-memory-mb 1536]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KS="1,2,4,6"
ROUNDS=6
H=2
MB=1536
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers|--rounds|--local-steps|--executor-memory-mb)
      [[ $# -ge 2 ]] || { echo "bench/scale: $1 needs a value (see --help)" >&2; exit 2; } ;;
  esac
  case "$1" in
    --workers) KS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --local-steps) H="$2"; shift 2 ;;
    --executor-memory-mb) MB="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench/scale: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$ROUNDS" "$H" "$MB"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench/scale: --rounds, --local-steps and --executor-memory-mb take whole numbers ≥ 1 (got $v)" >&2; exit 2; }
done
IFS=, read -r -a K_LIST <<<"$KS"
for k in "${K_LIST[@]}"; do
  [[ "$k" =~ ^[1-9][0-9]*$ ]] || { echo "bench/scale: --workers takes whole numbers, comma-separated (got $k)" >&2; exit 2; }
done

LMSPARK="$ROOT/deploy/bin/lmspark"
WORK="$ROOT/bench/work/scale"
DATA="$ROOT/bench/work/averaging/data-prose4mb-wp4096-mlm64-seed42"
mkdir -p "$WORK/runs" "$ROOT/bench/results"
VERSION="$("$LMSPARK" --version 2>/dev/null | tr '\n' ' ')"
# shellcheck source=bench/averaging/dataset.sh
source "$ROOT/bench/averaging/dataset.sh"
averaging_dataset
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
LIST="$WORK/runs.txt"
: >"$LIST"
for k in "${K_LIST[@]}"; do
  out="$WORK/runs/bert-small-K$k"
  master="local-cluster[$k,1,$MB]"
  cmd=("$LMSPARK" train --master "$master" --conf spark.executor.cores=1 --data "$DATA" --output "$out"
    --model bert-small --workers "$k" --rounds "$ROUNDS" --local-steps "$H" --batch-size 16 --lr 1e-4
    --lr-schedule constant --checkpoint-every 0 --overwrite)
  echo "bench/scale: ${cmd[*]#$ROOT/}" >&2
  "${cmd[@]}" >"$out.out" 2>"$out.log" || { echo "bench/scale: K=$k failed; see $out.log" >&2; exit 1; }
  printf '%s\t%s\t%s\n' "$k" "$out" "${cmd[*]#$ROOT/}" >>"$LIST"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

LIST="$LIST" OUT_FILE="$ROOT/bench/results/scale-$STAMP.json" COMMAND="bench/scale/run.sh ${ARGS[*]}" \
LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" GIT_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)" \
VERSION="$VERSION" JAVA_VERSION="$(java -version 2>&1 | head -n 1)" MB="$MB" H="$H" python3 - <<'PY'
import json, os, platform
env = os.environ
runs = {}
for line in open(env["LIST"]):
    k, out, command = line.rstrip("\n").split("\t")
    records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
    timed = [r for r in records if r["round"] >= 2]
    round_s = sum(r["round_s"] for r in timed)
    compute_s = sum(r["compute_s"] for r in timed)
    runs[int(k)] = {
        "command": command, "workers": int(k), "rounds": len(records),
        "driver_heap_mb": [r["driver_heap_mb"] for r in records],
        "driver_heap_mb_last": records[-1]["driver_heap_mb"],
        "driver_bytes_in": [r["driver_bytes_in"] for r in records],
        "driver_bytes_in_max": max(r["driver_bytes_in"] for r in records),
        "delta_bytes_per_round": records[-1]["delta_bytes"],
        "combine_shards": records[-1]["combine_shards"],
        "overhead_fraction": (round_s - compute_s) / round_s if timed else None,
        "round_s": [r["round_s"] for r in records],
        "compute_s": [r["compute_s"] for r in records],
    }
ks = sorted(runs)
heap2 = runs[2]["driver_heap_mb_last"] if 2 in runs else None
heap6 = runs[6]["driver_heap_mb_last"] if 6 in runs else None
heap_ratio = heap6 / heap2 if heap2 and heap6 else None
bytes_max = max(r["driver_bytes_in_max"] for r in runs.values())
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "benchmark": "scale",
    "question": "driver heap and bytes into the driver per round as the workers grow (bert-small)",
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
                "load_average_before": env["LOAD_BEFORE"], "load_average_after": env["LOAD_AFTER"]},
    "command": env["COMMAND"], "git_commit": env["GIT_COMMIT"],
    "versions": {"lmspark": env["VERSION"].strip(), "java": env["JAVA_VERSION"]},
    "settings": {"preset": "bert-small", "executor_cores": 1, "executor_memory_mb": int(env["MB"]),
                 "local_steps": int(env["H"]), "batch_size": 16, "length": 64,
                 "bars": {"heap_K6_over_K2": 1.15, "driver_bytes_in_max": 1 << 20}},
    "runs": runs, "heap_ratio_K6_K2": heap_ratio, "driver_bytes_in_max": bytes_max,
    "notes": "timings at K >= 4 on 2 cores mean nothing (K JVMs share them); heap and bytes do",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
print(f"bench/scale: results in {env['OUT_FILE']} (load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after)")
for k in ks:
    r = runs[k]
    print(f"scale-run K={k} driver_heap_mb={r['driver_heap_mb_last']} driver_bytes_in_max={r['driver_bytes_in_max']} "
          f"delta_bytes={r['delta_bytes_per_round']} overhead_fraction={r['overhead_fraction']:.4f}")
ratio = "n/a" if heap_ratio is None else f"{heap_ratio:.3f}"
ok = heap_ratio is not None and heap_ratio <= 1.15 and bytes_max < (1 << 20)
print(f"scale preset=bert-small K={','.join(map(str, ks))} heap_ratio_K6_K2={ratio} driver_bytes_in_max={bytes_max} pass={str(ok).lower()}")
PY
