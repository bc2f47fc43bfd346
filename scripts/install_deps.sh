#!/usr/bin/env bash
# Installs what weightdiff needs to build and test, only what is missing:
# Debian packages via apt, Python test tooling via pip. Idempotent and quick
# when everything is already there. Run as root (or with sudo available).
set -euo pipefail

DEBIAN_PACKAGES=(
  build-essential cmake pkg-config git time
  libgtest-dev
  nlohmann-json3-dev libcli11-dev libtbb-dev libhwy-dev
  libprotobuf-dev protobuf-compiler libonnx-dev
  libre2-dev
  chromium fonts-liberation
  clang libclang-rt-dev
  python3 python3-pip python3-venv
  # The Python package (python/): the binding's headers and Python's own.
  pybind11-dev libdlpack-dev python3-dev
  # mpirun -np N weightdiff A B (WEIGHTDIFF_MPI; tests/python/test_mpi.py).
  libopenmpi-dev openmpi-bin
)
# pip names; PYTHON_IMPORTS: the same modules as `import` names them.
# scikit-build-core builds the wheel (`pip wheel . --no-build-isolation` in
# the tests); pandas is what DiffResult.to_pandas() returns.
PYTHON_MODULES=(numpy safetensors ml_dtypes onnx pytest gguf scikit-build-core pandas)
PYTHON_IMPORTS=(numpy safetensors ml_dtypes onnx pytest gguf scikit_build_core pandas)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/pip may come from elsewhere (pyenv, a venv): don't install Debian's then.
if command -v python3 >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in python3) ;; python3-pip) python3 -m pip --version >/dev/null 2>&1 || filtered+=("$p") ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "install_deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

import_check="import $(IFS=,; echo "${PYTHON_IMPORTS[*]}")"
if ! python3 -c "$import_check" 2>/dev/null; then
  echo "install_deps: pip install ${PYTHON_MODULES[*]}"
  # Debian's own python3 is "externally managed" (PEP 668).
  python3 -m pip install -q "${PYTHON_MODULES[@]}" 2>/dev/null ||
    python3 -m pip install -q --break-system-packages "${PYTHON_MODULES[@]}"
fi
