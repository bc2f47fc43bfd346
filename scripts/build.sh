#!/usr/bin/env bash
# Configures and builds weightdiff into build/ (Release). Extra arguments are
# passed to cmake's configure step, e.g. -DWEIGHTDIFF_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
# nvcc is often installed but not on PATH; CMake finds it through CUDACXX.
if ! command -v nvcc >/dev/null && [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
