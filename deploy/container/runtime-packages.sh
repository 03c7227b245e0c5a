#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries BINARY loads, one per line, sorted:
# what the Dockerfile's runtime stage installs instead of the -dev packages and compilers.
#   bash deploy/container/runtime-packages.sh build/cli/r1
# Exit 1 when a library belongs to no package (it would be missing at run time) or ldd fails.
# R1_UNPACKAGED: colon-separated path prefixes whose libraries the image ships by other means
# (Dockerfile.cuda: the LibTorch archive, the CUDA base image); they are skipped.
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
# One dpkg-query for all libraries (it reads the whole package database on every call); Debian 12
# merges /lib into /usr/lib but packages record either spelling, so the misses get a second try.
mapfile -t all_paths < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$libs" |
  xargs -r realpath | sort -u)
paths=()
IFS=: read -r -a unpackaged <<<"${R1_UNPACKAGED:-}"
for p in "${all_paths[@]}"; do
  skip=0
  for prefix in "${unpackaged[@]}"; do
    [ -n "$prefix" ] && [[ "$p" == "$prefix"* ]] && skip=1
  done
  [ "$skip" -eq 0 ] && paths+=("$p")
done
owners() { dpkg-query -S "$@" 2>/dev/null || true; }  # "pkg[:arch][, pkg2]: /path" per found path
found="$(owners "${paths[@]}")"
missing=()
for p in "${paths[@]}"; do
  grep -qF ": $p" <<<"$found" || missing+=("$p")
done
status=0
if [ ${#missing[@]} -gt 0 ]; then
  found="$found"$'\n'"$(owners "${missing[@]#/usr}")"
  for p in "${missing[@]}"; do
    if ! grep -qF ": ${p#/usr}" <<<"$found"; then
      echo "runtime-packages.sh: $p belongs to no Debian package" >&2
      status=1
    fi
  done
fi
# "libfoo1:amd64: /usr/lib/..." -> "libfoo1"; "a, b: path" (a path two packages share) -> "a".
grep -v -e '^$' -e '^diversion ' <<<"$found" | sed -e 's/: .*//' -e 's/,.*//' -e 's/:.*//' | sort -u
exit "$status"
