#!/usr/bin/env bash
# Installs what r1 needs from Debian 12 (only what is missing), configures and builds it in
# build/. Sourced by scripts/run.sh and scripts/test.sh; safe to run again (it only rebuilds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

R1_PACKAGES=(build-essential cmake ninja-build ccache pkg-config libtorch-dev libopenblas0
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libyaml-cpp-dev
  libabsl-dev libopenmpi-dev openmpi-bin libgtest-dev libgmock-dev nlohmann-json3-dev libicu-dev
  clang libclang-rt-14-dev)

# The test command (scripts/test.sh sets R1_SETUP_TEST_TOOLS=1) also gets headless Chromium, for
# the report's browser test (tests/cli/report_browser_test.cc); the run command does not need it.
if [ "${R1_SETUP_TEST_TOOLS:-0}" = "1" ]; then
  R1_PACKAGES+=(chromium)
fi

missing=()
for p in "${R1_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "r1 setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_DIR="${R1_BUILD_DIR:-build}"
JOBS="${R1_JOBS:-$(nproc)}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j "$JOBS" ${R1_BUILD_TARGET:+--target $R1_BUILD_TARGET}
