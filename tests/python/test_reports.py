"""Reports and model-level checks of issue 5, end to end through the binary:

  * --csv: parsed with Python's csv module and checked cell by cell against
    the JSON report of the same run (rows = tensors in JSON order, header =
    SPEC §5's scalar fields, hostile names round-tripping through RFC 4180);
  * --structure-only: statuses, exit codes, and that no tensor byte is read
    (no page of a sparse checkpoint's data enters the page cache);
  * metadata differences in the table and the JSON, never in the exit code;
  * the --map hint on stderr, and that running the suggested --map pairs the
    tensors.

Fixtures are written by the official `safetensors` package with fixed seeds,
except the sparse checkpoint (the package cannot write a file it has not
got the bytes of), which is hand-written with conftest's helper.
"""

import csv
import ctypes
import io
import math
import mmap
import os
import re
import subprocess
import zlib
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import RUN_TIMEOUT_S, last_stderr_line, load_report, run_wd, write_raw_safetensors

# SPEC §5: the scalar per-tensor fields, in order (histograms are not
# scalar); the CSV adds `failed` last.
SCALAR_FIELDS = [
    "name", "name_b", "status", "dtype_a", "dtype_b", "shape_a", "shape_b", "numel",
    "n_finite", "equal", "mismatched", "atol", "rtol", "nan_a", "nan_b", "inf_a", "inf_b",
    "max_abs", "max_abs_index", "a_at_max_abs", "b_at_max_abs", "mean_abs", "rmse",
    "max_rel", "dot", "sum_sq_a", "sum_sq_b", "sum_sq_diff", "norm_a", "norm_b",
    "norm_diff", "cosine", "rel_l2", "snr_db", "mean_a", "mean_b", "std_a", "std_b",
    "min_a", "max_a", "min_b", "max_b",
]
CSV_HEADER = SCALAR_FIELDS + ["failed"]

HOSTILE = ["comma,name", 'quote"name"', "line\nfeed", "cr\rname", "crlf\r\nend",
           " spaced ", '"', ",", "ünïcödé.权重", "semi;colon", 'x="a,b"\r\n,""']

HINT_RE = re.compile(r"^weightdiff: hint: (\d+) of (\d+) tensors only in B match a tensor "
                     r"of A after .*: try --map '([^']*)'$")


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def read_csv(path):
    # newline="" lets the csv module see quoted CR/LF inside fields.
    with open(path, "r", encoding="utf-8", newline="") as f:
        return list(csv.reader(f, strict=True))


def expected_cell(field, value):
    """The CSV cell SPEC §5 (and our documented choices) give a JSON value."""
    if value is None:
        return ""
    if field in ("shape_a", "shape_b"):
        return "x".join(str(d) for d in value)
    if field in ("max_abs_index", "failed"):
        return ";".join(str(d) for d in value)
    if isinstance(value, bool):
        raise AssertionError(f"{field}: unexpected bool")
    if isinstance(value, int):
        return str(value)
    return value  # strings (names, statuses, dtypes, "nan"/"inf"/"-inf"); floats below


def check_csv_against_json(csv_path, report):
    rows = read_csv(csv_path)
    assert rows[0] == CSV_HEADER
    body = rows[1:]
    tensors = report["tensors"]
    assert [r[0] for r in body] == [t["name"] for t in tensors], "rows not in the JSON's order"
    for row, t in zip(body, tensors):
        assert len(row) == len(CSV_HEADER), row
        for field, cell in zip(CSV_HEADER, row):
            if field not in t:
                # Unmatched / structure-only rows: the stats columns stay empty.
                assert cell == "", (t["name"], field, cell)
                continue
            want = expected_cell(field, t[field])
            if isinstance(want, float):
                # Finite doubles: the very same double, not merely close.
                assert cell not in ("", "nan", "inf", "-inf"), (t["name"], field, cell)
                assert float(cell) == want and math.copysign(1, float(cell)) == math.copysign(1, want), \
                    (t["name"], field, cell, want)
            else:
                assert cell == want, (t["name"], field, cell, want)
    return rows


# --------------------------------------------------------------------------
# One diff with every kind of row: CSV and JSON of the same run.
# --------------------------------------------------------------------------

def build_models(d):
    a, b = {}, {}
    for i, name in enumerate(HOSTILE):
        rng = rng_for(name)
        x = rng.standard_normal((3, 4)).astype(np.float32)
        a[name] = x
        b[name] = (x + rng.standard_normal(x.shape).astype(np.float32) * 10.0 ** -(i % 6)).astype(np.float32)
    rng = rng_for("special")
    x = rng.standard_normal(16).astype(np.float32)
    y = x.copy()
    x[0], y[1], y[2], x[3], y[3] = np.nan, np.inf, -np.inf, np.inf, np.inf
    y[5] += 1e-3
    a["special"], b["special"] = x, y
    a["all_nan"], b["all_nan"] = np.full(4, np.nan, np.float32), np.zeros(4, np.float32)
    a["scalar"], b["scalar"] = np.array(2.5, np.float64), np.array(2.5000001, np.float32)
    a["empty"], b["empty"] = np.zeros((0, 3), np.float16), np.zeros((0, 3), np.float16)
    w = rng_for("mixed").standard_normal((5, 7)).astype(ml_dtypes.bfloat16)
    a["mixed"], b["mixed"] = w, w.astype(np.float32) * np.float32(1.001)
    a["same"] = b["same"] = rng_for("same").standard_normal(9).astype(np.float16)
    a["only_a"] = np.ones(2, np.int8)
    b["only_b"] = np.ones((2, 2), np.uint8)
    a["reshaped"], b["reshaped"] = np.ones((2, 3), np.float32), np.ones(6, np.float32)
    save_file(a, str(d / "a.safetensors"), metadata={"format": "pt"})
    save_file(b, str(d / "b.safetensors"), metadata={"format": "pt"})


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")
    build_models(d)
    return d


GATES = ("--fail-if", "cosine<0.9999999", "--fail-if", "max_abs>0.01")


@pytest.fixture(scope="module")
def csv_run(wd_bin, models):
    proc = run_wd(wd_bin, "--backend", "cpu", "--json", "r.json", "--csv", "r.csv", *GATES,
                  "a.safetensors", "b.safetensors", cwd=models)
    assert proc.returncode == 1, proc.stderr
    return proc, load_report(models / "r.json"), models / "r.csv"


def test_csv_every_cell_matches_the_json(csv_run):
    _, report, csv_path = csv_run
    rows = check_csv_against_json(csv_path, report)
    by_name = {r[0]: dict(zip(CSV_HEADER, r)) for r in rows[1:]}
    # The fixture covers what the comparison above must have seen.
    statuses = {r["status"] for r in by_name.values()}
    assert {"identical", "close", "different", "only_in_a", "only_in_b",
            "shape_mismatch"} <= statuses
    assert by_name["special"]["nan_a"] == "1" and by_name["special"]["inf_b"] == "3"
    assert by_name["all_nan"]["max_abs"] == "" and by_name["all_nan"]["snr_db"] == "inf"
    assert by_name["scalar"]["shape_a"] == "" and by_name["scalar"]["dtype_a"] == "f64"
    assert by_name["empty"]["shape_a"] == "0x3"
    assert by_name["only_a"]["name_b"] == "" and by_name["only_a"]["numel"] == ""
    assert any(";" in r["failed"] for r in by_name.values()), "no row failed both gates"
    assert set(HOSTILE) <= set(by_name)


def test_csv_is_rfc4180(csv_run):
    _, report, csv_path = csv_run
    raw = csv_path.read_bytes()
    # Records end in CRLF; quoted fields hold the hostile names verbatim.
    assert raw.endswith(b"\r\n")
    assert raw.count(b"\r\n") >= len(report["tensors"]) + 1
    assert b'\r\n"comma,name","comma,name",' in raw
    assert b'\r\n"quote""name""",' in raw
    assert b'\r\n"line\nfeed",' in raw
    assert b"\r\nsemi;colon,semi;colon," in raw  # nothing to quote
    # Round trip through a second, independent reader configuration.
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), dialect="excel"))
    assert [r[0] for r in rows[1:]] == [t["name"] for t in report["tensors"]]


def test_csv_to_stdout_replaces_the_table(wd_bin, models, csv_run):
    # Bytes, not text: run_wd's text mode would translate the CRs.
    proc = subprocess.run([str(wd_bin), "--backend", "cpu", "--csv", "-", *GATES,
                           "a.safetensors", "b.safetensors"],
                          cwd=models, capture_output=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 1
    assert proc.stdout == csv_run[2].read_bytes()
    assert b"compared " not in proc.stdout


# --------------------------------------------------------------------------
# --structure-only
# --------------------------------------------------------------------------

def same_structure_models(d, b_dtype=np.float32, b_shape=(4, 8), extra_b=None):
    rng = rng_for("structure")
    a = {"w": rng.standard_normal((4, 8)).astype(np.float32),
         "v": rng.standard_normal(3).astype(np.float32)}
    # B: every value different, the same names, dtypes and shapes.
    b = {"w": (rng.standard_normal(b_shape) * 5).astype(b_dtype),
         "v": (a["v"] + 1).astype(np.float32)}
    b.update(extra_b or {})
    save_file(a, str(d / "a.safetensors"))
    save_file(b, str(d / "b.safetensors"))


def test_structure_only_does_not_compare_values(wd_bin, tmp_path):
    same_structure_models(tmp_path)
    full = run_wd(wd_bin, "--backend", "cpu", "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert full.returncode == 1  # the values differ
    proc = run_wd(wd_bin, "--structure-only", "--json", "s.json", "--csv", "s.csv",
                  "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = load_report(tmp_path / "s.json")
    s = report["summary"]
    assert (s["matched"], s["dtype_mismatch"], s["compared"], s["bytes_read"]) == (2, 0, 0, 0)
    assert report["options"]["structure_only"] is True
    for t in report["tensors"]:
        assert t["status"] == "matched"
        assert set(t) == {"name", "name_b", "status", "dtype_a", "dtype_b", "shape_a", "shape_b"}
    check_csv_against_json(tmp_path / "s.csv", report)
    assert "structure only: 2 matched, 0 dtype mismatch | no tensor data read" in proc.stdout


@pytest.mark.parametrize("change,status", [
    (dict(b_dtype=ml_dtypes.bfloat16), "dtype_mismatch"),
    (dict(b_shape=(2, 16)), "shape_mismatch"),  # (8, 4) would be compared transposed
    (dict(extra_b={"new": np.ones(2, np.float32)}), "only_in_b"),
])
def test_structure_only_exit_1_on_structural_differences(wd_bin, tmp_path, change, status):
    same_structure_models(tmp_path, **change)
    proc = run_wd(wd_bin, "--structure-only", "--json", "s.json", "--csv", "s.csv",
                  "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = load_report(tmp_path / "s.json")
    assert status in {t["status"] for t in report["tensors"]}
    assert report["summary"][status] == 1
    check_csv_against_json(tmp_path / "s.csv", report)
    assert status in proc.stdout


def test_structure_only_rejects_gates(wd_bin, tmp_path):
    same_structure_models(tmp_path)
    proc = run_wd(wd_bin, "--structure-only", "--fail-if", "cosine<0.99",
                  "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--structure-only" in last_stderr_line(proc)


def sparse_checkpoint(path, dtype, elements, itemsize):
    # A real header; the data are a hole in the file: no page of it is in
    # the page cache until someone reads it.
    big = elements * itemsize
    header = {"big": {"dtype": dtype, "shape": [elements], "data_offsets": [0, big]},
              "small": {"dtype": "F32", "shape": [2], "data_offsets": [big, big + 8]}}
    write_raw_safetensors(path, header)
    with open(path, "r+b") as f:
        f.truncate(f.seek(0, 2) + big + 8)


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]


def cached_pages(path):
    """Pages of the file in the page cache (mincore on a fresh mapping of
    our own file): (cached, total)."""
    size = os.path.getsize(path)
    page = os.sysconf("SC_PAGE_SIZE")
    n = (size + page - 1) // page
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr is not None and addr != ctypes.c_void_p(-1).value, os.strerror(ctypes.get_errno())
        try:
            vec = ctypes.create_string_buffer(n)
            assert _libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw), n
        finally:
            _libc.munmap(addr, size)
    finally:
        os.close(fd)


def test_structure_only_reads_no_tensor_data(wd_bin, tmp_path):
    n = 1 << 26  # 256 MiB of F32, 128 MiB of BF16
    sparse_checkpoint(tmp_path / "a.safetensors", "F32", n, 4)
    sparse_checkpoint(tmp_path / "b.safetensors", "BF16", n, 2)
    proc = run_wd(wd_bin, "--structure-only", "--json", "s.json", "a.safetensors",
                  "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # big: f32 vs bf16
    report = load_report(tmp_path / "s.json")
    assert {t["name"]: t["status"] for t in report["tensors"]} == {
        "big": "dtype_mismatch", "small": "matched"}
    assert report["summary"]["bytes_read"] == 0
    for name in ("a.safetensors", "b.safetensors"):
        cached, total = cached_pages(tmp_path / name)
        # The header page and whatever read-around brought with it; reading
        # the tensors would have cached every page.
        assert cached < total // 10, f"{name}: {cached} of {total} pages read"
    # The probe sees what a reader leaves behind (it would not if mincore
    # only reported this process's own mappings).
    with open(tmp_path / "b.safetensors", "rb") as f:
        while f.read(1 << 24):
            pass
    cached, total = cached_pages(tmp_path / "b.safetensors")
    assert cached > total * 9 // 10


# --------------------------------------------------------------------------
# Metadata differences
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [[], ["--structure-only"]])
def test_metadata_differences_are_shown_but_do_not_decide(wd_bin, tmp_path, mode):
    x = rng_for("meta").standard_normal(5).astype(np.float32)
    save_file({"w": x}, str(tmp_path / "a.safetensors"),
              metadata={"format": "pt", "only_a": "1", "same": "s"})
    save_file({"w": x}, str(tmp_path / "b.safetensors"),
              metadata={"format": "np", "only_b": "\x1b[2Jwiped", "same": "s"})
    proc = run_wd(wd_bin, "--backend", "cpu", *mode, "--json", "m.json",
                  "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "metadata  format  A 'pt'  B 'np'" in lines
    assert "metadata  only_a  A '1'  B (absent)" in lines
    assert "metadata  only_b  A (absent)  B '?[2Jwiped'" in lines
    assert not any("same" in ln for ln in lines)
    assert "\x1b" not in proc.stdout
    report = load_report(tmp_path / "m.json")
    assert report["metadata_diffs"] == [
        {"key": "format", "a": "pt", "b": "np"},
        {"key": "only_a", "a": "1", "b": None},
        {"key": "only_b", "a": None, "b": "\x1b[2Jwiped"},
    ]


# --------------------------------------------------------------------------
# The --map hint
# --------------------------------------------------------------------------

def prefixed_models(d, prefix_a, prefix_b, shared=()):
    a, b = {}, {}
    for i in range(40):
        # Two top-level groups: renaming `layers.` alone explains only 80.
        for name in (f"layers.{i}.q_proj.weight", f"layers.{i}.k_proj.weight", f"norms.{i}.weight"):
            x = rng_for(name).standard_normal(4).astype(np.float32)
            a[prefix_a + name], b[prefix_b + name] = x, x
    for name in shared:
        a[name] = b[name] = rng_for(name).standard_normal(3).astype(np.float32)
    a[prefix_a + "a_only"] = np.ones(1, np.float32)
    b[prefix_b + "b_only"] = np.ones(1, np.float32)
    save_file(a, str(d / "a.safetensors"))
    save_file(b, str(d / "b.safetensors"))


def hint_of(proc):
    hints = [m for m in map(HINT_RE.match, proc.stderr.splitlines()) if m]
    assert len(hints) <= 1, proc.stderr
    return hints[0] if hints else None


@pytest.mark.parametrize("prefix_a,prefix_b,shared,rule", [
    ("model.", "transformer.", (), r"^transformer\.=model."),
    # RE2 has no lookahead: "any first component but lm_head", spelled out.
    ("model.", "", ("lm_head.weight",),
     r"^((?:[^./l][^./]*|l(?:[^./m][^./]*|m(?:[^./_][^./]*|_(?:[^./h][^./]*|"
     r"h(?:[^./e][^./]*|e(?:[^./a][^./]*|a(?:[^./d][^./]*|d[^./]+)?)?)?)?)?)?)?"
     r"(?:[./]|$))=model.$1"),
    ("", "base_model.model.", (), r"^base_model\.model\.="),
])
def test_hint_suggests_a_map_that_pairs_the_tensors(wd_bin, tmp_path, prefix_a, prefix_b,
                                                    shared, rule):
    prefixed_models(tmp_path, prefix_a, prefix_b, shared)
    proc = run_wd(wd_bin, "--backend", "cpu", "--json", "r.json",
                  "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 1
    hint = hint_of(proc)
    assert hint, f"no hint on stderr:\n{proc.stderr}"
    assert (int(hint[1]), int(hint[2]), hint[3]) == (120, 121, rule)
    before = load_report(tmp_path / "r.json")["summary"]
    assert before["only_in_b"] == 121
    # Run what the hint says: every tensor but the two odd ones pairs.
    proc = run_wd(wd_bin, "--backend", "cpu", "a.safetensors", "b.safetensors",
                  "--json", "r2.json", "--map", hint[3], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # a_only / b_only remain
    after = load_report(tmp_path / "r2.json")["summary"]
    assert (after["identical"], after["only_in_a"], after["only_in_b"]) == \
        (120 + len(shared), 1, 1)
    assert hint_of(proc) is None
    # The hint needs no tensor data either.
    proc = run_wd(wd_bin, "--structure-only", "-q", "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert hint_of(proc) and hint_of(proc)[3] == rule


def test_no_hint_when_names_match(wd_bin, tmp_path):
    prefixed_models(tmp_path, "model.", "model.")
    proc = run_wd(wd_bin, "--backend", "cpu", "a.safetensors", "b.safetensors", cwd=tmp_path)
    assert proc.returncode == 1  # a_only / b_only
    assert "hint" not in proc.stderr
