"""Cross-checks weightdiff's JSON report against the numpy reference.

Every fixture is written by the OFFICIAL `safetensors` package
(safetensors.numpy.save_file, which accepts ml_dtypes' bfloat16 / float8
arrays and writes BF16 / F8_E4M3 / F8_E5M2), so these tests also prove that
weightdiff reads what the ecosystem writes (8-byte padded headers, empty
tensors with data_offsets [x, x], scalars with shape []).

Comparison rules (SPEC §2 "Accuracy"):
  * counts, extremes, indices, values at the max, histograms, statuses,
    dtype names and shapes: exactly;
  * sums: within 1e-9 x the same sum over |terms| (reference: math.fsum);
  * `1 - cosine`: within 1e-12 absolute;
  * derived values (norms, rmse, rel_l2, snr_db, stds): within the error the
    sum bound implies, and consistent with the sums the report itself gives.
"""

import json
import math
import zlib
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import reference as ref
from conftest import assert_clean_failure, last_stderr_line, load_report, run_wd

BF16 = ml_dtypes.bfloat16
E4M3 = ml_dtypes.float8_e4m3fn
E5M2 = ml_dtypes.float8_e5m2


# --------------------------------------------------------------------------
# Fixture tensors. Each builder gets its own seeded generator (seed = CRC of
# the name) so adding a builder never changes another one's data.
# --------------------------------------------------------------------------

def _noise(rng, shape, scale):
    return rng.standard_normal(shape) * scale


def pair_f32_big(rng):
    # > 1M elements so that every multi-chunk / multi-thread path is used.
    a = rng.standard_normal((1100, 1024), dtype=np.float32)
    b = (a + _noise(rng, a.shape, 1e-3)).astype(np.float32)
    b[::97] = a[::97]                      # some exactly equal elements
    # The max |d| = 8 is attained at three flat indices; the smallest one
    # (123457) must be reported whichever thread / chunk sees it first.
    for i, (x, y) in {900_000: (1.0, 9.0), 123_457: (-2.0, 6.0),
                      a.size - 1: (0.5, -7.5)}.items():
        a.flat[i], b.flat[i] = x, y
    return a, b


def pair_f32_special(rng):
    # NaN / Inf on one and on both sides, +-0, subnormals, and a difference
    # (6e38) that overflows float32 but not float64: d must be float64.
    a = rng.standard_normal((7, 13)).astype(np.float32)
    b = (a + _noise(rng, a.shape, 1e-2)).astype(np.float32)
    nan, inf = np.float32(np.nan), np.float32(np.inf)
    cases = [
        (nan, nan),          # both NaN: equal, passes
        (nan, 1.0),          # NaN only in a
        (2.0, nan),          # NaN only in b
        (inf, inf),          # same infinity: equal, passes
        (inf, -inf),         # opposite infinities: mismatched
        (-inf, 3.0),         # Inf only in a
        (1.0, inf),          # Inf only in b
        (0.0, -0.0),         # +0 == -0
        (-0.0, -0.0),
        (0.0, 1e-30),        # a == 0: excluded from max_rel; tiny |d| -> under
        (1e6, -1e6),         # |d| >= 2^16 -> over
        (1.0, 1.0 + 2**-23),
        (3e38, -3e38),       # |d| = 6e38 > FLT_MAX
        (2**-149, 0.0),      # float32 subnormal
        (-2**-140, 2**-140),
    ]
    for i, (x, y) in enumerate(cases):
        a.flat[i], b.flat[i] = x, y
    return a, b


def pair_bf16(rng):
    a = rng.standard_normal((64, 96)).astype(BF16)
    b = (a.astype(np.float32) + _noise(rng, a.shape, 0.05)).astype(BF16)
    return a, b


def pair_f16_3d(rng):
    # 3-D to check row-major coordinates; f16 subnormals and the f16 maximum.
    a = (rng.standard_normal((3, 5, 7)) * 4).astype(np.float16)
    b = (a.astype(np.float32) + _noise(rng, a.shape, 1e-2)).astype(np.float16)
    a.flat[0], b.flat[0] = 2**-24, 2**-20
    a.flat[1], b.flat[1] = 65504.0, -65504.0
    a.flat[2], b.flat[2] = -2**-22, 0.0
    return a, b


def pair_bf16_f32(rng):
    # Mixed dtypes; |d| <= 0.005|a| is inside bf16's rtol 0.016: "close".
    a = rng.standard_normal((40, 50)).astype(BF16)
    af = a.astype(np.float32)
    b = (af * (1 + 0.005 * rng.uniform(-1, 1, a.shape))).astype(np.float32)
    return a, b


def pair_f8e4m3fn_bf16(rng):
    a = (rng.standard_normal((33, 17)) * 4).astype(E4M3)
    b = (a.astype(np.float32) + _noise(rng, a.shape, 0.05)).astype(BF16)
    a.flat[3] = np.nan                      # e4m3fn has NaN but no Inf
    b.flat[10] = np.inf
    a.flat[20], b.flat[20] = 448.0, -448.0  # e4m3fn maximum
    return a, b


def pair_f8e5m2_f16(rng):
    a = (rng.standard_normal(129) * 100).astype(E5M2)
    b = (a.astype(np.float32) * (1 + 0.1 * rng.standard_normal(129))).astype(np.float16)
    a[0] = np.inf
    a[1], b[1] = -np.inf, -np.inf           # equal infinities
    b[2] = np.nan
    a[3], b[3] = 57344.0, 0.0               # e5m2 maximum
    return a, b


def pair_i8(rng):
    a = rng.integers(-128, 128, 1000, dtype=np.int8)
    b = a.copy()
    idx = rng.choice(1000, 100, replace=False)
    b[idx] = rng.integers(-128, 128, 100, dtype=np.int8)
    a[0], b[0] = -128, 127
    return a, b


def pair_f64_f32(rng):
    # float64 reference vs its float32 rounding: close under f32's tolerance,
    # and d is a rounded float64 subtraction (not exact) for f64 inputs.
    a = rng.standard_normal((256, 17)) * 3
    b = a.astype(np.float32)
    return a, b


def pair_u8(rng):
    a = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-2, 3, a.shape), 0, 255).astype(np.uint8)
    return a, b


def pair_i32_i64(rng):
    a = rng.integers(-2**31, 2**31, 500, dtype=np.int64).astype(np.int32)
    b = a.astype(np.int64) + rng.integers(-3, 4, 500)
    # Integers beyond 2^53 round to nearest on conversion (SPEC §2).
    b[0] = 2**53 + 1
    b[1] = -(2**62) + 12345
    b[2] = 2**63 - 1
    return a, b


def pair_u64_u32(rng):
    # u64 beyond 2^53 rounds to nearest on conversion; 2^64-1 becomes 2^64.
    a = rng.integers(0, 2**32, 300, dtype=np.uint64)
    a[0], a[1], a[2] = 2**64 - 1, 2**53 + 1, 2**63 + 2**11 + 1
    b = (a & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    b[3:] = a[3:].astype(np.uint32)
    return a, b


def pair_i16_u16(rng):
    a = rng.integers(-2**15, 2**15, (20, 20), dtype=np.int16)
    b = np.abs(a.astype(np.int32)).astype(np.uint16)
    return a, b


def pair_bool(rng):
    # Bool bytes other than 0/1 (2, 255) still mean true (SPEC §2).
    a = rng.choice(np.array([0, 1, 2, 255], np.uint8), (9, 11)).view(np.bool_)
    b = rng.choice(np.array([0, 1, 7, 255], np.uint8), (9, 11)).view(np.bool_)
    return a, b


def pair_scalar(rng):
    return np.array(1.5, np.float32), np.array(1.75, np.float32)


def pair_empty(rng):
    # numel 0: identical, every per-element metric null, sums 0.
    return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)


def pair_nan_both(rng):
    # n > 0 but n_finite = 0, all pairs NaN/NaN: identical.
    x = np.full(4, np.nan, np.float32)
    return x, x.copy()


def pair_nan_vs_num(rng):
    # n_finite = 0 and different.
    return np.full(3, np.nan, np.float16), np.array([1, 2, 3], np.float16)


def pair_a_zero(rng):
    # norm_a == 0 (deliberately all-zero a): cosine 0, rel_l2 +inf,
    # snr_db -inf, max_rel null.
    return np.zeros(10, np.float32), rng.standard_normal(10).astype(np.float32)


def pair_identical_bf16(rng):
    a = rng.standard_normal((8, 8)).astype(BF16)
    b = a.copy()
    a[0, 0], b[0, 0] = 0.0, -0.0             # still identical (+0 == -0)
    return a, b


def pair_close_f32(rng):
    a = rng.standard_normal(1000).astype(np.float32)
    b = (a.astype(np.float64) * (1 + 5e-7)).astype(np.float32)
    return a, b


PAIRS = {
    "f32_big": pair_f32_big,
    "f32_special": pair_f32_special,
    "bf16": pair_bf16,
    "f16_3d": pair_f16_3d,
    "bf16_f32": pair_bf16_f32,
    "f8e4m3fn_bf16": pair_f8e4m3fn_bf16,
    "f8e5m2_f16": pair_f8e5m2_f16,
    "i8": pair_i8,
    "f64_f32": pair_f64_f32,
    "u8": pair_u8,
    "i32_i64": pair_i32_i64,
    "u64_u32": pair_u64_u32,
    "i16_u16": pair_i16_u16,
    "bool": pair_bool,
    "scalar": pair_scalar,
    "empty": pair_empty,
    "nan_both": pair_nan_both,
    "nan_vs_num": pair_nan_vs_num,
    "a_zero": pair_a_zero,
    "identical_bf16": pair_identical_bf16,
    "close_f32": pair_close_f32,
}

# Statuses the fixtures are built to produce; guards against a fixture that
# silently stops exercising what it was written for.
INTENDED_STATUS = {
    "bf16_f32": "close", "f64_f32": "close", "close_f32": "close",
    "empty": "identical", "nan_both": "identical", "identical_bf16": "identical",
    "f32_special": "different", "nan_vs_num": "different", "a_zero": "different",
    "f32_big": "different",
}

META_A = {"format": "pt", "note": "ünïcode ✓"}


def build_pairs():
    out = {}
    for name, fn in PAIRS.items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        with np.errstate(over="ignore", invalid="ignore"):
            a, b = fn(rng)
        # np.array(copy) keeps 0-d arrays 0-d (ascontiguousarray would not)
        # and copies bool bytes verbatim (2 and 255 stay 2 and 255).
        out[name] = (np.array(a, order="C", copy=True), np.array(b, order="C", copy=True))
    return out


@pytest.fixture(scope="module")
def pairs():
    return build_pairs()


@pytest.fixture(scope="module")
def model_files(pairs, tmp_path_factory):
    d = tmp_path_factory.mktemp("crosscheck")
    save_file({k: v[0] for k, v in pairs.items()}, str(d / "a.safetensors"), metadata=META_A)
    save_file({k: v[1] for k, v in pairs.items()}, str(d / "b.safetensors"))
    return d


def _run_json(wd_bin, cwd, *extra, out="out.json"):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--json", out,
                  "--backend", "cpu", *extra, cwd=cwd)
    assert proc.returncode in (0, 1), (
        f"exit {proc.returncode}\nstderr:\n{proc.stderr}")
    return proc, load_report(Path(cwd) / out)


@pytest.fixture(scope="module")
def main_run(wd_bin, model_files):
    return _run_json(wd_bin, model_files, "--threads", "2", out="main.json")


@pytest.fixture(scope="module")
def reference_default(pairs):
    return {n: ref.pair_metrics(a, b) for n, (a, b) in pairs.items()}


# Non-default options: each of --atol / --rtol overrides only its own default,
# and --hist-range changes every histogram.
OPT_ATOL, OPT_HIST = 0.01, (-10, 4)


@pytest.fixture(scope="module")
def options_run(wd_bin, model_files):
    return _run_json(wd_bin, model_files, "--threads", "2", "--atol", str(OPT_ATOL),
                     "--hist-range", f"{OPT_HIST[0]}:{OPT_HIST[1]}", out="opts.json")


@pytest.fixture(scope="module")
def reference_options(pairs):
    return {n: ref.pair_metrics(a, b, atol=OPT_ATOL, hist_range=OPT_HIST)
            for n, (a, b) in pairs.items()}


# --------------------------------------------------------------------------
# Field comparison
# --------------------------------------------------------------------------

def as_number(v):
    """JSON value -> float/int/None; the strings "nan"/"inf"/"-inf" are the
    only allowed non-finite spellings (SPEC §5)."""
    if isinstance(v, str):
        if v not in ("nan", "inf", "-inf"):
            raise AssertionError(f"string {v!r} where a number was expected")
        return float(v)
    if isinstance(v, bool):
        raise AssertionError(f"boolean {v!r} where a number was expected")
    return v


def same_value(got, exp):
    """Exact equality with None == None and NaN == NaN (0.0 == -0.0)."""
    if exp is None or got is None:
        return got is None and exp is None
    if isinstance(exp, float) and math.isnan(exp):
        return isinstance(got, float) and math.isnan(got)
    return got == exp


def near(got, exp, tol):
    if exp is None or got is None or not math.isfinite(exp):
        return same_value(got, exp)
    return got is not None and math.isfinite(got) and abs(got - exp) <= tol


COUNT_FIELDS = ("numel", "n_finite", "equal", "mismatched", "nan_a", "nan_b",
                "inf_a", "inf_b")
EXACT_FIELDS = ("status", "dtype_a", "dtype_b", "shape_a", "shape_b", "atol",
                "rtol", "max_abs", "max_abs_index", "a_at_max_abs",
                "b_at_max_abs", "max_rel", "min_a", "max_a", "min_b", "max_b")
SUM_FIELDS = ("dot", "sum_sq_a", "sum_sq_b", "sum_sq_diff", "mean_abs",
              "mean_a", "mean_b")
HIST_FIELDS = ("hist_abs_diff", "hist_a", "hist_b")
# Every per-tensor field SPEC §5 names for a compared pair.
SPEC_TENSOR_FIELDS = (("name", "name_b", "failed") + COUNT_FIELDS + EXACT_FIELDS
                      + SUM_FIELDS + HIST_FIELDS
                      + ("rmse", "norm_a", "norm_b", "norm_diff", "cosine",
                         "rel_l2", "snr_db", "std_a", "std_b"))


def compare_tensor(got, exp, bounds):
    """Returns a list of 'field: expected X, got Y' strings (empty = pass)."""
    errs = []

    def bad(field, e, g, why=""):
        errs.append(f"{field}: expected {e!r}, got {g!r}{(' (' + why + ')') if why else ''}")

    missing = [f for f in SPEC_TENSOR_FIELDS if f not in got]
    if missing:
        errs.append(f"missing fields {missing}")

    for f in COUNT_FIELDS:
        g = got.get(f)
        if not (isinstance(g, int) and not isinstance(g, bool) and g == exp[f]):
            bad(f, exp[f], g)
    for f in EXACT_FIELDS:
        g = got.get(f)
        if f in ("status", "dtype_a", "dtype_b", "shape_a", "shape_b", "max_abs_index"):
            if g != exp[f]:
                bad(f, exp[f], g)
        elif not same_value(as_number(g), exp[f]):
            bad(f, exp[f], g)
    for f in HIST_FIELDS:
        g, e = got.get(f) or {}, exp[f]
        diff = {k: (e[k], g.get(k)) for k in e if g.get(k) != e[k]}
        if diff:
            why = ""
            if f != "hist_abs_diff" and all(g.get(k) == v for k, v in bounds[f + "_over_pairs"].items()):
                why = ("got = histogram over the finite PAIRS only; SPEC §4 says "
                       "over the tensor's own finite values")
            bad(f, {k: v[0] for k, v in diff.items()}, {k: v[1] for k, v in diff.items()}, why)

    # Sums: 1e-9 x sum of |terms| (+ a tiny absolute slack for 0).
    for f in SUM_FIELDS:
        g = as_number(got.get(f))
        if f in bounds:
            tol = 1e-9 * bounds[f] + 1e-300
        else:
            tol = 0.0   # n_finite == 0: means are null
        if not near(g, exp[f], tol):
            bad(f, exp[f], g, f"tol {tol:.3g}")

    # Derived from sums: sqrt halves a relative error, a ratio adds two.
    for f, rel in (("norm_a", 1e-9), ("norm_b", 1e-9), ("norm_diff", 1e-9),
                   ("rmse", 1e-9), ("rel_l2", 2e-9)):
        g, e = as_number(got.get(f)), exp[f]
        if not near(g, e, rel * abs(e) if e is not None and math.isfinite(e) else 0):
            bad(f, e, g)
    # snr_db = 20 log10(ratio): abs error 8.7 x relative error of the ratio.
    g, e = as_number(got.get("snr_db")), exp["snr_db"]
    if not near(g, e, 2e-8):
        bad("snr_db", e, g)
    # SPEC §2: 1 - cosine within 1e-12 absolute.
    g, e = as_number(got.get("cosine")), exp["cosine"]
    if not near(g, e, 1e-12):
        bad("cosine", e, g, "tol 1e-12")
    # Population stds: relative 1e-9 plus a slack scaled by the data's size.
    for side in ("a", "b"):
        f = f"std_{side}"
        g, e = as_number(got.get(f)), exp[f]
        tol = 0 if e is None else 1e-9 * e + 1e-14 * bounds[f]
        if not near(g, e, tol):
            bad(f, e, g)

    # Internal consistency of the report's own derived values.
    try:
        ssa, ssb, ssd = (as_number(got[k]) for k in ("sum_sq_a", "sum_sq_b", "sum_sq_diff"))
        na, nb, nd = (as_number(got[k]) for k in ("norm_a", "norm_b", "norm_diff"))
        for name, norm, ss in (("norm_a", na, ssa), ("norm_b", nb, ssb), ("norm_diff", nd, ssd)):
            if not math.isclose(norm, math.sqrt(ss), rel_tol=1e-14, abs_tol=0):
                bad(name, f"sqrt(report sum) = {math.sqrt(ss)!r}", norm, "inconsistent")
        dot = as_number(got["dot"])
        cos_own = ref.cosine_of(dot, ssa, ssb)
        if not math.isclose(as_number(got["cosine"]), cos_own, rel_tol=0, abs_tol=1e-14):
            bad("cosine", f"from report sums {cos_own!r}", got["cosine"], "inconsistent")
    except (KeyError, TypeError, ValueError) as e:
        errs.append(f"consistency check impossible: {e!r}")
    return errs


def check_report_tensors(report, reference):
    names = [t["name"] for t in report["tensors"]]
    # SPEC §5: sorted by name, byte-wise.
    assert names == sorted(names, key=lambda s: s.encode()), names
    assert set(names) == set(reference), set(names) ^ set(reference)


# --------------------------------------------------------------------------
# Tests: per-tensor cross-check
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(PAIRS))
def test_tensor_matches_reference(name, main_run, reference_default):
    _, report = main_run
    got = {t["name"]: t for t in report["tensors"]}.get(name)
    assert got is not None, f"tensor {name} missing from report"
    exp, bounds = reference_default[name]
    assert got.get("name_b") == name
    assert got.get("failed") == []
    errs = compare_tensor(got, exp, bounds)
    assert not errs, f"{name}:\n  " + "\n  ".join(errs)


@pytest.mark.parametrize("name", list(PAIRS))
def test_tensor_matches_reference_with_options(name, options_run, reference_options):
    _, report = options_run
    got = {t["name"]: t for t in report["tensors"]}.get(name)
    assert got is not None, f"tensor {name} missing from report"
    exp, bounds = reference_options[name]
    errs = compare_tensor(got, exp, bounds)
    assert not errs, f"{name} (--atol {OPT_ATOL} --hist-range {OPT_HIST}):\n  " + "\n  ".join(errs)


def test_rtol_override_only_its_own(wd_bin, model_files, pairs):
    # --rtol replaces only the rtol default: atol stays per dtype (SPEC §3).
    # f32_big is left out to keep this run cheap.
    _, rep = _run_json(wd_bin, model_files, "--rtol", "0.5", "--exclude", "^f32_big$",
                       out="rtol.json")
    errs = []
    for t in rep["tensors"]:
        exp, _ = ref.pair_metrics(*pairs[t["name"]], rtol=0.5)
        for f in ("atol", "rtol", "mismatched", "status"):
            if t.get(f) != exp[f]:
                errs.append(f"{t['name']}.{f}: expected {exp[f]!r}, got {t.get(f)!r}")
    assert not errs, "\n".join(errs)
    assert rep["options"]["rtol"] == 0.5 and rep["options"]["atol"] is None


def test_fixture_statuses_are_as_intended(reference_default):
    # Guards the fixtures themselves (no binary involved).
    for name, status in INTENDED_STATUS.items():
        assert reference_default[name][0]["status"] == status, name


def test_report_order_and_header(main_run, reference_default, pairs, model_files):
    proc, report = main_run
    check_report_tensors(report, reference_default)
    # Differences exist, so diff(1)-style exit 1.
    assert proc.returncode == 1
    assert report["schema_version"] == 1
    assert report["tool"] == "weightdiff"
    assert isinstance(report.get("version"), str)
    for side, idx, meta in (("a", 0, META_A), ("b", 1, {})):
        info = report[side]
        assert info["path"] == f"{side}.safetensors"
        assert info["format"] == "safetensors"
        assert info["tensors"] == len(pairs)
        assert info["bytes"] == sum(v[idx].nbytes for v in pairs.values())
        assert info["metadata"] == meta
    assert report["backend"]["name"] == "cpu"
    assert report["backend"]["threads"] == 2
    opts = report["options"]
    assert opts["atol"] is None and opts["rtol"] is None
    assert opts["hist_range"] == [-40, 16]
    assert opts["map"] == [] and opts["include"] == [] and opts["exclude"] == []
    assert opts["fail_if"] == []


def test_summary_matches_reference(main_run, reference_default):
    _, report = main_run
    s = report["summary"]
    exp = ref.summary([(n, e) for n, (e, _) in reference_default.items()])
    errs = []
    for f in ("compared", "identical", "close", "different", "elements", "mismatched",
              "max_abs", "max_abs_tensor"):
        if not same_value(as_number(s.get(f)) if f != "max_abs_tensor" else s.get(f), exp[f]):
            errs.append(f"{f}: expected {exp[f]!r}, got {s.get(f)!r}")
    for f in ("only_in_a", "only_in_b", "shape_mismatch", "unsupported_dtype"):
        if s.get(f) != 0:
            errs.append(f"{f}: expected 0, got {s.get(f)!r}")
    if not near(as_number(s.get("cosine")), exp["cosine"], 1e-12):
        errs.append(f"cosine: expected {exp['cosine']!r}, got {s.get('cosine')!r}")
    if not near(as_number(s.get("rel_l2")), exp["rel_l2"], 2e-9 * abs(exp["rel_l2"])):
        errs.append(f"rel_l2: expected {exp['rel_l2']!r}, got {s.get('rel_l2')!r}")
    if s.get("failed") != []:
        errs.append(f"failed: expected [], got {s.get('failed')!r}")
    for f in ("seconds", "bytes_read"):
        if f not in s:
            errs.append(f"missing summary field {f}")
    assert not errs, "\n".join(errs)


def _metric_view(report):
    """The fields that SPEC §2 says are bit-identical across thread counts."""
    s = dict(report["summary"])
    s.pop("seconds", None)
    return {"summary": s, "tensors": report["tensors"]}


def test_threads_bit_identical(wd_bin, model_files, main_run):
    _, r2 = main_run
    _, r1 = _run_json(wd_bin, model_files, "--threads", "1", out="t1.json")
    _, r7 = _run_json(wd_bin, model_files, "--threads", "7", out="t7.json")
    # Python parses shortest-round-trip decimals to the same double, so equal
    # parsed values mean bit-identical doubles.
    assert json.dumps(_metric_view(r1), sort_keys=True) == json.dumps(_metric_view(r2), sort_keys=True)
    assert json.dumps(_metric_view(r7), sort_keys=True) == json.dumps(_metric_view(r2), sort_keys=True)
    assert r1["backend"]["threads"] == 1


def test_json_to_stdout(wd_bin, model_files):
    # SPEC §1: with a report on stdout the table is not printed, so stdout
    # is exactly one JSON document.
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--json", "-",
                  "--backend", "cpu", "--exclude", "^f32_big$", cwd=model_files)
    assert proc.returncode == 1, proc.stderr
    rep = json.loads(proc.stdout)
    assert len(rep["tensors"]) == len(PAIRS) - 1


def test_identical_files_exit_0(wd_bin, model_files):
    proc = run_wd(wd_bin, "a.safetensors", "a.safetensors", "--json", "same.json",
                  "--backend", "cpu", cwd=model_files)
    assert proc.returncode == 0, proc.stderr
    rep = load_report(model_files / "same.json")
    assert rep["summary"]["identical"] == len(PAIRS)
    assert all(t["status"] == "identical" for t in rep["tensors"])


# --------------------------------------------------------------------------
# Small models for structure, filters, gates and exit codes
# --------------------------------------------------------------------------

def small_tensors(seed=7):
    rng = np.random.default_rng(seed)
    t = {f"layers.{i}.weight": rng.standard_normal((16, 8)).astype(np.float32)
         for i in range(6)}
    t["embed"] = rng.standard_normal((10, 4)).astype(BF16)
    t["norm.bias"] = rng.standard_normal(8).astype(np.float16)
    return t


def write_sharded(folder, tensors, index_metadata, split=4, index=True):
    """HF layout: model-0000k-of-00002.safetensors + model.safetensors.index.json."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[:split],
              "model-00002-of-00002.safetensors": names[split:]}
    weight_map = {}
    for fname, members in shards.items():
        save_file({n: tensors[n] for n in members}, str(folder / fname),
                  metadata={"format": "pt"})
        weight_map.update({n: fname for n in members})
    if index:
        (folder / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": index_metadata, "weight_map": weight_map}, indent=2))
    return folder


@pytest.mark.parametrize("index_metadata", [{}, {"total_size": 1234}],
                         ids=["empty-metadata", "hf-total_size"])
def test_sharded_folder_equals_single_file(wd_bin, tmp_path, index_metadata):
    # Real HF index files carry {"total_size": <int>} in "metadata".
    t = small_tensors()
    save_file(t, str(tmp_path / "single.safetensors"))
    write_sharded(tmp_path / "sharded", t, index_metadata)
    proc = run_wd(wd_bin, "single.safetensors", "sharded", "--json", "r.json",
                  "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rep = load_report(tmp_path / "r.json")
    assert rep["b"]["tensors"] == len(t)
    assert rep["b"]["format"] == "safetensors"
    assert rep["summary"]["compared"] == len(t) == rep["summary"]["identical"]
    # The other direction too: the folder as the reference.
    proc = run_wd(wd_bin, "sharded", "single.safetensors", "--backend", "cpu", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_folder_without_index_pools_shards(wd_bin, tmp_path):
    t = small_tensors()
    save_file(t, str(tmp_path / "single.safetensors"))
    write_sharded(tmp_path / "pooled", t, {}, index=False)
    proc = run_wd(wd_bin, "single.safetensors", "pooled", "--json", "r.json",
                  "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert load_report(tmp_path / "r.json")["summary"]["identical"] == len(t)


def test_renamed_tensor_is_only_in_a_and_b(wd_bin, tmp_path):
    t = small_tensors()
    save_file(t, str(tmp_path / "a.safetensors"))
    tb = dict(t)
    tb["embed_renamed"] = tb.pop("embed")
    write_sharded(tmp_path / "b", tb, {})
    proc = run_wd(wd_bin, "a.safetensors", "b", "--json", "r.json", "--backend", "cpu",
                  cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    rep = load_report(tmp_path / "r.json")
    by = {t["name"]: t for t in rep["tensors"]}
    assert by["embed"]["status"] == "only_in_a"
    assert by["embed_renamed"]["status"] == "only_in_b"
    assert by["embed_renamed"]["name_b"] == "embed_renamed"
    # Unmatched tensors still carry their dtype and shape.
    assert by["embed"]["dtype_a"] == "bf16" and by["embed"]["shape_a"] == [10, 4]
    s = rep["summary"]
    assert (s["only_in_a"], s["only_in_b"], s["compared"]) == (1, 1, len(t) - 1)
    assert s["identical"] == len(t) - 1


def test_shape_mismatch(wd_bin, tmp_path):
    t = small_tensors()
    tb = dict(t)
    tb["embed"] = np.ascontiguousarray(t["embed"].reshape(5, 8))  # (4, 10) would be compared transposed
    save_file(t, str(tmp_path / "a.safetensors"))
    save_file(tb, str(tmp_path / "b.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--json", "r.json",
                  "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    rep = load_report(tmp_path / "r.json")
    e = {t["name"]: t for t in rep["tensors"]}["embed"]
    assert e["status"] == "shape_mismatch"
    assert e["shape_a"] == [10, 4] and e["shape_b"] == [5, 8]
    assert rep["summary"]["shape_mismatch"] == 1
    assert rep["summary"]["compared"] == len(t) - 1


def test_empty_models_are_equal(wd_bin, tmp_path):
    save_file({}, str(tmp_path / "a.safetensors"))
    save_file({}, str(tmp_path / "b.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--json", "r.json",
                  "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    s = load_report(tmp_path / "r.json")["summary"]
    assert s["compared"] == 0
    # Filters cannot "leave nothing" of a side that had nothing (SPEC §2).
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--include", "x",
                  "--backend", "cpu", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


# --- --map / --include / --exclude (SPEC §2 "Matching") --------------------

@pytest.fixture
def prefixed(tmp_path):
    """A: enc.w enc.b dec.w; B: the same data under 'model.' + name."""
    rng = np.random.default_rng(3)
    t = {n: rng.standard_normal(5).astype(np.float32) for n in ("enc.w", "enc.b", "dec.w")}
    save_file(t, str(tmp_path / "a.safetensors"))
    save_file({"model." + k: v for k, v in t.items()}, str(tmp_path / "b.safetensors"))
    return tmp_path


def _diff(wd_bin, cwd, *opts):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--json", "r.json",
                  "--backend", "cpu", *opts, cwd=cwd)
    rep = load_report(cwd / "r.json") if (cwd / "r.json").exists() else None
    return proc, rep


def _statuses(rep):
    return {t["name"]: t["status"] for t in rep["tensors"]}


def test_without_map_nothing_matches(wd_bin, prefixed):
    proc, rep = _diff(wd_bin, prefixed)
    assert proc.returncode == 1
    st = _statuses(rep)
    assert st == {"enc.w": "only_in_a", "enc.b": "only_in_a", "dec.w": "only_in_a",
                  "model.enc.w": "only_in_b", "model.enc.b": "only_in_b",
                  "model.dec.w": "only_in_b"}


@pytest.mark.parametrize("rule", [r"^model\.=", r"^model\.(.*)$=$1", r"model\.="])
def test_map_renames_b(wd_bin, prefixed, rule):
    proc, rep = _diff(wd_bin, prefixed, "--map", rule)
    assert proc.returncode == 0, proc.stderr
    assert _statuses(rep) == {"enc.w": "identical", "enc.b": "identical", "dec.w": "identical"}
    by = {t["name"]: t for t in rep["tensors"]}
    assert by["enc.w"]["name_b"] == "model.enc.w"      # B's original name
    assert rep["options"]["map"] == [rule]


def test_map_rules_apply_in_order(wd_bin, prefixed):
    # In the given order the last two rules cancel out; reversed they would
    # turn enc into xenc and break the match.
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.=", "--map", "enc=xenc",
                      "--map", "xenc=enc")
    assert proc.returncode == 0, proc.stderr
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.=", "--map", "xenc=enc",
                      "--map", "enc=xenc")
    assert proc.returncode == 1
    assert _statuses(rep)["xenc.w"] == "only_in_b"


def test_map_replaces_every_match_and_uses_dollar_amp(wd_bin, tmp_path):
    # 'w' occurs twice in B's name: both are replaced ($& = whole match).
    x = np.arange(4, dtype=np.float32)
    save_file({"ww.ww": x}, str(tmp_path / "a.safetensors"))
    save_file({"w.w": x}, str(tmp_path / "b.safetensors"))
    proc, rep = _diff(wd_bin, tmp_path, "--map", "w=$&$&")
    assert proc.returncode == 0, proc.stderr
    assert _statuses(rep) == {"ww.ww": "identical"}


def test_map_collision_is_an_error(wd_bin, prefixed):
    # Two B tensors mapped to one name: exit 2, no report.
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.(enc|dec)\.w$=same")
    assert proc.returncode == 2, proc.stderr
    assert rep is None
    assert last_stderr_line(proc)


def test_include_filters_both_sides(wd_bin, prefixed):
    # Search semantics ("nc" matches anywhere); applied to B's MAPPED name,
    # so '^enc' selects B's model.enc.* after the map.
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.=", "--include", r"^enc")
    assert proc.returncode == 0, proc.stderr
    assert _statuses(rep) == {"enc.w": "identical", "enc.b": "identical"}
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.=", "--include", "nc")
    assert _statuses(rep) == {"enc.w": "identical", "enc.b": "identical"}


def test_include_repeatable_any_matches(wd_bin, prefixed):
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.=", "--include", r"^dec",
                      "--include", r"\.b$")
    assert proc.returncode == 0, proc.stderr
    assert set(_statuses(rep)) == {"dec.w", "enc.b"}


def test_exclude_wins_over_include(wd_bin, prefixed):
    proc, rep = _diff(wd_bin, prefixed, "--map", r"^model\.=", "--include", "enc",
                      "--exclude", r"\.b$")
    assert proc.returncode == 0, proc.stderr
    assert set(_statuses(rep)) == {"enc.w"}
    assert rep["options"]["include"] == ["enc"] and rep["options"]["exclude"] == [r"\.b$"]


def test_exclude_without_map_keeps_structure(wd_bin, prefixed):
    # Without --map, '^enc' excludes only A's enc.*; B's model.* all stay.
    proc, rep = _diff(wd_bin, prefixed, "--exclude", "^enc")
    assert proc.returncode == 1
    assert _statuses(rep) == {"dec.w": "only_in_a", "model.enc.w": "only_in_b",
                              "model.enc.b": "only_in_b", "model.dec.w": "only_in_b"}


@pytest.mark.parametrize("opts", [
    ("--include", "nomatch"),                    # leaves nothing of either side
    ("--include", r"^enc"),                      # no map: nothing of B is kept
    ("--exclude", "."),
])
def test_filters_leaving_nothing_exit_2(wd_bin, prefixed, opts):
    proc, rep = _diff(wd_bin, prefixed, *opts)
    assert proc.returncode == 2, proc.stderr
    assert rep is None
    assert last_stderr_line(proc)


# --- --fail-if and exit codes (SPEC §6) --------------------------------------

@pytest.fixture
def gated(tmp_path):
    rng = np.random.default_rng(11)
    big = rng.standard_normal(64).astype(np.float32)
    tiny = rng.standard_normal(64).astype(np.float32)
    a = {"big_diff": big, "tiny_diff": tiny, "zero_a": np.zeros(8, np.float32)}
    b = {"big_diff": big + np.float32(0.5),
         "tiny_diff": (tiny.astype(np.float64) * (1 + 2e-7)).astype(np.float32),
         "zero_a": np.full(8, 1e-6, np.float32)}
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    return tmp_path


def _failed(rep):
    return {t["name"]: t["failed"] for t in rep["tensors"]}


def test_fail_if_triggers(wd_bin, gated):
    proc, rep = _diff(wd_bin, gated, "--fail-if", "max_abs>1e-3")
    assert proc.returncode == 1, proc.stderr
    assert rep["summary"]["failed"] == ["big_diff"]
    f = _failed(rep)
    assert len(f["big_diff"]) == 1 and "max_abs" in f["big_diff"][0]
    assert f["tiny_diff"] == [] and f["zero_a"] == []
    assert rep["options"]["fail_if"] == ["max_abs>1e-3"]


def test_fail_if_not_triggered_decides_exit_0(wd_bin, gated):
    # Without gates big_diff is "different" (exit 1); with a gate only the
    # gate and structural differences decide.
    proc, _ = _diff(wd_bin, gated)
    assert proc.returncode == 1
    proc, rep = _diff(wd_bin, gated, "--fail-if", "max_abs>100")
    assert proc.returncode == 0, proc.stderr
    assert rep["summary"]["failed"] == []


def test_fail_if_null_metric_triggers(wd_bin, gated):
    # zero_a has max_rel null (a is all zero): a gate on null counts as
    # triggered; the other tensors' max_rel are far below 1e30.
    proc, rep = _diff(wd_bin, gated, "--fail-if", "max_rel>1e30")
    assert proc.returncode == 1, proc.stderr
    assert rep["summary"]["failed"] == ["zero_a"]


def test_fail_if_global(wd_bin, gated):
    proc, rep = _diff(wd_bin, gated, "--fail-if", "global.rel_l2>1e-9")
    assert proc.returncode == 1, proc.stderr
    assert "global" in rep["summary"]["failed"]
    # Repeatable; neither condition holds anywhere (zero_a's cosine is 0,
    # so a cosine gate would trigger: use rmse, which is 0.5 at most).
    proc, rep = _diff(wd_bin, gated, "--fail-if", "global.rel_l2>1e9",
                      "--fail-if", "rmse>1")
    assert proc.returncode == 0, proc.stderr


def test_fail_if_structural_difference_still_exit_1(wd_bin, gated):
    save_file({"other": np.ones(3, np.float32)}, str(gated / "c.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "c.safetensors", "--fail-if", "max_abs>100",
                  "--backend", "cpu", "-q", cwd=gated)
    assert proc.returncode == 1, proc.stderr


@pytest.mark.parametrize("expr", ["max_abs", "max_abs>>1", "max_abs>abc", "nosuchmetric>1",
                                  ">1", "max_abs=1", "global.nosuchfield>1", ""])
def test_malformed_gate_exit_2(wd_bin, gated, expr):
    proc, rep = _diff(wd_bin, gated, "--fail-if", expr)
    assert proc.returncode == 2, f"{expr!r}: exit {proc.returncode}\n{proc.stderr}"
    assert rep is None, "report written despite exit 2"
    assert last_stderr_line(proc)


def test_exit_0_for_close(wd_bin, gated):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--include", "tiny",
                  "--backend", "cpu", "-q", cwd=gated)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("opts", [
    ("--backend", "bogus"),
    ("--no-such-option",),
    ("--threads", "abc"),
    ("--hist-range", "nonsense"),
    ("--json", "-", "--csv", "-"),              # at most one report to stdout
])
def test_bad_options_exit_2(wd_bin, gated, opts):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", *opts, cwd=gated)
    assert proc.returncode == 2, f"{opts}: exit {proc.returncode}\n{proc.stderr}"
    assert last_stderr_line(proc)


def test_missing_operand_exit_2(wd_bin, gated):
    proc = run_wd(wd_bin, "a.safetensors", "--backend", "cpu", cwd=gated)
    assert proc.returncode == 2


def test_nonexistent_file_exit_2(wd_bin, gated):
    proc = run_wd(wd_bin, "a.safetensors", "nope/missing.safetensors", "--json", "r.json",
                  "--backend", "cpu", cwd=gated)
    assert_clean_failure(proc, "nope/missing.safetensors", report=gated / "r.json")
