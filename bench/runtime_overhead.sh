#!/usr/bin/env bash
# What the multi-process runtime costs around the model: the same GRPO stage run side by side
# (a) inside `r1 run` (cluster.launcher in_process) and (b) on one `r1 worker` process behind the
# Scheduler service (mpirun, colocated, every call over gRPC), and (c) on two data-parallel
# trainer ranks plus one rollout worker (disaggregated, weight broadcast every step). Prints the
# stage's wall time, the per-step time split from metrics.jsonl and the ratios to (a). Runs are
# interleaved (a b c a b c ...) so that machine noise hits all alike.
#
#   bash bench/runtime_overhead.sh [R1_BINARY] [ROUNDS]     (default build/cli/r1, 2 rounds)
set -euo pipefail
R1=${1:-build/cli/r1}
ROUNDS=${2:-2}
WORK=$(mktemp -d /tmp/r1_overhead_XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export OPENBLAS_NUM_THREADS=1 R1_THREADS=1

config() {  # $1 = cluster section
  cat <<YAML
run: {name: overhead, seed: 3}
model:
  architecture: {hidden_size: 64, num_layers: 2, num_heads: 4, num_kv_heads: 2,
                 intermediate_size: 128, max_position_embeddings: 256}
  tokenizer: byte
cluster: $1
datasets:
  prompts: {synthetic: {kind: arithmetic, count: 64, seed: 2, options: {max_digits: 1}}}
stages:
  - name: base
    type: pretrain
    inputs: {datasets: [prompts]}
    pretrain: {optimizer: {lr: 1.0e-2}, batch_size: 16, steps: 20}
  - name: grpo
    type: grpo
    depends_on: [base]
    inputs: {model: "stage:base", datasets: [prompts]}
    grpo:
      optimizer: {lr: 1.0e-3}
      steps: 12
      checkpoint_every: 0
      prompts_per_step: 4
      group_size: 8
      max_new_tokens: 48
      kl_coef: 0
      rewards: [{name: format}]
YAML
}
config "{launcher: in_process}" > "$WORK/a.yaml"
config "{launcher: mpirun}" > "$WORK/b.yaml"
config "{launcher: mpirun, trainer_ranks: 2, placement: disaggregated, rollout_workers: 1}" \
  > "$WORK/c.yaml"

declare -A total
for round in $(seq "$ROUNDS"); do
  for v in a b c; do
    start=$(date +%s.%N)
    "$R1" run "$WORK/$v.yaml" --run-dir "$WORK/run-$v-$round" --threads 1 > "$WORK/$v-$round.log" 2>&1
    end=$(date +%s.%N)
    total[$v]=$(echo "${total[$v]:-0} + $end - $start" | bc -l)
  done
done

split() {  # mean seconds per step of each part, from the last round's metrics
  awk -v RS='\n' '
    { n++; for (k in keys) delete keys[k]
      for (f = 1; f <= split($0, kv, ","); f++) {
        if (match(kv[f], /"(step_seconds|generate_seconds|logprobs_seconds|train_seconds|sync_seconds|reward_seconds)":[0-9.eE+-]+/)) {
          s = substr(kv[f], RSTART, RLENGTH); gsub(/"/, "", s); split(s, p, ":"); sum[p[1]] += p[2]
        }
      } }
    END { printf "step %.3fs = generate %.3f + logprobs %.3f + train %.3f + sync %.3f + reward %.4f",
          sum["step_seconds"]/n, sum["generate_seconds"]/n, sum["logprobs_seconds"]/n,
          sum["train_seconds"]/n, sum["sync_seconds"]/n, sum["reward_seconds"]/n }' "$1"
}
echo "GRPO, 12 steps x 32 rollouts of <= 48 tokens, 0.2M-param model, 1 thread per process, $ROUNDS rounds"
for v in a b c; do
  case $v in
    a) name="in-process              " ;;
    b) name="1 worker process (gRPC) " ;;
    c) name="2 DP ranks + 1 rollout  " ;;
  esac
  ratio=$(echo "${total[$v]} / ${total[a]}" | bc -l)
  printf '%s wall %6.1fs  x%.2f  | %s\n' "$name" "${total[$v]}" "$ratio" \
    "$(split "$WORK/run-$v-$ROUNDS/grpo/metrics.jsonl")"
done
echo "(wall time includes process start-up: mpirun and worker registration, ~2-5 s per run)"
