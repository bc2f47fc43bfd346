"""`mpirun -np N weightdiff A B` (issue 13 item 2): every rank computes
part rank+1 of N, rank 0 merges and alone writes. Results (JSON but
summary.seconds and backend.threads — each rank is bound to its own cores —,
CSV byte for byte, exit code) equal the single-process run's for N = 2 and
3; a rank that hits a bad file, or runs on other inputs, makes every rank
exit 2 with one weightdiff line from rank 0 and no report.

Needs a build with WEIGHTDIFF_MPI (scripts/test.sh configures it ON, and
scripts/install_deps.sh installs Open MPI): without one these tests skip,
saying so.
"""

import os
import shutil
import subprocess
import zlib

import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import CRASH_MARKERS, load_report, run_wd

MPIRUN = shutil.which("mpirun")
# As root (CI containers) Open MPI wants both; no CMA between ranks there.
MPI_ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_rmaps_base_oversubscribe": "1"}


@pytest.fixture(scope="module")
def mpi(wd_bin):
    version = run_wd(wd_bin, "--version").stdout
    if "mpirun" not in version or MPIRUN is None:
        pytest.skip(f"this build has no MPI support ({version.strip()}) or mpirun is missing")
    return wd_bin


def mpirun(cwd, *apps):
    """apps: argument lists, one per rank (Open MPI's MPMD form, ':'-joined)."""
    cmd = [MPIRUN]
    for i, args in enumerate(apps):
        if i:
            cmd.append(":")
        cmd += ["-np", "1"] + [str(a) for a in args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace", env=MPI_ENV,
                          timeout=300)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("mpi")
    rng = np.random.default_rng(zlib.crc32(b"mpi"))
    a, b = {}, {}
    for i in range(7):
        x = rng.standard_normal((64, 24 * (i + 1))).astype(np.float32)
        a[f"w{i}"] = x
        b[f"w{i}"] = x + (rng.standard_normal(x.shape) * 1e-4 * (i % 3)).astype(np.float32)
    b["w3"] = b["w3"].astype(np.float16)
    a["ids"] = b["ids"] = np.arange(100, dtype=np.int64)
    a["gone"] = np.ones(4, np.float32)
    b["new"] = np.ones(4, np.float32)
    save_file(a, str(d / "a.safetensors"))
    save_file(b, str(d / "b.safetensors"))
    save_file({**b, "w0": b["w0"] * 2}, str(d / "other.safetensors"))
    bad = bytearray((d / "b.safetensors").read_bytes())
    bad[0:8] = (10**12).to_bytes(8, "little")  # a header length past the file
    (d / "bad.safetensors").write_bytes(bytes(bad))
    return d


def comparable(report):
    report["summary"].pop("seconds")
    report["backend"].pop("threads")
    return report


def weightdiff_lines(stderr):
    return [ln for ln in stderr.splitlines() if ln.startswith("weightdiff")]


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_equal_the_single_run(mpi, pair, ranks):
    args = [mpi, "a.safetensors", "b.safetensors", "--backend", "cpu", "--fail-if", "rel_l2>1e-5"]
    one = run_wd(*args[0:1], *args[1:], "--json", "one.json", "--csv", "one.csv", "-q", cwd=pair)
    assert one.returncode == 1, one.stderr
    proc = mpirun(pair, *[args + ["--json", f"m{ranks}.json", "--csv", f"m{ranks}.csv", "--top", "0"]] * ranks)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert comparable(load_report(pair / f"m{ranks}.json")) == comparable(load_report(pair / "one.json"))
    assert (pair / f"m{ranks}.csv").read_bytes() == (pair / "one.csv").read_bytes()
    # Rank 0 alone prints: one table, one summary line.
    assert proc.stdout.count("compared ") == 1, proc.stdout
    assert "part" not in load_report(pair / f"m{ranks}.json")


def test_a_rank_with_a_bad_file_stops_every_rank(mpi, pair):
    common = ["--backend", "cpu", "--json", "bad.json"]
    proc = mpirun(pair, [mpi, "a.safetensors", "b.safetensors", *common],
                  [mpi, "a.safetensors", "bad.safetensors", *common])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = weightdiff_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("weightdiff: error: rank 1: ") and "bad.safetensors" in lines[0], \
        proc.stderr
    for marker in CRASH_MARKERS:
        assert marker not in proc.stderr
    assert not (pair / "bad.json").exists()


def test_ranks_on_other_inputs_are_refused(mpi, pair):
    common = ["--backend", "cpu", "--json", "other.json"]
    proc = mpirun(pair, [mpi, "a.safetensors", "b.safetensors", *common],
                  [mpi, "a.safetensors", "other.safetensors", *common])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = weightdiff_lines(proc.stderr)
    assert len(lines) == 1 and "does not belong" in lines[0], proc.stderr
    assert not (pair / "other.json").exists()


def test_shard_under_mpirun_is_a_usage_error(mpi, pair):
    args = [mpi, "a.safetensors", "b.safetensors", "--shard", "1/2"]
    proc = mpirun(pair, args, args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = weightdiff_lines(proc.stderr)
    assert len(lines) == 1 and "--shard" in lines[0], proc.stderr


def test_a_rank_with_a_bad_command_line_stops_every_rank(mpi, pair):
    """MPMD: rank 1 alone has an unknown option. It must not leave rank 0
    waiting in a collective: every rank exits 2, one line from rank 0."""
    good = [mpi, "a.safetensors", "b.safetensors", "--backend", "cpu", "--json", "cl.json"]
    proc = mpirun(pair, good, good + ["--no-such-option"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = weightdiff_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("weightdiff: error: rank 1: ") and "no-such-option" in lines[0], \
        proc.stderr
    assert not (pair / "cl.json").exists()


def test_version_under_mpirun_prints_once(mpi, pair):
    proc = mpirun(pair, [mpi, "--version"], [mpi, "--version"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("weightdiff ") == 1, proc.stdout
