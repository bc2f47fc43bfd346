"""SPEC §6/§8 reliability: a report never destroys an input, is written whole
or not at all, every write is checked, a signal ends the run cleanly, and
nothing from a file reaches the terminal raw.

Models are written by the official `safetensors` and `onnx` packages.
"""

import hashlib
import json
import os
import signal
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from safetensors.numpy import save_file

from conftest import CRASH_MARKERS, last_stderr_line, load_report, run_wd

RNG = np.random.default_rng(20261203)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(folder):
    """Every file under `folder` with its content hash (links by target)."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = digest(p)
    return out


def assert_refused(proc, dest, input_name):
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    for marker in CRASH_MARKERS:
        assert marker not in proc.stderr
    last = last_stderr_line(proc)
    assert str(dest) in last and input_name in last and "input" in last, last


@pytest.fixture
def pair(tmp_path):
    a = tmp_path / "a.safetensors"
    b = tmp_path / "b.safetensors"
    x = rand(16, 8)
    save_file({"w": x, "v": rand(5)}, str(a))
    save_file({"w": x + 1e-3 * rand(16, 8), "v": rand(5)}, str(b))
    return tmp_path, a, b


# ------------------------------------------------------------------ class 1

@pytest.mark.parametrize("option", ["--json", "--csv", "--html"])
@pytest.mark.parametrize("side", ["a", "b"])
def test_report_over_a_model_file_is_refused(wd_bin, pair, option, side):
    d, a, b = pair
    target = a if side == "a" else b
    before = snapshot(d)
    proc = run_wd(wd_bin, a.name, b.name, option, target.name, "--backend", "cpu", cwd=d)
    assert_refused(proc, target.name, target.name)
    assert snapshot(d) == before, "an input or the folder changed"


def test_report_through_a_symlink_or_hard_link_to_a_model_is_refused(wd_bin, pair):
    d, a, b = pair
    (d / "link.csv").symlink_to(a.name)
    os.link(b, d / "hard.json")
    before = snapshot(d)
    proc = run_wd(wd_bin, a.name, b.name, "--csv", "link.csv", "--backend", "cpu", cwd=d)
    assert_refused(proc, "link.csv", a.name)
    proc = run_wd(wd_bin, a.name, b.name, "--json", "hard.json", "--backend", "cpu", cwd=d)
    assert_refused(proc, "hard.json", b.name)
    assert snapshot(d) == before


def sharded_folder(root, sub=""):
    """A Hugging Face sharded folder: an index and two shards (in `sub`)."""
    root.mkdir(parents=True, exist_ok=True)
    if sub:
        (root / sub).mkdir(parents=True, exist_ok=True)
    s1, s2 = f"{sub}model-00001-of-00002.safetensors", f"{sub}model-00002-of-00002.safetensors"
    save_file({"w1": rand(4, 4)}, str(root / s1))
    save_file({"w2": rand(3)}, str(root / s2))
    index = {"metadata": {}, "weight_map": {"w1": s1, "w2": s2}}
    (root / "model.safetensors.index.json").write_text(json.dumps(index))
    return s1, s2


@pytest.mark.parametrize("sub", ["", "shards/"])
def test_report_over_a_shard_or_the_index_is_refused(wd_bin, tmp_path, sub):
    s1, s2 = sharded_folder(tmp_path / "m", sub)
    save_file({"w1": rand(4, 4), "w2": rand(3)}, str(tmp_path / "other.safetensors"))
    before = snapshot(tmp_path)
    for option, dest in (("--html", f"m/{s2}"), ("--json", "m/model.safetensors.index.json")):
        proc = run_wd(wd_bin, "other.safetensors", "m", option, dest, "--backend", "cpu",
                      cwd=tmp_path)
        assert_refused(proc, dest, Path(dest).name)
    assert snapshot(tmp_path) == before


def test_report_over_onnx_external_data_is_refused(wd_bin, tmp_path):
    w = numpy_helper.from_array(rand(32, 4), "w")
    graph = helper.make_graph([], "g", [], [], initializer=[w])
    model = helper.make_model(graph)
    (tmp_path / "m").mkdir()
    onnx.save_model(model, str(tmp_path / "m" / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    save_file({"w": rand(32, 4)}, str(tmp_path / "other.safetensors"))
    before = snapshot(tmp_path)
    for args in (("m/model.onnx", "other.safetensors", "--json", "m/weights.bin"),
                 ("other.safetensors", "m", "--csv", "m/weights.bin"),
                 ("other.safetensors", "m", "--csv", "m/model.onnx")):
        proc = run_wd(wd_bin, *args, "--backend", "cpu", cwd=tmp_path)
        assert_refused(proc, args[3], Path(args[3]).name)
    assert snapshot(tmp_path) == before


def test_inspect_report_over_its_model_is_refused(wd_bin, pair):
    d, a, _ = pair
    before = snapshot(d)
    proc = run_wd(wd_bin, "inspect", a.name, "--json", a.name, "--backend", "cpu", cwd=d)
    assert_refused(proc, a.name, a.name)
    assert snapshot(d) == before


def test_a_report_beside_the_inputs_is_still_written(wd_bin, pair):
    d, a, b = pair
    proc = run_wd(wd_bin, a.name, b.name, "--json", "r.json", "--backend", "cpu", cwd=d)
    assert proc.returncode == 1, proc.stderr
    assert load_report(d / "r.json")["summary"]["compared"] == 2


# ------------------------------------------------------------------ class 2

def test_report_keeps_an_existing_files_mode_and_leaves_no_temporary(wd_bin, pair):
    d, a, b = pair
    (d / "r.json").write_text("old")
    os.chmod(d / "r.json", 0o640)
    proc = run_wd(wd_bin, a.name, b.name, "--json", "r.json", "--backend", "cpu", cwd=d)
    assert proc.returncode == 1, proc.stderr
    assert (os.stat(d / "r.json").st_mode & 0o777) == 0o640
    assert load_report(d / "r.json")["tool"] == "weightdiff"
    assert not list(d.glob("*.tmp-*"))


def test_concurrent_runs_onto_one_report_each_leave_a_whole_report(wd_bin, pair):
    d, a, b = pair
    procs = [subprocess.Popen([str(wd_bin), a.name, b.name, "--json", "r.json", "--backend",
                               "cpu", "-q"], cwd=d, stderr=subprocess.PIPE)
             for _ in range(6)]
    for p in procs:
        p.wait(timeout=60)
        assert p.returncode == 1, p.stderr.read()
    assert load_report(d / "r.json")["summary"]["compared"] == 2
    assert not list(d.glob("*.tmp-*"))


# ------------------------------------------------------------------ class 4

@pytest.mark.parametrize("option", ["--json", "--csv", "--html"])
def test_report_to_a_full_device_is_an_error(wd_bin, pair, option):
    d, a, b = pair
    proc = run_wd(wd_bin, a.name, b.name, option, "/dev/full", "--backend", "cpu", cwd=d)
    assert proc.returncode == 2, proc.stderr
    assert "No space left on device" in last_stderr_line(proc)


def test_table_to_a_full_device_is_an_error(wd_bin, pair):
    d, a, b = pair
    with open("/dev/full", "w") as full:
        proc = subprocess.run([str(wd_bin), a.name, b.name, "--backend", "cpu"], cwd=d,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "stdout" in last_stderr_line(proc) and "No space left" in last_stderr_line(proc)


@pytest.mark.parametrize("what", [("--json", "-"), ("--csv", "-"), ()])
def test_writing_to_a_closed_stdout_is_an_error(wd_bin, pair, what):
    d, a, b = pair
    proc = subprocess.run([str(wd_bin), a.name, b.name, *what, "--backend", "cpu"], cwd=d,
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          preexec_fn=lambda: os.close(1))
    assert proc.returncode == 2, proc.stderr
    assert "Bad file descriptor" in last_stderr_line(proc)
    assert not list(d.glob("*.tmp-*"))


@pytest.mark.parametrize("dest", ["/dev/stdout", "/dev/fd/1", "log"])
def test_report_to_an_appended_stdout_appends(wd_bin, pair, dest):
    d, a, b = pair
    log = d / "log"
    log.write_text("earlier line\n")
    with open(log, "a") as out:
        proc = subprocess.run([str(wd_bin), a.name, b.name, "--json", dest, "--backend", "cpu"],
                              cwd=d, stdout=out, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    text = log.read_text()
    assert text.startswith("earlier line\n{"), text[:200]
    report = json.loads(text[len("earlier line\n"):])  # only the report: no table after it
    assert report["summary"]["compared"] == 2


def test_report_to_dev_null_is_written_without_error(wd_bin, pair):
    d, a, b = pair
    proc = run_wd(wd_bin, a.name, b.name, "--json", "/dev/null", "--backend", "cpu", cwd=d)
    assert proc.returncode == 1, proc.stderr


# ------------------------------------------------------------------ class 3

def sparse_pair(folder, gib=4):
    """Two f32 tensors of `gib` GiB each whose bytes are holes in the file
    (no disk used): long enough to interrupt, free to create."""
    n = gib * (1 << 30) // 4
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}})
    header = header.encode() + b" " * (-len(header) % 8)
    for name in ("a.safetensors", "b.safetensors"):
        with open(folder / name, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header)
            f.truncate(8 + len(header) + 4 * n)
    return folder / "a.safetensors", folder / "b.safetensors"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_with_exit_2_and_no_report(wd_bin, tmp_path, sig):
    a, b = sparse_pair(tmp_path)
    proc = subprocess.Popen([str(wd_bin), a.name, b.name, "--json", "r.json", "--html",
                             "r.html", "--backend", "cpu", "--threads", "1", "--progress",
                             "always"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Wait until the data pass is under way (the progress line appears).
    first = proc.stderr.read(1)
    assert first, "no progress line"
    time.sleep(0.3)
    assert proc.poll() is None, "finished before the signal: make the pair larger"
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - t0
    err = (first + err).decode(errors="replace")
    assert proc.returncode == 2, (proc.returncode, err)
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert lines[-1] == f"weightdiff: error: interrupted by {sig.name}", lines[-1]
    # SPEC asks for a second; allow for a loaded CI machine.
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "b.safetensors"]


# ------------------------------------------------------------------ class 10

def test_names_with_escape_sequences_never_reach_the_terminal_raw(wd_bin, tmp_path):
    evil = ["\x1b]0;owned\x07title", "line\ncompared 0: all identical", "\x1b[2Jclear",
            "\x9b31mc1"]
    save_file({n: rand(4) for n in evil}, str(tmp_path / "a.safetensors"))
    save_file({"prefix." + n: rand(4) for n in evil}, str(tmp_path / "b.safetensors"))
    for args in (("a.safetensors", "b.safetensors", "--progress", "always"),
                 ("inspect", "a.safetensors", "--progress", "always")):
        proc = subprocess.run([str(wd_bin), *args, "--backend", "cpu"], cwd=tmp_path,
                              capture_output=True, timeout=60)
        assert proc.returncode in (0, 1), proc.stderr
        for stream in (proc.stdout, proc.stderr):
            assert b"\x1b]" not in stream and b"\x07" not in stream and b"\x1b[2J" not in stream
            assert b"\n" + b"compared 0: all identical" not in stream
            assert b"\x9b" not in stream  # the C1 CSI, raw or as UTF-8 (C2 9B)


# ------------------------------------------------------------------ class 13

@pytest.mark.parametrize("devices", ["garbage", "-1", "0,,1", "0,x"])
@pytest.mark.parametrize("extra", [("--backend", "cpu"), ("--backend", "cpu", "--structure-only")])
def test_a_malformed_device_list_is_a_usage_error_whatever_the_backend(wd_bin, pair, devices,
                                                                       extra):
    d, a, b = pair
    proc = run_wd(wd_bin, a.name, b.name, "--devices", devices, *extra, cwd=d)
    assert proc.returncode == 2, proc.stderr
    assert "--devices" in last_stderr_line(proc)


def test_inspect_takes_devices_and_validates_them(wd_bin, pair):
    d, a, _ = pair
    assert run_wd(wd_bin, "inspect", a.name, "--devices", "0", "--backend", "cpu",
                  cwd=d).returncode == 0
    proc = run_wd(wd_bin, "inspect", a.name, "--devices", "x", "--backend", "cpu", cwd=d)
    assert proc.returncode == 2 and "--devices" in last_stderr_line(proc)


# ------------------------------------------------------------------ class 7 (results)

def test_histograms_beyond_the_memory_budget_are_refused_up_front(wd_bin, tmp_path):
    # 60k pairs x 2044 bins x 5 arrays x 8 bytes = 4.9 GB > the 4 GiB budget.
    names = {f"t{i}": rand(2) for i in range(60000)}
    save_file(names, str(tmp_path / "a.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "a.safetensors", "--hist-range", "-1021:1023",
                  "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    last = last_stderr_line(proc)
    assert "--hist-range -1021:1023" in last and "limit 4096 MiB" in last, last
    assert "bad_alloc" not in proc.stderr
    assert not (tmp_path / "r.json").exists()
    # The same model with the default range is compared.
    proc = run_wd(wd_bin, "a.safetensors", "a.safetensors", "--backend", "cpu", "-q",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
