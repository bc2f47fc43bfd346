"""weightdiff.diff / inspect on files give the CLI's reports.

Fixtures are written by the official safetensors and onnx packages. The
package's reports come from the library's own writers: the JSON must equal
the CLI's byte for byte once the timing field (summary.seconds) is set
aside, the CSV byte for byte, and summary/tensors must be the JSON's fields
with the same values (non-finite strings as floats).
"""

import json
import math
import re

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from safetensors.numpy import save_file

import weightdiff
from conftest import load_report, run_wd

TIMING = re.compile(r'"seconds": ?[-+0-9.eE]+')


def without_timing(text):
    out, n = TIMING.subn('"seconds": 0', text)
    assert n >= 1, "no seconds field: the timing normalisation would hide nothing"
    return out


def _models(d):
    rng = np.random.default_rng(1401)
    w = rng.standard_normal((48, 40), dtype=np.float32)
    a = {
        "layers.0.w": w,
        "layers.0.bf": w.astype(ml_dtypes.bfloat16),
        "layers.1.f8": rng.standard_normal((7, 9)).astype(ml_dtypes.float8_e4m3fn),
        "layers.1.i": rng.integers(-50, 50, (33,), dtype=np.int32),
        "only_a": np.ones(3, dtype=np.float16),
        "shape": np.zeros((2, 3), dtype=np.float32) + 0.5,
        "nan": np.array([1.0, np.nan, np.inf, -2.0], dtype=np.float64),
    }
    b = dict(a)
    b["layers.0.w"] = (w + rng.standard_normal(w.shape, dtype=np.float32) * 1e-3).astype(np.float32)
    b["layers.0.bf"] = (w * 1.01).astype(ml_dtypes.bfloat16)
    b["layers.1.i"] = a["layers.1.i"] + (rng.random(33) < 0.2)
    b["layers.1.i"] = b["layers.1.i"].astype(np.int32)
    del b["only_a"]
    b["only_b"] = np.arange(4, dtype=np.uint8)
    b["shape"] = np.zeros((1, 6), dtype=np.float32)  # (3, 2) would be compared transposed
    b["nan"] = np.array([1.0, np.nan, 3.0, -2.0], dtype=np.float64)
    # A metadata value "inf" stays text (only metrics are numbers).
    save_file(a, str(d / "a.safetensors"), metadata={"format": "pt", "who": "a", "limit": "inf"})
    save_file(b, str(d / "b.safetensors"), metadata={"format": "pt", "who": "b"})
    return a, b


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkgfiles")
    a, b = _models(d)
    return d, a, b


OPTION_SETS = [
    ({}, []),
    ({"atol": 0.01, "rtol": 0.0, "hist_range": (-10, 4)}, ["--atol", "0.01", "--rtol", "0", "--hist-range", "-10:4"]),
    ({"include": ["layers"], "exclude": r"\.i$", "fail_if": ["cosine<0.99999", "global.rel_l2>1e-4"]},
     ["--include", "layers", "--exclude", r"\.i$", "--fail-if", "cosine<0.99999",
      "--fail-if", "global.rel_l2>1e-4"]),
    ({"map": {"^only_b$": "only_a"}}, ["--map", "^only_b$=only_a"]),
    ({"structure_only": True}, ["--structure-only"]),
    ({"transpose": "never"}, ["--transpose", "never"]),
]


@pytest.mark.parametrize("kwargs,argv", OPTION_SETS, ids=[str(i) for i in range(len(OPTION_SETS))])
def test_diff_on_files_equals_cli(wd_bin, files, tmp_path, kwargs, argv):
    d, _, _ = files
    a, b = d / "a.safetensors", d / "b.safetensors"
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--threads", "2", *argv,
                  "--json", tmp_path / "cli.json", "--csv", tmp_path / "cli.csv", "-q")
    assert proc.returncode in (0, 1), proc.stderr
    r = weightdiff.diff(str(a), b, backend="cpu", threads=2, **kwargs)  # str and PathLike
    assert r.exit_code == proc.returncode
    cli_text = (tmp_path / "cli.json").read_text()
    assert without_timing(r.to_json()) == without_timing(cli_text)
    r.write_csv(tmp_path / "py.csv")
    assert (tmp_path / "py.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    r.write_json(tmp_path / "py.json")
    assert without_timing((tmp_path / "py.json").read_text()) == without_timing(cli_text)

    cli = load_report(tmp_path / "cli.json")
    # Field by field: names and order as the CLI's, values with the
    # non-finite strings as floats; nothing hard-coded about the fields.
    assert list(r.summary) == list(cli["summary"])
    for k, v in cli["summary"].items():
        if k != "seconds":
            assert _same(r.summary[k], v, k), k
    assert [t["name"] for t in r.tensors] == [t["name"] for t in cli["tensors"]]
    for got, exp in zip(r.tensors, cli["tensors"]):
        assert list(got) == list(exp)
        for k, v in exp.items():
            assert _same(got[k], v, k), (exp["name"], k, got[k], v)
    assert r.failed == cli["summary"]["failed"]


TEXT_FIELDS = ("name", "name_b", "matched_as", "status", "dtype_a", "dtype_b", "max_abs_tensor",
               "failed")


def _same(got, exp, key=None):
    if isinstance(exp, str) and exp in ("nan", "inf", "-inf") and key not in TEXT_FIELDS:
        return isinstance(got, float) and (math.isnan(got) if exp == "nan" else got == float(exp))
    if isinstance(exp, list):
        return isinstance(got, list) and len(got) == len(exp) and all(
            _same(g, e, key) for g, e in zip(got, exp))
    if isinstance(exp, dict):
        return isinstance(got, dict) and list(got) == list(exp) and all(
            _same(got[k], exp[k], k) for k in exp)
    return type(got) is type(exp) and got == exp


def test_statuses_and_inf_as_float(files):
    d, _, _ = files
    r = weightdiff.diff(d / "a.safetensors", d / "b.safetensors", backend="cpu")
    by = {t["name"]: t for t in r.tensors}
    assert r.report["a"]["metadata"]["limit"] == "inf"
    assert by["only_a"]["status"] == "only_in_a"
    assert by["only_b"]["status"] == "only_in_b"
    assert by["shape"]["status"] == "shape_mismatch"
    assert by["shape"]["shape_a"] == [2, 3] and by["shape"]["shape_b"] == [1, 6]
    assert by["nan"]["inf_a"] == 1 and by["nan"]["nan_a"] == 1
    assert by["layers.1.f8"]["status"] == "identical" and by["layers.1.f8"]["snr_db"] == math.inf
    assert r.exit_code == 1
    df = r.to_pandas().sort_values("rel_l2")
    assert len(df) == len(r.tensors)
    compared = df[df["status"].isin(["identical", "close", "different"])]
    assert list(compared["rel_l2"]) == sorted(compared["rel_l2"])
    assert "hist_a" not in df.columns and df.set_index("name").loc["shape", "shape_b"] == (1, 6)
    assert repr(r).startswith("<DiffResult exit_code=1: compared 5: ")
    assert "only in A 1; only in B 1; shape mismatch 1" in repr(r)
    assert str(r) == r.table(20, "rel_l2") and "layers.0.w" in str(r)


def test_html_report_is_the_clis(wd_bin, files, tmp_path):
    d, _, _ = files
    proc = run_wd(wd_bin, d / "a.safetensors", d / "b.safetensors", "--backend", "cpu",
                  "--html", tmp_path / "cli.html", "-q")
    assert proc.returncode == 1, proc.stderr
    r = weightdiff.diff(d / "a.safetensors", d / "b.safetensors", backend="cpu")
    r.write_html(tmp_path / "py.html")
    py_html, cli_html = (tmp_path / "py.html").read_text(), (tmp_path / "cli.html").read_text()
    assert without_timing(py_html) == without_timing(cli_html)


def test_onnx_against_safetensors_equals_cli(wd_bin, files, tmp_path):
    d, a, _ = files
    inits = [numpy_helper.from_array(a["layers.0.w"], "layers.0.w"),
             numpy_helper.from_array(a["layers.1.i"], "layers.1.i")]
    graph = helper.make_graph([], "g", [], [], initializer=inits)
    onnx.save(helper.make_model(graph, producer_name="pkgtest"), str(tmp_path / "m.onnx"))
    proc = run_wd(wd_bin, tmp_path / "m.onnx", d / "b.safetensors", "--backend", "cpu",
                  "--json", tmp_path / "cli.json", "-q")
    assert proc.returncode == 1, proc.stderr
    r = weightdiff.diff(tmp_path / "m.onnx", d / "b.safetensors", backend="cpu")
    assert without_timing(r.to_json()) == without_timing((tmp_path / "cli.json").read_text())
    assert r.report["a"]["format"] == "onnx"


def test_inspect_equals_cli(wd_bin, files, tmp_path):
    d, _, _ = files
    proc = run_wd(wd_bin, "inspect", d / "a.safetensors", "--backend", "cpu",
                  "--json", tmp_path / "cli.json", "--csv", tmp_path / "cli.csv", "-q")
    assert proc.returncode == 1, proc.stderr  # the NaN/Inf tensor
    r = weightdiff.inspect(d / "a.safetensors", backend="cpu")
    assert r.exit_code == 1 and r.failed == ["nan"]
    assert without_timing(r.to_json()) == without_timing((tmp_path / "cli.json").read_text())
    r.write_csv(tmp_path / "py.csv")
    assert (tmp_path / "py.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    cli = json.loads((tmp_path / "cli.json").read_text())
    assert [t["name"] for t in r.tensors] == [t["name"] for t in cli["tensors"]]
    assert repr(r).startswith("<InspectResult exit_code=1: inspected 7 tensors")
    assert weightdiff.inspect(d / "a.safetensors", exclude="^nan$", backend="cpu").exit_code == 0
