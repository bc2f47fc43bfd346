"""--dequant: an FP8 or GPTQ/AWQ int4 checkpoint against its original.

Fixtures are written with the official safetensors package from the
published layouts (numpy packing written here from the quantizers' own
descriptions, not from weightdiff's code):
  - DeepSeek-V3 / Qwen FP8: `weight` f8e4m3fn + `weight_scale_inv` f32 over
    128 x 128 blocks (sides not multiples of 128: the edge blocks are
    partial);
  - compressed-tensors FP8: `weight_scale` per tensor ([1]) and per output
    channel ([rows, 1]);
  - GPTQ (AutoGPTQ): qweight i32 [in / 8, out] packed along the input
    dimension (input i in nibble i % 8), qzeros i32 [groups, out / 8]
    (output o in nibble o % 8) holding zero - 1 in the original ("v1")
    format, zero itself with checkpoint_format "gptq_v2"
    (quantize_config.json), scales f16 [groups, out], g_idx i32 [in];
  - AWQ (AutoAWQ GEMM): qweight i32 [in, out / 8] and qzeros, nibble k of a
    word holding output 8 * j + [0, 2, 4, 6, 1, 3, 5, 7][k].
The reference dequantizes from the integers before packing (so it shares
nothing with the unpacking under test), in float64 where every product is
exact, and reference.py computes the metrics of the original against it.
"""

import json
import zlib

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import reference as ref
from conftest import assert_clean_failure, load_report, run_wd
from test_crosscheck_safetensors import compare_tensor

E4M3 = ml_dtypes.float8_e4m3fn
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def rng(tag):
    return np.random.default_rng(zlib.crc32(tag.encode()))


def run_json(wd_bin, tmp_path, a, b, *extra, expect=None):
    out = tmp_path / "r.json"
    p = run_wd(wd_bin, a, b, "--backend", "cpu", "--json", out, *extra)
    assert p.returncode in (0, 1), p.stderr
    if expect is not None:
        assert p.returncode == expect, p.stderr
    return load_report(out), p


def rows_by_name(report):
    return {t["name"]: t for t in report["tensors"]}


def check_pair(got, original, dequantized, stored_dtype, tol_dtype, quant_label):
    """got's metrics are reference.py's of original against the float64
    dequantization, under the tolerance of the stored type."""
    atol, rtol = ref.pair_tolerance(ref.dtype_name(original), tol_dtype)
    exp, bounds = ref.pair_metrics(original, dequantized, atol, rtol)
    exp["dtype_b"] = stored_dtype
    errs = compare_tensor(got, exp, bounds)
    assert not errs, errs
    assert got["quant_b"] == quant_label
    assert "quant_a" not in got


# ---------------------------------------------------------------- FP8 ---

def fp8_block_quantize(w, block=128):
    """DeepSeek-V3's scheme: per 128 x 128 block, scale = amax / 448."""
    rows, cols = w.shape
    sr, sc = -(-rows // block), -(-cols // block)
    scale = np.empty((sr, sc), np.float32)
    q = np.empty(w.shape, E4M3)
    for i in range(sr):
        for j in range(sc):
            blk = w[i * block:(i + 1) * block, j * block:(j + 1) * block].astype(np.float32)
            s = np.float32(max(np.abs(blk).max(), 1e-12) / 448.0)
            scale[i, j] = s
            q[i * block:(i + 1) * block, j * block:(j + 1) * block] = (blk / s).astype(E4M3)
    deq = np.empty(w.shape, np.float64)
    for i in range(sr):
        for j in range(sc):
            sl = np.s_[i * block:(i + 1) * block, j * block:(j + 1) * block]
            deq[sl] = q[sl].astype(np.float64) * np.float64(scale[i, j])
    return q, scale, deq


def test_fp8_block_scales_against_the_original(wd_bin, tmp_path):
    r = rng("fp8-block")
    w = (r.standard_normal((300, 200)) * 0.02).astype(np.float32)
    w2 = (r.standard_normal((128, 256)) * 0.5).astype(ml_dtypes.bfloat16)
    norm = r.standard_normal(200).astype(np.float32)
    q, s, deq = fp8_block_quantize(w)
    q2, s2, deq2 = fp8_block_quantize(w2)
    save_file({"l.0.down.weight": w, "l.0.up.weight": w2, "l.0.norm.weight": norm}, str(tmp_path / "a.safetensors"))
    save_file({"l.0.down.weight": q, "l.0.down.weight_scale_inv": s,
               "l.0.up.weight": q2, "l.0.up.weight_scale_inv": s2,
               "l.0.norm.weight": norm}, str(tmp_path / "b.safetensors"))
    # Within fp8's tolerance (SPEC §3: rtol 0.125): close, exit 0.
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors", expect=0)
    got = rows_by_name(rep)
    # The scale tensors are part of their weight's pair, never unmatched.
    assert set(got) == {"l.0.down.weight", "l.0.up.weight", "l.0.norm.weight"}
    assert rep["options"]["dequant"] == "auto"
    check_pair(got["l.0.down.weight"], w, deq, "f8e4m3fn", "f8e4m3fn", "f8e4m3fn*scale[128x128]")
    check_pair(got["l.0.up.weight"], w2, deq2, "f8e4m3fn", "f8e4m3fn", "f8e4m3fn*scale[128x128]")
    assert got["l.0.down.weight"]["shape_b"] == [300, 200]
    assert got["l.0.norm.weight"]["status"] == "identical" and "quant_b" not in got["l.0.norm.weight"]
    # The quantization error is what it should be: small, not zero.
    assert 1e-3 < got["l.0.down.weight"]["rel_l2"] < 0.1

    # Threads do not change a bit; the table and CSV name the stored form.
    rep3, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors", "--threads", "3")
    assert rows_by_name(rep3) == got
    p = run_wd(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", "--backend", "cpu",
               "--csv", tmp_path / "r.csv")
    assert p.returncode == 0, p.stderr
    assert "B dequantized: f8e4m3fn*scale[128x128]" in p.stdout
    head, *lines = (tmp_path / "r.csv").read_bytes().decode().split("\r\n")
    cols = head.split(",")
    assert cols[-2:] == ["quant_a", "quant_b"]
    row = next(ln.split(",") for ln in lines if ln.startswith("l.0.down.weight,"))
    assert row[cols.index("quant_b")] == "f8e4m3fn*scale[128x128]" and row[cols.index("quant_a")] == ""


def test_fp8_never_compares_the_stored_tensors(wd_bin, tmp_path):
    r = rng("fp8-never")
    w = (r.standard_normal((130, 140)) * 0.02).astype(np.float32)
    q, s, _ = fp8_block_quantize(w)
    save_file({"x.weight": w}, str(tmp_path / "a.safetensors"))
    save_file({"x.weight": q, "x.weight_scale_inv": s}, str(tmp_path / "b.safetensors"))
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors",
                      "--dequant", "never", expect=1)
    got = rows_by_name(rep)
    assert got["x.weight_scale_inv"]["status"] == "only_in_b"
    assert got["x.weight"]["dtype_b"] == "f8e4m3fn" and "quant_b" not in got["x.weight"]
    exp, bounds = ref.pair_metrics(w, q)
    assert not compare_tensor(got["x.weight"], exp, bounds)
    assert rep["options"]["dequant"] == "never"


def test_fp8_both_sides_quantized_auto_compares_raw_always_dequantizes(wd_bin, tmp_path):
    r = rng("fp8-both")
    w = (r.standard_normal((64, 96)) * 0.1).astype(np.float32)
    q, s, deq = fp8_block_quantize(w)
    q_b = q.copy()
    q_b[3, 5] = E4M3(float(q[3, 5]) * 2 + 0.5)
    deq_b = deq.copy()
    deq_b[3, 5] = float(q_b[3, 5]) * float(s[0, 0])
    save_file({"x.weight": q, "x.weight_scale_inv": s}, str(tmp_path / "a.safetensors"))
    save_file({"x.weight": q_b, "x.weight_scale_inv": s}, str(tmp_path / "b.safetensors"))
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors", expect=1)
    got = rows_by_name(rep)
    assert got["x.weight_scale_inv"]["status"] == "identical"
    assert "quant_a" not in got["x.weight"] and "quant_b" not in got["x.weight"]
    assert not compare_tensor(got["x.weight"], *ref.pair_metrics(q, q_b))
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors",
                      "--dequant", "always", expect=1)
    got = rows_by_name(rep)
    assert set(got) == {"x.weight"}
    t = got["x.weight"]
    assert t["quant_a"] == t["quant_b"] == "f8e4m3fn*scale[tensor]"  # one block: one scale
    assert t["max_abs"] == abs(deq_b[3, 5] - deq[3, 5]) and t["max_abs_index"] == [3, 5]


@pytest.mark.parametrize("kind", ["tensor", "channel", "channel_1d"])
def test_compressed_tensors_weight_scale(wd_bin, tmp_path, kind):
    r = rng("ct-" + kind)
    w = (r.standard_normal((48, 80)) * 0.05).astype(ml_dtypes.bfloat16)
    wf = w.astype(np.float32)
    if kind == "tensor":
        s = np.array([np.abs(wf).max() / 448.0], np.float32)
        q = (wf / s[0]).astype(E4M3)
        deq = q.astype(np.float64) * np.float64(s[0])
    else:
        s = (np.abs(wf).max(axis=1, keepdims=True) / 448.0).astype(ml_dtypes.bfloat16)
        q = (wf / s.astype(np.float32)).astype(E4M3)
        deq = q.astype(np.float64) * s.astype(np.float64)
        if kind == "channel_1d":
            s = s.reshape(-1)
    save_file({"m.weight": w}, str(tmp_path / "a.safetensors"))
    save_file({"m.weight": q, "m.weight_scale": s}, str(tmp_path / "b.safetensors"))
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors")
    got = rows_by_name(rep)
    assert set(got) == {"m.weight"}
    check_pair(got["m.weight"], w, deq, "f8e4m3fn", "f8e4m3fn",
               "f8e4m3fn*scale[" + ("tensor" if kind == "tensor" else "channel") + "]")


# ------------------------------------------------------------- GPTQ/AWQ ---

def int4_quantize(w, group, r):
    """Asymmetric 4-bit per (group of inputs, output): w is [out, in].
    Returns q [in, out], zeros [groups, out] (1..15), scales f16 [groups, out]
    and the exact float64 dequantization [out, in]."""
    out_f, in_f = w.shape
    groups = in_f // group
    wt = w.T.astype(np.float64).reshape(groups, group, out_f)
    lo, hi = wt.min(axis=1), wt.max(axis=1)
    scales = ((hi - lo) / 15.0).astype(np.float16)
    scales[scales == 0] = np.float16(1e-3)
    sf = scales.astype(np.float64)
    # 1..15: AutoGPTQ's v1 format cannot store a zero point of 0 (it
    # packs zero - 1).
    zeros = np.clip(np.round(-lo / sf), 1, 15).astype(np.int64)
    q = np.clip(np.round(wt / sf[:, None, :]) + zeros[:, None, :], 0, 15).astype(np.int64)
    q = q.reshape(in_f, out_f)
    g = np.arange(in_f) // group
    deq = ((q - zeros[g]) * sf[g]).T
    # Contiguous: safetensors' save_file writes a strided array's buffer as it lies.
    c = np.ascontiguousarray
    return c(q), c(zeros), c(scales), c(deq)


def pack_gptq_rows(q):
    """[in, out] 4-bit -> i32 [in / 8, out]: input i in nibble i % 8."""
    in_f, out_f = q.shape
    words = np.zeros((in_f // 8, out_f), np.uint32)
    for k in range(8):
        words |= (q[k::8].astype(np.uint32) & 0xF) << np.uint32(4 * k)
    return words.view(np.int32)


def pack_cols(x, order=range(8)):
    """[n, m] 4-bit -> i32 [n, m / 8]: column 8 j + order[k] in nibble k."""
    n, m = x.shape
    words = np.zeros((n, m // 8), np.uint32)
    for k, col in enumerate(order):
        words |= (x[:, col::8].astype(np.uint32) & 0xF) << np.uint32(4 * k)
    return words.view(np.int32)


def gptq_fixture(tmp_path, tag, *, v2=False, act_order=False, config=True):
    r = rng(tag)
    out_f, in_f, group = 48, 256, 64
    w = (r.standard_normal((out_f, in_f)) * 0.02).astype(np.float16)
    if act_order:
        # desc_act: inputs are grouped in a permuted order, g_idx says which.
        perm = r.permutation(in_f)
        g_of = np.empty(in_f, np.int64)
        g_of[perm] = np.arange(in_f) // group
        q = np.empty((in_f, out_f), np.int64)
        groups = in_f // group
        zeros = np.empty((groups, out_f), np.int64)
        scales = np.empty((groups, out_f), np.float16)
        for gi in range(groups):
            cols = np.flatnonzero(g_of == gi)
            qg, zg, sg, _ = int4_quantize(w[:, cols], len(cols), r)
            q[cols], zeros[gi], scales[gi] = qg, zg[0], sg[0]
        deq = np.ascontiguousarray(((q - zeros[g_of]) * scales.astype(np.float64)[g_of]).T)
        g_idx = g_of.astype(np.int32)
    else:
        q, zeros, scales, deq = int4_quantize(w, group, r)
        g_idx = (np.arange(in_f) // group).astype(np.int32)
    stored_zeros = zeros if v2 else zeros - 1  # AutoGPTQ v1 stores zero - 1
    tensors = {"p.qweight": pack_gptq_rows(q), "p.qzeros": pack_cols(stored_zeros & 0xF),
               "p.scales": scales, "p.g_idx": g_idx, "p.bias": r.standard_normal(out_f).astype(np.float16)}
    (tmp_path / "b").mkdir()
    save_file(tensors, str(tmp_path / "b" / "model.safetensors"))
    if config:
        cfg = {"bits": 4, "group_size": group, "desc_act": act_order, "sym": False}
        if v2:
            cfg["checkpoint_format"] = "gptq_v2"
        (tmp_path / "b" / "quantize_config.json").write_text(json.dumps(cfg))
    save_file({"p.weight": w, "p.bias": tensors["p.bias"]}, str(tmp_path / "a.safetensors"))
    return w, deq


@pytest.mark.parametrize("v2", [False, True])
@pytest.mark.parametrize("act_order", [False, True])
def test_gptq_against_the_original(wd_bin, tmp_path, v2, act_order):
    w, deq = gptq_fixture(tmp_path, f"gptq-{v2}-{act_order}", v2=v2, act_order=act_order)
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b", expect=1)
    got = rows_by_name(rep)
    assert set(got) == {"p.weight", "p.bias"}
    check_pair(got["p.weight"], w, deq, "i32", "f16", "gptq_int4[g64]")
    assert got["p.weight"]["shape_b"] == list(w.shape)
    assert got["p.bias"]["status"] == "identical"
    assert got["p.weight"]["rel_l2"] < 0.2


def test_gptq_v1_zero_points_are_read_plus_one(wd_bin, tmp_path):
    """Read as v2, a v1 checkpoint's values are off by one scale: the
    quantize_config.json is what tells them apart."""
    w, deq = gptq_fixture(tmp_path, "gptq-v1-misread", v2=False)
    (tmp_path / "b" / "quantize_config.json").write_text(json.dumps({"bits": 4, "checkpoint_format": "gptq_v2"}))
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b")
    t = rows_by_name(rep)["p.weight"]
    # Every zero point read one lower: every value one scale higher.
    assert compare_tensor(t, *ref.pair_metrics(w, deq)), "read as v2, the v1 file still matched"
    assert t["mean_b"] > float(deq.mean()), (t["mean_b"], float(deq.mean()))
    # No config at all: the original format, as AutoGPTQ assumes.
    (tmp_path / "b" / "quantize_config.json").unlink()
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b", expect=1)
    check_pair(rows_by_name(rep)["p.weight"], w, deq, "i32", "f16", "gptq_int4[g64]")


def test_awq_gemm_against_the_original(wd_bin, tmp_path):
    r = rng("awq")
    out_f, in_f, group = 64, 256, 128
    w = (r.standard_normal((out_f, in_f)) * 0.02).astype(np.float16)
    q, zeros, scales, deq = int4_quantize(w, group, r)
    save_file({"m.weight": w}, str(tmp_path / "a.safetensors"))
    save_file({"m.qweight": pack_cols(q, AWQ_ORDER), "m.qzeros": pack_cols(zeros, AWQ_ORDER), "m.scales": scales},
              str(tmp_path / "b.safetensors"))
    rep, _ = run_json(wd_bin, tmp_path, tmp_path / "a.safetensors", tmp_path / "b.safetensors", expect=1)
    got = rows_by_name(rep)
    assert set(got) == {"m.weight"}
    check_pair(got["m.weight"], w, deq, "i32", "f16", "awq_int4[g128]")


# ------------------------------------------------------------ bad input ---

def bad_case(tmp_path, tensors):
    # A: the Linear that gptq_parts() dequantizes to, so that its values are read.
    save_file({"x.weight": np.ones((16, 64), np.float32)}, str(tmp_path / "a.safetensors"))
    save_file(tensors, str(tmp_path / "b.safetensors"))
    return tmp_path / "a.safetensors", tmp_path / "b.safetensors"


def gptq_parts(r, in_f=64, out_f=16, groups=2):
    return {"x.qweight": r.integers(0, 2**31, (in_f // 8, out_f)).astype(np.int32),
            "x.qzeros": r.integers(0, 2**31, (groups, out_f // 8)).astype(np.int32),
            "x.scales": np.full((groups, out_f), 0.01, np.float16)}


BAD = {
    "fp8 block scales do not tile": (lambda r: {"x.weight": np.ones((300, 200), E4M3),
                                                "x.weight_scale_inv": np.ones((200, 3), np.float32)},
                                     "malformed", "x.weight_scale_inv"),
    "fp8 scale of an integer type": (lambda r: {"x.weight": np.ones((4, 8), E4M3),
                                                "x.weight_scale_inv": np.ones((1, 1), np.int32)},
                                     "malformed", "x.weight_scale_inv"),
    "fp8 scale 3-D": (lambda r: {"x.weight": np.ones((4, 8), E4M3),
                                 "x.weight_scale": np.ones((2, 2, 2), np.float32)},
                      "malformed", "x.weight_scale"),
    "gptq qweight not i32": (lambda r: {**gptq_parts(r), "x.qweight": np.ones((8, 16), np.float32)},
                             "malformed", "x.qweight"),
    "gptq qzeros do not fit scales": (lambda r: {**gptq_parts(r), "x.qzeros": np.ones((3, 2), np.int32)},
                                      "malformed", "x.qzeros"),
    "gptq 3-bit": (lambda r: {**gptq_parts(r, out_f=32), "x.qzeros": np.ones((2, 3), np.int32)},
                   "unsupported", "x.qzeros"),
    "gptq weight stored too": (lambda r: {**gptq_parts(r), "x.weight": np.ones((16, 64), np.float16)},
                               "conflict", "x.weight"),
    "gptq g_idx wrong length": (lambda r: {**gptq_parts(r), "x.g_idx": np.zeros(10, np.int32)},
                                "malformed", "x.g_idx"),
    "gptq g_idx outside the groups": (lambda r: {**gptq_parts(r), "x.g_idx": np.full(64, 2, np.int32)},
                                      "malformed", "x.g_idx"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_quantized_groups_exit_2(wd_bin, tmp_path, case):
    make, _, tensor = BAD[case]
    a, b = bad_case(tmp_path, make(rng(case)))
    report = tmp_path / "r.json"
    p = run_wd(wd_bin, a, b, "--backend", "cpu", "--json", report)
    assert_clean_failure(p, str(b), report)
    last = p.stderr.strip().splitlines()[-1]
    assert tensor in last, last
    # The error class: tests/python/package/test_package_dequant.py (the
    # package raises it as its exception type) and tests/unit/dequant_test.cpp.


def test_bad_quantize_config_exits_2(wd_bin, tmp_path):
    gptq_fixture(tmp_path, "gptq-bad-config")
    cfg = tmp_path / "b" / "quantize_config.json"
    cfg.write_text('{"bits": 4, "checkpoint_format": ')
    p = run_wd(wd_bin, tmp_path / "a.safetensors", tmp_path / "b", "--backend", "cpu")
    assert_clean_failure(p, str(cfg))
    cfg.write_text('{"checkpoint_format": 2}')
    p = run_wd(wd_bin, tmp_path / "a.safetensors", tmp_path / "b", "--backend", "cpu")
    assert_clean_failure(p, str(cfg))
