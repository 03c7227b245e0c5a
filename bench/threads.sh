#!/usr/bin/env bash
# Every thread setting a user can choose, against one thread: model_bench (forward+backward
# tokens/s and generation tokens/s at batch 1 and 64) runs under each setting, interleaved over
# ROUNDS so that machine noise hits all alike, for the tiny-r1 size (hidden 128) and hidden 512.
# Prints each setting's median and its ratio to one thread (R1_THREADS=1 OPENBLAS_NUM_THREADS=1);
# the thread plan r1 chose is in model_bench's first line.
#
#   bash bench/threads.sh [MODEL_BENCH] [ROUNDS] [SIZES]   (default build/bench/model_bench, 3, "128 512")
set -euo pipefail
BENCH=${1:-build/bench/model_bench}
ROUNDS=${2:-3}
SIZES=${3:-128 512}
C=$(nproc)
unset R1_THREADS OPENBLAS_NUM_THREADS OMP_NUM_THREADS
OUT=$(mktemp -d /tmp/r1_threads_XXXXXX)
trap 'rm -rf "$OUT"' EXIT

# name|environment|flags
SETTINGS=(
  "one thread|R1_THREADS=1 OPENBLAS_NUM_THREADS=1|"
  "defaults||"
  "--threads 1||--threads 1"
  "--threads $C||--threads $C"
  "--threads $((2 * C))||--threads $((2 * C))"
  "R1_THREADS=$C|R1_THREADS=$C|"
  "OPENBLAS_NUM_THREADS=$C|OPENBLAS_NUM_THREADS=$C|"
  "OPENBLAS_NUM_THREADS=$C --threads $C|OPENBLAS_NUM_THREADS=$C|--threads $C"
  "OPENBLAS_NUM_THREADS=1 --threads $C|OPENBLAS_NUM_THREADS=1|--threads $C"
  "OPENBLAS_NUM_THREADS=$((2 * C))|OPENBLAS_NUM_THREADS=$((2 * C))|"
)

for round in $(seq "$ROUNDS"); do
  for size in $SIZES; do
    for i in "${!SETTINGS[@]}"; do
      IFS='|' read -r _ envs flags <<<"${SETTINGS[$i]}"
      # shellcheck disable=SC2086
      env $envs "$BENCH" --hidden "$size" $flags >"$OUT/$size.$i.$round" 2>&1
    done
  done
done

# Median of a column over the rounds: FIELD is train, gen1 or gen64.
median() {
  local size=$1 i=$2 field=$3
  for round in $(seq "$ROUNDS"); do
    local f="$OUT/$size.$i.$round"
    case $field in
      train) awk '/^forward\+backward/ {print $4}' "$f" ;;
      gen1) awk '/^generate batch 1 / {print $8}' "$f" ;;
      gen64) awk '/^generate batch 64 / {print $8}' "$f" ;;
    esac
  done | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

echo "cores: $C; rounds: $ROUNDS; median tokens/s (ratio to one thread)"
slower=0
for size in $SIZES; do
  echo
  printf '%-40s %-34s %19s %19s %19s\n' "hidden $size: setting" "plan" train generate_b1 generate_b64
  declare -A base=()
  for field in train gen1 gen64; do base[$field]=$(median "$size" 0 "$field"); done
  for i in "${!SETTINGS[@]}"; do
    IFS='|' read -r name _ _ <<<"${SETTINGS[$i]}"
    plan=$(sed -n '1s/.*; \([0-9].*threads[^;]*\)$/\1/p' "$OUT/$size.$i.1")
    row=$(printf '%-40s %-34s' "$name" "$plan")
    for field in train gen1 gen64; do
      v=$(median "$size" "$i" "$field")
      r=$(awk -v a="$v" -v b="${base[$field]}" 'BEGIN {printf "%.2f", a / b}')
      awk -v r="$r" 'BEGIN {exit !(r < 0.9)}' && slower=$((slower + 1))
      row+=$(printf ' %10.0f (%4sx)' "$v" "$r")
    done
    echo "$row"
  done
done
echo
echo "summary: $slower cell(s) more than 10% slower than one thread"
