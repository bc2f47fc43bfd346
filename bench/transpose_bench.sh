#!/usr/bin/env bash
# Transposed pairs against the same pairs untransposed, side by side in one
# run (issue 15 item 1): A against B (same layout) and A against Bᵀ (every
# 2-D tensor stored transposed), both from the page cache. Prints the median
# wall time and peak RSS of each and the ratio. See bench/README.md.
#
#   bench/transpose_bench.sh [--dtype bf16] [--tensors 16] [--rows 4096] [--cols 4096]
#                            [--repeat 3] [--threads N] [--bin build/weightdiff]
#                            [--scratch /tmp/weightdiff-transpose]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
dtype=bf16 tensors=16 rows=4096 cols=4096 repeat=3 threads=$(nproc)
bin=$repo/build/weightdiff scratch=/tmp/weightdiff-transpose
python=${PYTHON:-python3}
while (($#)); do
  case $1 in
    --dtype) dtype=$2; shift ;;
    --tensors) tensors=$2; shift ;;
    --rows) rows=$2; shift ;;
    --cols) cols=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --threads) threads=$2; shift ;;
    --bin) bin=$2; shift ;;
    --scratch) scratch=$2; shift ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "transpose_bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $bin ]] || { echo "transpose_bench: $bin not found (build first or pass --bin)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "transpose_bench: /usr/bin/time is needed (apt-get install time)" >&2; exit 2; }
mkdir -p "$scratch"

# The three models, written once per shape and dtype (fixed seed).
tag=${dtype}_${tensors}x${rows}x${cols}
if [[ ! -f $scratch/$tag.bt.safetensors ]]; then
  "$python" - "$scratch/$tag" "$dtype" "$tensors" "$rows" "$cols" <<'EOF'
import sys
import ml_dtypes
import numpy as np
from safetensors.numpy import save_file
prefix, dtype, n, rows, cols = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
dt = {"bf16": ml_dtypes.bfloat16, "f16": np.float16, "f32": np.float32}[dtype]
rng = np.random.default_rng(15)
a, b, bt = {}, {}, {}
for i in range(n):
    x = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02)
    y = x + (rng.standard_normal((rows, cols), dtype=np.float32) * 1e-4)
    name = f"model.layers.{i}.mlp.up_proj.weight"
    a[name], b[name] = x.astype(dt), y.astype(dt)
    bt[name] = np.ascontiguousarray(b[name].T)
save_file(a, prefix + ".a.safetensors")
save_file(b, prefix + ".b.safetensors")
save_file(bt, prefix + ".bt.safetensors")
EOF
fi
a=$scratch/$tag.a.safetensors

run() {  # prints "seconds rss_kib" (weightdiff exits 1: the values differ)
  /usr/bin/time -o "$scratch/time.txt" -f '%e %M' "$bin" --backend cpu --threads "$threads" -q \
    "$a" "$1" --json /dev/null 2>/dev/null || true
  tail -1 "$scratch/time.txt"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

cat "$a" "$scratch/$tag.b.safetensors" "$scratch/$tag.bt.safetensors" >/dev/null  # page cache
declare -a plain_s plain_m trans_s trans_m
for ((i = 0; i < repeat; i++)); do  # interleaved: both see the same machine state
  read -r s m < <(run "$scratch/$tag.b.safetensors"); plain_s+=("$s"); plain_m+=("$m")
  read -r s m < <(run "$scratch/$tag.bt.safetensors"); trans_s+=("$s"); trans_m+=("$m")
done
ps=$(printf '%s\n' "${plain_s[@]}" | median) ts=$(printf '%s\n' "${trans_s[@]}" | median)
pm=$(printf '%s\n' "${plain_m[@]}" | median) tm=$(printf '%s\n' "${trans_m[@]}" | median)
bytes=$(( $(stat -c %s "$a") * 2 ))
printf 'transpose_bench: %s, %d tensors of %dx%d, %d threads, median of %d\n' \
  "$dtype" "$tensors" "$rows" "$cols" "$threads" "$repeat"
printf '  %-14s %8s %10s %12s\n' case seconds GB/s peak_RSS_MiB
awk -v s="$ps" -v b="$bytes" -v m="$pm" 'BEGIN {printf "  %-14s %8.2f %10.2f %12.0f\n", "A vs B", s, b / s / 1e9, m / 1024}'
awk -v s="$ts" -v b="$bytes" -v m="$tm" 'BEGIN {printf "  %-14s %8.2f %10.2f %12.0f\n", "A vs B^T", s, b / s / 1e9, m / 1024}'
awk -v p="$ps" -v t="$ts" 'BEGIN {printf "  time ratio transposed / plain: %.2fx\n", t / p}'
