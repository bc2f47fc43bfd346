#!/usr/bin/env bash
# The hostile-input checks CI runs after scripts/test.sh (issue 6):
#   1. the whole test suite built with clang + AddressSanitizer +
#      UndefinedBehaviorSanitizer (the library instrumented too, CUDA off);
#   2. each libFuzzer harness (tests/fuzz) for FUZZ_SECONDS (default 60),
#      seeded with files written by the official safetensors/onnx/gguf packages,
#      plus every committed regression input (tests/fuzz/regressions/).
# Usage: scripts/sanitize.sh [FUZZ_SECONDS]   (0 = build and test only)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-asan
scripts/install_deps.sh

t0=$SECONDS
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEIGHTDIFF_FUZZ=ON -DWEIGHTDIFF_CUDA=OFF -DWEIGHTDIFF_BENCH=OFF \
  -DWEIGHTDIFF_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "sanitize: build $((SECONDS - t0)) s"

# handle_sigbus=0: our own SIGBUS guard (a file truncated while mapped) must
# see the signal, not ASan. Leaks: a file changing mid-read abandons the
# reduction's frames on the way to exit 2 (siglongjmp), by design.
export ASAN_OPTIONS=detect_leaks=0:handle_sigbus=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
t0=$SECONDS
# The sparse multi-GB tests read gigabytes: too slow instrumented; the
# release build runs them.
ctest --test-dir "$build" --output-on-failure --no-tests=error -j"$(nproc)" -E '^Slow'
echo "sanitize: tests $((SECONDS - t0)) s"

fuzz="$build/fuzz"
python3 tests/fuzz/make_seeds.py "$fuzz/seeds"
for h in safetensors index onnx gguf; do
  bin="$build/tests/fuzz/fuzz_$h"
  regressions=tests/fuzz/regressions/$h
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    "$bin" -rss_limit_mb=2048 -malloc_limit_mb=1024 "$regressions"/*
  fi
  [ "$seconds" -gt 0 ] || continue
  mkdir -p "$fuzz/corpus/$h" "$fuzz/findings"
  t0=$SECONDS
  # The allocation cap: no input of <= 64 KiB may make us allocate 1 GiB.
  "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$fuzz/findings/$h-" "$fuzz/corpus/$h" "$fuzz/seeds/$h" 2>"$fuzz/$h.log" ||
    { tail -n 60 "$fuzz/$h.log"; echo "sanitize: fuzz_$h found a crash (input in $fuzz/findings)"; exit 1; }
  echo "sanitize: fuzz_$h $((SECONDS - t0)) s, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$fuzz/$h.log" | grep -o '[0-9]*$') runs, clean"
done
