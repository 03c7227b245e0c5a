#!/usr/bin/env bash
# The reasoning-RL gain of the default pipeline over several seeds: configs/tiny-r1.yaml with
# run.seed changed, cut after eval_grpo_reasoning (pretrain -> cold-start SFT -> eval -> reasoning
# RL -> eval; the base-model evals left out), run one seed after another. Prints each seed's
# held-out pass@1 (all, arithmetic, countdown) before and after RL. About 10 minutes a seed on
# 2 cores.
#   bash bench/rl_seeds.sh [R1_BINARY] [SEED...]     (defaults: build/cli/r1; 1234 1 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R1="${1:-build/cli/r1}"
shift || true
SEEDS=("${@:-1234 1 2}")
read -r -a SEEDS <<<"${SEEDS[*]}"
WORK="$(mktemp -d /tmp/r1_rl_seeds_XXXXXX)"
echo "rl_seeds: seeds ${SEEDS[*]}, work $WORK"
for seed in "${SEEDS[@]}"; do
  # Keep the stages before rejection_sampling, without eval_pretrain and eval_base_non_reasoning.
  awk -v seed="$seed" '
    /^  - name: rejection_sampling/ { exit }
    /^  - name: eval_pretrain$/ || /^  - name: eval_base_non_reasoning$/ { skip = 1; next }
    /^  - name: / { skip = 0 }
    skip { next }
    /^  seed: 1234$/ && !done { print "  seed: " seed; done = 1; next }
    { print }' configs/tiny-r1.yaml >"$WORK/seed$seed.yaml"
  "$R1" run "$WORK/seed$seed.yaml" --run-dir "$WORK/run$seed" \
    >"$WORK/log$seed" 2>&1 || { echo "rl_seeds: seed $seed failed, see $WORK/log$seed"; exit 1; }
  echo "seed $seed:"
  sed -n '/^eval /,/^$/p' "$WORK/log$seed"
done
