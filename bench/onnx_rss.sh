#!/usr/bin/env bash
# Peak memory of diffing two .onnx files that embed their initializers
# (raw_data inside the protobuf), side by side with the same tensors as
# safetensors files, in one run (issue 3: < 400 MB for 2 x ~600 MB).
#
#   bench/onnx_rss.sh [--mib 600] [--bin build/weightdiff] [--scratch /tmp/weightdiff-onnx-rss]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mib=600 bin=$here/../build/weightdiff scratch=/tmp/weightdiff-onnx-rss
while (($#)); do
  case $1 in
    --mib) mib=$2; shift ;;
    --bin) bin=$2; shift ;;
    --scratch) scratch=$2; shift ;;
    *) sed -n '2,7p' "$0"; exit 2 ;;
  esac
  shift
done
mkdir -p "$scratch"
python3 - "$scratch" "$mib" <<'PY'
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper
from safetensors.numpy import save_file
out, mib = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
n_tensors = 40
rows = mib * 2**20 // 4 // n_tensors // 1024
for side, shift in (("a", 0.0), ("b", 1e-3)):
    arrays = {f"layers.{i}.w": (rng.standard_normal((rows, 1024), dtype=np.float32) + np.float32(shift))
              for i in range(n_tensors)}
    graph = helper.make_graph([], "g", [], [], initializer=[numpy_helper.from_array(v, k) for k, v in arrays.items()])
    onnx.save_model(helper.make_model(graph), f"{out}/{side}.onnx")
    save_file(arrays, f"{out}/{side}.safetensors")
PY
ls -l "$scratch"
measure() {  # label, files...
  local label=$1 best_s= best_kib=
  shift
  for _ in 1 2 3; do
    local line
    line=$( { /usr/bin/time -f "%e %M" "$bin" "$@" --backend cpu -q 2>&1 >/dev/null || true; } | tail -n 1)
    best_s=$(printf '%s\n%s\n' "${best_s:-1e9}" "${line% *}" | sort -g | head -n 1)
    best_kib=$(printf '%s\n%s\n' "${best_kib:-0}" "${line#* }" | sort -g | tail -n 1)
  done
  awk -v l="$label" -v s="$best_s" -v k="$best_kib" \
    'BEGIN { printf "%-12s %8.2f s (min of 3)  peak RSS %7.1f MiB (max of 3)\n", l, s, k / 1024 }'
}
echo "two models of ${mib} MiB each, 40 f32 tensors, warm page cache:"
measure onnx "$scratch/a.onnx" "$scratch/b.onnx"
measure safetensors "$scratch/a.safetensors" "$scratch/b.safetensors"
