#!/usr/bin/env bash
# How many OpenBLAS threads a worker should have: tiny-r1's model pretrains a few steps and runs a
# short GRPO stage with LibTorch on --threads T (default: every core), once with
# OPENBLAS_NUM_THREADS=1 (r1's default) and once with OPENBLAS_NUM_THREADS=T (what r1 used to set).
# Runs are interleaved (1 T 1 T ...) so that machine noise hits both alike. Prints each setting's
# mean wall, user and sys seconds, the per-step times from metrics.jsonl, and the ratios.
#
#   bash bench/blas_threads.sh [R1_BINARY] [ROUNDS] [THREADS]   (default build/cli/r1, 2, nproc)
set -euo pipefail
R1=${1:-build/cli/r1}
ROUNDS=${2:-2}
THREADS=${3:-$(nproc)}
WORK=$(mktemp -d /tmp/r1_blas_XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/bench.yaml" <<YAML
run: {name: blas, seed: 3}
model:
  architecture: {hidden_size: 128, num_layers: 4, num_heads: 4, num_kv_heads: 2,
                 intermediate_size: 352, max_position_embeddings: 512}
  tokenizer: byte
cluster: {launcher: in_process}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 512, seed: 1, options: {max_digits: 2, operators: "+-"}}}
stages:
  - name: base
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 1.0e-3}, batch_size: 32, max_seq_len: 256, steps: 40,
               checkpoint_every: 0}
  - name: grpo
    type: grpo
    depends_on: [base]
    inputs: {model: "stage:base", datasets: [corpus]}
    grpo:
      optimizer: {lr: 2.0e-5}
      steps: 10
      checkpoint_every: 0
      prompts_per_step: 16
      group_size: 8
      max_new_tokens: 64
      kl_coef: 0.001
      rewards: [{name: accuracy}, {name: format, weight: 0.5}]
YAML

# Mean of a metrics.jsonl key over all lines.
mean_of() {
  python3 -c 'import json,sys; v=[json.loads(l)[sys.argv[2]] for l in open(sys.argv[1])]; print(sum(v)/len(v))' "$1" "$2"
}

declare -A wall user sys pre_step rl_step
for round in $(seq "$ROUNDS"); do
  for blas in 1 "$THREADS"; do
    run="$WORK/run-$blas-$round"
    TIMEFORMAT='%R %U %S'
    t=$( { time OPENBLAS_NUM_THREADS=$blas "$R1" run "$WORK/bench.yaml" --run-dir "$run" \
             --threads "$THREADS" > "$WORK/$blas-$round.log" 2>&1; } 2>&1 )
    read -r r u s <<< "$t"
    wall[$blas]=$(echo "${wall[$blas]:-0} + $r / $ROUNDS" | bc -l)
    user[$blas]=$(echo "${user[$blas]:-0} + $u / $ROUNDS" | bc -l)
    sys[$blas]=$(echo "${sys[$blas]:-0} + $s / $ROUNDS" | bc -l)
    pre_step[$blas]=$(echo "${pre_step[$blas]:-0} + $(mean_of "$run/base/metrics.jsonl" step_seconds) / $ROUNDS" | bc -l)
    rl_step[$blas]=$(echo "${rl_step[$blas]:-0} + $(mean_of "$run/grpo/metrics.jsonl" step_seconds) / $ROUNDS" | bc -l)
  done
done

echo "LibTorch threads: $THREADS, rounds: $ROUNDS"
printf '%-22s %8s %8s %8s %14s %14s\n' "OPENBLAS_NUM_THREADS" wall_s user_s sys_s pretrain_step_s grpo_step_s
for blas in 1 "$THREADS"; do
  printf '%-22s %8.1f %8.1f %8.1f %14.3f %14.3f\n' "$blas" "${wall[$blas]}" "${user[$blas]}" \
    "${sys[$blas]}" "${pre_step[$blas]}" "${rl_step[$blas]}"
done
printf 'ratio %s/1: wall %.2f, pretrain step %.2f, grpo step %.2f\n' "$THREADS" \
  "$(echo "${wall[$THREADS]} / ${wall[1]}" | bc -l)" \
  "$(echo "${pre_step[$THREADS]} / ${pre_step[1]}" | bc -l)" \
  "$(echo "${rl_step[$THREADS]} / ${rl_step[1]}" | bc -l)"
