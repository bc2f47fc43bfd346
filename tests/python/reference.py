"""Independent float64 reference of weightdiff's per-tensor metrics.

Written from SPEC §2-§5 only (not from the C++ code), with numpy:
  * every element converted to float64 exactly (ml_dtypes for bf16/fp8);
  * sums taken with math.fsum (correctly rounded), so the reference is the
    exact value the C++ sums must approach within SPEC §2's error bound;
  * histograms from np.frexp, whose exponent is exact for every finite
    double, subnormals included.

pair_metrics() returns (expected, bounds):
  expected: dict of the JSON fields of one compared tensor, with None for
            JSON null and float('nan'/'inf') for the "nan"/"inf" strings;
  bounds:   for each summed field, the same sum over the absolute values of
            its terms (SPEC §2: tolerance = 1e-9 x that).
"""

import math

import ml_dtypes
import numpy as np

# SPEC §5 dtype names of numpy / ml_dtypes dtypes.
_NP_TO_NAME = {
    np.dtype(np.float64): "f64",
    np.dtype(np.float32): "f32",
    np.dtype(np.float16): "f16",
    np.dtype(ml_dtypes.bfloat16): "bf16",
    np.dtype(ml_dtypes.float8_e4m3fn): "f8e4m3fn",
    np.dtype(ml_dtypes.float8_e4m3fnuz): "f8e4m3fnuz",
    np.dtype(ml_dtypes.float8_e5m2): "f8e5m2",
    np.dtype(ml_dtypes.float8_e5m2fnuz): "f8e5m2fnuz",
    np.dtype(np.int64): "i64",
    np.dtype(np.int32): "i32",
    np.dtype(np.int16): "i16",
    np.dtype(np.int8): "i8",
    np.dtype(np.uint64): "u64",
    np.dtype(np.uint32): "u32",
    np.dtype(np.uint16): "u16",
    np.dtype(np.uint8): "u8",
    np.dtype(np.bool_): "bool",
    np.dtype(ml_dtypes.int4): "i4",
    np.dtype(ml_dtypes.uint4): "u4",
}

# SPEC §3 default (atol, rtol), after torch.testing.assert_close.
DEFAULT_TOL = {
    "f64": (1e-7, 1e-7),
    "f32": (1e-5, 1.3e-6),
    "f16": (1e-5, 1e-3),
    "bf16": (1e-5, 1.6e-2),
    "f8e4m3fn": (1e-5, 0.125),
    "f8e4m3fnuz": (1e-5, 0.125),
    "f8e5m2": (1e-5, 0.25),
    "f8e5m2fnuz": (1e-5, 0.25),
}
for _n in ("i64", "i32", "i16", "i8", "u64", "u32", "u16", "u8", "bool", "i4", "u4"):
    DEFAULT_TOL[_n] = (0.0, 0.0)


def dtype_name(arr) -> str:
    return _NP_TO_NAME[np.asarray(arr).dtype]


def to_f64(arr) -> np.ndarray:
    """SPEC §2 'Values': exact for floats, round-to-nearest for integers,
    bool = (byte != 0). Flattened, row-major."""
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.bool_:
        # Look at the raw byte: a bool byte of 2 or 255 is still 1.
        return (arr.view(np.uint8).reshape(-1) != 0).astype(np.float64)
    # numpy's int64/uint64 -> float64 cast rounds to nearest (IEEE default).
    return arr.reshape(-1).astype(np.float64)


def pair_tolerance(dt_a, dt_b, atol=None, rtol=None):
    """Larger default atol and larger default rtol of the two dtypes; each of
    --atol/--rtol overrides only its own default (SPEC §3)."""
    da, db = DEFAULT_TOL[dt_a], DEFAULT_TOL[dt_b]
    return (max(da[0], db[0]) if atol is None else float(atol),
            max(da[1], db[1]) if rtol is None else float(rtol))


def _fsum(x: np.ndarray) -> float:
    return math.fsum(x.tolist())


def cosine_of(dot, ssa, ssb):
    na, nb = math.sqrt(ssa), math.sqrt(ssb)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return dot / (na * nb)


def rel_l2_of(ssd, ssa):
    nd, na = math.sqrt(ssd), math.sqrt(ssa)
    if na == 0:
        return 0.0 if nd == 0 else math.inf
    return nd / na


def snr_db_of(ssd, ssa):
    nd, na = math.sqrt(ssd), math.sqrt(ssa)
    if nd == 0:
        return math.inf
    if na == 0:
        return -math.inf
    return 20.0 * math.log10(na / nd)


def _exp_bins(mag: np.ndarray, lo: int, hi: int):
    """mag: |x| >= 0 (inf allowed). Returns (zero, under, over, counts[hi-lo])
    with counts[j] for mag in [2^(lo+j), 2^(lo+j+1))."""
    zero = int(np.count_nonzero(mag == 0))
    pos = mag[mag > 0]
    inf = np.isinf(pos)
    n_inf = int(np.count_nonzero(inf))
    fin = pos[~inf]
    # frexp: x = m * 2^e, m in [0.5, 1)  =>  floor(log2 x) = e - 1, exactly.
    _, e = np.frexp(fin)
    e = e.astype(np.int64) - 1
    under = int(np.count_nonzero(e < lo))
    over = int(np.count_nonzero(e >= hi)) + n_inf
    inside = e[(e >= lo) & (e < hi)] - lo
    counts = np.bincount(inside, minlength=hi - lo).astype(np.int64)
    return zero, under, over, [int(c) for c in counts]


def abs_hist(d_abs, lo, hi):
    zero, under, over, counts = _exp_bins(d_abs, lo, hi)
    return {"lo": lo, "hi": hi, "zero": zero, "under": under, "counts": counts, "over": over}


def value_hist(x, lo, hi):
    """x: finite values of one side. zero/under/over count both signs."""
    zero, under_p, over_p, pos = _exp_bins(x[x > 0], lo, hi)
    _, under_n, over_n, neg = _exp_bins(-x[x < 0], lo, hi)
    zero = int(np.count_nonzero(x == 0))
    return {"lo": lo, "hi": hi, "zero": zero, "under": under_p + under_n,
            "over": over_p + over_n, "pos": pos, "neg": neg}


def pair_metrics(a_arr, b_arr, atol=None, rtol=None, hist_range=(-40, 16)):
    """Reference for one compared pair (same shapes). See module docstring."""
    a_arr, b_arr = np.asarray(a_arr), np.asarray(b_arr)
    assert a_arr.shape == b_arr.shape
    shape = list(a_arr.shape)
    dt_a, dt_b = dtype_name(a_arr), dtype_name(b_arr)
    atol, rtol = pair_tolerance(dt_a, dt_b, atol, rtol)
    lo, hi = hist_range
    a, b = to_f64(a_arr), to_f64(b_arr)
    n = a.size

    nan_a, nan_b = np.isnan(a), np.isnan(b)
    fa, fb = np.isfinite(a), np.isfinite(b)
    F = fa & fb
    nf = int(np.count_nonzero(F))
    # +0 == -0 and equal infinities are "equal" (IEEE ==); NaN pairs too.
    equal = int(np.count_nonzero((a == b) | (nan_a & nan_b)))

    af, bf = a[F], b[F]
    d = bf - af                      # float64, one rounding (exact for <=32-bit)
    dabs = np.abs(d)
    # Tolerance test exactly as SPEC §2: two separately rounded operations.
    with np.errstate(invalid="ignore"):
        ok_f = dabs <= (atol + (rtol * np.abs(af)))
    outside = ~F
    ok_out = (a[outside] == b[outside]) | (nan_a[outside] & nan_b[outside])
    mismatched = int(np.count_nonzero(~ok_f)) + int(np.count_nonzero(~ok_out))

    exp = {
        "dtype_a": dt_a, "dtype_b": dt_b, "shape_a": shape, "shape_b": shape,
        "numel": n, "n_finite": nf, "equal": equal, "mismatched": mismatched,
        "atol": atol, "rtol": rtol,
        "nan_a": int(np.count_nonzero(nan_a)), "nan_b": int(np.count_nonzero(nan_b)),
        "inf_a": int(np.count_nonzero(np.isinf(a))), "inf_b": int(np.count_nonzero(np.isinf(b))),
    }

    # Sums (correctly rounded) and the matching sums of |term| for the bound.
    prod = af * bf
    dot, ssa, ssb, ssd = _fsum(prod), _fsum(af * af), _fsum(bf * bf), _fsum(d * d)
    bounds = {"dot": _fsum(np.abs(prod)), "sum_sq_a": ssa, "sum_sq_b": ssb,
              "sum_sq_diff": ssd}
    exp.update({"dot": dot, "sum_sq_a": ssa, "sum_sq_b": ssb, "sum_sq_diff": ssd,
                "norm_a": math.sqrt(ssa), "norm_b": math.sqrt(ssb),
                "norm_diff": math.sqrt(ssd),
                "cosine": cosine_of(dot, ssa, ssb), "rel_l2": rel_l2_of(ssd, ssa),
                "snr_db": snr_db_of(ssd, ssa)})

    if nf == 0:
        for k in ("max_abs", "max_abs_index", "a_at_max_abs", "b_at_max_abs",
                  "mean_abs", "rmse", "max_rel", "mean_a", "mean_b", "std_a",
                  "std_b", "min_a", "max_a", "min_b", "max_b"):
            exp[k] = None
    else:
        # Smallest flat index attaining the max: argmax over the full-length
        # array with non-finite pairs pushed below every |d|.
        full = np.full(n, -1.0)
        full[F] = dabs
        i = int(np.argmax(full))
        exp["max_abs"] = float(full[i])
        exp["max_abs_index"] = [int(c) for c in np.unravel_index(i, shape)] if shape else []
        exp["a_at_max_abs"], exp["b_at_max_abs"] = float(a[i]), float(b[i])
        sum_abs = _fsum(dabs)
        exp["mean_abs"] = sum_abs / nf
        bounds["mean_abs"] = sum_abs / nf
        exp["rmse"] = math.sqrt(ssd / nf)
        nz = af != 0
        exp["max_rel"] = float(np.max(dabs[nz] / np.abs(af[nz]))) if nz.any() else None
        for side, x in (("a", af), ("b", bf)):
            mean = _fsum(x) / nf
            exp[f"mean_{side}"] = mean
            bounds[f"mean_{side}"] = _fsum(np.abs(x)) / nf
            # Two-pass population std (numerically sound in float64).
            exp[f"std_{side}"] = math.sqrt(_fsum((x - mean) ** 2) / nf)
            bounds[f"std_{side}"] = float(np.max(np.abs(x)))  # scale for abs slack
            exp[f"min_{side}"], exp[f"max_{side}"] = float(np.min(x)), float(np.max(x))

    exp["hist_abs_diff"] = abs_hist(dabs, lo, hi)
    # SPEC §4: value histograms over each tensor's OWN finite values (not only
    # the finite pairs).
    exp["hist_a"] = value_hist(a[fa], lo, hi)
    exp["hist_b"] = value_hist(b[fb], lo, hi)
    # The other conceivable reading (values of the finite PAIRS only), kept
    # so that a failure can say which reading an implementation follows.
    bounds["hist_a_over_pairs"] = value_hist(af, lo, hi)
    bounds["hist_b_over_pairs"] = value_hist(bf, lo, hi)

    if equal == n:
        exp["status"] = "identical"
    elif mismatched == 0:
        exp["status"] = "close"
    else:
        exp["status"] = "different"
    return exp, bounds


def summary(per_tensor):
    """SPEC §5 summary over the compared pairs.

    per_tensor: list of (name, expected_dict) for the compared pairs, any order.
    Structural counters (only_in_a, ...) are for the caller to add.
    """
    items = sorted(per_tensor, key=lambda t: t[0].encode())
    s = {"compared": len(items), "identical": 0, "close": 0, "different": 0,
         "elements": 0, "mismatched": 0}
    dot = ssa = ssb = ssd = 0.0
    terms = {"dot": [], "ssa": [], "ssb": [], "ssd": []}
    best, best_name = None, None
    for name, e in items:
        s[e["status"]] += 1
        s["elements"] += e["numel"]
        s["mismatched"] += e["mismatched"]
        terms["dot"].append(e["dot"])
        terms["ssa"].append(e["sum_sq_a"])
        terms["ssb"].append(e["sum_sq_b"])
        terms["ssd"].append(e["sum_sq_diff"])
        m = e["max_abs"]
        if m is not None and (best is None or m > best):  # first such name wins
            best, best_name = m, name
    dot, ssa, ssb, ssd = (math.fsum(terms[k]) for k in ("dot", "ssa", "ssb", "ssd"))
    s["max_abs"] = best
    s["max_abs_tensor"] = best_name
    s["cosine"] = cosine_of(dot, ssa, ssb)
    s["rel_l2"] = rel_l2_of(ssd, ssa)
    return s
