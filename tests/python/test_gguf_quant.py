"""ggml's block-quantized types in GGUF files written by the official `gguf`
package: their dequantization is exact in float64.

For each of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K a
tensor (fixed-seed data quantized by gguf.quants.quantize where gguf-py can
quantize the type; random blocks with finite random f16 scales for the K
types, which it cannot) is compared against
  - a float64 safetensors of this file's own numpy dequantization, written
    from ggml-quants.c's dequantize_row_* loops (not gguf-py's): identical,
    even with --atol 0 --rtol 0;
  - a float32 safetensors of gguf.quants.dequantize: gguf-py (like ggml)
    computes in float32, where every value is the exact one rounded once
    (every scale is an f16 and every product of it with the small integers
    is exact in float32, but for Q6_K's d*sc*q, which may need 25 bits; the
    K types' d*sc*q - dmin*m and Q4_1/Q5_1's d*q + m round once), so
    gguf-py's array is exactly float32(exact) and max_abs equals
    max |float32(x) - x|.
And the quantization error against the original data: Q8_0 rel_l2 < 1e-2,
Q4_K (from this file's simple min/max quantizer) < 0.15, both equal to
numpy's float64 rel_l2.
"""

import zlib

import numpy as np
import pytest
from safetensors.numpy import save_file

gguf = pytest.importorskip("gguf")  # scripts/install_deps.sh installs it
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf import quants  # noqa: E402

from conftest import load_report, run_wd  # noqa: E402
from test_gguf import write_gguf  # noqa: E402

TYPES = [QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1, QT.Q8_0, QT.Q2_K, QT.Q3_K, QT.Q4_K, QT.Q5_K, QT.Q6_K]
NAME = {QT.Q4_0: "q4_0", QT.Q4_1: "q4_1", QT.Q5_0: "q5_0", QT.Q5_1: "q5_1", QT.Q8_0: "q8_0",
        QT.Q2_K: "q2_K", QT.Q3_K: "q3_K", QT.Q4_K: "q4_K", QT.Q5_K: "q5_K", QT.Q6_K: "q6_K"}
# Offsets of the f16 scales in each block (d, then dmin / m).
F16_AT = {QT.Q4_0: [0], QT.Q4_1: [0, 2], QT.Q5_0: [0], QT.Q5_1: [0, 2], QT.Q8_0: [0],
          QT.Q2_K: [80, 82], QT.Q3_K: [108], QT.Q4_K: [0, 2], QT.Q5_K: [0, 2], QT.Q6_K: [208]}
SHAPE = (6, 512)  # rows a multiple of every block size


def f16(b, at):
    return b[:, at:at + 2].copy().view(np.float16).astype(np.float64)  # (nb, 1)


def k4_scale_min(sc):
    """ggml's get_scale_min_k4 for j = 0..7 over (nb, 12) bytes."""
    sc = sc.astype(np.int64)
    d = np.empty((sc.shape[0], 8), np.int64)
    m = np.empty_like(d)
    for j in range(8):
        if j < 4:
            d[:, j], m[:, j] = sc[:, j] & 63, sc[:, j + 4] & 63
        else:
            d[:, j] = (sc[:, j + 4] & 0xF) | ((sc[:, j - 4] >> 6) << 4)
            m[:, j] = (sc[:, j + 4] >> 4) | ((sc[:, j] >> 6) << 4)
    return d, m


def dequant64(qt, blocks):
    """(nb, type_size) uint8 -> (nb, block_size) float64, by ggml's loops."""
    b = blocks
    nb = b.shape[0]
    i = lambda lo, hi: b[:, lo:hi].astype(np.int64)  # noqa: E731
    if qt in (QT.Q4_0, QT.Q4_1):
        one = qt == QT.Q4_1
        qs = i(4 if one else 2, 20 if one else 18)
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1) - (0 if one else 8)
        return q * f16(b, 0) + (f16(b, 2) if one else 0.0)
    if qt in (QT.Q5_0, QT.Q5_1):
        one = qt == QT.Q5_1
        qh = b[:, 4 if one else 2:8 if one else 6].copy().view("<u4").astype(np.int64)  # (nb, 1)
        qs = i(8 if one else 6, 24 if one else 22)
        j = np.arange(16)
        x0 = (qs & 0xF) | (((qh >> j) << 4) & 0x10)
        x1 = (qs >> 4) | ((qh >> (j + 12)) & 0x10)
        q = np.concatenate([x0, x1], axis=1) - (0 if one else 16)
        return q * f16(b, 0) + (f16(b, 2) if one else 0.0)
    if qt == QT.Q8_0:
        return b[:, 2:34].view(np.int8).astype(np.int64) * f16(b, 0)
    y = np.empty((nb, 256), np.float64)
    if qt == QT.Q2_K:
        sc, qs, d, dmin = i(0, 16), i(16, 80), f16(b, 80), f16(b, 82)
        for n in range(2):
            for j in range(4):
                for h in range(2):
                    s = n * 8 + j * 2 + h
                    q = (qs[:, n * 32 + h * 16:n * 32 + h * 16 + 16] >> (2 * j)) & 3
                    y[:, s * 16:s * 16 + 16] = (d * (sc[:, s:s + 1] & 0xF)) * q - dmin * (sc[:, s:s + 1] >> 4)
        return y
    if qt == QT.Q3_K:
        hm, qs, raw, d = i(0, 32), i(32, 96), i(96, 108), f16(b, 108)
        scales = np.empty((nb, 16), np.int64)
        for s in range(16):
            lo = raw[:, s] & 0xF if s < 8 else raw[:, s - 8] >> 4
            scales[:, s] = (lo | (((raw[:, 8 + s % 4] >> (2 * (s // 4))) & 3) << 4)) - 32
        m = 0
        for n in range(2):
            for j in range(4):
                for h in range(2):
                    s = n * 8 + j * 2 + h
                    sl = slice(n * 32 + h * 16, n * 32 + h * 16 + 16)
                    low = (qs[:, sl] >> (2 * j)) & 3
                    high = np.where(hm[:, h * 16:h * 16 + 16] & (1 << m), 0, 4)
                    y[:, s * 16:s * 16 + 16] = (d * scales[:, s:s + 1]) * (low - high)
                m += 1
        return y
    if qt in (QT.Q4_K, QT.Q5_K):
        five = qt == QT.Q5_K
        d, dmin = f16(b, 0), f16(b, 2)
        sc, mn = k4_scale_min(b[:, 4:16])
        qh = i(16, 48)
        ql = i(48, 176) if five else i(16, 144)
        for k in range(4):
            q = ql[:, 32 * k:32 * k + 32]
            for h, nib in enumerate((q & 0xF, q >> 4)):
                s = 2 * k + h
                hi = ((qh >> s) & 1) * 16 if five else 0
                y[:, 32 * s:32 * s + 32] = (d * sc[:, s:s + 1]) * (nib + hi) - dmin * mn[:, s:s + 1]
        return y
    if qt == QT.Q6_K:
        ql, qh, d = i(0, 128), i(128, 192), f16(b, 208)
        sc = b[:, 192:208].view(np.int8).astype(np.int64)
        for n in range(2):
            L, H = ql[:, 64 * n:64 * n + 64], qh[:, 32 * n:32 * n + 32]
            qv = [(L[:, :32] & 0xF) | ((H & 3) << 4), (L[:, 32:] & 0xF) | (((H >> 2) & 3) << 4),
                  (L[:, :32] >> 4) | (((H >> 4) & 3) << 4), (L[:, 32:] >> 4) | (((H >> 6) & 3) << 4)]
            for k in range(4):
                for half in range(2):
                    s = 8 * n + 2 * k + half
                    at = 128 * n + 32 * k + 16 * half
                    y[:, at:at + 16] = (d * sc[:, s:s + 1]) * (qv[k][:, 16 * half:16 * half + 16] - 32)
        return y
    raise AssertionError(qt)


def random_blocks(rng, qt, rows, cols):
    """Random bytes with finite, non-zero f16 scales from 2^-14 to 1: d and
    dmin apart by up to 14 binary orders, so d*sc*q - dmin*m needs more than
    float32's 24 bits now and then."""
    bs, ts = gguf.GGML_QUANT_SIZES[qt]
    b = rng.integers(0, 256, size=(rows * cols // bs, ts), dtype=np.uint8)
    for at in F16_AT[qt]:
        s = np.ldexp(rng.uniform(1, 2, b.shape[0]), rng.integers(-14, 0, b.shape[0])).astype(np.float16)
        b[:, at:at + 2] = s.view(np.uint8).reshape(-1, 2)
    return b.reshape(rows, cols // bs * ts)


def fixture(seed):
    """name -> (type, uint8 blocks (rows, row bytes), original float32 or None)."""
    rng = np.random.default_rng(seed)
    out = {}
    for qt in TYPES:
        data = (rng.standard_normal(SHAPE) * 0.05).astype(np.float32)
        assert np.count_nonzero(data) == data.size
        try:
            out["blk.0." + NAME[qt] + ".weight"] = (qt, quants.quantize(data, qt), data)
        except NotImplementedError:  # gguf-py quantizes no K type (yet)
            out["blk.0." + NAME[qt] + ".weight"] = (qt, random_blocks(rng, qt, *SHAPE), None)
    return out


def as_f64(qt, rows):
    bs, ts = gguf.GGML_QUANT_SIZES[qt]
    return dequant64(qt, rows.reshape(-1, ts)).reshape(rows.shape[0], -1)


def diff(wd_bin, cwd, a, b, *extra):
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--json", "r.json", *extra, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    r = load_report(cwd / "r.json")
    return proc.returncode, {t["name"]: t for t in r["tensors"]}, r


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("quant")
    fx = fixture(zlib.crc32(b"gguf-quant-exact"))
    write_gguf(d / "m.gguf", {}, quantized=[(n, qt, b) for n, (qt, b, _) in fx.items()])
    exact = {n: as_f64(qt, b) for n, (qt, b, _) in fx.items()}
    save_file(exact, str(d / "f64.safetensors"))
    save_file({n: quants.dequantize(b, qt) for n, (qt, b, _) in fx.items()}, str(d / "f32.safetensors"))
    return d, fx, exact


def test_every_type_is_exact_in_float64(wd_bin, files):
    d, fx, exact = files
    for n, v in exact.items():
        assert np.all(np.isfinite(v)) and np.count_nonzero(v) > v.size // 2, n
    rc, got, r = diff(wd_bin, d, "m.gguf", "f64.safetensors", "--atol", "0", "--rtol", "0")
    assert rc == 0 and r["summary"]["compared"] == len(TYPES), r["summary"]
    for n, (qt, _, _) in fx.items():
        t = got[n]
        assert t["dtype_a"] == NAME[qt] and t["dtype_b"] == "f64", t
        assert t["shape_a"] == list(SHAPE) and t["status"] == "identical", t
        assert t["max_abs"] == 0.0 and t["equal"] == t["numel"] == SHAPE[0] * SHAPE[1], t


def test_gguf_py_float32_is_the_exact_value_rounded_once(wd_bin, files):
    d, fx, exact = files
    rc, got, _ = diff(wd_bin, d, "m.gguf", "f32.safetensors", "--atol", "0", "--rtol", "0")
    rounded_somewhere = False
    for n, (qt, b, _) in fx.items():
        ours32 = quants.dequantize(b, qt)
        assert np.array_equal(ours32, exact[n].astype(np.float32)), n  # one rounding, to nearest
        err = np.abs(exact[n].astype(np.float32).astype(np.float64) - exact[n])
        t = got[n]
        assert t["max_abs"] == err.max(), (n, t["max_abs"], err.max())
        assert t["equal"] == int(np.count_nonzero(err == 0)), n
        # Q4_0, Q5_0, Q8_0 and Q3_K values have at most 20 significant bits.
        if qt in (QT.Q4_0, QT.Q5_0, QT.Q8_0, QT.Q3_K):
            assert t["status"] == "identical", t
        rounded_somewhere |= t["max_abs"] > 0
    assert rounded_somewhere  # the f32 file is not trivially exact
    assert rc == 1
    # Within the default tolerances (f16's, the scales' type), float32
    # rounding is no difference.
    rc, got, _ = diff(wd_bin, d, "m.gguf", "f32.safetensors")
    assert rc == 0 and all(t["status"] in ("identical", "close") for t in got.values())


def quantize_q4_k(x):
    """A simple Q4_K quantizer (min/max per 32, 6-bit scales and mins), rows
    of 256: (nb, 256) float32 -> (nb, 144) uint8, ggml's layout."""
    nb = x.shape[0]
    sub = x.reshape(nb, 8, 32).astype(np.float64)
    lo = np.minimum(sub.min(axis=2), 0.0)
    scale = (sub.max(axis=2) - lo) / 15
    d = (scale.max(axis=1, keepdims=True) / 63).astype(np.float16)
    dmin = (-lo.min(axis=1, keepdims=True) / 63).astype(np.float16)
    sc = np.clip(np.rint(scale / d.astype(np.float64)), 1, 63).astype(np.int64)
    mn = np.clip(np.rint(-lo / np.maximum(dmin.astype(np.float64), 1e-30)), 0, 63).astype(np.int64)
    step = d.astype(np.float64) * sc
    q = np.clip(np.rint((sub + (dmin.astype(np.float64) * mn)[..., None]) / step[..., None]), 0, 15).astype(np.int64)
    packed = np.zeros((nb, 12), np.int64)
    for j in range(8):
        if j < 4:
            packed[:, j] |= sc[:, j] & 63
            packed[:, j + 4] |= mn[:, j] & 63
        else:
            packed[:, j + 4] |= (sc[:, j] & 0xF) | ((mn[:, j] & 0xF) << 4)
            packed[:, j - 4] |= (sc[:, j] >> 4) << 6
            packed[:, j] |= (mn[:, j] >> 4) << 6
    qs = np.zeros((nb, 128), np.int64)
    for k in range(4):
        qs[:, 32 * k:32 * k + 32] = q[:, 2 * k] | (q[:, 2 * k + 1] << 4)
    return np.concatenate([d.view(np.uint8), dmin.view(np.uint8), packed.astype(np.uint8),
                           qs.astype(np.uint8)], axis=1)


def rel_l2(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.sqrt(np.sum((b - a) ** 2)) / np.sqrt(np.sum(a ** 2))


def test_quantization_error_against_the_original(wd_bin, tmp_path):
    rng = np.random.default_rng(zlib.crc32(b"gguf-quant-error"))
    w8 = (rng.standard_normal((64, 256)) * 0.02).astype(np.float32)
    w4 = (rng.standard_normal((64, 256)) * 0.02).astype(np.float32)
    q8 = quants.quantize(w8, QT.Q8_0)
    q4 = quantize_q4_k(w4.reshape(-1, 256)).reshape(64, -1)
    write_gguf(tmp_path / "q.gguf", {}, quantized=[("a.weight", QT.Q8_0, q8), ("b.weight", QT.Q4_K, q4)])
    save_file({"a.weight": w8, "b.weight": w4}, str(tmp_path / "orig.safetensors"))
    rc, got, _ = diff(wd_bin, tmp_path, "orig.safetensors", "q.gguf")
    assert rc == 1  # quantization is a difference
    for name, qt, w, q, bound in (("a.weight", QT.Q8_0, w8, q8, 1e-2), ("b.weight", QT.Q4_K, w4, q4, 0.15)):
        t = got[name]
        assert t["dtype_a"] == "f32" and t["dtype_b"] == NAME[qt] and t["status"] == "different", t
        want = rel_l2(w, as_f64(qt, q))
        assert t["rel_l2"] < bound and abs(t["rel_l2"] - want) <= 1e-9 * want, (name, t["rel_l2"], want)
        assert t["snr_db"] > 0
