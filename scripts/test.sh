#!/usr/bin/env bash
# The README's test command: set up, build, and run the whole GoogleTest suite through CTest.
# `scripts/test.sh -LE multiprocess` passes its arguments on to ctest (here: skip mpirun tests).
# The random-fault soak (label soak, scripts/soak.sh) is left out unless the arguments select
# labels themselves (`scripts/test.sh -L soak`); a given -LE is extended to exclude it too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R1_SETUP_TEST_TOOLS=1 bash scripts/setup.sh
cd "${R1_BUILD_DIR:-build}"
args=()
exclude_soak=1
while (($# > 0)); do
  case "$1" in
    -LE | --label-exclude)
      args+=("$1" "${2:-}|^soak\$")
      exclude_soak=0
      shift 2 || shift
      ;;
    -L | --label-regex)
      args+=("$1" "${2:-}")
      exclude_soak=0
      shift 2 || shift
      ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done
((exclude_soak)) && args+=(-LE '^soak$')
ctest --output-on-failure --timeout 900 -j "${R1_TEST_JOBS:-2}" "${args[@]}"
