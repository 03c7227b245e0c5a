#!/usr/bin/env bash
# Checks the deploy files (deploy/) on a machine with no cluster: shell syntax, Kubernetes manifests
# (well-formed, consistent with each other and with their pipeline), `r1 validate` of every config
# they use, the container's package plumbing, and the Slurm script's control flow on a fake Slurm.
#   bash scripts/check-deploy.sh [PATH/TO/r1]      (default: build/cli/r1; CTest label "deploy")
# Checks whose tool is missing (python3-yaml, kubectl, shellcheck, dpkg) are skipped with a message.
# Exit 0 when nothing failed, 1 otherwise.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
r1="${1:-build/cli/r1}"
export OPENBLAS_NUM_THREADS=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failures=0
pass() { echo "ok    $*"; }
fail() {
  echo "FAIL  $*"
  failures=$((failures + 1))
}
skip() { echo "skip  $*"; }

[ -x "$r1" ] || { echo "check-deploy: $r1 is not an executable r1 (pass its path)" >&2; exit 1; }

# ---- 1. shell scripts: syntax, and shellcheck warnings when shellcheck is installed -------------
mapfile -t shell_files < <(ls scripts/*.sh deploy/*/*.sh deploy/slurm/*.sbatch 2>/dev/null)
for f in "${shell_files[@]}"; do
  if err="$(bash -n "$f" 2>&1)"; then pass "bash -n $f"; else fail "bash -n $f: $err"; fi
done
if command -v shellcheck >/dev/null; then
  if err="$(shellcheck -s bash -S warning "${shell_files[@]}" 2>&1)"; then
    pass "shellcheck -S warning (${#shell_files[@]} files)"
  else
    fail "shellcheck:"$'\n'"$err"
  fi
else
  skip "shellcheck (not installed)"
fi

# ---- 2. the pipeline inside the ConfigMap, extracted without a YAML library ----------------------
configmap=deploy/k8s/configmap.yaml
awk '/^  pipeline\.yaml: \|$/ {inside = 1; next}
     inside && /^    / {print substr($0, 5); next}
     inside && /^ *$/ {print ""; next}
     inside {exit}' "$configmap" >"$work/k8s-pipeline.yaml"
if [ -s "$work/k8s-pipeline.yaml" ]; then
  pass "$configmap: pipeline.yaml extracted"
else
  fail "$configmap: no 'pipeline.yaml: |' block under data"
fi

# ---- 3. r1 validate: every config the deploy files use, in external mode -------------------------
# (check-*.sh use other configs on purpose, as bad examples)
mapfile -t configs < <(grep -rhoE --exclude='check-*' 'configs/[A-Za-z0-9_.-]+\.yaml' deploy |
  sort -u)
configs+=("$work/k8s-pipeline.yaml")
for c in "${configs[@]}"; do
  name="$c"
  [ "$c" = "$work/k8s-pipeline.yaml" ] && name="$configmap (pipeline.yaml)"
  if [ ! -f "$c" ]; then
    fail "$name: referenced by deploy/ but does not exist"
  elif ! resolved="$("$r1" validate "$c" --print-resolved 2>"$work/validate.err")"; then
    fail "r1 validate $name:"$'\n'"$(cat "$work/validate.err")"
  else
    mode="$(awk '/^cluster:/ {c = 1; next} /^[^ ]/ {c = 0}
      c && $1 == "mode:" {gsub(/"/, "", $2); print $2; exit}' <<<"$resolved")"
    if [ "$mode" = external ]; then
      pass "r1 validate $name (cluster.mode external)"
    else
      fail "$name: cluster.mode is \"$mode\"; the deploy files start the workers themselves" \
        "and need external"
    fi
  fi
done

# ---- 4. Kubernetes manifests: well-formed YAML, names, and the numbers that must agree ----------
if python3 -c 'import yaml' 2>/dev/null; then
  if err="$(python3 - "$work/k8s-pipeline.yaml" deploy/k8s/*.yaml 2>&1 <<'EOF'
# Parses every manifest, checks each object's kind/name and the cross-references between them.
import os, re, sys, yaml

pipeline = yaml.safe_load(open(sys.argv[1]))
objects, errors = {}, []
for path in sys.argv[2:]:
    try:
        docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
    except yaml.YAMLError as e:
        errors.append(f"{path}: not valid YAML: {e}")
        continue
    for i, d in enumerate(docs):
        where = f"{path} (document {i + 1})"
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind"):
            errors.append(f"{where}: needs apiVersion and kind")
            continue
        if d["kind"] == "Kustomization":
            for r in d.get("resources", []):
                if not os.path.exists(os.path.join(os.path.dirname(path), r)):
                    errors.append(f"{where}: resources lists {r}, which does not exist")
            continue
        name = (d.get("metadata") or {}).get("name")
        if not name:
            errors.append(f"{where}: {d['kind']} without metadata.name")
        objects[(d["kind"], name)] = (where, d)

def need(kind, name):
    if (kind, name) not in objects:
        errors.append(f"deploy/k8s: no {kind} named {name}")
        return None
    return objects[(kind, name)][1]

cluster = pipeline.get("cluster", {})
ranks = cluster.get("trainer_ranks", 1)
if cluster.get("placement") == "disaggregated":
    ranks += cluster.get("rollout_workers", 1)
ranks *= cluster.get("worker_groups", 1)
port = int(str(cluster.get("scheduler_address", "")).rsplit(":", 1)[-1] or 0)
need("PersistentVolumeClaim", "r1-runs")
service = need("Service", "r1-scheduler")
job = need("Job", "r1-scheduler")
mpijob = need("MPIJob", "r1-workers")
if service and port not in [p.get("port") for p in service["spec"]["ports"]]:
    errors.append(f"Service r1-scheduler does not expose the pipeline's scheduler port {port}")
if mpijob:
    specs = mpijob["spec"]["mpiReplicaSpecs"]
    replicas = specs["Worker"]["replicas"] * mpijob["spec"].get("slotsPerWorker", 1)
    args = specs["Launcher"]["template"]["spec"]["containers"][0]["args"]
    np = int(args[args.index("-np") + 1]) if "-np" in args else None
    if not replicas == np == ranks:
        errors.append(f"MPIJob r1-workers: Worker replicas x slots ({replicas}) and mpirun -np "
                      f"({np}) must equal the pipeline's (trainer_ranks + rollout_workers) x worker_groups ({ranks})")
    if not any(f"r1-scheduler:{port}" in a for a in args):
        errors.append(f"MPIJob r1-workers: the launcher does not dial r1-scheduler:{port}")
    token_files = re.findall(r"--token-file\s+(\S+)", " ".join(args))
if job:
    pod = job["spec"]["template"]["spec"]
    if pod.get("restartPolicy") == "Always":
        errors.append("Job r1-scheduler: restartPolicy Always would rerun a finished pipeline")
    script = " ".join(pod["containers"][0].get("args", []))
    if "--resume" not in script:
        errors.append("Job r1-scheduler: a restarted scheduler must come back with --resume")
    run_dir = re.search(r"run_dir=(\S+)", script)
    if mpijob and (not run_dir or token_files != [run_dir.group(1) + "/token"]):
        errors.append(f"MPIJob r1-workers: --token-file {token_files} is not the scheduler's "
                      f"RUN_DIR/token ({run_dir.group(1) if run_dir else '?'}/token)")
# The shell scripts inside the manifests (container args after bash -c): syntax only.
import subprocess
for where, d in objects.values():
    def pods(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("containers", "initContainers"):
                    yield from v
                else:
                    yield from pods(v)
        elif isinstance(node, list):
            for v in node:
                yield from pods(v)
    for c in pods(d):
        argv = c.get("command", []) + c.get("args", [])
        for i in range(len(argv) - 1):
            if argv[i] == "-c" and argv[i - 1].endswith("bash"):
                check = subprocess.run(["bash", "-n", "-c", argv[i + 1]], capture_output=True,
                                       text=True)
                if check.returncode != 0:
                    errors.append(f"{where}: container {c.get('name')}: bash -n: {check.stderr}")
print("\n".join(errors))
sys.exit(1 if errors else 0)
EOF
  )"; then
    pass "deploy/k8s: YAML well-formed; Service port, MPIJob size, launcher and token file" \
      "match the pipeline and the scheduler; embedded shell scripts parse"
  else
    fail "deploy/k8s:"$'\n'"$err"
  fi
else
  skip "YAML checks of deploy/k8s (python3-yaml not installed)"
fi
if command -v kubectl >/dev/null; then
  # Renders the kustomization offline (no cluster is contacted).
  if err="$(kubectl kustomize deploy/k8s 2>&1 >/dev/null)"; then
    pass "kubectl kustomize deploy/k8s"
  else
    fail "kubectl kustomize deploy/k8s: $err"
  fi
else
  skip "kubectl kustomize deploy/k8s (kubectl not installed)"
fi

# ---- 5. container: the package list the Dockerfile takes from scripts/setup.sh ------------------
dockerfile=deploy/container/Dockerfile
if grep -q '^ARG DEBIAN_IMAGE=debian:bookworm$' "$dockerfile"; then
  pass "$dockerfile: Debian 12 (bookworm) base"
else
  fail "$dockerfile: the default base image is not debian:bookworm"
fi
# The same extraction as the Dockerfile's first RUN.
packages="$(bash -c 'eval "$(sed -n "/^R1_PACKAGES=(/,/)/p" scripts/setup.sh)"
  echo "${R1_PACKAGES[@]}"' 2>&1)" || true
if grep -qw libtorch-dev <<<"$packages" && grep -qw libgrpc++-dev <<<"$packages"; then
  pass "$dockerfile: R1_PACKAGES read from scripts/setup.sh ($(wc -w <<<"$packages") packages)"
else
  fail "$dockerfile: cannot read R1_PACKAGES from scripts/setup.sh the way the Dockerfile does:" \
    "$packages"
fi
if command -v dpkg-query >/dev/null; then
  # Libraries under /usr/local/cuda (NCCL builds) belong to no Debian package, as documented.
  rc=0
  runtime="$(bash deploy/container/runtime-packages.sh "$r1" 2>"$work/rp.err")" || rc=$?
  if grep -q '^libtorch' <<<"$runtime" && grep -q '^libc6$' <<<"$runtime" &&
    { [ "$rc" = 0 ] || ! grep -v '/usr/local/cuda' "$work/rp.err" | grep -q .; }; then
    pass "runtime-packages.sh $r1 ($(wc -l <<<"$runtime") packages)"
  else
    fail "runtime-packages.sh $r1 (status $rc): $(cat "$work/rp.err") $(head -c 300 <<<"$runtime")"
  fi
else
  skip "runtime-packages.sh (not a Debian machine)"
fi

# ---- 6. Slurm: r1.sbatch's control flow with a fake srun/scontrol and fake workers -------------
if err="$(bash deploy/slurm/check-sbatch.sh "$r1" 2>&1)"; then
  pass "deploy/slurm/r1.sbatch on a fake Slurm (check-sbatch.sh)"
else
  fail "deploy/slurm/check-sbatch.sh:"$'\n'"$err"
fi

if [ "$failures" -gt 0 ]; then
  echo "check-deploy: $failures check(s) failed"
  exit 1
fi
echo "check-deploy: all checks passed"
