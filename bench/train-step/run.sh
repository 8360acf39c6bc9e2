#!/usr/bin/env bash
# bench/train-step: tokens/s of one full training step (forward, backward, global-norm clip, AdamW)
# at T=128, B=16, vocabulary 8192, 2 threads (intra-op 2, inter-op 1 on every side), side by side:
#   lmspark      BertForPretraining (MLM at the 20 predicted positions per sequence + NSP) or
#                CausalLm (Llama), AdamW + GradientClipping, dropout as the preset says (0.1 BERT)
#   djl_bert     DJL's stock BertPretrainingBlock at the same size, BertPretrainingLoss, DJL's Adam
#                through a stock Trainer (BERT presets only)
#   torch        PyTorch eager, the same models and step (torch_peer.py)
# plus the fp32 matmul peak (best of 5 2048³ matMul through DJL at 2 threads) for MFU.
# Step time = the median of the timed steps; lmspark and DJL take turns step by step in one JVM.
# Results: bench/results/train-step-<UTC time>.json; the last lines are one summary per preset,
# bert-small last.
#
#   bench/train-step/run.sh [--preset bert-mini|bert-small|llama-small|all] [--steps 10] [--warmup 3]
# (TORCH_PYTHON: the Python with PyTorch for the peer, default /usr/bin/python3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/train-step"
PRESETS="bert-mini llama-small bert-small"
STEPS=10
WARMUP=3
THREADS=2
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) [[ "$2" == all ]] || PRESETS="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/train-step: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
for preset in $PRESETS; do
  case "$preset" in
    bert-mini|bert-small|llama-small) ;;
    *) echo "bench/train-step: unknown preset $preset; use bert-mini, bert-small, llama-small or all" >&2; exit 2 ;;
  esac
done
[[ "$STEPS" =~ ^[1-9][0-9]*$ && "$WARMUP" =~ ^[0-9]+$ ]] ||
  { echo "bench/train-step: --steps must be ≥ 1 and --warmup ≥ 0 (got $STEPS, $WARMUP)" >&2; exit 2; }
TORCH_PYTHON="${TORCH_PYTHON:-/usr/bin/python3}"
"$TORCH_PYTHON" -c 'import torch' 2>/dev/null ||
  { echo "bench/train-step: $TORCH_PYTHON has no torch; set TORCH_PYTHON to a Python with PyTorch" >&2; exit 2; }

WORK="$ROOT/bench/work/train-step"
RESULTS="$ROOT/bench/results"
mkdir -p "$WORK" "$RESULTS"
"$ROOT/deploy/bin/lmspark" --version >/dev/null   # builds the application when needed
LIB="$ROOT/spark-jobs/target/lib"
# TrainStep is compiled by the normal build (the bench module); built here when missing or stale.
CLASSES="$ROOT/bench/target/classes"
if [[ ! "$CLASSES/TrainStep.class" -nt "$HERE/TrainStep.java" ]]; then
  (cd "$ROOT" && mvn -B -q -DskipTests -Dspotless.check.skip=true compile -pl bench -am) >&2 ||
    { echo "bench/train-step: building the bench module failed; run: mvn -pl bench -am compile" >&2; exit 1; }
fi

# Every side: 2 intra-op threads, 1 inter-op thread; the JVM's MKL set up as deploy/bin/lmspark ships it.
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS MKL_DISABLE_FAST_MM="${MKL_DISABLE_FAST_MM:-1}"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
OUT="$WORK/out.txt"
: >"$OUT"
for preset in $PRESETS; do
  echo "bench/train-step: $preset ($WARMUP warm-up + $STEPS timed steps per side)" >&2
  echo "preset $preset" >>"$OUT"
  java -Xmx6g @"$ROOT/deploy/conf/jvm.options" \
    -Dai.djl.pytorch.num_threads=$THREADS -Dai.djl.pytorch.num_interop_threads=1 \
    -cp "$CLASSES:$LIB/*" TrainStep --preset "$preset" --steps "$STEPS" --warmup "$WARMUP" \
    2>"$WORK/jvm-$preset.log" | grep '^result ' >>"$OUT" ||
    { echo "bench/train-step: the JVM side failed on $preset; see $WORK/jvm-$preset.log" >&2; exit 1; }
  "$TORCH_PYTHON" "$HERE/torch_peer.py" --preset "$preset" --steps "$STEPS" --warmup "$WARMUP" \
    --threads $THREADS 2>"$WORK/torch-$preset.log" | grep '^result ' >>"$OUT" ||
    { echo "bench/train-step: the PyTorch side failed on $preset; see $WORK/torch-$preset.log" >&2; exit 1; }
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

OUT="$OUT" OUT_FILE="$RESULTS/train-step-$STAMP.json" COMMAND="bench/train-step/run.sh ${ARGS[*]}" \
STEPS="$STEPS" WARMUP="$WARMUP" THREADS="$THREADS" LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" \
GIT_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)" JAVA_VERSION="$(java -version 2>&1 | head -n 1)" \
python3 - <<'PY'
import json, os, platform, statistics
env = os.environ
presets, current = {}, None
for line in open(env["OUT"]):
    words = line.split()
    if words[0] == "preset":
        current = presets.setdefault(words[1], {})
        continue
    fields = dict(w.split("=", 1) for w in words[1:])
    current[fields.pop("side")] = fields
versions, peaks, results = {}, [], {}
for name, sides in presets.items():
    versions.update(djl=sides["engine"]["djl"], libtorch=sides["engine"]["libtorch"],
                    torch=sides["torch_version"]["torch"])
    peaks.append(float(sides["peak"]["flops_per_s"]))
peak = max(peaks)
for name, sides in presets.items():
    tokens = int(sides["flops"]["tokens"])
    flops = float(sides["flops"]["training_flops"])
    entry = {"tokens_per_step": tokens, "training_flops_per_step": flops,
             "peak_flops_per_s_this_jvm": float(sides["peak"]["flops_per_s"]),
             "threads": {"djl_intra_op": int(sides["engine"]["threads"]),
                         "djl_inter_op": int(sides["engine"]["interop_threads"]),
                         "torch_intra_op": int(sides["torch_version"]["threads"])}}
    for side in ("lmspark", "djl", "torch"):
        if side not in sides:
            continue
        wall = [float(x) for x in sides[side]["step_seconds"].split(",")]
        cpu = [float(x) for x in sides[side]["cpu_seconds"].split(",")]
        median = statistics.median(wall)
        entry[side] = {"step_seconds": wall, "cpu_seconds": cpu, "median_step_seconds": median,
                       "mean_step_seconds": statistics.fmean(wall), "tokens_per_s": tokens / median,
                       "mean_tokens_per_s": tokens / statistics.fmean(wall),
                       "flops_per_s": flops / median, "mfu": flops / median / peak,
                       "loss_before": float(sides[side]["loss_before"]),
                       "loss_after": float(sides[side]["loss_after"])}
    results[name] = entry
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "benchmark": "train-step",
    "machine": {"cpu": cpu_model, "cores": os.cpu_count(),
                "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "os": platform.platform(), "load_average_before": env["LOAD_BEFORE"],
                "load_average_after": env["LOAD_AFTER"]},
    "command": env["COMMAND"], "git_commit": env["GIT_COMMIT"],
    "versions": dict(versions, java=env["JAVA_VERSION"]),
    "settings": {"batch": 16, "sequence": 128, "vocabulary": 8192, "predicted_positions_per_sequence": 20,
                 "threads": int(env["THREADS"]), "inter_op_threads": 1, "steps": int(env["STEPS"]),
                 "warmup": int(env["WARMUP"]), "mkl_env": {k: v for k, v in env.items() if k.startswith("MKL_")}, "dropout": {"bert": 0.1, "llama": 0.0}},
    "peak": {"what": "best of 5 fp32 2048x2048x2048 matMul through DJL, best over this run's JVMs",
             "flops_per_s": peak, "per_jvm": peaks},
    "flops": "training = 3 x forward; forward = 2 x non-embedding weight-matrix params x tokens "
             "+ 4 x layers x B x T^2 x hidden + 2 x head matrix params x positions evaluated "
             "(BERT: MLM dense + tied decoder at predicted positions, pooler + NSP at one per sequence; "
             "Llama: lm_head at every token); see TrainStep.trainingFlops",
    "presets": results,
    "notes": "tokens/s = B*T / median step seconds (no padding); lmspark and DJL alternate step by step in one JVM; "
             "DJL's BertPretrainingBlock is its own architecture (BatchNorm, pools token 1) at the same sizes, stock init; "
             "the torch peer is Debian's python3-torch (BLAS through the system's libblas, OpenBLAS here), eager, torch.optim.AdamW defaults; "
             "loss_before/loss_after: the loss on the first batch in inference mode before the warm-up and after the timed steps, a sanity check",
}
json.dump(result, open(env["OUT_FILE"], "w"), indent=2)
print(f"bench/train-step: results in {env['OUT_FILE']} (load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after)")
fmt = lambda x: "NA" if x is None else f"{x:.0f}"
for name, e in results.items():
    lm, djl, torch = (e.get(s, {}).get("tokens_per_s") for s in ("lmspark", "djl", "torch"))
    ratio = lambda other: "NA" if other is None else f"{lm / other:.2f}"
    print(f"train-step preset={name} lmspark_tokens_per_s={fmt(lm)} djl_bert_tokens_per_s={fmt(djl)} "
          f"torch_tokens_per_s={fmt(torch)} ratio_vs_djl={ratio(djl)} ratio_vs_torch={ratio(torch)} "
          f"mfu={e['lmspark']['mfu']:.3f}")
PY
