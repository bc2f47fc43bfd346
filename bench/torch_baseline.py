#!/usr/bin/env python3
"""PyTorch baseline for bench/device_check.sh: the GPU script a user would write.

    torch_baseline.py A.safetensors B.safetensors [--device cuda]

Loads both files with safetensors.torch.load_file(..., device=DEVICE), then
for every tensor name present in both with equal shapes computes in float64
on the device the SPEC §2/§4 metrics weightdiff computes: NaN/Inf counts,
equal and mismatched counts (allclose with the pair's atol/rtol), max |d| with
its first index, sums (|d|, d², a·b, a², b²), mean/std, min/max, max |d|/|a|
and the log2 histograms of |d|, a and b. Prints one JSON line: seconds
(loading + metrics, synchronized; imports excluded), bytes of the input files
and GB/s (1 GB = 1e9 bytes).
"""
import argparse
import json
import os
import time

import torch
from safetensors.torch import load_file

TOL = {torch.float64: (1e-7, 1e-7), torch.float32: (1e-5, 1.3e-6), torch.float16: (1e-5, 1e-3),
       torch.bfloat16: (1e-5, 1.6e-2)}


def hist(x, lo=-40, hi=16):
    m, e = torch.frexp(x.abs())  # |x| = m * 2^e, m in [0.5, 1): bin = e - 1
    b = (e - 1 - lo).clamp(-1, hi - lo)
    return torch.bincount((b + 1).flatten(), minlength=hi - lo + 2)


def metrics(a, b):
    at, bt = a.dtype, b.dtype
    atol = max(TOL.get(at, (0, 0))[0], TOL.get(bt, (0, 0))[0])
    rtol = max(TOL.get(at, (0, 0))[1], TOL.get(bt, (0, 0))[1])
    a = a.to(torch.float64).flatten()
    b = b.to(torch.float64).flatten()
    fin = torch.isfinite(a) & torch.isfinite(b)
    af, bf = a[fin], b[fin]
    d = bf - af
    ad = d.abs()
    r = {"nan_a": int(torch.isnan(a).sum()), "nan_b": int(torch.isnan(b).sum()),
         "inf_a": int(torch.isinf(a).sum()), "inf_b": int(torch.isinf(b).sum()),
         "equal": int(((a == b) | (torch.isnan(a) & torch.isnan(b))).sum()),
         "mismatched": int((~(ad <= atol + rtol * af.abs())).sum())}
    if ad.numel():
        i = int(torch.argmax(ad))  # first index of the max
        r.update(max_abs=float(ad[i]), mean_abs=float(ad.mean()), sum_sq_diff=float((d * d).sum()),
                 dot=float((af * bf).sum()), sum_sq_a=float((af * af).sum()),
                 sum_sq_b=float((bf * bf).sum()), mean_a=float(af.mean()),
                 std_a=float(af.std(unbiased=False)), mean_b=float(bf.mean()),
                 std_b=float(bf.std(unbiased=False)), min_a=float(af.min()), max_a=float(af.max()),
                 min_b=float(bf.min()), max_b=float(bf.max()))
        nz = af != 0
        if bool(nz.any()):
            r["max_rel"] = float((ad[nz] / af[nz].abs()).max())
        r["hist_abs_diff"] = hist(ad[ad != 0]).tolist()
        r["hist_a"] = hist(af).tolist()
        r["hist_b"] = hist(bf).tolist()
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--device", default="cuda")
    args = p.parse_args()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    A = load_file(args.a, device=args.device)
    B = load_file(args.b, device=args.device)
    out = {}
    for name in sorted(A):
        if name in B and A[name].shape == B[name].shape:
            out[name] = metrics(A[name], B[name])
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    nbytes = os.path.getsize(args.a) + os.path.getsize(args.b)
    print(json.dumps({"row": "torch", "seconds": secs, "bytes": nbytes, "gbps": nbytes / secs / 1e9,
                      "tensors": len(out)}))


if __name__ == "__main__":
    main()
