#!/usr/bin/env bash
# mpirun -np 2 against one process on the same pair, interleaved in one run
# (issue 13): the single process (all CPUs), mpirun -np 1 (MPI's start-up
# cost) and mpirun -np 2 (two ranks, each its part; rank 0 merges). See
# bench/README.md.
#
#   bench/mpi_bench.sh [--size 2GiB] [--dtype bf16] [--ranks 2] [--repeat 3]
#                      [--bin build/weightdiff] [--scratch /tmp/weightdiff-mpibench]
#                      [--wd-args '--atol 1'] [--bind-to core|none]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
size=2GiB dtype=bf16 ranks=2 repeat=3
bin=$repo/build/weightdiff scratch=/tmp/weightdiff-mpibench python=${PYTHON:-python3}
wd_args= bind=core
while (($#)); do
  case $1 in
    --size) size=$2; shift ;;
    --dtype) dtype=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --bin) bin=$2; shift ;;
    --scratch) scratch=$2; shift ;;
    --wd-args) wd_args=$2; shift ;;
    --bind-to) bind=$2; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mpi_bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf 'mpi_bench: %s\n' "$*" >&2; }
"$bin" --version | grep -q mpirun || { echo "mpi_bench: $bin is built without MPI" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpi_bench: no mpirun (apt-get install openmpi-bin)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
pair=$scratch/pair-$size-$dtype
if [[ ! -f $pair/pair.json ]]; then
  log "generating $pair"
  "$python" "$here/gen_pair.py" "$pair" --size "$size" --dtype "$dtype" >&2
fi
A=$pair/A.safetensors B=$pair/B.safetensors
log "warming the page cache"
cat "$A" "$B" >/dev/null
runs=$scratch/runs.tsv
: >"$runs"
measure() {  # NAME CMD...
  local name=$1 t0 t1 rc=0; shift
  t0=$(date +%s%N)
  "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" || rc=$?
  t1=$(date +%s%N)
  ((rc <= 1)) || { log "$name failed (exit $rc)"; tail -n3 "$scratch/$name.err" >&2; exit 2; }
  printf '%s\t%s\n' "$name" "$(((t1 - t0) / 1000))" >>"$runs"
}
# shellcheck disable=SC2206
extra=($wd_args)
for ((r = 1; r <= repeat; r++)); do
  measure single "$bin" "$A" "$B" --backend cpu -q --json "$scratch/single.json" "${extra[@]}"
  measure mpirun_np1 mpirun -np 1 --bind-to "$bind" "$bin" "$A" "$B" --backend cpu -q \
    --json "$scratch/np1.json" "${extra[@]}"
  measure "mpirun_np$ranks" mpirun -np "$ranks" --bind-to "$bind" "$bin" "$A" "$B" --backend cpu -q \
    --json "$scratch/npN.json" "${extra[@]}"
done
RUNS=$runs BYTES=$(($(stat -c %s "$A") + $(stat -c %s "$B"))) "$python" - <<'PY'
import os, statistics
runs = {}
for line in open(os.environ["RUNS"]):
    name, us = line.split("\t")
    runs.setdefault(name, []).append(int(us) / 1e6)
nbytes = int(os.environ["BYTES"])
med = {n: statistics.median(v) for n, v in runs.items()}
print(f"\nmedian of {len(next(iter(runs.values())))}, page cache warm, {nbytes / 2**20:.0f} MiB of input; 1 GB = 1e9 bytes")
print(f"{'run':<14} {'seconds':>8} {'GB/s':>6} {'vs single':>10}")
for n, s in med.items():
    print(f"{n:<14} {s:8.3f} {nbytes / s / 1e9:6.2f} {s / med['single']:9.2f}x")
PY
