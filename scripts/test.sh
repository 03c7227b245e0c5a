#!/usr/bin/env bash
# The README's test command: set up, build, and run the whole GoogleTest suite through CTest.
# `scripts/test.sh -LE multiprocess` passes its arguments on to ctest (here: skip mpirun tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R1_SETUP_TEST_TOOLS=1 bash scripts/setup.sh
cd "${R1_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j "${R1_TEST_JOBS:-2}" "$@"
