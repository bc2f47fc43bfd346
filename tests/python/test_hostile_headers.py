"""Hostile headers (SPEC §7, reliability issue classes 5-8).

* Parser differentials: files written by the official `safetensors` package,
  then patched (a UTF-8 BOM inserted, NUL bytes as padding). The reference
  implementation (the same package) refuses them; so must weightdiff: exit 2
  and one line naming the file.
* Unbounded memory: a 40 MB deeply nested header, 100 MB headers of zeros
  (NUL bytes; a shape of '0's, which built 50M DOM values),
  and an ONNX model whose If node has a 1 MB name over 2,000 initializers
  must fail with exit 2 at a peak RSS far below what they used to need
  (2.3 to 3.9 GB).
* Unbounded error lines and the gate parser: a long metric, value or run of
  spaces in --fail-if is exit 2 with a short line, not SIGSEGV.

Big inputs are generated into the test's tmp dir and deleted at its end.
"""

import os
import struct
import subprocess

import numpy as np
import pytest
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from conftest import RUN_TIMEOUT_S, assert_clean_failure, last_stderr_line, run_wd

# Peak RSS allowed for a refused hostile header. The mapped input counts
# (a 100 MB header is 100 MB resident once read); the rest must stay small.
MAX_RSS_BYTES = 300 * 1024 * 1024
# Longest stderr line a refusal may print: the path, the wording and one
# 200-byte excerpt.
MAX_LINE = 1000


class Run:
    """What run_wd returns, plus the child's own peak RSS."""

    def __init__(self, returncode, stderr, max_rss):
        self.returncode, self.stderr, self.max_rss = returncode, stderr, max_rss


def run_measured(wd_bin, *args, cwd):
    """Runs weightdiff and reads its peak RSS from wait4 (this child only,
    unlike RUSAGE_CHILDREN, which is the maximum over every child so far)."""
    err_path = os.path.join(cwd, "stderr.txt")
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([str(wd_bin)] + [str(a) for a in args], cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            proc.returncode = 0  # reaped above; keeps Popen from waiting again
    code = os.waitstatus_to_exitcode(status)
    with open(err_path, "r", encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    return Run(code, stderr, usage.ru_maxrss * 1024)  # ru_maxrss is in KiB on Linux


def good_file(d):
    p = d / "good.safetensors"
    save_file({"x": np.array([1.0, 2.0], np.float32)}, str(p))
    return p


def official_file(p):
    """A file written by the official package: header, then 8 data bytes."""
    save_file({"x": np.array([1.0, 2.0], np.float32)}, str(p))
    raw = p.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return raw[8:8 + n], raw[8 + n:]


def write_patched(p, header, data):
    p.write_bytes(struct.pack("<Q", len(header)) + header + data)


def reference_accepts(p):
    try:
        load_file(str(p))
        return True
    except SafetensorError:
        return False


def expect_refused(wd_bin, d, name, wording):
    proc = run_wd(wd_bin, name, "good.safetensors", "--backend", "cpu", cwd=d)
    assert_clean_failure(proc, name)
    last = last_stderr_line(proc)
    assert wording in last, last
    assert len(last) < MAX_LINE, last[:300]
    return proc


# --------------------------------------------------------------------------
# Parser differentials
# --------------------------------------------------------------------------

def test_header_with_a_bom_is_refused_as_by_the_reference(wd_bin, tmp_path):
    good_file(tmp_path)
    header, data = official_file(tmp_path / "bom.safetensors")
    write_patched(tmp_path / "bom.safetensors", b"\xef\xbb\xbf" + header, data)
    assert not reference_accepts(tmp_path / "bom.safetensors")
    expect_refused(wd_bin, tmp_path, "bom.safetensors",
                   "bom.safetensors: header starts with a UTF-8 byte order mark")


@pytest.mark.parametrize("padding", [b"\0" * 8, b"  \0\0\0\0\0\0", b"\0garbage"],
                         ids=["nul", "space-nul", "nul-garbage"])
def test_header_padded_with_nul_is_refused_as_by_the_reference(wd_bin, tmp_path, padding):
    good_file(tmp_path)
    header, data = official_file(tmp_path / "nul.safetensors")
    write_patched(tmp_path / "nul.safetensors", header.rstrip(b" ") + padding, data)
    assert not reference_accepts(tmp_path / "nul.safetensors")
    expect_refused(wd_bin, tmp_path, "nul.safetensors", "nul.safetensors: header holds a NUL byte")


@pytest.mark.parametrize("padding", [b"        ", b" \t\r\n    "], ids=["spaces", "json-whitespace"])
def test_whitespace_padding_is_accepted_as_by_the_reference(wd_bin, tmp_path, padding):
    good_file(tmp_path)
    header, data = official_file(tmp_path / "pad.safetensors")
    write_patched(tmp_path / "pad.safetensors", header.rstrip(b" ") + padding, data)
    assert reference_accepts(tmp_path / "pad.safetensors")
    proc = run_wd(wd_bin, "pad.safetensors", "good.safetensors", "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------
# Memory bounded by the metadata
# --------------------------------------------------------------------------

def raw_header_file(p, header):
    p.write_bytes(struct.pack("<Q", len(header)) + header)


ZERO_SHAPE_PREFIX = b'{"x":{"dtype":"F32","data_offsets":[0,0],"shape":['
HUNDRED_MB = 100_000_000


@pytest.mark.parametrize("name,header,wording", [
    ("nested", lambda: b"[" * 40_000_000, "header is JSON nested deeper than 8 levels"),
    ("nested_objects", lambda: b'{"a":' * 8_000_000, "header is JSON nested deeper than 8 levels"),
    ("nul_bytes", lambda: b"\0" * HUNDRED_MB, "header holds a NUL byte (byte 0)"),
    ("zero_shape", lambda: (ZERO_SHAPE_PREFIX +
                            b"0," * ((HUNDRED_MB - len(ZERO_SHAPE_PREFIX) - 4) // 2) + b"0]}}"),
     "header holds a JSON array of more than 1024 elements"),
])
def test_huge_header_is_refused_in_bounded_memory(wd_bin, tmp_path, name, header, wording):
    good_file(tmp_path)
    p = tmp_path / f"{name}.safetensors"
    try:
        raw_header_file(p, header())
        run = run_measured(wd_bin, p.name, "good.safetensors", "--backend", "cpu", cwd=tmp_path)
        assert_clean_failure(run, p.name)
        last = last_stderr_line(run)
        assert wording in last, last[:300]
        assert len(last) < MAX_LINE, last[:300]
        assert run.max_rss < MAX_RSS_BYTES, f"peak RSS {run.max_rss >> 20} MiB"
    finally:
        p.unlink(missing_ok=True)


def test_onnx_scope_names_are_not_copied_per_tensor(wd_bin, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def branch(tag, n):
        inits = [numpy_helper.from_array(np.zeros(1, np.float32), f"w{i}") for i in range(n)]
        node = helper.make_node("Identity", ["w0"], ["y"])
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
        return helper.make_graph([node], tag, [], [out], initializer=inits)

    # Both branches define w0..w999, so each of the 2,000 names is qualified
    # by the If node's 1 MB name: too long, but refused without building it.
    if_node = helper.make_node("If", ["c"], ["y"], name="n" * 1_000_000,
                               then_branch=branch("then", 1000), else_branch=branch("else", 1000))
    graph = helper.make_graph(
        [if_node], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        initializer=[numpy_helper.from_array(np.array(True), "c")])
    p = tmp_path / "scoped.onnx"
    try:
        onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(p))
        assert p.stat().st_size < 1_100_000
        run = run_measured(wd_bin, "inspect", p.name, "--backend", "cpu", cwd=tmp_path)
        assert_clean_failure(run, p.name)
        last = last_stderr_line(run)
        assert "tensor name of 1000015 bytes, longer than 16 KiB" in last, last[:300]
        assert len(last) < MAX_LINE, last[:300]
        assert run.max_rss < MAX_RSS_BYTES, f"peak RSS {run.max_rss >> 20} MiB"
    finally:
        p.unlink(missing_ok=True)


# --------------------------------------------------------------------------
# Long gates (an argument may hold at most 128 KiB on Linux)
# --------------------------------------------------------------------------

LONG = 100_000


@pytest.mark.parametrize("gate,wording", [
    ("m" * LONG + "<1", "unknown per-tensor metric"),
    ("cosine<" + "9" * LONG + "x", "is not a number"),
    ("cosine<" + " " * (LONG // 2) + "1" + " " * (LONG // 2) + "2", "expected 'METRIC OP VALUE'"),
], ids=["metric", "value", "spaces"])
def test_long_gate_is_a_usage_error_not_a_crash(wd_bin, tmp_path, gate, wording):
    good_file(tmp_path)
    proc = run_wd(wd_bin, "good.safetensors", "good.safetensors", "--backend", "cpu",
                  "--fail-if", gate, cwd=tmp_path, timeout=RUN_TIMEOUT_S)
    assert_clean_failure(proc, "--fail-if '")
    last = last_stderr_line(proc)
    assert wording in last, last[:300]
    assert len(last) < MAX_LINE, last[:300]
