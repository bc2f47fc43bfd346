#!/usr/bin/env bash
# Builds the CUDA backend here (nvcc, sm_80 + sm_90 SASS) and assembles
# build-cuda/device_check: bin/ (weightdiff, weightdiff_tests,
# weightdiff_cuda_floors, weightdiff_cuda_staging) and lib/ (the non-glibc shared libraries they need,
# from ldd: libonnx_proto, libprotobuf, libtbb, libstdc++, ...). Carry that
# folder to the device machine and run bench/device_check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-cuda}
CUDACXX=${CUDACXX:-/usr/local/cuda/bin/nvcc} cmake -S . -B "$BUILD" -DWEIGHTDIFF_CUDA=ON \
  -DWEIGHTDIFF_BENCH=ON -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD" -j2 --target weightdiff weightdiff_tests weightdiff_cuda_floors \
  weightdiff_cuda_staging
PKG="$BUILD/device_check"
rm -rf "$PKG"; mkdir -p "$PKG/bin" "$PKG/lib"
cp "$BUILD/weightdiff" "$BUILD/tests/weightdiff_tests" "$BUILD/bench/weightdiff_cuda_floors" \
  "$BUILD/bench/weightdiff_cuda_staging" "$PKG/bin/"
strip "$PKG"/bin/* || true
# glibc itself stays behind: it must be the device machine's.
for exe in "$PKG"/bin/*; do
  ldd "$exe" | awk '/=> \//{print $3}'
done | sort -u | grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' | while read -r lib; do
  cp -L "$lib" "$PKG/lib/"
done
strip --strip-unneeded "$PKG"/lib/* 2>/dev/null || true
du -sh "$PKG"
echo "carry: $PKG; run there: bench/device_check.sh $PKG"
