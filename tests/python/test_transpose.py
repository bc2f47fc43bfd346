"""Transposed pairs (--transpose auto|never, SPEC §8, issue 15 item 1).

A [r, c] against B [c, r]: compared element by element as A against Bᵀ,
every metric in A's order and shape, checked against the float64 reference
(reference.py) on files written by the official `safetensors` package.
Square pairs are never transposed on shapes alone (only an ONNX MatMul
weight says it holds Wᵀ: test_onnx_names.py), nor 3-D or larger pairs.
"""

import csv
import io

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import reference as ref
from conftest import load_report, run_wd
from test_crosscheck_safetensors import compare_tensor


def write(path, tensors):
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))
    return path


def diff_json(wd_bin, tmp_path, a, b, *extra, expect=(0, 1)):
    out = tmp_path / "r.json"
    proc = run_wd(wd_bin, "--backend", "cpu", "--json", out, a, b, *extra)
    assert proc.returncode in expect, proc.stdout + proc.stderr
    return proc, load_report(out)


def by_name(report):
    return {t["name"]: t for t in report["tensors"]}


DTYPES = [np.float32, np.float16, ml_dtypes.bfloat16, np.float64, np.int8]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_metric_of_a_transposed_pair_matches_the_reference(wd_bin, tmp_path, dtype):
    rng = np.random.default_rng(1500)
    # 1100 x 1000: more than one engine chunk (2^20 elements), whose
    # boundary falls inside a row; and a small one with odd sides.
    shapes = {"big": (1100, 1000), "small": (37, 5)}
    a, b = {}, {}
    for name, shape in shapes.items():
        x = rng.standard_normal(shape) * 0.05
        y = x + rng.standard_normal(shape) * 1e-3 * (rng.random(shape) < 0.3)
        if dtype == np.int8:
            x, y = np.round(x * 1000), np.round(y * 1000)
        a[name] = x.astype(dtype)
        b[name] = y.astype(dtype)
    fa = write(tmp_path / "a.safetensors", a)
    fb = write(tmp_path / "b.safetensors", {k: v.T for k, v in b.items()})
    proc, report = diff_json(wd_bin, tmp_path, fa, fb, "--hist-range", "-40:16")
    assert report["options"]["transpose"] == "auto"
    for name, t in by_name(report).items():
        assert t["transposed"] is True
        exp, bounds = ref.pair_metrics(a[name], b[name])
        exp["shape_b"] = list(b[name].T.shape)  # as stored
        errs = compare_tensor(t, exp, bounds)
        assert not errs, f"{name}: " + "; ".join(errs)
    assert proc.returncode == 1  # values differ
    table = [ln for ln in proc.stdout.splitlines() if ln.startswith(("big ", "small "))]
    assert len(table) == 2 and all(ln.endswith("B transposed") for ln in table), proc.stdout


def test_one_changed_element_is_named_at_its_index_in_a(wd_bin, tmp_path):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((300, 70)).astype(np.float32)
    fa = write(tmp_path / "a.safetensors", {"w": w})
    same = write(tmp_path / "same.safetensors", {"w": w.T})
    proc, report = diff_json(wd_bin, tmp_path, fa, same)
    t = by_name(report)["w"]
    assert proc.returncode == 0 and t["status"] == "identical" and t["transposed"] is True
    assert t["shape_a"] == [300, 70] and t["shape_b"] == [70, 300]
    changed = w.T.copy()
    changed[5, 123] += 0.5  # B's [5, 123] is A's [123, 5]
    fb = write(tmp_path / "b.safetensors", {"w": changed})
    proc, report = diff_json(wd_bin, tmp_path, fa, fb, "--atol", "0", "--rtol", "0")
    t = by_name(report)["w"]
    assert proc.returncode == 1 and t["status"] == "different"
    assert t["max_abs_index"] == [123, 5]
    assert t["a_at_max_abs"] == float(w[123, 5]) and t["b_at_max_abs"] == float(changed[5, 123])
    assert t["mismatched"] == 1 and t["equal"] == w.size - 1


def test_never_reports_a_shape_mismatch(wd_bin, tmp_path):
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    fa = write(tmp_path / "a.safetensors", {"w": w})
    fb = write(tmp_path / "b.safetensors", {"w": w.T})
    proc, report = diff_json(wd_bin, tmp_path, fa, fb, "--transpose", "never")
    t = by_name(report)["w"]
    assert proc.returncode == 1 and t["status"] == "shape_mismatch" and "transposed" not in t
    assert report["options"]["transpose"] == "never"


def test_square_and_higher_rank_pairs_are_not_transposed_on_shapes(wd_bin, tmp_path):
    rng = np.random.default_rng(3)
    sq = rng.standard_normal((16, 16)).astype(np.float32)
    cube = rng.standard_normal((2, 3, 4)).astype(np.float32)
    fa = write(tmp_path / "a.safetensors", {"sq": sq, "cube": cube})
    fb = write(tmp_path / "b.safetensors", {"sq": sq.T, "cube": cube.transpose(2, 1, 0)})
    proc, report = diff_json(wd_bin, tmp_path, fa, fb)
    t = by_name(report)
    assert t["sq"]["status"] == "different" and "transposed" not in t["sq"]
    assert t["cube"]["status"] == "shape_mismatch" and "transposed" not in t["cube"]
    assert proc.returncode == 1


def test_mixed_dtypes_and_exact_bytes(wd_bin, tmp_path):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((40, 24)).astype(np.float16)
    fa = write(tmp_path / "a.safetensors", {"w": w})
    # f16 against f32 of the same values, transposed: identical values.
    fb = write(tmp_path / "b.safetensors", {"w": w.astype(np.float32).T})
    proc, report = diff_json(wd_bin, tmp_path, fa, fb)
    t = by_name(report)["w"]
    assert proc.returncode == 0 and t["status"] == "identical" and t["transposed"] is True
    # --exact compares the bytes in A's order: a transposed copy is equal...
    fc = write(tmp_path / "c.safetensors", {"w": w.T})
    proc, report = diff_json(wd_bin, tmp_path, fa, fc, "--exact")
    assert proc.returncode == 0 and by_name(report)["w"]["bytes_equal"] is True
    # ...and -0 for +0 at one element is not, though every value is equal.
    z = w.copy()
    z[7, 3] = np.float16(0.0)
    fz = write(tmp_path / "z.safetensors", {"w": z})
    negz = z.T.copy()
    negz[3, 7] = np.float16(-0.0)
    fn = write(tmp_path / "n.safetensors", {"w": negz})
    proc, report = diff_json(wd_bin, tmp_path, fz, fn, "--exact")
    t = by_name(report)["w"]
    assert t["status"] == "identical" and t["bytes_equal"] is False and proc.returncode == 1


def test_csv_html_and_structure_only_carry_it(wd_bin, tmp_path):
    w = np.linspace(-1, 1, 6 * 10, dtype=np.float32).reshape(6, 10)
    fa = write(tmp_path / "a.safetensors", {"w": w, "v": w[0]})
    fb = write(tmp_path / "b.safetensors", {"w": w.T, "v": w[0]})
    out = tmp_path / "r.csv"
    assert run_wd(wd_bin, "--backend", "cpu", "--csv", out, fa, fb).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode())))
    assert list(rows[0])[-2:] == ["failed", "transposed"]
    assert {r["name"]: r["transposed"] for r in rows} == {"v": "false", "w": "true"}
    html = tmp_path / "r.html"
    assert run_wd(wd_bin, "--backend", "cpu", "--html", html, fa, fb).returncode == 0
    page = html.read_text()
    assert '"transposed"' in page and "compared transposed" in page
    proc, report = diff_json(wd_bin, tmp_path, fa, fb, "--structure-only")
    t = by_name(report)["w"]
    assert proc.returncode == 0 and t["status"] == "matched" and t["transposed"] is True
    # Without a transposed pair no column is added.
    fc = write(tmp_path / "c.safetensors", {"w": w, "v": w[0]})
    assert run_wd(wd_bin, "--backend", "cpu", "--csv", out, fa, fc).returncode == 0
    assert "transposed" not in out.read_text().splitlines()[0]


def test_a_bad_mode_is_a_usage_error(wd_bin, tmp_path):
    w = np.ones((2, 3), np.float32)
    fa = write(tmp_path / "a.safetensors", {"w": w})
    proc = run_wd(wd_bin, "--backend", "cpu", fa, fa, "--transpose", "sometimes")
    assert proc.returncode == 2
    assert "--transpose" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
