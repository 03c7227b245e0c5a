#!/usr/bin/env bash
# Fuzz smoke run: builds the libFuzzer harnesses of fuzz/ with clang under AddressSanitizer and
# UBSan in build-fuzz/ (R1_FUZZ_BUILD_DIR), then runs each for SECONDS (default 30) from its seed
# corpus fuzz/corpus/<name>/ (new inputs go to BUILD/corpus/<name>/; the seeds stay as committed).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
# Prints one summary line per harness. Exit 0: no harness crashed; 1: one crashed, leaked, timed
# out or ran out of memory (its reproducer is BUILD/crashes/<name>/..., rerun it with
# BUILD/fuzz/<name>_fuzzer FILE); 77: clang or libFuzzer is missing (CTest reports a skip).
# R1_BUILD_LOCK=FILE: hold that flock while compiling (machines that share cores between builds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_EACH="${1:-30}"
shift || true
BUILD_DIR="${R1_FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${R1_JOBS:-$(nproc)}"
ALL_HARNESSES=()
for f in fuzz/*_fuzzer.cc; do
  name="$(basename "$f" _fuzzer.cc)"
  ALL_HARNESSES+=("$name")
done
HARNESSES=("${@:-${ALL_HARNESSES[@]}}")

skip() {
  echo "fuzz: SKIPPED: $*" >&2
  echo "fuzz: install them with: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 77
}

CXX_BIN="${R1_FUZZ_CXX:-}"
if [ -z "$CXX_BIN" ]; then
  for c in clang++ clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then CXX_BIN="$c"; break; fi
  done
fi
[ -n "$CXX_BIN" ] || skip "clang++ not found"
CC_BIN="${CXX_BIN/clang++/clang}"
command -v "$CC_BIN" >/dev/null 2>&1 || skip "$CC_BIN not found"
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$probe_dir/probe.cc"
if ! "$CXX_BIN" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cc" -o "$probe_dir/probe" \
  2>"$probe_dir/err"; then
  skip "$CXX_BIN cannot link -fsanitize=fuzzer,address,undefined: $(head -c 300 "$probe_dir/err")"
fi

locked() {
  if [ -n "${R1_BUILD_LOCK:-}" ]; then flock "$R1_BUILD_LOCK" "$@"; else "$@"; fi
}
build_start=$(date +%s)
mkdir -p "$BUILD_DIR"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DR1_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_C_COMPILER="$CC_BIN" >"$BUILD_DIR/configure.log" 2>&1 ||
    { cat "$BUILD_DIR/configure.log"; echo "fuzz: configure failed" >&2; exit 1; }
fi
targets=()
for h in "${HARNESSES[@]}"; do targets+=("${h}_fuzzer"); done
locked cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"
echo "fuzz: built ${#targets[@]} harnesses in $(($(date +%s) - build_start)) s"

failed=()
for h in "${HARNESSES[@]}"; do
  seeds="fuzz/corpus/$h"
  work="$BUILD_DIR/corpus/$h"
  crashes="$BUILD_DIR/crashes/$h"
  log="$BUILD_DIR/logs/$h.log"
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  [ -d "$seeds" ] || { echo "fuzz: $h has no seed corpus $seeds" >&2; failed+=("$h"); continue; }
  rc=0
  # -rss_limit_mb also caps single allocations: a request that makes a parser allocate over 2 GB
  # is a finding. -timeout: one input taking over 10 s is a finding (a hang or super-linear time).
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$BUILD_DIR/fuzz/${h}_fuzzer" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$seeds" \
    >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  ft=$( (grep -o 'ft: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $h ok: ${execs:-?} runs in ${SECONDS_EACH} s (${speed:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus $corpus"
  else
    echo "fuzz: $h FAILED (exit $rc); log $log, reproducer in $crashes/:" >&2
    grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written' "$log" | head -20 >&2 || true
    failed+=("$h")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#HARNESSES[@]} harnesses ran ${SECONDS_EACH} s each without a finding"
