#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole suite
# (C++ unit tests, CLI end-to-end, the Python cross-check against the official
# safetensors package and numpy). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
# MPI is installed above: required, so that its tests cannot skip unseen.
scripts/build.sh -DWEIGHTDIFF_TESTS=ON -DWEIGHTDIFF_PYTHON_TESTS=ON -DWEIGHTDIFF_MPI=ON
ctest --test-dir build --output-on-failure --no-tests=error -j"$(nproc)"
# The installed package works from outside the tree (find_package(weightdiff)).
scripts/check_install.sh
