#!/usr/bin/env bash
# Random-fault soak: one small pipeline (pretrain -> grpo -> eval) on two trainer ranks and a
# separate rollout worker (disaggregated, mpirun), run N times while `kill -9` hits a random process
# of the run (the scheduler `r1 run`, a trainer rank, or the rollout worker) at a random time. Each
# interrupted run is resumed as a user would (`r1 run --resume RUN_DIR`, possibly killed again) until
# it finishes; then every file of each stage's output model is compared byte for byte (cmp) with an
# uninterrupted reference run's.
#   scripts/soak.sh [N] [SEED]          N runs (default 20); SEED replays the choices (default: time)
# Environment: R1_BINARY (default build/cli/r1; copied first, so a rebuild cannot change it mid-soak),
# R1_SOAK_DIR (work directory, default a new /tmp/r1_soak_*; kept when a run fails),
# R1_SOAK_MAX_STALENESS (the GRPO stage's grpo.max_staleness, default 0; 1 soaks asynchronous RL).
# Prints one line per run and "soak: K/N runs matched"; exit 0 only when K == N. Every wait is
# bounded; the kill choices follow SEED (the timing of the processes does not).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N="${1:-20}"
SEED="${2:-$(($(date +%s) % 1000000))}"
RUN_TIMEOUT_S=600      # one `r1 run` (or resume) to its end
WORKERS_GONE_S=60      # workers of a killed scheduler exit after worker_timeout_s
MAX_RESUMES=8          # resumes per soak run before it counts as failed
WORK="${R1_SOAK_DIR:-$(mktemp -d /tmp/r1_soak_XXXXXX)}"
mkdir -p "$WORK/bin"
cp "${R1_BINARY:-build/cli/r1}" "$WORK/bin/r1"
R1="$WORK/bin/r1"
export OPENBLAS_NUM_THREADS=1 R1_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
RANDOM=$SEED
echo "soak: N=$N seed=$SEED work=$WORK (replay: scripts/soak.sh $N $SEED)"

cat >"$WORK/soak.yaml" <<'EOF'
run: {name: soak, seed: 11}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {trainer_ranks: 2, placement: disaggregated, rollout_workers: 1,
          heartbeat_interval_s: 0.5, worker_timeout_s: 4}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 64, seed: 1, options: {max_digits: 1}}}
  prompts: {synthetic: {kind: arithmetic, count: 32, seed: 2, options: {max_digits: 1}}}
  held_out: {synthetic: {kind: arithmetic, count: 4, seed: 9, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 3.0e-3}, batch_size: 8, steps: 20, checkpoint_every: 5}
  - name: grpo
    type: grpo
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    grpo:
      optimizer: {lr: 1.0e-3}
      steps: 12
      checkpoint_every: 2
      prompts_per_step: 2
      group_size: 4
      max_new_tokens: 24
      kl_coef: 0.01
      max_staleness: MAX_STALENESS
      rewards: [{name: accuracy}, {name: format, weight: 0.5}]
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [held_out]}
    eval: {samples_per_prompt: 2, max_new_tokens: 24}
EOF
STALENESS="${R1_SOAK_MAX_STALENESS:-0}"
[[ "$STALENESS" =~ ^[0-9]+$ ]] || { echo "R1_SOAK_MAX_STALENESS must be an integer >= 0"; exit 2; }
sed -i "s/MAX_STALENESS/$STALENESS/" "$WORK/soak.yaml"
MODEL_STAGES=(pretrain grpo)

# Pids of the `r1 worker` processes of the run in $1 (any scheduler of it, old or current).
worker_pids() { pgrep -f "^$R1 worker .*--token-file $1/token( |\$)" || true; }

# Whether pid $1 is running (a child that exited but is not yet reaped is not).
alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ "$state" != Z* ]]
}

# MPI rank of worker pid $1 (empty when it is gone).
rank_of() {
  tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p' || true
}

# Waits up to $2 seconds for the child $1 to exit; sets EXIT to its status, 124 on timeout (then
# kills it).
wait_child() {
  local pid="$1" deadline=$((SECONDS + $2))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    SCHED=""
    EXIT=124
    return
  fi
  EXIT=0
  wait "$pid" 2>/dev/null || EXIT=$?  # (quiet: no "Killed" notice)
  SCHED=""                            # reaped: the pid may be reused from now on
}

# Waits (bounded) until no worker of run $1 is left; kills stragglers after WORKERS_GONE_S.
wait_workers_gone() {
  local deadline=$((SECONDS + WORKERS_GONE_S))
  while [ -n "$(worker_pids "$1")" ] && ((SECONDS < deadline)); do sleep 0.2; done
  local left
  left="$(worker_pids "$1")"
  if [ -n "$left" ]; then
    echo "  workers still alive ${WORKERS_GONE_S}s after their scheduler died: $left" >&2
    kill -9 $left 2>/dev/null || true
    sleep 1
  fi
}

# kill -9 of a random process of the run whose scheduler is $1 and directory $2, at a random time
# between 0.3 s and $3 ms. Sets KILLED to what was hit ("" when the run ended first).
kill_randomly() {
  local sched="$1" dir="$2" within="$3"
  local delay_ms=$((300 + (RANDOM * 32768 + RANDOM) % within))
  local kind=$((RANDOM % 3)) pick=$RANDOM
  KILLED=""
  sleep "$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))"
  alive "$sched" || return 0
  if ((kind == 0)); then
    kill -9 "$sched" 2>/dev/null && KILLED="scheduler (pid $sched) at ${delay_ms}ms"
    return 0
  fi
  # A trainer rank (0 or 1) or the rollout worker (rank 2); wait a little if they are starting.
  local deadline=$((SECONDS + 20))
  while alive "$sched" && ((SECONDS < deadline)); do
    local candidates=() p r
    for p in $(worker_pids "$dir"); do
      r="$(rank_of "$p")"
      if { ((kind == 1)) && [[ "$r" == 0 || "$r" == 1 ]]; } || { ((kind == 2)) && [[ "$r" == 2 ]]; }; then
        candidates+=("$p:$r")
      fi
    done
    if ((${#candidates[@]} > 0)); then
      local c="${candidates[$((pick % ${#candidates[@]}))]}"
      local what="trainer rank ${c#*:}"
      ((kind == 2)) && what="rollout worker (rank ${c#*:})"
      kill -9 "${c%%:*}" 2>/dev/null && KILLED="$what (pid ${c%%:*}) at ${delay_ms}ms"
      return 0
    fi
    sleep 0.2
  done
}

# Runs `r1 ARGS...` in the background with output appended to $LOG; sets SCHED to its pid.
start_r1() {
  "$R1" "$@" >>"$LOG" 2>&1 &
  SCHED=$!
}

# Every file of each stage's output model equals the reference's.
outputs_match() {
  local stage f
  for stage in "${MODEL_STAGES[@]}"; do
    [ -d "$1/$stage/output" ] || return 1
    for f in "$WORK/reference/$stage/output"/*; do
      cmp -s "$f" "$1/$stage/output/$(basename "$f")" || {
        echo "  differs: $stage/output/$(basename "$f")"
        return 1
      }
    done
  done
}

# Interrupted (Ctrl-C, CTest's timeout): take the run being soaked down with the script.
cleanup() {
  if [ -n "${SCHED:-}" ]; then kill -9 "$SCHED" 2>/dev/null || true; fi
  local d left
  for d in "$WORK/reference" "${dir:-}"; do
    [ -n "$d" ] || continue
    left="$(worker_pids "$d")"
    if [ -n "$left" ]; then kill -9 $left 2>/dev/null || true; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOG="$WORK/reference.log"
start_r1 run "$WORK/soak.yaml" --run-dir "$WORK/reference"
ref_start=$SECONDS
wait_child "$SCHED" "$RUN_TIMEOUT_S"
REF_S=$((SECONDS - ref_start))
if [ "$EXIT" != 0 ]; then
  echo "soak: the uninterrupted reference run failed (exit $EXIT); see $LOG" >&2
  tail -20 "$LOG" >&2
  exit 1
fi
wait_workers_gone "$WORK/reference"
echo "soak: reference run took ${REF_S}s"

matched=0
interrupted=0
# Kills land within 90% of the fastest whole run seen (the machine's speed varies).
KILL_WINDOW_MS=$((REF_S * 900 > 1000 ? REF_S * 900 : 1000))
for i in $(seq 1 "$N"); do
  dir="$WORK/run-$i"
  LOG="$WORK/run-$i.log"
  kills=()
  start_r1 run "$WORK/soak.yaml" --run-dir "$dir"
  run_start=$SECONDS
  ok=0
  for attempt in $(seq 0 "$MAX_RESUMES"); do
    # The first attempt is always hit; each resume is hit again with probability 1/3.
    KILLED=""
    if ((attempt == 0 || RANDOM % 3 == 0)); then
      kill_randomly "$SCHED" "$dir" "$KILL_WINDOW_MS"
      [ -n "$KILLED" ] && kills+=("$KILLED")
    fi
    wait_child "$SCHED" "$RUN_TIMEOUT_S"
    wait_workers_gone "$dir"
    if [ "$EXIT" = 0 ] && grep -q "\[eval\] succeeded" "$LOG"; then
      ok=1
      break
    fi
    echo "=== r1 run --resume (after exit $EXIT) ===" >>"$LOG"
    if [ -f "$dir/run.yaml" ]; then
      start_r1 run --resume "$dir"
    else  # killed before the run directory was set up: nothing to resume, the user starts again
      start_r1 run "$WORK/soak.yaml" --run-dir "$dir"
    fi
  done
  if ((${#kills[@]} > 0)); then
    interrupted=$((interrupted + 1))
  elif ((ok && (SECONDS - run_start) * 900 < KILL_WINDOW_MS)); then
    KILL_WINDOW_MS=$(((SECONDS - run_start) * 900 > 1000 ? (SECONDS - run_start) * 900 : 1000))
  fi
  resumes=$(grep -c "^=== r1 run --resume" "$LOG" || true)
  verdict="FAILED (did not finish after $MAX_RESUMES resumes; $LOG)"
  if ((ok)); then
    if outputs_match "$dir"; then
      verdict="matched"
      matched=$((matched + 1))
      rm -rf "$dir" "$LOG"
    else
      verdict="DIFFERENT weights ($dir)"
    fi
  fi
  echo "soak: run $i: killed ${#kills[@]}x [$(
    IFS=';'
    echo "${kills[*]:-nothing: the run ended first}"
  )], ${resumes:-0} resumes: $verdict"
done

echo "soak: $matched/$N runs matched ($interrupted of them killed at least once; seed $SEED)"
if ((matched == N)); then
  rm -rf "$WORK"
  exit 0
fi
echo "soak: kept $WORK" >&2
exit 1
