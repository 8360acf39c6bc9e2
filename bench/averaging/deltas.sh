#!/usr/bin/env bash
# bench/averaging/deltas.sh: what compressed updates cost in quality. bench/averaging's setting —
# bert-mini MLM, K=2 workers × batch 16, H=10 local steps, R=40 rounds, lr 5e-4 (linear, warm-up
# 10%), seed 42, `average`, local[2] — trained three times, with --delta-precision fp32, bf16 and
# int8 (blocks of 256 with a float32 scale, error feedback). quality = (eval_loss − eval_loss_fp32)
# / eval_loss_fp32 on the validation split (`lmspark evaluate`); bytes = delta_bytes per round
# (what the workers sent the combine) against fp32's. The bars: bf16 within 0.3%, int8 within 1%.
# Results: bench/results/averaging-deltas-<UTC time>.json; the last line sums them up.
#
#   bench/averaging/deltas.sh [--rounds 40] [--local-steps 10] [--precisions fp32,bf16,int8]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS=40
H=10
PRECISIONS="fp32,bf16,int8"
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds|--local-steps|--precisions)
      [[ $# -ge 2 ]] || { echo "bench/averaging/deltas: $1 needs a value (see --help)" >&2; exit 2; } ;;
  esac
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --local-steps) H="$2"; shift 2 ;;
    --precisions) PRECISIONS="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench/averaging/deltas: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$ROUNDS" "$H"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench/averaging/deltas: --rounds and --local-steps take whole numbers ≥ 1 (got $v)" >&2; exit 2; }
done
IFS=, read -r -a P_LIST <<<"$PRECISIONS"
[[ " ${P_LIST[*]} " == *" fp32 "* ]] || { echo "bench/averaging/deltas: --precisions must include fp32 (the reference)" >&2; exit 2; }

LMSPARK="$ROOT/deploy/bin/lmspark"
WORK="$ROOT/bench/work/averaging"
DATA="$WORK/data-prose4mb-wp4096-mlm64-seed42"
mkdir -p "$WORK/deltas" "$ROOT/bench/results"
VERSION="$("$LMSPARK" --version 2>/dev/null | tr '\n' ' ')"
# shellcheck source=bench/averaging/dataset.sh
source "$ROOT/bench/averaging/dataset.sh"
averaging_dataset
LIST="$WORK/deltas-runs.txt"
: >"$LIST"
for p in "${P_LIST[@]}"; do
  out="$WORK/deltas/2xB-average-H$H-R$ROUNDS-$p"
  cmd=("$LMSPARK" train --master 'local[2]' --data "$DATA" --output "$out" --model bert-mini --workers 2
    --rounds "$ROUNDS" --local-steps "$H" --batch-size 16 --lr 5e-4 --lr-schedule linear
    --warmup-steps $(( ROUNDS * H / 10 )) --checkpoint-every 0 --seed 42 --delta-precision "$p" --overwrite)
  echo "bench/averaging/deltas: ${cmd[*]#$ROOT/}" >&2
  t0=$SECONDS
  "${cmd[@]}" >"$out.out" 2>"$out.log" || { echo "bench/averaging/deltas: $p failed; see $out.log" >&2; exit 1; }
  echo $(( SECONDS - t0 )) >"$out.seconds"
  "$LMSPARK" evaluate --master 'local[2]' --checkpoint "$out" --data "$DATA" >"$out.evaluate.json" 2>>"$out.log" ||
    { echo "bench/averaging/deltas: evaluating $p failed; see $out.log" >&2; exit 1; }
  printf '%s\t%s\t%s\n' "$p" "$out" "${cmd[*]#$ROOT/}" >>"$LIST"
done
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
LIST="$LIST" OUT_FILE="$ROOT/bench/results/averaging-deltas-$STAMP.json" COMMAND="bench/averaging/deltas.sh ${ARGS[*]}" \
GIT_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)" VERSION="$VERSION" \
JAVA_VERSION="$(java -version 2>&1 | head -n 1)" ROUNDS="$ROUNDS" H="$H" python3 - <<'PY'
import json, os, platform
env = os.environ
runs = {}
for line in open(env["LIST"]):
    p, out, command = line.rstrip("\n").split("\t")
    records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
    ev = json.load(open(out + ".evaluate.json"))
    runs[p] = {"command": command, "eval_loss": ev["mlm_loss"], "evaluate": ev,
               "delta_bytes_per_round": records[-1]["delta_bytes"],
               "wall_seconds": int(open(out + ".seconds").read())}
ref = runs["fp32"]
for p, r in runs.items():
    r["quality"] = (r["eval_loss"] - ref["eval_loss"]) / ref["eval_loss"]
    r["bytes_ratio"] = r["delta_bytes_per_round"] / ref["delta_bytes_per_round"]
bars = {"bf16": 0.003, "int8": 0.01}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "benchmark": "averaging-deltas",
    "question": "validation loss with compressed updates against float32 updates, and the bytes they move",
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform()},
    "command": env["COMMAND"], "git_commit": env["GIT_COMMIT"],
    "versions": {"lmspark": env["VERSION"].strip(), "java": env["JAVA_VERSION"]},
    "settings": {"preset": "bert-mini", "workers": 2, "batch_size": 16, "local_steps": int(env["H"]),
                 "rounds": int(env["ROUNDS"]), "lr": 5e-4, "lr_schedule": "linear", "seed": 42,
                 "outer_optimizer": "average", "master": "local[2]", "int8_block": 256, "bars": bars},
    "runs": runs,
    "notes": "quality = (eval_loss - eval_loss_fp32) / eval_loss_fp32 (negative: better than fp32); bytes_ratio = delta_bytes / fp32's",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
print(f"bench/averaging/deltas: results in {env['OUT_FILE']}")
parts = []
ok = True
for p, r in runs.items():
    print(f"averaging-deltas-run precision={p} eval_loss={r['eval_loss']:.4f} quality={r['quality']:+.5f} bytes_ratio={r['bytes_ratio']:.4f} wall_s={r['wall_seconds']}")
    if p in bars:
        parts.append(f"{p}_quality={r['quality']:+.5f} {p}_bytes_ratio={r['bytes_ratio']:.4f}")
        ok &= abs(r["quality"]) <= bars[p] if r["quality"] > 0 else True
print(f"averaging-deltas preset=bert-mini K=2 H={env['H']} R={env['ROUNDS']} " + " ".join(parts) + f" pass={str(ok).lower()}")
PY
