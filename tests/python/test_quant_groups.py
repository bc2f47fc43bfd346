"""The quantization error grouped by quant type (issue 12 item 5).

A llama-like original (float32 safetensors) against a GGUF of it written by
the official `gguf` package with a mix of types — Q4_K and Q8_0 weights,
an F16 one, F32 norms and an I32 buffer — must give, in the JSON report's
"quant_types", one group per (A, B) quant type whose pooled rel_l2 and SNR,
per-tensor medians and extremes and worst tensor equal numpy's float64
values over the same tensors (B dequantized independently, by
test_gguf_quant's numpy transcription of ggml's loops); the table and the
HTML report show the same groups, worst SNR first. A comparison without a
quantized side has no such section anywhere.
"""

import json
import math
import re
import zlib

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

gguf = pytest.importorskip("gguf")  # scripts/install_deps.sh installs it
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf import quants  # noqa: E402

from conftest import load_report, run_wd  # noqa: E402
from test_gguf import write_gguf  # noqa: E402
from test_gguf_quant import as_f64, quantize_q4_k  # noqa: E402

FIELDS = ["quant_a", "quant_b", "tensors", "elements", "rel_l2", "snr_db", "rel_l2_median",
          "rel_l2_max", "snr_db_median", "snr_db_min", "max_abs_median", "max_abs_max", "worst"]


def lower_median(values):
    return sorted(values)[(len(values) - 1) // 2]


def snr_db(sum_sq_a, sum_sq_diff):
    if sum_sq_diff == 0:
        return math.inf
    if sum_sq_a == 0:
        return -math.inf
    return 20 * math.log10(math.sqrt(sum_sq_a) / math.sqrt(sum_sq_diff))


def expected_groups(pairs):
    """pairs: name -> (quant_b, a float64, b float64) -> the groups, worst SNR first."""
    groups = {}
    for name in sorted(pairs):  # the report's tensor order
        qb, a, b = pairs[name]
        groups.setdefault(qb, []).append((name, a, b))
    out = []
    for qb, members in groups.items():
        ssa = sum(float(np.sum(a * a)) for _, a, _ in members)
        ssd = sum(float(np.sum((b - a) ** 2)) for _, a, b in members)
        rel = [math.sqrt(np.sum((b - a) ** 2) / np.sum(a * a)) for _, a, b in members]
        snr = [snr_db(float(np.sum(a * a)), float(np.sum((b - a) ** 2))) for _, a, b in members]
        mx = [float(np.max(np.abs(b - a))) for _, a, b in members]
        out.append({"quant_a": "f32", "quant_b": qb, "tensors": len(members),
                    "elements": sum(a.size for _, a, _ in members),
                    "rel_l2": math.sqrt(ssd / ssa), "snr_db": snr_db(ssa, ssd),
                    "rel_l2_median": lower_median(rel), "rel_l2_max": max(rel),
                    "snr_db_median": lower_median(snr), "snr_db_min": min(snr),
                    "max_abs_median": lower_median(mx), "max_abs_max": max(mx),
                    "worst": members[snr.index(min(snr))][0]})
    return sorted(out, key=lambda g: g["snr_db"])


def number(v):
    return {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}.get(v, v)


def close(got, want):
    got = number(got)
    if math.isinf(want):
        return got == want
    return abs(got - want) <= 1e-9 * abs(want) + 1e-300


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    d = tmp_path_factory.mktemp("quant_groups")
    rng = np.random.default_rng(zlib.crc32(b"quant-groups"))
    w = lambda scale: (rng.standard_normal((32, 256)) * scale).astype(np.float32)  # noqa: E731
    orig = {"blk.0.attn_q.weight": w(0.02), "blk.0.attn_k.weight": w(0.05),
            "blk.0.ffn_up.weight": w(0.02), "blk.1.attn_q.weight": w(0.03),
            "blk.1.ffn_up.weight": w(0.02), "blk.0.ffn_down.weight": w(0.02),
            "blk.0.attn_norm.weight": (1 + rng.standard_normal(256) * 0.1).astype(np.float32),
            "blk.1.attn_norm.weight": (1 + rng.standard_normal(256) * 0.1).astype(np.float32)}
    types = {"blk.0.attn_q.weight": QT.Q4_K, "blk.0.attn_k.weight": QT.Q4_K,
             "blk.1.attn_q.weight": QT.Q4_K, "blk.0.ffn_up.weight": QT.Q8_0,
             "blk.1.ffn_up.weight": QT.Q8_0}
    quantized, plain, pairs = [], {}, {}
    for name, x in orig.items():
        a = x.astype(np.float64)
        qt = types.get(name)
        if qt == QT.Q4_K:
            q = quantize_q4_k(x.reshape(-1, 256)).reshape(x.shape[0], -1)
        elif qt == QT.Q8_0:
            q = quants.quantize(x, QT.Q8_0)
        if qt is not None:
            quantized.append((name, qt, q))
            pairs[name] = ("q4_K" if qt == QT.Q4_K else "q8_0", a, as_f64(qt, q).reshape(x.shape))
        elif name == "blk.0.ffn_down.weight":
            plain[name] = x.astype(np.float16)
            pairs[name] = ("f16", a, plain[name].astype(np.float64))
        else:
            plain[name] = x
            pairs[name] = ("f32", a, a)
    ids = np.arange(64, dtype=np.int32)
    plain["position_ids"] = ids
    write_gguf(d / "q.gguf", plain, quantized=quantized)
    save_file({**orig, "position_ids": ids}, str(d / "orig.safetensors"))
    return d, expected_groups(pairs)


def test_json_groups_equal_numpy(wd_bin, mixed):
    d, want = mixed
    proc = run_wd(wd_bin, "orig.safetensors", "q.gguf", "--backend", "cpu", "--json", "r.json", cwd=d)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = load_report(d / "r.json")["quant_types"]
    assert [(g["quant_a"], g["quant_b"]) for g in got] == [(g["quant_a"], g["quant_b"]) for g in want]
    # Worst first, as numpy ranks them: Q4_K below Q8_0 below F16; F32 identical (+inf).
    assert [g["quant_b"] for g in got] == ["q4_K", "q8_0", "f16", "f32"]
    for g, e in zip(got, want):
        assert list(g) == FIELDS, g
        for k in ("tensors", "elements", "worst"):
            assert g[k] == e[k], (g["quant_b"], k, g[k], e[k])
        for k in FIELDS[4:12]:
            assert close(g[k], e[k]), (g["quant_b"], k, g[k], e[k])
    assert got[-1]["snr_db"] == "inf" and got[-1]["rel_l2"] == 0 and got[-1]["max_abs_max"] == 0


def test_table_and_html_show_the_groups(wd_bin, mixed):
    d, want = mixed
    proc = run_wd(wd_bin, "orig.safetensors", "q.gguf", "--backend", "cpu", "--top", "3",
                  "--html", "r.html", "--json", "t.json", cwd=d)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("by quant type"))
    rows = lines[head + 1:head + 1 + len(want)]
    # One name where both sides have the same quant type, else A→B.
    assert [r.split()[0] for r in rows] == ["f32→q4_K", "f32→q8_0", "f32→f16", "f32"]
    for r, g in zip(rows, want):
        cells = r.split()
        assert int(cells[1]) == g["tensors"] and cells[-1] == g["worst"], r
        assert float(cells[2]) == pytest.approx(g["rel_l2"], rel=5e-3), r
        if math.isinf(g["snr_db"]):
            assert cells[3] == "inf", r
        else:
            assert float(cells[3]) == pytest.approx(g["snr_db"], abs=0.051), r
    assert lines[head + 1 + len(want)].startswith("compared "), lines[head:]
    page = (d / "r.html").read_text(encoding="utf-8")
    assert 'id="quant-section"' in page and "render_quant_types()" in page
    data = json.loads(re.search(r'<script type="application/json" id="wd-data">(.*?)</script>',
                                page, re.S).group(1))
    assert data["header"]["quant_types"] == load_report(d / "t.json")["quant_types"]


def test_fp8_side_is_a_quant_type(wd_bin, tmp_path):
    rng = np.random.default_rng(zlib.crc32(b"quant-groups-fp8"))
    x = (rng.standard_normal((16, 64)) * 0.5).astype(np.float32)
    y = x.astype(ml_dtypes.float8_e4m3fn)
    save_file({"w": x}, str(tmp_path / "a.safetensors"))
    save_file({"w": y}, str(tmp_path / "b.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--json", "r.json",
                  cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (g,) = load_report(tmp_path / "r.json")["quant_types"]
    a, b = x.astype(np.float64), y.astype(np.float64)
    assert (g["quant_a"], g["quant_b"], g["tensors"], g["worst"]) == ("f32", "f8e4m3fn", 1, "w")
    assert close(g["snr_db"], snr_db(float(np.sum(a * a)), float(np.sum((b - a) ** 2))))


def test_no_quantized_side_no_groups(wd_bin, tmp_path):
    """f32 against f16/bf16 is a dtype conversion, not a quantization: the
    reports stay exactly as they were before the feature."""
    rng = np.random.default_rng(zlib.crc32(b"quant-groups-none"))
    x = rng.standard_normal((16, 64)).astype(np.float32)
    save_file({"w": x, "v": x}, str(tmp_path / "a.safetensors"))
    save_file({"w": x.astype(np.float16), "v": x.astype(ml_dtypes.bfloat16)}, str(tmp_path / "b.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--json", "r.json",
                  "--html", "r.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # within the default tolerances
    assert "quant_types" not in load_report(tmp_path / "r.json")
    assert "by quant type" not in proc.stdout
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="wd-data">(.*?)</script>', page, re.S).group(1))
    assert "quant_types" not in data["header"]
