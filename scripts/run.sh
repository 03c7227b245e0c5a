#!/usr/bin/env bash
# The README's run command: set up, build, and run the main job (`r1 run`) on the embedded
# default config. Arguments are passed on to `r1 run` (e.g. --run-dir DIR, --resume DIR).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
R1_BUILD_TARGET=r1 bash scripts/setup.sh
exec "${R1_BUILD_DIR:-build}/cli/r1" run "$@"
