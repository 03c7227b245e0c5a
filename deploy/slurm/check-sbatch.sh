#!/usr/bin/env bash
# Runs r1.sbatch on this machine with a fake Slurm (srun, scontrol) and a fake r1 scheduler/worker
# (`r1 validate` is the real one) and checks its control flow: scheduler arguments, fresh run vs
# resume, the address and token the workers get, worker-step relaunch, exit status propagation,
# refusal of a config that is not in external mode. Then one real run on this machine: the real
# scheduler and 3 workers under mpirun on a 4-step pipeline, and its resume. About 20 s.
#   bash deploy/slurm/check-sbatch.sh BUILD/cli/r1
# Exit 0 when every case passes; 1 otherwise (each failure is printed).
set -euo pipefail
real_r1="$(realpath "${1:?usage: check-sbatch.sh PATH/TO/r1}")"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sbatch_script="$repo/deploy/slurm/r1.sbatch"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/cache"

# ---- fakes ---------------------------------------------------------------------------------------
cat >"$work/bin/srun" <<'EOF'
#!/usr/bin/env bash
# Fake srun: runs --ntasks copies of the command here with SLURM_PROCID set; fails if one fails.
ntasks=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ntasks=*) ntasks="${1#*=}" ;;
    --nodes=* | --nodelist=* | --mpi=* | --kill-on-bad-exit=* | --overlap) ;;
    --cpus-per-task=* | --gpus-per-task=*) ;;
    -*) echo "fake srun: unexpected option $1" >&2; exit 99 ;;
    *) break ;;
  esac
  shift
done
echo "ntasks=$ntasks $*" >>"$FAKE_DIR/srun.log"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' TERM
for ((i = 0; i < ntasks; i++)); do
  SLURM_PROCID=$i "$@" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
exit "$status"
EOF
cat >"$work/bin/scontrol" <<'EOF'
#!/usr/bin/env bash
# Fake scontrol: a two-node allocation.
case "$1 $2" in
  "show hostnames") printf 'node1\nnode2\n' ;;
  *) echo "scontrol $*" >>"$FAKE_DIR/scontrol.log" ;;
esac
EOF
cat >"$work/bin/r1" <<'EOF'
#!/usr/bin/env bash
# Fake r1: the real `validate`; a scheduler that writes token + scheduler.addr and waits for
# FAKE_EXPECT registrations; workers that "register" by appending a line to a file.
cmd="$1"
shift
wait_for() {  # wait_for FILE_TEST: up to 20 s
  for _ in $(seq 1 200); do eval "$1" && return 0; sleep 0.1; done
  return 1
}
case "$cmd" in
  validate)  # the real one, cached per argument list (LibTorch start-up takes seconds)
    key="$FAKE_CACHE/$(echo "$*" | md5sum | cut -c1-32)"
    if [ ! -e "$key.rc" ]; then
      rc=0
      "$REAL_R1" validate "$@" >"$key.out" 2>"$key.err" || rc=$?
      echo "$rc" >"$key.rc"
    fi
    cat "$key.out"
    cat "$key.err" >&2
    exit "$(cat "$key.rc")"
    ;;
  scheduler)
    echo "$*" >"$FAKE_DIR/scheduler.args"
    if [ "$1" = --resume ]; then
      dir="$2"
    else
      dir="$3"
      mkdir -p "$dir"
      cp "$1" "$dir/run.yaml"
    fi
    rm -f "$dir/fake-registered" "$dir/fake-done"
    (umask 077 && echo fake-token >"$dir/token")
    echo "0.0.0.0:4242" >"$dir/scheduler.addr"
    wait_for "[ \"\$(cat \"$dir/fake-registered\" 2>/dev/null | wc -l)\" -ge $FAKE_EXPECT ]" ||
      { echo "fake scheduler: workers did not register" >&2; exit 4; }
    touch "$dir/fake-done"
    exit "${FAKE_SCHED_STATUS:-0}"
    ;;
  worker)
    [ "$1 $3 $5 $7 $9" = "--scheduler --token-file --listen --advertise --threads" ] ||
      { echo "fake worker: unexpected arguments: $*" >&2; exit 98; }
    dir="$(dirname "$4")"
    if [ -n "${FAKE_WORKER_FAIL_ONCE:-}" ] && [ ! -e "$dir/fake-failed.$SLURM_PROCID" ]; then
      touch "$dir/fake-failed.$SLURM_PROCID"
      exit 3
    fi
    echo "rank=$SLURM_PROCID scheduler=$2 token=$(cat "$4") listen=$6 advertise=$8" \
      "threads=${10}" >>"$dir/fake-registered"
    wait_for "[ -e \"$dir/fake-done\" ]" || exit 5
    ;;
  *) echo "fake r1: unexpected command $cmd" >&2; exit 97 ;;
esac
EOF
chmod +x "$work/bin/"*

failures=0
fail() { echo "check-sbatch: FAIL: $*" >&2; failures=$((failures + 1)); }

# run_sbatch NAME [VAR=VALUE...]: runs r1.sbatch in a fresh fake-Slurm environment; sets $rc, $out
# and $fake (that case's log directory). RUN_DIR is $work/runs/NAME unless given.
run_sbatch() {
  local name="$1"
  shift
  fake="$work/$name"
  mkdir -p "$fake"
  rc=0
  out="$(cd "$repo" && env PATH="$work/bin:$PATH" FAKE_DIR="$fake" REAL_R1="$real_r1" \
    FAKE_CACHE="$work/cache" \
    FAKE_EXPECT=3 SLURM_SUBMIT_DIR="$repo" SLURM_JOB_NODELIST="node[1-2]" SLURM_NTASKS=4 \
    SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=2 R1_BIN="$work/bin/r1" \
    R1_CONFIG="$repo/configs/cluster-example.yaml" RUN_DIR="$work/runs/$name" \
    R1_POLL_S=0.2 R1_GRACE_S=5 R1_ADDR_WAIT_S=20 "$@" \
    timeout 120 bash "$sbatch_script" 2>&1)" || rc=$?
}
expect_rc() {  # expect_rc CASE WANT
  if [ "$rc" != "$2" ]; then
    fail "$1: exit status $rc, want $2; output:"
    printf '    %s\n' "$out" >&2
  fi
}
expect_grep() {  # expect_grep CASE PATTERN FILE|- (-: the output)
  local text
  if [ "$3" = - ]; then text="$out"; else text="$(cat "$3" 2>/dev/null || true)"; fi
  grep -q -e "$2" <<<"$text" ||
    fail "$1: no \"$2\" in ${3/#-/the output}: $(head -c 600 <<<"$text")"
}

# 1. A fresh run: the scheduler gets CONFIG --run-dir DIR --listen, the three workers (2 trainer
#    ranks + 1 rollout worker, from the config) dial the first node at the port the scheduler bound.
run_sbatch fresh
expect_rc fresh 0
want_args="$repo/configs/cluster-example.yaml --run-dir $work/runs/fresh --listen 0.0.0.0:50051"
expect_grep fresh "^$want_args\$" "$fake/scheduler.args"
expect_grep fresh "^ntasks=3 bash -c" "$fake/srun.log"
for rank in 0 1 2; do
  want="rank=$rank scheduler=node1:4242 token=fake-token listen=0.0.0.0:0 advertise=$(hostname)"
  expect_grep fresh "^$want threads=2\$" "$work/runs/fresh/fake-registered"
done
expect_grep fresh "run succeeded" -

# 2. The same command again resumes: RUN_DIR/run.yaml exists, so --resume DIR and no CONFIG.
run_sbatch fresh
expect_rc resume 0
expect_grep resume "^--resume $work/runs/fresh --listen 0.0.0.0:50051\$" "$fake/scheduler.args"
expect_grep resume "resuming the run" -

# 3. The scheduler's exit status is the job's.
run_sbatch sched_fails FAKE_SCHED_STATUS=7
expect_rc sched_fails 7
expect_grep sched_fails "run failed (scheduler status 7)" -

# 4. A worker step that fails is launched again; the run still succeeds.
run_sbatch worker_fails FAKE_WORKER_FAIL_ONCE=1
expect_rc worker_fails 0
expect_grep worker_fails "relaunch 1 of 2" -
[ "$(grep -c '^ntasks=3' "$fake/srun.log" 2>/dev/null || true)" = 2 ] ||
  fail "worker_fails: want 2 worker steps in $(cat "$fake/srun.log")"

# 5. A config in local mode is refused before any srun.
run_sbatch local_mode R1_CONFIG="$repo/configs/tiny-r1.yaml"
expect_rc local_mode 1
expect_grep local_mode "cluster.mode must be external" -
[ ! -e "$fake/srun.log" ] || fail "local_mode: srun ran: $(cat "$fake/srun.log")"

# 6. An allocation with fewer tasks than workers is refused.
run_sbatch too_small SLURM_NTASKS=2
expect_rc too_small 1
expect_grep too_small "needs 3 worker tasks, the job has 2" -

# 7. Real processes: the real `r1 scheduler` and three real `r1 worker`s (2 trainer ranks + 1
#    rollout worker, started by an srun stand-in that runs mpirun on this machine) through r1.sbatch
#    on a 4-step pipeline; then the same command again resumes and skips both stages.
real_case() {
  mkdir -p "$work/real/bin"
  cat >"$work/real/bin/srun" <<'EOF2'
#!/usr/bin/env bash
# srun stand-in for one machine: one task runs the command, more run it under mpirun.
ntasks=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ntasks=*) ntasks="${1#*=}" ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
[ "$ntasks" = 1 ] && exec "$@"
exec mpirun --allow-run-as-root --oversubscribe -np "$ntasks" "$@"
EOF2
  printf '#!/usr/bin/env bash\necho 127.0.0.1\n' >"$work/real/bin/scontrol"
  chmod +x "$work/real/bin/"*
  cat >"$work/real/tiny.yaml" <<'EOF2'
run: {name: check-sbatch, seed: 1}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 128}
  tokenizer: byte
cluster: {mode: external, placement: disaggregated, trainer_ranks: 2, rollout_workers: 1,
          backend: mpi, heartbeat_interval_s: 1, worker_timeout_s: 20}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 64, seed: 1}}
  held_out: {synthetic: {kind: arithmetic, count: 8, seed: 100}}
stages:
  - {name: pretrain, type: pretrain, inputs: {datasets: [corpus]},
     pretrain: {batch_size: 4, max_seq_len: 64, steps: 4, checkpoint_every: 2}}
  - {name: eval, type: eval, depends_on: [pretrain],
     inputs: {model: "stage:pretrain", datasets: [held_out]},
     eval: {samples_per_prompt: 1, max_new_tokens: 8, max_examples: 4}}
EOF2
  local i
  for i in 1 2; do
    rc=0
    out="$(env PATH="$work/real/bin:$PATH" SLURM_JOB_NODELIST=localhost SLURM_NTASKS=3 \
      SLURM_CPUS_PER_TASK=1 R1_BIN="$real_r1" R1_CONFIG="$work/real/tiny.yaml" \
      RUN_DIR="$work/real/run" R1_LISTEN_HOST=127.0.0.1 R1_PORT=0 R1_ADVERTISE=127.0.0.1 \
      R1_POLL_S=0.2 R1_GRACE_S=5 timeout 120 bash "$sbatch_script" 2>&1)" || rc=$?
    expect_rc "real run $i" 0
    printf '%s\n' "$out" >"$work/real/run$i.log"
  done
  expect_grep "real run 1" "\[eval\] succeeded" "$work/real/run1.log"
  [ "$(stat -c %a "$work/real/run/token")" = 600 ] ||
    fail "real run: RUN_DIR/token has mode $(stat -c %a "$work/real/run/token"), want 600"
  expect_grep "real run 2 (resume)" "resuming the run" -
  expect_grep "real run 2 (resume)" "\[eval\] already succeeded; skipped" -
}
real="real processes"
if command -v mpirun >/dev/null; then
  real_case
else
  real="no mpirun: real-process case skipped"
fi

if [ "$failures" -gt 0 ]; then
  echo "check-sbatch: $failures failure(s)" >&2
  exit 1
fi
echo "check-sbatch: r1.sbatch OK (6 fake-Slurm cases; $real)"
