#!/usr/bin/env python3
"""The script users write today: diff two safetensors checkpoints with numpy.

    numpy_baseline.py A B [--lazy] [--json OUT] [--compare REPORT.json]

A and B are .safetensors files or folders of them (all *.safetensors pooled).
Both are loaded with safetensors.numpy.load_file (--lazy: safe_open, one
tensor at a time), every matched pair is converted to float64 (bf16 by viewing
the bits as uint16 and shifting them into float32) and the SPEC §2/§4 metrics
are computed with plain numpy: max_abs with its index, mean_abs, rmse,
max_rel, dot, norms, cosine, rel_l2, snr_db, means, stds, min/max, NaN/Inf
counts, allclose mismatch count and the log2 histograms of |d| (frexp +
bincount). numpy runs each operation on one core.

Prints the elapsed seconds (loading + metrics; imports excluded) and the input
throughput in GB/s (1 GB = 1e9 bytes of input files, A and B together).

--json OUT     writes the results in weightdiff's JSON field names (a subset).
--compare R    after timing, checks weightdiff's report R against these
               results: counts, maxima, indices and histograms exactly, sums
               within SPEC §2's accuracy; exit 1 on disagreement.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time

import numpy as np

try:  # lets safetensors.numpy hand out bf16/fp8 arrays
    import ml_dtypes  # noqa: F401
except ImportError:
    ml_dtypes = None
from safetensors import safe_open
from safetensors.numpy import load_file

# SPEC §3 default (atol, rtol) per numpy dtype name
TOLERANCES = {
    "float64": (1e-7, 1e-7), "float32": (1e-5, 1.3e-6), "float16": (1e-5, 1e-3),
    "bfloat16": (1e-5, 1.6e-2), "float8_e4m3fn": (1e-5, 0.125), "float8_e4m3fnuz": (1e-5, 0.125),
    "float8_e5m2": (1e-5, 0.25), "float8_e5m2fnuz": (1e-5, 0.25),
}
SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16", "bool": "bool"}


def files_of(path: str) -> list[str]:
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "*.safetensors")))
        if not files:
            raise SystemExit(f"numpy_baseline: no *.safetensors in {path}")
        return files
    return [path]


class Model:
    """name -> array, either loaded up front (load_file) or on demand (safe_open)."""

    def __init__(self, path: str, lazy: bool):
        self.files = files_of(path)
        self.bytes = sum(os.path.getsize(f) for f in self.files)
        self.handles, self.where, self.tensors = [], {}, {}
        for f in self.files:
            if lazy:
                h = safe_open(f, framework="np")
                self.handles.append(h)
                for k in h.keys():
                    self.where[k] = h
            else:
                self.tensors.update(load_file(f))

    def names(self):
        return self.where.keys() if self.handles else self.tensors.keys()

    def get(self, name: str) -> np.ndarray:
        return self.where[name].get_tensor(name) if self.handles else self.tensors[name]


def to_f64(x: np.ndarray) -> np.ndarray:
    if x.dtype.name == "bfloat16":
        return (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return x.astype(np.float64)


def tolerance(*dtypes: np.dtype) -> tuple[float, float]:
    tols = [TOLERANCES.get(d.name, (0.0, 0.0)) for d in dtypes]
    return max(t[0] for t in tols), max(t[1] for t in tols)


def exponent_counts(x: np.ndarray) -> np.ndarray:
    """Counts of x's float64 sign+exponent fields (the top 12 bits): 4096 bins,
    index = sign * 2048 + biased exponent. Exact, and several times cheaper than
    frexp or np.histogram on log2."""
    top = x.view(np.uint16)[3::4] if sys.byteorder == "little" else x.view(np.uint16)[0::4]
    return np.bincount(top >> 4, minlength=4096)


def fold(c: np.ndarray, lo: int, hi: int):
    """(below 2^lo, counts per [2^(lo+j), 2^(lo+j+1)), at or above 2^hi) of one
    sign's 2048 exponent counts; NaN/Inf (exponent 2047) land above."""
    if lo <= -1022:
        raise SystemExit("numpy_baseline: --hist-range LO must be above -1022")
    e_lo, e_hi = lo + 1023, hi + 1023
    return int(c[:e_lo].sum()), c[e_lo:e_hi], int(c[e_hi:].sum())


def hist_bins(mag: np.ndarray, lo: int, hi: int):
    """(zero, under, counts, over) of magnitudes |d| >= 0 over [2^lo, 2^hi)."""
    below, counts, above = fold(exponent_counts(mag)[:2048], lo, hi)
    zero = int(np.count_nonzero(mag == 0))
    return zero, below - zero, counts, above


def value_hist(x: np.ndarray, lo: int, hi: int, all_finite: bool) -> dict:
    """Histogram of x's finite values by exponent of |x|, split by sign."""
    if not all_finite:
        x = x[np.isfinite(x)]
    c = exponent_counts(x)
    below_p, pos, above_p = fold(c[:2048], lo, hi)
    below_n, neg, above_n = fold(c[2048:], lo, hi)
    zero = int(np.count_nonzero(x == 0))
    return {"lo": lo, "hi": hi, "zero": zero, "under": below_p + below_n - zero, "over": above_p + above_n,
            "pos": pos.tolist(), "neg": neg.tolist()}


def jsonable(v):
    """Non-finite floats as the strings weightdiff's JSON uses."""
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
    return v


def pair_metrics(a_raw: np.ndarray, b_raw: np.ndarray, atol: float, rtol: float, lo: int, hi: int) -> dict:
    a, b = to_f64(a_raw).ravel(), to_f64(b_raw).ravel()
    n = a.size
    fin = np.isfinite(a) & np.isfinite(b)
    n_fin = int(np.count_nonzero(fin))
    r = {"numel": n, "n_finite": n_fin, "atol": atol, "rtol": rtol}
    if n_fin == n:  # the usual case: no NaN/Inf anywhere
        af, bf, index = a, b, None
        r.update(nan_a=0, nan_b=0, inf_a=0, inf_b=0, equal=int(np.count_nonzero(a == b)))
        outside_ok = 0
    else:
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        r.update(nan_a=int(nan_a.sum()), nan_b=int(nan_b.sum()),
                 inf_a=int(np.isinf(a).sum()), inf_b=int(np.isinf(b).sum()),
                 equal=int(np.count_nonzero((a == b) | (nan_a & nan_b))))
        outside_ok = np.count_nonzero(~fin & ((a == b) | (nan_a & nan_b)))
        index = np.flatnonzero(fin)
        af, bf = a[index], b[index]
    d = bf - af
    ad = np.abs(d)
    aa = np.abs(af)
    # the allclose test, two separately rounded operations as SPEC §2 says
    fails = np.count_nonzero(~(ad <= atol + rtol * aa))
    r["mismatched"] = int(fails + (n - n_fin) - outside_ok)
    r["sum_sq_a"] = float(np.dot(af, af))
    r["sum_sq_b"] = float(np.dot(bf, bf))
    r["sum_sq_diff"] = float(np.dot(d, d))
    r["dot"] = float(np.dot(af, bf))
    na, nb, nd = (math.sqrt(r[k]) for k in ("sum_sq_a", "sum_sq_b", "sum_sq_diff"))
    r.update(norm_a=na, norm_b=nb, norm_diff=nd)
    r["cosine"] = 1.0 if na == 0 and nb == 0 else 0.0 if na == 0 or nb == 0 else r["dot"] / (na * nb)
    r["rel_l2"] = (0.0 if nd == 0 else math.inf) if na == 0 else nd / na
    r["snr_db"] = math.inf if nd == 0 else -math.inf if na == 0 else 20 * math.log10(na / nd)
    if n_fin:
        k = int(np.argmax(ad))  # first occurrence = smallest flat index
        flat = k if index is None else int(index[k])
        r["max_abs"] = float(ad[k])
        r["max_abs_index"] = [int(i) for i in np.unravel_index(flat, a_raw.shape)]
        r["a_at_max_abs"], r["b_at_max_abs"] = float(af[k]), float(bf[k])
        r["mean_abs"] = float(ad.sum()) / n_fin
        r["rmse"] = math.sqrt(r["sum_sq_diff"] / n_fin)
        nz = aa != 0
        rel = np.divide(ad, aa, out=np.zeros_like(ad), where=nz)
        r["max_rel"] = float(rel.max()) if nz.any() else None
        r["mean_a"], r["mean_b"] = float(af.mean()), float(bf.mean())
        r["std_a"], r["std_b"] = float(af.std()), float(bf.std())
        r["min_a"], r["max_a"] = float(af.min()), float(af.max())
        r["min_b"], r["max_b"] = float(bf.min()), float(bf.max())
    else:
        for key in ("max_abs", "a_at_max_abs", "b_at_max_abs", "mean_abs", "rmse", "max_rel",
                    "mean_a", "mean_b", "std_a", "std_b", "min_a", "max_a", "min_b", "max_b"):
            r[key] = None
        r["max_abs_index"] = None
    zero, under, counts, over = hist_bins(ad, lo, hi)
    r["hist_abs_diff"] = {"lo": lo, "hi": hi, "zero": zero, "under": under, "counts": counts.tolist(), "over": over}
    r["hist_a"] = value_hist(a, lo, hi, index is None)
    r["hist_b"] = value_hist(b, lo, hi, index is None)
    r["status"] = "identical" if r["equal"] == n else "close" if r["mismatched"] == 0 else "different"
    return r


def diff_models(ma: Model, mb: Model, args) -> dict:
    lo, hi = args.hist_range
    names_a, names_b = set(ma.names()), set(mb.names())
    rows = []
    for name in sorted(names_a | names_b, key=lambda s: s.encode()):
        if name not in names_b:
            rows.append({"name": name, "name_b": None, "status": "only_in_a"})
            continue
        if name not in names_a:
            rows.append({"name": name, "name_b": name, "status": "only_in_b"})
            continue
        a, b = ma.get(name), mb.get(name)
        row = {"name": name, "name_b": name, "dtype_a": SHORT.get(a.dtype.name, a.dtype.name),
               "dtype_b": SHORT.get(b.dtype.name, b.dtype.name), "shape_a": list(a.shape), "shape_b": list(b.shape)}
        if a.shape != b.shape:
            row["status"] = "shape_mismatch"
        else:
            atol, rtol = tolerance(a.dtype, b.dtype)
            atol = args.atol if args.atol is not None else atol
            rtol = args.rtol if args.rtol is not None else rtol
            row.update(pair_metrics(a, b, atol, rtol, lo, hi))
        rows.append(row)
    compared = [r for r in rows if r["status"] in ("identical", "close", "different")]
    summary = {s: sum(r["status"] == s for r in rows)
               for s in ("identical", "close", "different", "only_in_a", "only_in_b", "shape_mismatch")}
    summary["compared"] = len(compared)
    summary["elements"] = sum(r["numel"] for r in compared)
    summary["mismatched"] = sum(r["mismatched"] for r in compared)
    best = max((r for r in compared if r["max_abs"] is not None), key=lambda r: r["max_abs"], default=None)
    summary["max_abs"] = best["max_abs"] if best else None
    summary["max_abs_tensor"] = best["name"] if best else None
    dot, sa, sb, sd = (sum(r[k] for r in compared) for k in ("dot", "sum_sq_a", "sum_sq_b", "sum_sq_diff"))
    na, nb, nd = math.sqrt(sa), math.sqrt(sb), math.sqrt(sd)
    summary["cosine"] = 1.0 if na == 0 and nb == 0 else 0.0 if na == 0 or nb == 0 else dot / (na * nb)
    summary["rel_l2"] = (0.0 if nd == 0 else math.inf) if na == 0 else nd / na
    return {"summary": summary, "tensors": rows}


# ---------------------------------------------------------------- --compare

EXACT = ("status", "numel", "n_finite", "equal", "mismatched", "nan_a", "nan_b", "inf_a", "inf_b",
         "max_abs", "max_abs_index", "a_at_max_abs", "b_at_max_abs", "max_rel",
         "min_a", "max_a", "min_b", "max_b", "hist_abs_diff", "hist_a", "hist_b")


def as_float(v):
    return float(v) if v in ("nan", "inf", "-inf") else v  # weightdiff writes non-finite as strings


def same(x, y) -> bool:
    """Exact equality after JSON normalization; NaN equals NaN."""
    x, y = as_float(x), as_float(y)
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


def close(x, y, tol) -> bool:
    x, y = as_float(x), as_float(y)
    if x is None or y is None:
        return x is None and y is None
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= tol


def compare(ours: dict, report_path: str) -> int:
    try:
        with open(report_path) as f:
            theirs = {t["name"]: t for t in json.load(f)["tensors"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"compare: can not read {report_path}: {e}", file=sys.stderr)
        return 2
    problems = []
    for r in ours["tensors"]:
        t = theirs.get(r["name"])
        if t is None:
            problems.append(f"{r['name']}: missing from the report")
            continue
        if "numel" not in r:
            if t.get("status") != r["status"]:
                problems.append(f"{r['name']}: status {t.get('status')} != {r['status']}")
            continue
        for key in EXACT:
            mine, its = r.get(key), t.get(key)
            if isinstance(mine, dict) and isinstance(its, dict):
                its = {k: v for k, v in its.items() if k in mine}
            if not same(its, mine):
                problems.append(f"{r['name']}: {key} {its!r} != numpy {mine!r}")
        n = max(r["n_finite"], 1)
        scale = {  # SPEC §2: 1e-9 x the sum of |terms| (bounded above where not kept)
            "sum_sq_a": r["sum_sq_a"], "sum_sq_b": r["sum_sq_b"], "sum_sq_diff": r["sum_sq_diff"],
            "dot": r["norm_a"] * r["norm_b"], "norm_a": r["norm_a"], "norm_b": r["norm_b"],
            "norm_diff": r["norm_diff"], "mean_abs": r["mean_abs"] or 0.0, "rmse": r["rmse"] or 0.0,
            "mean_a": r["norm_a"] / math.sqrt(n), "mean_b": r["norm_b"] / math.sqrt(n),
            "std_a": r["norm_a"] / math.sqrt(n), "std_b": r["norm_b"] / math.sqrt(n),
            "rel_l2": 10 * r["rel_l2"] if math.isfinite(r["rel_l2"]) else 0.0,  # a ratio of two sums
        }
        for key, s in scale.items():
            if not close(t.get(key), r.get(key), 1e-9 * s + 1e-300):
                problems.append(f"{r['name']}: {key} {t.get(key)!r} vs numpy {r.get(key)!r}")
        if not close(t.get("cosine"), r["cosine"], 1e-12):
            problems.append(f"{r['name']}: cosine {t.get('cosine')!r} vs numpy {r['cosine']!r}")
        if not close(t.get("snr_db"), r["snr_db"], 1e-6):
            problems.append(f"{r['name']}: snr_db {t.get('snr_db')!r} vs numpy {r['snr_db']!r}")
    for p in problems[:20]:
        print("compare:", p, file=sys.stderr)
    checked = sum("numel" in r for r in ours["tensors"])
    print(f"compare: {checked} pairs checked against {report_path}: "
          f"{'OK' if not problems else f'{len(problems)} disagreements'}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--lazy", action="store_true", help="safe_open, one tensor at a time (less memory)")
    ap.add_argument("--atol", type=float)
    ap.add_argument("--rtol", type=float)
    ap.add_argument("--hist-range", default="-40:16",
                    type=lambda s: tuple(int(v) for v in s.split(":")), help="LO:HI (default -40:16)")
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON ('-' for stdout)")
    ap.add_argument("--compare", metavar="REPORT", help="check a weightdiff --json report against numpy")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the timing line")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ma, mb = Model(args.a, args.lazy), Model(args.b, args.lazy)
    result = diff_models(ma, mb, args)
    seconds = time.perf_counter() - t0

    nbytes = ma.bytes + mb.bytes
    s = result["summary"]
    result["summary"].update(seconds=seconds, bytes_read=nbytes)
    if not args.quiet:
        print(f"numpy_baseline: {s['compared']} compared ({s['identical']} identical, {s['close']} close, "
              f"{s['different']} different), {s['only_in_a']} only in A, {s['only_in_b']} only in B; "
              f"max_abs {s['max_abs']} in {s['max_abs_tensor']}, cosine {s['cosine']!r}, rel_l2 {s['rel_l2']!r}")
    print(f"numpy_baseline: {nbytes} bytes in {seconds:.3f} s = {nbytes / seconds / 1e9:.3f} GB/s")
    if args.json:
        text = json.dumps(jsonable({"tool": "numpy_baseline", **result}), allow_nan=False)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)
    if args.compare:
        sys.stdout.flush()
        return compare(result, args.compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
