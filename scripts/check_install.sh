#!/usr/bin/env bash
# Installs build/ into a scratch prefix and builds and runs tests/install's
# consumer against it with find_package(weightdiff): the installed package
# (headers, library, exported targets, dependencies) works from outside.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install build --prefix "$work/prefix" >/dev/null
cmake -S tests/install -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null
out=$("$work/build/consumer")
echo "$out"
# The installed package has every backend the build has (the CUDA backend
# registers itself: a link that dropped it would still build and run).
want=$(build/weightdiff --version | sed -n 's/.*(backends: \([^;)]*\).*/\1/p')  # '; mpirun' is the CLI's, not the library's
got=$(printf '%s\n' "$out" | sed -n 's/^backends: //p')
if [ "$got" != "$want" ]; then
  echo "check_install: the installed library has backends '$got', the build has '$want'" >&2
  exit 1
fi
echo "check_install: consumer built against the installed prefix and passed (backends: $got)"
