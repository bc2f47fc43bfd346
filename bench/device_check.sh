#!/usr/bin/env bash
# The CUDA backend's device check: one call on a lent GPU machine, ~5 minutes.
#
# Prepared here by bench/pack_device_check.sh (builds with sm_90 and copies
# the executables plus the shared libraries they need into
# build-cuda/device_check, ~tens of MiB). On the device machine, from the
# repository root, with that folder carried:
#
#   bench/device_check.sh build-cuda/device_check
#
# Steps (details under $OUT, a short table printed last):
#   1. the CUDA tests: weightdiff_tests --gtest_filter='Cuda*', exactly what
#      `ctest -L gpu` runs in a build tree (tests/CMakeLists.txt labels the
#      Cuda* suites gpu; the carried package has no build tree): parity,
#      emulation, plan, CUDA_TRY and the RAII owners
#   2. a ~4 GB bf16 pair (2 GiB per side, llm mix) and 100k tensors x 1k f32,
#      generated with bench/gen_pair.py; page cache warmed
#   3. floors: pinned H2D bandwidth, read-only kernel, diff kernels alone
#      (weightdiff_cuda_floors); the staging path without kernels
#      (weightdiff_cuda_staging: the backend's staging ring over the same
#      files, same chunks and batches, a consumer that launches nothing)
#   4. end to end: weightdiff --backend cuda (best of 3), and --backend cpu
#      once with the JSON reports compared (counts/max/index/histograms exact)
#   5. PyTorch baseline (safetensors.torch.load_file(device="cuda") + torch ops)
#   6. 100k tensors x 1k f32, -q, wall time
set -u
PKG=${1:-build-cuda/device_check}
OUT=${OUT:-/tmp/device_check_out}
WORK=${WORK:-/tmp/wd_device_check}
mkdir -p "$OUT" "$WORK"
# Our carried libraries (Debian 12's libstdc++, protobuf, ...) for our
# binaries only: exported globally they would be loaded by torch and numpy.
wd() { timeout "${WD_TIMEOUT:-240}" env LD_LIBRARY_PATH="$PKG/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
export PYTHONUNBUFFERED=1
BIN="$PKG/bin"
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
row() { printf '%-34s %s\n' "$1" "$2" >> "$OUT/table.txt"; }
: > "$OUT/table.txt"
nvidia-smi --query-gpu=name,driver_version,pcie.link.gen.current,pcie.link.width.current \
  --format=csv > "$OUT/gpu.txt" 2>&1
row "gpu" "$(tail -1 "$OUT/gpu.txt")"
wd "$BIN/weightdiff" --version > "$OUT/version.txt" 2>&1
row "version" "$(head -1 "$OUT/version.txt")"
if ! grep -q cuda "$OUT/version.txt"; then  # a missing library or a build without CUDA: stop now
  env LD_LIBRARY_PATH="$PKG/lib" ldd "$BIN/weightdiff" >> "$OUT/version.txt" 2>&1
  echo "---- weightdiff device check ($OUT): the binary does not run here ----"; cat "$OUT/version.txt"; exit 1
fi

# 1. tests
WD_TIMEOUT=150 wd "$BIN/weightdiff_tests" --gtest_filter='Cuda*' > "$OUT/tests.txt" 2>&1
rc=$?
row "cuda tests (rc=$rc)" "$(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$OUT/tests.txt" | tr '\n' ' ')"

# 2. inputs
timeout 200 python3 bench/gen_pair.py "$WORK/big" --size 2GiB --dtype bf16 --mix llm --seed 1 > "$OUT/gen_big.txt" 2>&1
timeout 200 python3 bench/gen_pair.py "$WORK/many" --size 409600000 --dtype f32 --mix uniform:100000 --seed 2 \
  > "$OUT/gen_many.txt" 2>&1
A="$WORK/big/A.safetensors"; B="$WORK/big/B.safetensors"
BYTES=$(( $(stat -c %s "$A") + $(stat -c %s "$B") ))
cat "$A" "$B" "$WORK"/many/*.safetensors > /dev/null
gbps() { python3 -c "print(f'{$BYTES / $1 / 1e9:.2f}')"; }

# 3. floors
WD_TIMEOUT=120 wd "$BIN/weightdiff_cuda_floors" --mib-per-side 2048 --dtype bf16 > "$OUT/floors.jsonl" 2> "$OUT/floors.err"
field() { python3 -c "import json,sys
for l in open('$OUT/floors.jsonl'):
    r = json.loads(l)
    if r['row'] == '$1': print(r['$2'])"; }
row "pinned H2D GB/s" "$(field h2d gbps)"
row "read-only kernel GB/s" "$(field read_only gbps)"
row "diff kernels GB/s (% of read-only)" "$(field kernel gbps) ($(field kernel pct_of_read_only)%)"
best() {  # best wall seconds of $1 runs of the rest
  local n=$1; shift; local b=""
  for _ in $(seq "$n"); do
    local t0; t0=$(now); "$@" > /dev/null 2>> "$OUT/runs.err"; local t1; t1=$(now)
    local s; s=$(secs "$t0" "$t1"); if [ -z "$b" ] || python3 -c "exit(0 if $s < $b else 1)"; then b=$s; fi
  done; echo "$b"; }
wd "$BIN/weightdiff_cuda_staging" "$A" "$B" > "$OUT/staging.jsonl" 2>> "$OUT/runs.err"
S_COPY=$(best 3 wd "$BIN/weightdiff_cuda_staging" "$A" "$B")
row "staging floor (no kernels) s, GB/s" "$S_COPY, $(gbps "$S_COPY")"

# 4. end to end
S_E2E=$(best 3 wd "$BIN/weightdiff" "$A" "$B" --backend cuda -q)
row "weightdiff cuda s, GB/s" "$S_E2E, $(gbps "$S_E2E") ($(python3 -c "print(f'{100*$S_COPY/$S_E2E:.0f}')")% of staging floor)"
wd "$BIN/weightdiff" "$A" "$B" --backend cuda -q --json "$OUT/cuda.json" 2>> "$OUT/runs.err"
wd "$BIN/weightdiff" "$A" "$B" --backend cuda --devices 0,0 -q --json "$OUT/cuda00.json" 2>> "$OUT/runs.err"
T0=$(now); wd "$BIN/weightdiff" "$A" "$B" --backend cpu -q --json "$OUT/cpu.json" 2>> "$OUT/runs.err"; T1=$(now)
row "weightdiff cpu s" "$(secs "$T0" "$T1")"
python3 - "$OUT/cpu.json" "$OUT/cuda.json" "$OUT/cuda00.json" > "$OUT/compare.txt" 2>&1 <<'PY'
import json, math, sys
cpu, gpu, g00 = (json.load(open(p)) for p in sys.argv[1:4])
exact = ["numel", "n_finite", "equal", "mismatched", "nan_a", "nan_b", "inf_a", "inf_b", "max_abs",
         "max_abs_index", "a_at_max_abs", "b_at_max_abs", "max_rel", "min_a", "max_a", "min_b", "max_b",
         "hist_abs_diff", "hist_a", "hist_b"]
bad = 0
for c, g, h in zip(cpu["tensors"], gpu["tensors"], g00["tensors"]):
    if {k: v for k, v in g.items()} != {k: v for k, v in h.items()}:
        bad += 1; print("devices 0 vs 0,0 differ:", g["name"])
    for k in exact:
        if repr(c.get(k)) != repr(g.get(k)):  # repr: -0.0 and 0.0 differ, NaN equals NaN
            bad += 1; print("exact field differs:", c["name"], k, c.get(k), g.get(k))
    for k in ["dot", "sum_sq_a", "sum_sq_b", "sum_sq_diff", "mean_abs", "rmse", "mean_a", "std_a"]:
        x, y = c.get(k), g.get(k)
        if isinstance(x, float) and isinstance(y, float) and abs(x - y) > 1e-8 * max(abs(x), abs(y), 1e-300):
            bad += 1; print("sum differs:", c["name"], k, x, y)
print("tensors", len(cpu["tensors"]), "disagreements", bad)
PY
row "cpu vs cuda vs cuda 0,0 reports" "$(tail -1 "$OUT/compare.txt")"

# 5. PyTorch baseline
timeout 200 python3 bench/torch_baseline.py "$A" "$B" > "$OUT/torch.json" 2> "$OUT/torch.err"
S_TORCH=$(python3 -c "import json; print(f\"{json.load(open('$OUT/torch.json'))['seconds']:.3f}\")" 2>/dev/null || echo nan)
row "pytorch baseline s, GB/s" "$S_TORCH, $(gbps "$S_TORCH" 2>/dev/null) (weightdiff $(python3 -c "print(f'{$S_TORCH/$S_E2E:.1f}')" 2>/dev/null)x faster)"

# 6. many small tensors
S_MANY=$(best 3 wd "$BIN/weightdiff" "$WORK/many/A.safetensors" "$WORK/many/B.safetensors" --backend cuda -q)
row "100k x 1k f32, -q, wall s" "$S_MANY"
S_MANY_CPU=$(best 1 wd "$BIN/weightdiff" "$WORK/many/A.safetensors" "$WORK/many/B.safetensors" --backend cpu -q)
row "  same, --backend cpu, wall s" "$S_MANY_CPU"

echo "---- weightdiff device check ($OUT) ----"
cat "$OUT/table.txt"
