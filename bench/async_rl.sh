#!/usr/bin/env bash
# Asynchronous against synchronous RL on the same machine, config and seed: the default pipeline's
# reasoning-RL stage (configs/tiny-r1.yaml's grpo_reasoning and its eval) run twice from the same
# cold-start model with one trainer rank and a separate rollout worker (placement disaggregated):
# once on-policy (grpo.max_staleness 0) and once asynchronous (max_staleness 1: the rollout worker
# samples step n+1 while the trainer trains step n). Prints each run's stage time, steps per
# second, the mean per-step generate / train seconds, and the held-out pass@1 after RL, then the
# steps-per-second ratio.
#   bash bench/async_rl.sh [R1_BINARY] [COLD_START_MODEL_DIR] [STEPS]
# Without a model directory the script first runs the default's pretrain and cold-start SFT
# (about 4 minutes on 2 cores). STEPS (default: the config's 100) shortens both RL runs alike.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R1="${1:-build/cli/r1}"
MODEL="${2:-}"
STEPS="${3:-}"
WORK="$(mktemp -d /tmp/r1_async_rl_XXXXXX)"
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "async_rl: work $WORK"

if [[ -z "$MODEL" ]]; then
  # The default through the cold start (its evals and the later stages left out).
  awk '/^  - name: eval_pretrain$/ { exit } { print }' configs/tiny-r1.yaml >"$WORK/pretrain.yaml"
  awk '/^  - name: sft_cold_start$/, /^  - name: eval_sft_cold_start$/' configs/tiny-r1.yaml |
    sed '$d' >>"$WORK/pretrain.yaml"
  "$R1" run "$WORK/pretrain.yaml" --run-dir "$WORK/cold" >"$WORK/cold.log" 2>&1 ||
    { echo "async_rl: the cold start failed, see $WORK/cold.log"; exit 1; }
  MODEL="$WORK/cold/sft_cold_start/output"
fi
MODEL="$(cd "$MODEL" && pwd)"

# run/model/datasets of the default, a disaggregated cluster, and grpo_reasoning + its eval from
# $MODEL; $1 = max_staleness.
make_config() {
  awk '/^cluster:/ { exit } { print }' configs/tiny-r1.yaml
  cat <<EOF
cluster: {mode: local, launcher: mpirun, placement: disaggregated, trainer_ranks: 1,
          rollout_workers: 1, backend: mpi, device: cpu}

EOF
  awk '/^datasets:/ { on = 1 } /^stages:/ { on = 0 } on { print }' configs/tiny-r1.yaml
  echo "stages:"
  awk -v model="$MODEL" -v staleness="$1" -v steps="$STEPS" '
    /^  - name: grpo_reasoning$/ { on = 1 }
    /^  - name: rejection_sampling$/ { on = 0 }
    /^  # Stage 3a/ { on = 0 }
    !on { next }
    /depends_on: \[sft_cold_start\]/ { next }
    { sub(/"stage:sft_cold_start"/, "\"" model "\"") }
    /^      steps: / && steps != "" { print "      steps: " steps; next }
    /^      dynamic_sampling: false$/ { print; print "      max_staleness: " staleness; next }
    { print }' configs/tiny-r1.yaml
}

for staleness in 0 1; do
  make_config "$staleness" >"$WORK/rl$staleness.yaml"
  "$R1" run "$WORK/rl$staleness.yaml" --run-dir "$WORK/rl$staleness" >"$WORK/rl$staleness.log" 2>&1 ||
    { echo "async_rl: max_staleness $staleness failed, see $WORK/rl$staleness.log"; exit 1; }
done

# Per run: stage seconds (from the log), steps/s, mean generate/train/step seconds, pass@1.
/usr/bin/python3 - "$WORK" <<'EOF'
import json, re, sys
work = sys.argv[1]
rows = {}
for s in (0, 1):
    log = open(f"{work}/rl{s}.log").read()
    secs = float(re.search(r"\[grpo_reasoning\] succeeded in ([0-9.]+)s", log).group(1))
    steps = [json.loads(l) for l in open(f"{work}/rl{s}/grpo_reasoning/metrics.jsonl")]
    mean = lambda k: sum(m.get(k, 0.0) for m in steps) / len(steps)
    report = json.load(open(f"{work}/rl{s}/report.json"))
    p1 = report["evals"][0]["values"]
    rows[s] = (secs, len(steps) / secs)
    print(f"max_staleness {s}: {len(steps)} steps in {secs:.1f} s = {len(steps) / secs:.3f} steps/s; "
          f"mean per step: generate {mean('generate_seconds'):.2f} s, train {mean('train_seconds'):.2f} s, "
          f"logprobs {mean('logprobs_seconds'):.2f} s, sync {mean('sync_seconds'):.2f} s, "
          f"waiting for rollouts {mean('rollout_wait_seconds'):.2f} s; "
          f"held-out pass@1 {p1['pass@1']:.3f} (arithmetic {p1.get('pass@1/arithmetic', float('nan')):.3f}, "
          f"countdown {p1.get('pass@1/countdown', float('nan')):.3f})"
          + (f"; importance weight mean {mean('importance_weight_mean'):.3f}, "
             f"truncated {mean('importance_truncated_fraction'):.4f}" if s else ""))
print(f"async / sync steps per second: {rows[1][1] / rows[0][1]:.2f}x")
EOF
