#!/usr/bin/env bash
# Benchmark weightdiff against the I/O floor and the numpy baseline on one
# synthetic checkpoint pair, all in one run. See bench/README.md.
#
#   bench/run_bench.sh [--size 2GiB] [--dtype bf16] [--mix llm] [--threads N]
#                      [--repeat 3] [--numpy-repeat 1] [--stat median|min]
#                      [--backend cpu] [--bin build/weightdiff] [--no-numpy]
#                      [--verify] [--scratch /tmp/weightdiff-bench]
#                      [--results FILE] [--seed 0] [--perturb 0.5]
#                      [--wd-args '...'] [--baseline-bin OLD/weightdiff]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

size=2GiB dtype=bf16 mix=llm seed=0 perturb=0.5
threads=$(nproc) repeat=3 numpy_repeat=1 stat=median backend=cpu
bin=$repo/build/weightdiff scratch=/tmp/weightdiff-bench results=
run_numpy=1 verify=0 wd_args= baseline_bin=
python=${PYTHON:-python3}

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --size) size=$2; shift ;;
    --dtype) dtype=$2; shift ;;
    --mix) mix=$2; shift ;;
    --seed) seed=$2; shift ;;
    --perturb) perturb=$2; shift ;;
    --threads) threads=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --numpy-repeat) numpy_repeat=$2; shift ;;
    --stat) stat=$2; shift ;;
    --backend) backend=$2; shift ;;
    --bin) bin=$2; shift ;;
    --scratch) scratch=$2; shift ;;
    --results) results=$2; shift ;;
    --wd-args) wd_args=$2; shift ;;
    --baseline-bin) baseline_bin=$2; shift ;;
    --no-numpy) run_numpy=0 ;;
    --verify) verify=1 ;;
    -h|--help) usage 0 ;;
    *) echo "run_bench: unknown option $1" >&2; usage 2 >&2 ;;
  esac
  shift
done
[[ $stat == median || $stat == min ]] || { echo "run_bench: --stat is median or min" >&2; exit 2; }
[[ $repeat -ge 1 && $numpy_repeat -ge 0 ]] || { echo "run_bench: bad --repeat/--numpy-repeat" >&2; exit 2; }
((run_numpy)) || numpy_repeat=0
mkdir -p "$scratch"
results=${results:-$scratch/results.jsonl}
log() { printf 'run_bench: %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time for peak RSS"
  { apt-get install -y time >/dev/null 2>&1 || { sudo -n apt-get install -y time; } >/dev/null 2>&1; } || true
fi
[[ -x /usr/bin/time ]] || { echo "run_bench: /usr/bin/time is needed (apt-get install time)" >&2; exit 2; }
[[ -x $bin ]] || { echo "run_bench: $bin not found; build it (cmake -S . -B build && cmake --build build -j2) or pass --bin" >&2; exit 2; }

io_floor=$repo/build/bench/weightdiff_io_floor
if [[ ! -x $io_floor || $io_floor -ot $here/io_floor.cpp ]]; then
  io_floor=$scratch/weightdiff_io_floor
  if [[ ! -x $io_floor || $io_floor -ot $here/io_floor.cpp ]]; then
    log "compiling $io_floor"
    "${CXX:-g++}" -O2 -std=c++20 -pthread "$here/io_floor.cpp" -o "$io_floor"
  fi
fi

# --- the pair --------------------------------------------------------------
pair=$scratch/pair-$size-$dtype-${mix//:/_}-s$seed-p$perturb
if [[ ! -f $pair/pair.json ]]; then   # pair.json is written last: its presence means complete
  log "generating $pair"
  "$python" "$here/gen_pair.py" "$pair" --size "$size" --dtype "$dtype" --mix "$mix" \
    --seed "$seed" --perturb "$perturb"
fi
A=$pair/A.safetensors B=$pair/B.safetensors
input_bytes=$(($(stat -c %s "$A") + $(stat -c %s "$B")))
avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if ((input_bytes / 1024 > avail_kib * 8 / 10)); then
  log "warning: the inputs ($((input_bytes >> 20)) MiB) may not stay in the page cache ($((avail_kib >> 10)) MiB available); times include disk reads"
fi
log "warming the page cache"
cat "$A" "$B" >/dev/null

# --- runs ------------------------------------------------------------------
runs=$scratch/runs.tsv
: >"$runs"
wd_json=$scratch/weightdiff.json
# measure NAME RUN OUTFILE CMD...: one timed run, appended to $runs as
# name, run, wall seconds (ns clock), peak RSS KiB, exit status.
measure() {
  local name=$1 run=$2 out=$3; shift 3
  local tfile=$scratch/time.txt t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %M' -o "$tfile" "$@" >"$out" 2>"$out.err" || rc=$?
  t1=$(date +%s%N)
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$run" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}')" \
    "$(tail -n1 "$tfile" | awk '{print $2}')" "$rc" >>"$runs"
  local tool=0
  [[ $name == weightdiff || $name == baseline ]] && tool=1
  if ((tool && rc >= 2 || !tool && rc != 0)); then
    log "$name failed (exit $rc):"; tail -n5 "$out.err" >&2
  fi
}

wd_cmd=("$bin" "$A" "$B" --backend "$backend" --threads "$threads" -q --json "$wd_json")
# shellcheck disable=SC2206
[[ -n $wd_args ]] && wd_cmd+=($wd_args)
log "pair: $((input_bytes >> 20)) MiB of input; $repeat run(s) each ($numpy_repeat for numpy), $stat reported"
log "weightdiff: ${wd_cmd[*]}"
base_cmd=()
if [[ -n $baseline_bin ]]; then
  [[ -x $baseline_bin ]] || { echo "run_bench: --baseline-bin $baseline_bin not found" >&2; exit 2; }
  base_cmd=("$baseline_bin" "$A" "$B" --backend "$backend" --threads "$threads" -q --json "$scratch/baseline.json")
  # shellcheck disable=SC2206
  [[ -n $wd_args ]] && base_cmd+=($wd_args)
  log "baseline: ${base_cmd[*]}"
fi
for ((r = 1; r <= repeat || r <= numpy_repeat; r++)); do
  if ((r <= repeat)); then
    measure io_floor "$r" "$scratch/io_floor.out" "$io_floor" --threads "$threads" --json "$A" "$B"
    measure weightdiff "$r" "$scratch/weightdiff.out" "${wd_cmd[@]}"
    ((${#base_cmd[@]})) && measure baseline "$r" "$scratch/baseline.out" "${base_cmd[@]}"
  fi
  if ((r <= numpy_repeat)); then
    measure numpy "$r" "$scratch/numpy.out" "$python" "$here/numpy_baseline.py" "$A" "$B" -q
  fi
done

verify_rc=
if ((verify)); then
  log "verifying $wd_json against numpy (untimed)"
  verify_rc=0
  "$python" "$here/numpy_baseline.py" "$A" "$B" -q --compare "$wd_json" >&2 || verify_rc=$?
fi

# --- table and JSON lines ---------------------------------------------------
RUNS=$runs RESULTS=$results PAIR=$pair STAT=$stat INPUT_BYTES=$input_bytes THREADS=$threads \
BACKEND=$backend REPO=$repo VERIFY_RC=$verify_rc WD_CMD="${wd_cmd[*]}" IO_FLOOR=$io_floor \
BASE_CMD="${base_cmd[*]}" \
"$python" - <<'EOF'
import json, os, platform, socket, statistics, subprocess, time

env = os.environ
stat = env["STAT"]
input_bytes = int(env["INPUT_BYTES"])
pair = json.load(open(os.path.join(env["PAIR"], "pair.json")))
runs = {}
for line in open(env["RUNS"]):
    name, run, wall, rss, rc = line.rstrip("\n").split("\t")
    ok = int(rc) == 0 or (name in ("weightdiff", "baseline") and int(rc) == 1)  # 1 = differences found
    runs.setdefault(name, []).append({"run": int(run), "seconds": float(wall),
                                      "rss_mib": int(rss) / 1024 if rss else None, "exit": int(rc), "ok": ok})

def pick(values):
    return statistics.median(values) if stat == "median" else min(values)

summary = {}
for name, rs in runs.items():
    good = [r for r in rs if r["ok"]]
    if good:
        summary[name] = {"seconds": pick([r["seconds"] for r in good]),
                         "rss_mib": max(r["rss_mib"] or 0 for r in good)}

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

try:
    rev = subprocess.run(["git", "-C", env["REPO"], "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or None
except OSError:
    rev = None
common = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(), "cpu": cpu_model(),
          "nproc": os.cpu_count(), "git": rev, "stat": stat, "size": pair["file_bytes_a"], "dtype": pair["dtype"],
          "mix": pair["mix"], "tensors": pair["tensors"], "perturbed_tensors": pair["perturbed_tensors"],
          "input_bytes": input_bytes, "threads": int(env["THREADS"]), "backend": env["BACKEND"]}
commands = {"io_floor": f"{env['IO_FLOOR']} --threads {env['THREADS']} --json A B", "weightdiff": env["WD_CMD"],
            "numpy": "python3 bench/numpy_baseline.py A B -q", "baseline": env.get("BASE_CMD", "")}
labels = {"io_floor": f"I/O floor ({env['THREADS']} threads)", "weightdiff": f"weightdiff --backend {env['BACKEND']}",
          "numpy": "numpy baseline", "baseline": "baseline (--baseline-bin)"}
floor = summary.get("io_floor", {}).get("seconds")
numpy = summary.get("numpy", {}).get("seconds")

print(f"\npair: {pair['tensors']} tensors ({pair['perturbed_tensors']} perturbed), {pair['dtype']}, mix {pair['mix']}, "
      f"{input_bytes / 2**20:.0f} MiB of input (A + B); page cache warm; "
      f"{stat} of {'/'.join(str(len(runs[n])) for n in runs)} run(s); 1 GB = 1e9 bytes")
head = f"{'name':<28} {'seconds':>9} {'input GB/s':>11} {'vs numpy':>9} {'% of I/O floor':>15} {'peak RSS MiB':>13}"
print(head)
print("-" * len(head))
with open(env["RESULTS"], "a") as out:
    for name in ("io_floor", "weightdiff", "baseline", "numpy"):
        if name not in runs:
            continue
        s = summary.get(name)
        row = {**common, "name": name, "command": commands[name], "runs": runs[name]}
        if s is None:
            print(f"{labels[name]:<28} {'failed':>9}")
            row["failed"] = True
        else:
            sec = s["seconds"]
            row.update(seconds=round(sec, 4), gbps=round(input_bytes / sec / 1e9, 4),
                       vs_numpy=round(numpy / sec, 2) if numpy else None,
                       pct_io_floor=round(100 * floor / sec, 1) if floor else None, peak_rss_mib=round(s["rss_mib"], 1))
            if name == "weightdiff" and env.get("VERIFY_RC"):
                row["verified_against_numpy"] = env["VERIFY_RC"] == "0"
            vs = f"{row['vs_numpy']:.1f}x" if row["vs_numpy"] else "-"
            pct = f"{row['pct_io_floor']:.1f}%" if row["pct_io_floor"] else "-"
            print(f"{labels[name]:<28} {sec:>9.3f} {row['gbps']:>11.3f} {vs:>9} {pct:>15} {row['peak_rss_mib']:>13.1f}")
        out.write(json.dumps(row) + "\n")
if "baseline" in summary and "weightdiff" in summary:
    print(f"weightdiff / baseline seconds: {summary['weightdiff']['seconds'] / summary['baseline']['seconds']:.3f} "
          f"(same run, interleaved; < 1 = faster)")
if env.get("VERIFY_RC"):
    print(f"weightdiff vs numpy metrics: {'agree' if env['VERIFY_RC'] == '0' else 'DISAGREE (see above)'}")
print(f"results appended to {env['RESULTS']}")
failed = [n for n in runs if n not in summary] or (env.get("VERIFY_RC") not in (None, "", "0"))
raise SystemExit(1 if failed else 0)
EOF
