#!/usr/bin/env bash
# bench/averaging: does parameter averaging match one machine? bert-mini MLM on the built-in prose
# sample corpus (WordPiece, 64-token rows, no NSP), `lmspark train --master local[2]`, same --seed
# and linear schedule (warm-up 10% of each run's steps) everywhere:
#   1xKB        1 worker at batch K·B for R·H steps (synchronous data parallelism's equivalent:
#               the same tokens and schedule length as KxB)
#   KxB-OUTER   K workers at batch B, R rounds of H local steps, per --outer optimizer (nesterov at
#               train's default --outer-lr/--outer-momentum)
#   1xB-long    1 worker at batch B for K·R·H steps (DiLoCo's baseline: the same tokens, K× the steps)
# plus, with --sweep, nesterov at the given outer lr:momentum pairs. The loss is the validation MLM
# loss of the final parameters (`lmspark evaluate`); gap_pct = 100·(KxB − 1xKB)/1xKB, and the bar is
# gap_pct ≤ 3. Data is cached in bench/work/averaging/data-*; results go to
# bench/results/averaging-<UTC time>.json; the last lines are one summary per outer optimizer.
#
#   bench/averaging/run.sh [--rounds 40] [--local-steps 10] [--batch-size 16] [--workers 2]
#       [--lr 5e-4] [--outer average,nesterov] [--sweep 0.7:0.5,0.5:0.5,...] [--seed 42]
#       [--size-mb 4] [--vocab-size 4096] [--train-flags "--clip-norm 0 …"] [--reuse]
# --train-flags: more `lmspark train` flags for every run (e.g. --dynamic-masking, --clip-norm 0).
# --reuse skips a run whose output holds a finished run of the same command built from the same
# code (training is bit-reproducible); without it every run trains afresh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS=40
H=10
B=16
K=2
LR=5e-4
OUTERS="average,nesterov"
SWEEP=""
SEED=42
SIZE_MB=4
VOCAB=4096
REUSE=0
EXTRA=""
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds|--local-steps|--batch-size|--workers|--lr|--outer|--sweep|--seed|--size-mb|--vocab-size|--train-flags)
      [[ $# -ge 2 ]] || { echo "bench/averaging: $1 needs a value (see --help)" >&2; exit 2; } ;;
  esac
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --local-steps) H="$2"; shift 2 ;;
    --batch-size) B="$2"; shift 2 ;;
    --workers) K="$2"; shift 2 ;;
    --lr) LR="$2"; shift 2 ;;
    --outer) OUTERS="$2"; shift 2 ;;
    --sweep) SWEEP="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --vocab-size) VOCAB="$2"; shift 2 ;;
    --train-flags) EXTRA="$2"; shift 2 ;;
    --reuse) REUSE=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench/averaging: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
positive() { # name value
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench/averaging: $1 must be a whole number ≥ 1 (got $2)" >&2; exit 2; }
}
positive --rounds "$ROUNDS"; positive --local-steps "$H"; positive --batch-size "$B"
positive --size-mb "$SIZE_MB"; positive --vocab-size "$VOCAB"
[[ "$K" =~ ^[2-9]$ ]] || { echo "bench/averaging: --workers must be 2 to 9 (got $K)" >&2; exit 2; }
[[ "$SEED" =~ ^-?[0-9]+$ ]] || { echo "bench/averaging: --seed must be a whole number (got $SEED)" >&2; exit 2; }
NUMBER='([0-9]+\.?[0-9]*|\.[0-9]+)([eE]-?[0-9]+)?'
[[ "$LR" =~ ^$NUMBER$ ]] && python3 -c "import sys; sys.exit(0 if float('$LR') > 0 else 1)" ||
  { echo "bench/averaging: --lr must be a number above 0, e.g. 1e-3 (got $LR)" >&2; exit 2; }
IFS=, read -r -a OUTER_LIST <<<"$OUTERS"
[[ ${#OUTER_LIST[@]} -gt 0 ]] || { echo "bench/averaging: --outer needs average, nesterov or both" >&2; exit 2; }
for o in "${OUTER_LIST[@]}"; do
  [[ "$o" == average || "$o" == nesterov ]] ||
    { echo "bench/averaging: --outer takes average and/or nesterov, comma-separated (got $o)" >&2; exit 2; }
done
SWEEP_LIST=()
[[ -z "$SWEEP" ]] || IFS=, read -r -a SWEEP_LIST <<<"$SWEEP"
for p in "${SWEEP_LIST[@]}"; do
  [[ "$p" =~ ^$NUMBER:$NUMBER$ ]] ||
    { echo "bench/averaging: --sweep takes outer lr:momentum pairs, comma-separated, e.g. 0.7:0.5,0.5:0.3 (got $p)" >&2; exit 2; }
done

LMSPARK="$ROOT/deploy/bin/lmspark"
MASTER='local[2]'
WORK="$ROOT/bench/work/averaging"
DATA="$WORK/data-prose${SIZE_MB}mb-wp${VOCAB}-mlm64-seed$SEED"
RESULTS="$ROOT/bench/results"
mkdir -p "$WORK" "$RESULTS"
VERSION="$("$LMSPARK" --version 2>/dev/null | tr '\n' ' ')"   # builds the application when needed
COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)"
# A run is reusable while the code that trains it is unchanged: the last commit touching it, and
# no uncommitted changes there.
CODE_COMMIT="$(git -C "$ROOT" log -1 --format=%H -- data-prep model spark-jobs deploy pom.xml 2>/dev/null || true)"
DIRTY="$(git -C "$ROOT" status --porcelain --untracked-files=no -- data-prep model spark-jobs deploy pom.xml 2>/dev/null | head -c 1)"

# The dataset, made once: a prose sample corpus, an uncased WordPiece tokenizer, MLM rows of 64
# tokens (no NSP: its term barely moves at this scale and only adds noise), 4% validation.
if [[ ! -f "$DATA/manifest.json" ]]; then
  echo "bench/averaging: preparing $DATA" >&2
  "$LMSPARK" sample-corpus --kind prose --size-mb "$SIZE_MB" --seed "$SEED" --output "$WORK/corpus-$SIZE_MB" --overwrite >&2
  "$LMSPARK" train-tokenizer --master "$MASTER" --input "$WORK/corpus-$SIZE_MB" --output "$WORK/wordpiece-$SIZE_MB-$VOCAB" \
    --type wordpiece --vocab-size "$VOCAB" --lowercase --overwrite >&2
  "$LMSPARK" prepare --master "$MASTER" --input "$WORK/corpus-$SIZE_MB" --tokenizer "$WORK/wordpiece-$SIZE_MB-$VOCAB" \
    --output "$DATA" --objective mlm --max-length 64 --validation-fraction 0.04 --seed "$SEED" --overwrite >&2
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
# One folder per setting, so runs of other settings stay reusable.
RUNS="$WORK/runs/$(basename "$DATA")/K$K-B$B-H$H-R$ROUNDS-lr$LR"
# Other train flags get their own folder, named by a hash of them.
[[ -z "$EXTRA" ]] || RUNS="$RUNS-x$(printf '%s' "$EXTRA" | sha256sum | cut -c1-10)"
read -r -a EXTRA_FLAGS <<<"$EXTRA"
mkdir -p "$RUNS"
EVAL_EVERY=$(( ROUNDS >= 4 ? ROUNDS / 4 : 1 ))
LIST="$WORK/runs.txt"
: >"$LIST"
# train_run NAME WORKERS BATCH ROUNDS EVAL_EVERY [extra train flags…]
train_run() {
  local name=$1 workers=$2 batch=$3 rounds=$4 every=$5; shift 5
  local out="$RUNS/$name" warmup=$(( rounds * H / 10 ))
  local cmd=("$LMSPARK" train --master "$MASTER" --data "$DATA" --output "$out" --model bert-mini
    --workers "$workers" --rounds "$rounds" --local-steps "$H" --batch-size "$batch" --lr "$LR"
    --lr-schedule linear --warmup-steps "$warmup" --eval-every "$every" --checkpoint-every 0
    --seed "$SEED" ${EXTRA_FLAGS[@]+"${EXTRA_FLAGS[@]}"} "$@" --overwrite)
  local key="${cmd[*]} @ $CODE_COMMIT$DIRTY"
  if [[ $REUSE == 1 && -z "$DIRTY" && -f "$out/evaluate.json" && "$(cat "$out/command.txt" 2>/dev/null)" == "$key" ]]; then
    echo "bench/averaging: $name: reusing the finished run in $out" >&2
  else
    echo "bench/averaging: $name: ${cmd[*]#$ROOT/}" >&2
    rm -f "$out/evaluate.json" "$out/command.txt"
    local t0=$SECONDS
    "${cmd[@]}" >"$RUNS/$name.out" 2>"$RUNS/$name.log" ||
      { echo "bench/averaging: $name failed; see $RUNS/$name.log" >&2; exit 1; }
    echo $(( SECONDS - t0 )) >"$RUNS/$name.seconds"
    "$LMSPARK" evaluate --master "$MASTER" --checkpoint "$out" --data "$DATA" >"$out/evaluate.json" 2>>"$RUNS/$name.log" ||
      { echo "bench/averaging: evaluating $name failed; see $RUNS/$name.log" >&2; exit 1; }
    echo "$key" >"$out/command.txt"
    cp "$RUNS/$name.out" "$out/train.out"; cp "$RUNS/$name.seconds" "$out/wall.seconds"
  fi
  echo "bench/averaging: $name: $(cat "$out/train.out")" >&2
  printf '%s\t%s\t%s\n' "$name" "$out" "${cmd[*]#$ROOT/}" >>"$LIST"
}

train_run "1x${K}B" 1 $(( K * B )) "$ROUNDS" "$EVAL_EVERY"
train_run "1xB-long" 1 "$B" $(( K * ROUNDS )) $(( K * EVAL_EVERY ))
for o in "${OUTER_LIST[@]}"; do
  train_run "${K}xB-$o" "$K" "$B" "$ROUNDS" "$EVAL_EVERY" --outer-optimizer "$o"
done
for p in "${SWEEP_LIST[@]}"; do
  train_run "${K}xB-nesterov-lr${p%%:*}-m${p##*:}" "$K" "$B" "$ROUNDS" "$EVAL_EVERY" \
    --outer-optimizer nesterov --outer-lr "${p%%:*}" --outer-momentum "${p##*:}"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

LIST="$LIST" DATA="$DATA" OUT_FILE="$RESULTS/averaging-$STAMP.json" COMMAND="bench/averaging/run.sh ${ARGS[*]}" \
K="$K" B="$B" H="$H" ROUNDS="$ROUNDS" LR="$LR" SEED="$SEED" OUTERS="${OUTER_LIST[*]}" MASTER="$MASTER" EXTRA="$EXTRA" \
LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" GIT_COMMIT="$COMMIT" DIRTY="$DIRTY" VERSION="$VERSION" \
JAVA_VERSION="$(java -version 2>&1 | head -n 1)" SIZE_MB="$SIZE_MB" VOCAB="$VOCAB" \
python3 - <<'PY'
import glob, json, math, os, platform
env = os.environ
K, B, H, R = (int(env[k]) for k in ("K", "B", "H", "ROUNDS"))
BAR = 3.0
runs = {}
for line in open(env["LIST"]):
    name, out, command = line.rstrip("\n").split("\t")
    latest = sorted(glob.glob(os.path.join(out, "checkpoints", "round-*")))[-1]
    state = json.load(open(os.path.join(latest, "trainer_state.json")))
    config = state["config"]
    records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
    evaluate = json.loads(open(os.path.join(out, "evaluate.json")).read().strip().splitlines()[-1])
    runs[name] = {
        "command": command, "output": out,
        "workers": config["workers"], "batch_size": config["batch_size"], "rounds": state["round"],
        "local_steps": config["local_steps"], "steps_per_replica": state["global_step"],
        "warmup_steps": config["warmup_steps"], "tokens": state["tokens"], "examples": state["examples"],
        "outer_optimizer": config["outer_optimizer"],
        "outer_lr": config["outer_lr"], "outer_momentum": config["outer_momentum"],
        "inner_lr_scaling": config.get("inner_lr_scaling", "none"),
        "peak_inner_lr": max(r["lr"] for r in records),
        "wall_seconds": int(open(os.path.join(out, "wall.seconds")).read()),
        "validation": evaluate, "loss": evaluate["mlm_loss"],
        "validation_curve": [{"step": r["step"], "eval_mlm_loss": r["eval_mlm_loss"]} for r in records if "eval_mlm_loss" in r],
        "final_train_loss": records[-1]["loss"],
        "trained_at": state["provenance"]["written_at"], "trained_by_commit": state["provenance"]["git_commit"],
    }
ref, long_ = runs[f"1x{K}B"], runs["1xB-long"]
def gap(loss, base):
    return 100.0 * (loss - base) / base
def compare(run):
    g = gap(run["loss"], ref["loss"])
    return {"run": run["command"], "outer_lr": run["outer_lr"], "outer_momentum": run["outer_momentum"],
            "inner_lr_scaling": run["inner_lr_scaling"], "peak_inner_lr": run["peak_inner_lr"],
            "loss_1xKB": ref["loss"], "loss_KxB": run["loss"], "loss_1xB_long": long_["loss"],
            "gap_pct": g, "gap_vs_1xB_long_pct": gap(run["loss"], long_["loss"]), "pass": g <= BAR}
summary = {o: compare(runs[f"{K}xB-{o}"]) for o in env["OUTERS"].split()}
sweep = [dict(compare(r), name=n) for n, r in runs.items() if "-nesterov-lr" in n]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
manifest = json.load(open(os.path.join(env["DATA"], "manifest.json")))
result = {
    "benchmark": "averaging",
    "question": f"{K} workers x {R} rounds x H={H} at batch {B} vs 1 worker at batch {K * B} for the same steps: "
                f"validation MLM loss of the final parameters within {BAR:g}%",
    "machine": {"cpu": cpu, "cores": os.cpu_count(),
                "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "os": platform.platform(), "load_average_before": env["LOAD_BEFORE"],
                "load_average_after": env["LOAD_AFTER"]},
    "command": env["COMMAND"], "git_commit": env["GIT_COMMIT"], "uncommitted_changes": bool(env["DIRTY"]),
    "versions": {"lmspark": env["VERSION"].strip(), "java": env["JAVA_VERSION"]},
    "settings": {"preset": "bert-mini", "workers": K, "batch_size": B, "local_steps": H, "rounds": R,
                 "lr": float(env["LR"]), "lr_schedule": "linear", "warmup": "10% of each run's steps",
                 "seed": int(env["SEED"]), "master": env["MASTER"], "train_flags": env["EXTRA"],
                 "bar_pct": BAR},
    "data": {"path": env["DATA"], "corpus": f"sample-corpus --kind prose --size-mb {env['SIZE_MB']}",
             "tokenizer": f"wordpiece, vocabulary {env['VOCAB']}, lowercase",
             "prepare": "--objective mlm --max-length 64 --validation-fraction 0.04",
             "examples": manifest["num_examples"], "tokens": manifest["num_tokens"],
             "ln_vocab": math.log(int(env["VOCAB"]))},
    "runs": runs, "summary": summary, "nesterov_sweep": sweep,
    "notes": "loss = mlm_loss of `lmspark evaluate` on the validation split (final parameters, inference mode); "
             "gap_pct = 100*(KxB - 1xKB)/1xKB, pass when <= bar_pct; gap_vs_1xB_long_pct likewise against 1xB-long; "
             "wall_seconds include Spark start-up and the evaluations during training; the machine may be shared",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
print(f"bench/averaging: results in {env['OUT_FILE']} (load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after)")
for s in sweep:
    print(f"averaging-sweep outer=nesterov outer_lr={s['outer_lr']:g} outer_momentum={s['outer_momentum']:g} "
          f"loss_KxB={s['loss_KxB']:.4f} gap_pct={s['gap_pct']:.2f} pass={str(s['pass']).lower()}")
for o, s in summary.items():
    extra = f" outer_lr={s['outer_lr']:g} outer_momentum={s['outer_momentum']:g}" if o == "nesterov" else ""
    print(f"averaging preset=bert-mini K={K} H={H} B={B} R={R} outer={o} loss_1x{K}B={s['loss_1xKB']:.4f} "
          f"loss_KxB={s['loss_KxB']:.4f} loss_1xB_long={s['loss_1xB_long']:.4f} gap_pct={s['gap_pct']:.2f}"
          f" inner_lr={s['peak_inner_lr']:.3g}"
          f"{extra} pass={str(s['pass']).lower()}")
PY
