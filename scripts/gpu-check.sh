#!/usr/bin/env bash
# The GPU checks in one command: builds r1 against a CUDA-enabled LibTorch, runs every test with
# the CTest label "gpu" (model parity CPU vs CUDA, the worker's train step on CUDA, bf16 master
# weights, NCCL collectives, 2-rank NCCL data parallelism and weight broadcast when there are two
# GPUs, a small GRPO pipeline colocated and disaggregated) and the model benchmark on CPU and
# CUDA, then prints a short table. On a machine without an NVIDIA GPU it says so and exits 0.
#
#   bash scripts/gpu-check.sh
#
# Needs the libraries scripts/setup.sh installs (gRPC, protobuf, abseil, yaml-cpp, Open MPI, ICU,
# GoogleTest, nlohmann-json), a CUDA toolkit with NCCL, and a CUDA-enabled LibTorch:
#   Torch_DIR      LibTorch's share/cmake/Torch (default: the one of python3's torch, if any)
#   R1_CUDA_ROOT   CUDA toolkit (default /usr/local/cuda); R1_NCCL_ROOT: NCCL if not in it
#                  (default: python3's nvidia-nccl wheel, if any)
#   R1_GPU_BUILD_DIR  build directory (default build-gpu)
# Exit status: 0 when every check passed or was skipped, 1 otherwise.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo" || exit 1

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "gpu-check: no NVIDIA GPU visible on this machine; nothing to check (skipped)"
  exit 0
fi
nvidia-smi -L

torch_dir="${Torch_DIR:-}"
if [ -z "$torch_dir" ]; then
  torch_dir="$(python3 -c 'import os, torch; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))' 2>/dev/null || true)"
fi
if [ ! -f "$torch_dir/TorchConfig.cmake" ]; then
  echo "gpu-check: no CUDA LibTorch found; set Torch_DIR to <libtorch>/share/cmake/Torch" >&2
  exit 1
fi
nccl_root="${R1_NCCL_ROOT:-}"
if [ -z "$nccl_root" ]; then
  nccl_root="$(python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null || true)"
fi

build="${R1_GPU_BUILD_DIR:-build-gpu}"
log_dir="$build/gpu-check"
mkdir -p "$log_dir"
start=$(date +%s)
echo "gpu-check: configuring $build (Torch_DIR=$torch_dir${nccl_root:+, NCCL in $nccl_root})"
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" \
  -DR1_CUDA_ROOT="${R1_CUDA_ROOT:-/usr/local/cuda}" ${nccl_root:+-DR1_NCCL_ROOT="$nccl_root"} \
  ${R1_GPU_CMAKE_ARGS:-} >"$log_dir/configure.log" 2>&1; then
  tail -40 "$log_dir/configure.log"
  echo "gpu-check: configure failed (full log: $log_dir/configure.log)" >&2
  exit 1
fi
grep -E "^-- r1:" "$log_dir/configure.log"
gpu_tests=()
for f in tests/gpu/*_test.cc; do
  f="${f##*/}"
  gpu_tests+=("${f%.cc}")
done
targets=(r1 model_bench "${gpu_tests[@]}")
echo "gpu-check: building ${targets[*]}"
if ! cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" -- -k 0 \
  >"$log_dir/build.log" 2>&1; then
  grep -E "error|Error" "$log_dir/build.log" | head -60
  echo "gpu-check: build failed (full log: $log_dir/build.log)" >&2
  exit 1
fi
built=$(date +%s)

export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
(cd "$build" && ctest -L gpu -V --timeout 180) >"$log_dir/ctest.log" 2>&1
ctest_rc=$?
tested=$(date +%s)

# The benchmark on both devices, side by side.
bench=()
for device in cpu cuda; do
  line="$("$build/bench/model_bench" --device "$device" 2>>"$log_dir/bench.log" | tail -1)"
  bench+=("$device: ${line:-failed}")
done

echo
echo "| test (label gpu) | result | seconds |"
echo "| --- | --- | --- |"
sed -nE 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) \.*(\**) *([A-Za-z: ]*[A-Za-z]) +([0-9.]+) sec$/| \1 | \3 | \4 |/p' \
  "$log_dir/ctest.log"
echo
echo "| measured | result | detail |"
echo "| --- | --- | --- |"
grep -ho 'GPU-CHECK|.*' "$log_dir/ctest.log" | sort -u | sed 's/^GPU-CHECK|/| /; s/|/ | /g; s/$/ |/'
echo
echo "CTest (label gpu): $(grep -E 'tests passed|tests failed' "$log_dir/ctest.log" | tail -1)"
printf 'model_bench %s\n' "${bench[@]}"
echo "gpu-check: build $((built - start)) s, tests $((tested - built)) s, total $(($(date +%s) - start)) s;" \
  "logs in $log_dir"
[ "$ctest_rc" -eq 0 ]
