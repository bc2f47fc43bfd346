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
"$work/build/consumer"
echo "check_install: consumer built against the installed prefix and passed"
