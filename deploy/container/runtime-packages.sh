#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries BINARY loads, one per line, sorted:
# what the Dockerfile's runtime stage installs instead of the -dev packages and compilers.
#   bash deploy/container/runtime-packages.sh build/cli/r1
# Exit 1 when a library belongs to no package (it would be missing at run time) or ldd fails.
set -euo pipefail
binary="${1:?usage: runtime-packages.sh BINARY}"
[ -f "$binary" ] || { echo "runtime-packages.sh: no such file: $binary" >&2; exit 1; }
command -v dpkg-query >/dev/null || { echo "runtime-packages.sh: needs dpkg (Debian)" >&2; exit 1; }

libs="$(ldd "$binary")" || { echo "runtime-packages.sh: ldd $binary failed" >&2; exit 1; }
if grep -q "not found" <<<"$libs"; then
  echo "runtime-packages.sh: $binary has unresolved libraries:" >&2
  grep "not found" <<<"$libs" >&2
  exit 1
fi
status=0
packages=()
while read -r path; do
  real="$(realpath "$path")"
  # Debian 12 merges /lib into /usr/lib, but packages record either spelling.
  owner="$(dpkg-query -S "$real" 2>/dev/null || dpkg-query -S "${real#/usr}" 2>/dev/null || true)"
  if [ -z "$owner" ]; then
    echo "runtime-packages.sh: $path ($real) belongs to no Debian package" >&2
    status=1
    continue
  fi
  owner="${owner%%:*}"              # "libfoo1:amd64: /usr/lib/..." -> "libfoo1"
  packages+=("${owner%%,*}")       # "a, b: path" (shared by two packages) -> "a"
done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$libs")
printf '%s\n' "${packages[@]}" | sort -u
exit "$status"
