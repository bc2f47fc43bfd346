#!/usr/bin/env bash
# A GGUF block type against F16 on the CPU (issue 12's bench line), side by
# side in one run with its baselines: the I/O floor of the same bytes, and
# the F16-vs-F16 diff of the same A. See bench/README.md.
#
#   bench/quant_bench.sh [--size 2GiB] [--type Q4_K] [--threads N] [--repeat 3]
#                        [--bin build/weightdiff] [--scratch /tmp/weightdiff-qbench]
#                        [--baseline-bin OLD/weightdiff]
#
# A is an F16 safetensors of --size (bench/gen_pair.py, 64 equal tensors of
# 1024 columns), B a GGUF of the same names and shapes in --type
# (bench/gen_quant_gguf.py). Reports the median seconds, the input GB/s
# (A + B bytes / s; 1 GB = 1e9 bytes), the element-pair rate, and each
# diff's time as a percentage of the I/O floor. --baseline-bin adds the same
# Q4_K-vs-F16 diff by another build, in the same loop (before/after ratios).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
size=2GiB type=Q4_K threads=$(nproc) repeat=3
bin=$repo/build/weightdiff baseline_bin= scratch=/tmp/weightdiff-qbench python=${PYTHON:-python3}
while (($#)); do
  case $1 in
    --size) size=$2; shift ;;
    --type) type=$2; shift ;;
    --threads) threads=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --bin) bin=$2; shift ;;
    --baseline-bin) baseline_bin=$2; shift ;;
    --scratch) scratch=$2; shift ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quant_bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf 'quant_bench: %s\n' "$*" >&2; }
[[ -x $bin ]] || { echo "quant_bench: $bin not found (build it or pass --bin)" >&2; exit 2; }
io_floor=$repo/build/bench/weightdiff_io_floor
if [[ ! -x $io_floor ]]; then
  io_floor=$scratch/weightdiff_io_floor
  mkdir -p "$scratch"
  [[ -x $io_floor ]] || "${CXX:-g++}" -O2 -std=c++20 -pthread "$here/io_floor.cpp" -o "$io_floor"
fi

pair=$scratch/pair-$size-f16
if [[ ! -f $pair/pair.json ]]; then
  log "generating $pair"
  "$python" "$here/gen_pair.py" "$pair" --size "$size" --dtype f16 --mix uniform:64 --perturb 0.5 >&2
fi
A=$pair/A.safetensors F16=$pair/B.safetensors Q=$pair/B-$type.gguf
if [[ ! -f $Q ]]; then
  log "generating $Q"
  "$python" "$here/gen_quant_gguf.py" "$A" "$Q.tmp" --type "$type" && mv "$Q.tmp" "$Q"
fi
log "warming the page cache"
cat "$A" "$F16" "$Q" >/dev/null

runs=$scratch/runs.tsv
: >"$runs"
measure() {  # NAME BYTES CMD...: one timed run appended to $runs
  local name=$1 bytes=$2 t0 t1 rc=0; shift 2
  t0=$(date +%s%N)
  "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" || rc=$?
  t1=$(date +%s%N)
  ((rc <= 1)) || { log "$name failed (exit $rc)"; tail -n3 "$scratch/$name.err" >&2; exit 2; }
  printf '%s\t%s\t%s\n' "$name" "$bytes" "$(((t1 - t0) / 1000))" >>"$runs"
}
bytes_q=$(($(stat -c %s "$A") + $(stat -c %s "$Q")))
bytes_f=$(($(stat -c %s "$A") + $(stat -c %s "$F16")))
for ((r = 1; r <= repeat; r++)); do
  measure "floor_${type}" "$bytes_q" "$io_floor" --threads "$threads" "$A" "$Q"
  measure "wd_${type}_vs_f16" "$bytes_q" "$bin" "$A" "$Q" --backend cpu --threads "$threads" -q --json /dev/null
  [[ -n $baseline_bin ]] && measure "baseline_${type}_vs_f16" "$bytes_q" "$baseline_bin" "$A" "$Q" \
    --backend cpu --threads "$threads" -q --json /dev/null
  measure floor_f16 "$bytes_f" "$io_floor" --threads "$threads" "$A" "$F16"
  measure wd_f16_vs_f16 "$bytes_f" "$bin" "$A" "$F16" --backend cpu --threads "$threads" -q --json /dev/null
done

RUNS=$runs PAIR=$pair TYPE=$type THREADS=$threads "$python" - <<'PY'
import json, os, statistics
runs = {}
for line in open(os.environ["RUNS"]):
    name, nbytes, us = line.split("\t")
    runs.setdefault(name, (int(nbytes), []))[1].append(int(us) / 1e6)
pair = json.load(open(os.path.join(os.environ["PAIR"], "pair.json")))
elems = pair["elements"] if "elements" in pair else None
t = os.environ["TYPE"]
med = {n: statistics.median(s) for n, (_, s) in runs.items()}
print(f"\n{t} vs F16 on the CPU, {os.environ['THREADS']} threads, page cache warm, median of "
      f"{len(next(iter(runs.values()))[1])}; 1 GB = 1e9 bytes")
head = f"{'run':<22} {'seconds':>8} {'input GB/s':>11} {'G elem pairs/s':>15} {'% of its floor':>15}"
print(head + "\n" + "-" * len(head))
for n, (nbytes, _) in runs.items():
    diff = not n.startswith("floor_")
    floor = med.get("floor_" + (t if t in n else "f16")) if diff else None
    rate = f"{elems / med[n] / 1e9:15.2f}" if elems and diff else f"{'':>15}"
    pct = f"{100 * floor / med[n]:14.0f}%" if floor else f"{'':>15}"
    print(f"{n:<22} {med[n]:8.3f} {nbytes / med[n] / 1e9:11.2f} {rate} {pct}")
if f"wd_{t}_vs_f16" in med and "wd_f16_vs_f16" in med:
    print(f"{t} vs F16 takes {med[f'wd_{t}_vs_f16'] / med['wd_f16_vs_f16']:.2f}x the time of F16 vs F16")
if f"baseline_{t}_vs_f16" in med:
    print(f"this build takes {med[f'wd_{t}_vs_f16'] / med[f'baseline_{t}_vs_f16']:.2f}x the baseline build's time")
PY
