#!/usr/bin/env bash
# The default pipeline's wall time with its stages one at a time (cluster.worker_groups: 1, the
# default) and with independent stages side by side (worker_groups: 2: evals beside the next
# training stage, the reward model beside reasoning RL), one run after the other on this machine.
# Prints both wall times, their ratio, the stages that overlapped, and whether the two runs' eval
# scores (report.json without its timings) are identical (they should be: a stage's result does
# not depend on its group or on what runs beside it).
#   bash bench/worker_groups.sh [R1_BINARY]
# About 25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R1="${1:-build/cli/r1}"
WORK="$(mktemp -d /tmp/r1_worker_groups_XXXXXX)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "worker_groups: work $WORK"
for groups in 1 2; do
  sed "s/^  rollout_workers: 1$/  rollout_workers: 1\n  worker_groups: $groups/" \
    configs/tiny-r1.yaml >"$WORK/g$groups.yaml"
  grep -q "worker_groups: $groups" "$WORK/g$groups.yaml" || { echo "cannot set worker_groups"; exit 1; }
  start=$(date +%s.%N)
  "$R1" run "$WORK/g$groups.yaml" --run-dir "$WORK/run$groups" >"$WORK/log$groups" 2>&1 ||
    { echo "worker_groups $groups failed, see $WORK/log$groups"; exit 1; }
  end=$(date +%s.%N)
  echo "$groups $start $end" >>"$WORK/times"
done
/usr/bin/python3 - "$WORK" <<'EOF'
import json, sys
work = sys.argv[1]
times = {g: float(e) - float(s) for g, s, e in (line.split() for line in open(f"{work}/times"))}
for g in ("1", "2"):
    print(f"worker_groups {g}: {float(times[g]):.1f} s")
print(f"side by side / one at a time: {float(times['2']) / float(times['1']):.3f}")
# Stages whose journal intervals overlapped in the side-by-side run.
spans = {}
for line in open(f"{work}/run2/journal"):
    r = json.loads(line)
    if r["event"] == "running": spans[r["stage"]] = [r["time_ms"], None]
    elif r["event"] == "succeeded": spans[r["stage"]][1] = r["time_ms"]
pairs = [(a, b) for a in spans for b in spans
         if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]]
print("overlapped:", ", ".join(f"{a}+{b}" for a, b in pairs) or "none")
# Every eval number but the timings (rollout_tokens_per_s).
def scores(run):
    return [(e["stage"], {k: v for k, v in e["values"].items() if not k.endswith("_per_s")})
            for e in json.load(open(f"{work}/{run}/report.json"))["evals"]]
print("eval scores identical:", scores("run1") == scores("run2"))
EOF
