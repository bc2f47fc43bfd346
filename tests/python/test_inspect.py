"""`weightdiff inspect A` (SPEC §1, §5 `inspect` JSON) against numpy float64.

Fixtures are written by the official `safetensors` package (ml_dtypes for
bf16 / fp8), as one file and as a sharded folder with an index. Checked:
  * every tensor listed, sorted by name; dtype, shape, numel, bytes;
  * nan / inf / n_finite / min / max / histogram exactly, mean and std
    within SPEC §2's sum bound (1e-9 x the sum over |terms|);
  * CSV: a header and one row per tensor, the same values as the JSON;
  * exit codes: 0 healthy, 1 NaN or Inf present, 2 trouble (bad file: one
    stderr line naming it and no report left; bad options).
"""

import csv
import io
import json
import math
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import reference as ref
from conftest import assert_clean_failure, load_report, run_wd, write_raw_safetensors

BF16 = ml_dtypes.bfloat16
E4M3 = ml_dtypes.float8_e4m3fn
E5M2 = ml_dtypes.float8_e5m2

FIELDS = ["name", "status", "dtype", "shape", "numel", "bytes", "nan", "inf", "n_finite",
          "min", "max", "mean", "std"]


def build_tensors():
    rng = np.random.default_rng(20240605)
    t = {}
    big = rng.standard_normal((1100, 1024)).astype(np.float32)  # > 1 chunk (2^20)
    big.flat[[5, 777_777, big.size - 1]] = [np.nan, np.inf, -np.inf]
    big.flat[10:20] = 0.0
    big.flat[20:25] = 1e-20                                        # histogram `under`
    big.flat[25] = 3e5                                             # histogram `over`
    t["big.f32"] = big
    t["w.bf16"] = (rng.standard_normal((48, 40)) * 3).astype(BF16)
    h = (rng.standard_normal((3, 5, 7)) * 100).astype(np.float16)
    h.flat[[0, 1]] = [2**-24, 65504.0]                             # subnormal, f16 max
    t["w.f16"] = h
    e4 = (rng.standard_normal(300) * 50).astype(E4M3)
    e4[7] = np.nan                                                 # e4m3fn: NaN, no Inf
    t["w.f8e4m3fn"] = e4
    t["w.f8e5m2"] = (rng.standard_normal((9, 11)) * 1000).astype(E5M2)
    t["w.f64"] = rng.standard_normal((17, 3)) * 1e-3
    t["w.i8"] = rng.integers(-128, 128, (20, 20), dtype=np.int8)
    t["w.u8"] = rng.integers(0, 256, 64, dtype=np.uint8)
    t["w.bool"] = rng.integers(0, 2, 50).astype(np.bool_)
    t["scalar"] = np.array(-7.5, np.float32)
    t["empty"] = np.zeros((0, 3), np.float32)
    t["all_nan"] = np.full(4, np.nan, np.float32)
    t["name, with \"quotes\""] = np.array([1.0, 2.0], np.float32)
    return t


TENSORS = build_tensors()
HEALTHY = {k: v for k, v in TENSORS.items()
           if not np.any(~np.isfinite(ref.to_f64(v)))}


def expected(arr, lo=-40, hi=16):
    x = ref.to_f64(arr)
    fin = x[np.isfinite(x)]
    n = fin.size
    e = {"dtype": ref.dtype_name(arr), "shape": list(np.shape(arr)), "numel": int(x.size),
         "bytes": int(np.asarray(arr).nbytes), "nan": int(np.isnan(x).sum()),
         "inf": int(np.isinf(x).sum()), "n_finite": int(n),
         "hist": ref.value_hist(fin, lo, hi)}
    e["status"] = "nonfinite" if e["nan"] or e["inf"] else "ok"
    if n:
        mean = math.fsum(fin) / n
        e.update(min=float(fin.min()), max=float(fin.max()), mean=mean,
                 var=math.fsum((fin - mean) ** 2) / n,
                 mean_bound=math.fsum(np.abs(fin)) / n, sq_bound=math.fsum(fin * fin) / n)
    else:
        e.update(min=None, max=None, mean=None, std=None)
    return e


def check_tensor(got, exp):
    errs = []
    for f in ("status", "dtype", "shape", "numel", "bytes", "nan", "inf", "n_finite", "hist",
              "min", "max"):
        if got.get(f) != exp[f]:
            errs.append(f"{f}: expected {exp[f]!r}, got {got.get(f)!r}")
    if exp["n_finite"] == 0:
        if got.get("mean") is not None or got.get("std") is not None:
            errs.append(f"mean/std must be null, got {got.get('mean')!r} {got.get('std')!r}")
        return errs
    if not abs(got["mean"] - exp["mean"]) <= 1e-9 * exp["mean_bound"]:
        errs.append(f"mean: expected {exp['mean']!r}, got {got['mean']!r}")
    if not abs(got["std"] ** 2 - exp["var"]) <= 1e-9 * exp["sq_bound"]:
        errs.append(f"std: expected {math.sqrt(exp['var'])!r}, got {got['std']!r}")
    return errs


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("inspect")
    save_file(TENSORS, str(d / "m.safetensors"), metadata={"format": "pt", "note": "inspect"})
    save_file(HEALTHY, str(d / "healthy.safetensors"))
    # A Hugging Face sharded folder: two shards and an index.
    shard = d / "sharded"
    shard.mkdir()
    names = sorted(TENSORS)
    parts = {"model-00001-of-00002.safetensors": names[::2],
             "model-00002-of-00002.safetensors": names[1::2]}
    weight_map = {}
    for fname, keys in parts.items():
        save_file({k: TENSORS[k] for k in keys}, str(shard / fname))
        weight_map.update({k: fname for k in keys})
    (shard / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return d


@pytest.fixture(scope="module")
def main_run(wd_bin, model_dir):
    proc = run_wd(wd_bin, "inspect", "m.safetensors", "--backend", "cpu", "--threads", "2",
                  "--json", "out.json", "--csv", "out.csv", "-q", cwd=model_dir)
    return proc, load_report(model_dir / "out.json"), (model_dir / "out.csv")


def test_every_tensor_matches_numpy(main_run):
    proc, rep, _ = main_run
    assert proc.returncode == 1, proc.stderr   # NaN and Inf present
    names = [t["name"] for t in rep["tensors"]]
    assert names == sorted(TENSORS, key=lambda s: s.encode())
    errs = []
    for t in rep["tensors"]:
        assert list(t)[:len(FIELDS)] == FIELDS and list(t)[len(FIELDS)] == "hist", list(t)
        errs += [f"{t['name']}.{e}" for e in check_tensor(t, expected(TENSORS[t["name"]]))]
    assert not errs, "\n".join(errs)


def test_non_finite_values_are_strings_and_nulls(main_run):
    _, rep, _ = main_run
    by = {t["name"]: t for t in rep["tensors"]}
    assert by["all_nan"]["nan"] == 4 and by["all_nan"]["min"] is None
    assert by["empty"]["status"] == "ok" and by["empty"]["std"] is None
    assert by["scalar"]["shape"] == [] and by["scalar"]["std"] == 0.0
    # A histogram over a value range in which 3e5 is `over` and 1e-20 `under`.
    assert by["big.f32"]["hist"]["over"] >= 1 and by["big.f32"]["hist"]["under"] >= 5


def test_header_and_summary(main_run, model_dir):
    _, rep, _ = main_run
    assert rep["schema_version"] == 1 and rep["tool"] == "weightdiff"
    assert "b" not in rep
    a = rep["a"]
    assert a["path"] == "m.safetensors" and a["format"] == "safetensors"
    assert a["tensors"] == len(TENSORS)
    assert a["bytes"] == sum(np.asarray(v).nbytes for v in TENSORS.values())
    assert a["metadata"] == {"format": "pt", "note": "inspect"}
    assert rep["backend"]["name"] == "cpu" and rep["backend"]["threads"] == 2
    assert rep["options"]["hist_range"] == [-40, 16]
    s = rep["summary"]
    exp = [expected(v) for v in TENSORS.values()]
    assert s["tensors"] == s["inspected"] == len(TENSORS)
    assert s["elements"] == sum(e["numel"] for e in exp)
    assert s["nan"] == sum(e["nan"] for e in exp) and s["inf"] == sum(e["inf"] for e in exp)
    assert s["tensors_with_nan"] == sum(e["nan"] > 0 for e in exp) == 3   # big, all_nan, e4m3
    assert s["tensors_with_inf"] == sum(e["inf"] > 0 for e in exp) == 1
    assert s["min"] == min(e["min"] for e in exp if e["min"] is not None)
    assert s["max"] == max(e["max"] for e in exp if e["max"] is not None)
    assert s["bytes_read"] == a["bytes"]


def test_csv_rows_match_json(main_run):
    _, rep, csv_path = main_run
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == FIELDS
    assert len(rows) - 1 == len(rep["tensors"])

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, list):
            return "x".join(map(str, v))
        return str(v)

    for row, t in zip(rows[1:], rep["tensors"]):
        assert row[:6] == [cell(t[f]) for f in FIELDS[:6]], row
        for f, c in zip(FIELDS[6:], row[6:]):
            v = t[f]
            if v is None:
                assert c == "", (t["name"], f, c)
            else:   # same double, whatever the spelling
                assert float(c) == float(v), (t["name"], f, c, v)


def test_sharded_folder_lists_every_tensor(wd_bin, model_dir, main_run):
    _, single, _ = main_run
    proc = run_wd(wd_bin, "inspect", "sharded", "--backend", "cpu", "--json", "-", cwd=model_dir)
    assert proc.returncode == 1, proc.stderr
    rep = json.loads(proc.stdout)      # only the report on stdout: no table
    assert rep["a"]["tensors"] == len(TENSORS)
    # Same tensors, same values as the single file (bit-identical stats).
    assert rep["tensors"] == single["tensors"]


def test_healthy_model_exits_zero_and_prints_a_table(wd_bin, model_dir):
    proc = run_wd(wd_bin, "inspect", "healthy.safetensors", "--backend", "cpu", cwd=model_dir)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["tensor", "dtype", "shape"]
    assert sum(1 for ln in lines if ln.endswith(" ok")) == min(20, len(HEALTHY))
    assert lines[-1].startswith(f"inspected {len(HEALTHY)} tensors")
    assert "no NaN or Inf" in lines[-1]


def test_table_puts_non_finite_first(wd_bin, model_dir):
    proc = run_wd(wd_bin, "inspect", "m.safetensors", "--backend", "cpu", "--top", "3",
                  cwd=model_dir)
    assert proc.returncode == 1
    rows = proc.stdout.splitlines()[1:4]
    assert {r.split()[0] for r in rows} == {"big.f32", "all_nan", "w.f8e4m3fn"}, rows
    assert all(r.endswith("nonfinite") for r in rows)


def test_inf_alone_exits_one(wd_bin, tmp_path):
    save_file({"x": np.array([1.0, -np.inf], np.float32)}, str(tmp_path / "inf.safetensors"))
    proc = run_wd(wd_bin, "inspect", "inf.safetensors", "--backend", "cpu", "-q", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""


def test_filters(wd_bin, model_dir):
    proc = run_wd(wd_bin, "inspect", "m.safetensors", "--backend", "cpu", "--include", r"^w\.",
                  "--exclude", "f8e4m3fn", "--json", "-", cwd=model_dir)
    assert proc.returncode == 0, proc.stderr   # the NaN/Inf tensors are filtered out
    rep = json.loads(proc.stdout)
    want = sorted(k for k in TENSORS if k.startswith("w.") and "f8e4m3fn" not in k)
    assert [t["name"] for t in rep["tensors"]] == want
    assert rep["options"]["include"] == [r"^w\."] and rep["options"]["exclude"] == ["f8e4m3fn"]


def test_hist_range_option(wd_bin, model_dir):
    proc = run_wd(wd_bin, "inspect", "m.safetensors", "--backend", "cpu", "--hist-range", "-8:4",
                  "--include", "bf16|f16", "--json", "-", cwd=model_dir)
    rep = json.loads(proc.stdout)
    assert rep["options"]["hist_range"] == [-8, 4]
    for t in rep["tensors"]:
        assert t["hist"] == expected(TENSORS[t["name"]], -8, 4)["hist"], t["name"]


def test_unsupported_dtype_is_listed_without_stats(wd_bin, tmp_path):
    x = np.array([0.5, -1.5], np.float32).tobytes()
    header = {"odd": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]},
              "x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}
    write_raw_safetensors(tmp_path / "u.safetensors", header, bytes(8) + x)
    proc = run_wd(wd_bin, "inspect", "u.safetensors", "--backend", "cpu", "--json", "u.json",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr   # unsupported dtypes never decide
    rep = load_report(tmp_path / "u.json")
    odd, x_t = rep["tensors"]
    assert odd == {"name": "odd", "status": "unsupported_dtype", "dtype": "C64", "shape": [1],
                   "numel": 1, "bytes": 8}
    assert x_t["min"] == -1.5 and x_t["max"] == 0.5
    assert rep["summary"]["unsupported_dtype"] == 1
    assert "unsupported_dtype  odd  C64" in proc.stdout


def test_bad_file_exits_two_naming_it(wd_bin, tmp_path):
    (tmp_path / "sub").mkdir()
    write_raw_safetensors(tmp_path / "sub" / "bad.safetensors",
                          {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)
    proc = run_wd(wd_bin, "inspect", "sub/bad.safetensors", "--backend", "cpu",
                  "--json", "out.json", "--csv", "out.csv", cwd=tmp_path)
    assert_clean_failure(proc, "sub/bad.safetensors", report=tmp_path / "out.json")
    assert not (tmp_path / "out.csv").exists()
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1, proc.stderr


@pytest.mark.parametrize("args", [
    ["--top", "-1"],
    ["--hist-range", "16:-40"],
    ["--hist-range", "nope"],
    ["--json", "-", "--csv", "-"],
    ["--include", "("],
    ["--include", "matches_nothing"],
    ["--backend", "tpu"],
    ["--bogus"],
    ["--sort", "std"],            # a diff option inspect does not take
], ids=lambda a: " ".join(a))
def test_bad_options_exit_two(wd_bin, model_dir, args):
    proc = run_wd(wd_bin, "inspect", "healthy.safetensors", *args, "--backend", "cpu",
                  cwd=model_dir)
    assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].startswith("weightdiff: error:"), proc.stderr


def test_missing_model_argument_exits_two(wd_bin, tmp_path):
    proc = run_wd(wd_bin, "inspect", cwd=tmp_path)
    assert proc.returncode == 2


def test_help_mentions_inspect(wd_bin):
    top = run_wd(wd_bin, "--help")
    assert top.returncode == 0 and "weightdiff inspect" in top.stdout
    sub = run_wd(wd_bin, "inspect", "--help")
    assert sub.returncode == 0 and "Usage: weightdiff inspect" in sub.stdout
    for opt in ("--json", "--csv", "--top", "--include", "--exclude", "--hist-range",
                "--threads", "--backend", "--progress", "--color", "--quiet"):
        assert opt in sub.stdout, opt
