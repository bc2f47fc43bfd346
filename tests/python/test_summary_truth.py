"""Summaries and gates that tell the truth (issue 18), on fixtures written by
the official `safetensors` and `onnx` packages.

1. The global cosine / rel_l2 (and `global.*` gates) pool floating-point
   tensors only; integer and bool tensors are counted as exact matches.
2. NaN/Inf appearing or vanishing makes a pair `different` whatever the
   tolerance, sorts it first, is counted in the summary and fails every gate.
3. A dtype change is counted and shown (`f16→f32`); `--exact` asks for the
   same dtypes and bytes.
5. An empty comparison says so, with null global metrics.
"""

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

from conftest import last_stderr_line, load_report, run_wd


def diff_json(wd_bin, a, b, tmp_path, *args):
    out = tmp_path / "r.json"
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--json", out, *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc, load_report(out)


def table(wd_bin, a, b, *args):
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--color", "never", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc


def global_reference(pairs):
    """Float64 cosine and rel_l2 over every finite element of the pairs taken as one vector."""
    a = np.concatenate([np.asarray(x, np.float64).ravel() for x, _ in pairs])
    b = np.concatenate([np.asarray(y, np.float64).ravel() for _, y in pairs])
    f = np.isfinite(a) & np.isfinite(b)
    a, b = a[f], b[f]
    dot, saa, sbb, sdd = (a * b).sum(), (a * a).sum(), (b * b).sum(), ((b - a) ** 2).sum()
    return dot / math.sqrt(saa * sbb), math.sqrt(sdd) / math.sqrt(saa)


# --- 1. integer buffers do not dilute the global metrics -------------------

def silero_like(tmp_path):
    """Every float weight changed; a large int64 buffer and a step counter."""
    rng = np.random.default_rng(181)
    wa = {f"layer{i}.weight": rng.standard_normal((48, 40)).astype(np.float32) for i in range(3)}
    wb = {k: (v + np.float32(0.02) * rng.standard_normal(v.shape).astype(np.float32))
          for k, v in wa.items()}
    pos = np.arange(1, 4097, dtype=np.int64)[None, :] * 1000
    a = dict(wa, position_ids=pos, num_batches_tracked=np.array(10, np.int64),
             mask=np.array([True, False, True]))
    b = dict(wb, position_ids=pos, num_batches_tracked=np.array(11, np.int64),
             mask=np.array([True, False, True]))
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    return tmp_path / "a.safetensors", tmp_path / "b.safetensors", wa, wb


def test_global_metrics_pool_float_tensors_only(wd_bin, tmp_path):
    a, b, wa, wb = silero_like(tmp_path)
    _, r = diff_json(wd_bin, a, b, tmp_path)
    s = r["summary"]
    cos, rel = global_reference([(wa[k], wb[k]) for k in wa])
    assert abs((1 - s["cosine"]) - (1 - cos)) <= 1e-12
    assert abs(s["rel_l2"] - rel) <= 1e-9 * rel
    assert rel > 1e-2  # the integer buffer (norm ~1e8) would have hidden it
    assert (s["float_tensors"], s["float_elements"]) == (3, 3 * 48 * 40)
    assert (s["int_tensors"], s["int_elements"], s["int_tensors_changed"]) == (3, 4096 + 1 + 3, 1)
    assert s["compared"] == 6


def test_global_gate_sees_float_drift_despite_int_buffers(wd_bin, tmp_path):
    a, b, _, _ = silero_like(tmp_path)
    out = tmp_path / "g.json"
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--fail-if", "global.rel_l2>1e-3", "--json", out)
    assert proc.returncode == 1, proc.stderr
    assert "global" in load_report(out)["summary"]["failed"]


def test_summary_line_names_what_it_pools(wd_bin, tmp_path):
    a, b, _, _ = silero_like(tmp_path)
    line = table(wd_bin, a, b).stdout.splitlines()[-1]
    assert "over 3 float tensors" in line
    assert "int/bool 1 of 3 changed" in line


def test_onnx_int_initializer_does_not_dilute(wd_bin, tmp_path):
    """MiniLM's case: an int64 position_ids initializer next to float weights."""
    rng = np.random.default_rng(182)
    w = rng.standard_normal((32, 16)).astype(np.float32)
    pos = np.arange(512, dtype=np.int64)[None, :] * 100000

    def model(weight, path):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])
        graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y],
                                  [numpy_helper.from_array(weight, "w"),
                                   numpy_helper.from_array(pos, "position_ids")])
        onnx.save(helper.make_model(graph), str(path))

    wq = (np.round(w * 20) / 20).astype(np.float32)  # "quantized"
    model(w, tmp_path / "a.onnx")
    model(wq, tmp_path / "b.onnx")
    _, r = diff_json(wd_bin, tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path)
    s = r["summary"]
    cos, rel = global_reference([(w, wq)])
    assert abs(s["rel_l2"] - rel) <= 1e-9 * rel
    assert abs((1 - s["cosine"]) - (1 - cos)) <= 1e-12
    assert (s["float_tensors"], s["int_tensors"], s["int_tensors_changed"]) == (1, 1, 0)


def test_only_int_tensors_give_null_global_metrics(wd_bin, tmp_path):
    save_file({"ids": np.arange(10, dtype=np.int32)}, str(tmp_path / "a.safetensors"))
    save_file({"ids": np.arange(10, dtype=np.int32) * 2}, str(tmp_path / "b.safetensors"))
    proc, r = diff_json(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path)
    s = r["summary"]
    assert proc.returncode == 1
    assert s["cosine"] is None and s["rel_l2"] is None
    assert (s["int_tensors"], s["int_tensors_changed"], s["float_tensors"]) == (1, 1, 0)


# --- 2. NaN/Inf appearing or vanishing --------------------------------------

def overflow_pair(tmp_path):
    """f32 → f16 cast where 64 values overflow to ±inf, plus a tensor whose
    (finite) drift is much larger, so by rel_l2 alone it would sort first."""
    rng = np.random.default_rng(183)
    big = rng.standard_normal(4096).astype(np.float32)
    big[rng.choice(4096, 64, replace=False)] = np.float32(70000) * np.sign(rng.standard_normal(64)).astype(np.float32)
    drift = rng.standard_normal(256).astype(np.float32)
    a = {"emb.weight": big, "noisy.weight": drift}
    with np.errstate(over="ignore"):  # the overflow to inf is the point
        b = {"emb.weight": big.astype(np.float16), "noisy.weight": drift * np.float32(1.5)}
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    return tmp_path / "a.safetensors", tmp_path / "b.safetensors"


def test_introduced_inf_is_different_whatever_the_tolerance(wd_bin, tmp_path):
    a, b = overflow_pair(tmp_path)
    _, r = diff_json(wd_bin, a, b, tmp_path, "--atol", "1e30", "--rtol", "1e30")
    t = {x["name"]: x for x in r["tensors"]}["emb.weight"]
    assert t["status"] == "different"
    assert (t["nonfinite_introduced"], t["nonfinite_removed"]) == (64, 0)
    assert t["inf_b"] == 64 and t["inf_a"] == 0
    assert t["cosine"] > 0.9999  # the finite pairs alone look perfect: why the rule exists
    s = r["summary"]
    assert (s["nonfinite_introduced"], s["nonfinite_removed"], s["nonfinite_tensors"]) == (64, 0, 1)


def test_removed_nan_is_counted(wd_bin, tmp_path):
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    y = x.copy()
    y[[3, 50]] = np.nan
    save_file({"t": y}, str(tmp_path / "a.safetensors"))
    save_file({"t": x}, str(tmp_path / "b.safetensors"))
    _, r = diff_json(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path)
    t = r["tensors"][0]
    assert (t["nonfinite_introduced"], t["nonfinite_removed"], t["status"]) == (0, 2, "different")
    assert r["summary"]["nonfinite_removed"] == 2


def test_same_nan_on_both_sides_is_not_a_change(wd_bin, tmp_path):
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    x[7] = np.nan
    x[9] = np.inf
    save_file({"t": x}, str(tmp_path / "a.safetensors"))
    save_file({"t": x.copy()}, str(tmp_path / "b.safetensors"))
    proc, r = diff_json(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path,
                        "--fail-if", "cosine<0.5")
    t = r["tensors"][0]
    assert (t["nonfinite_introduced"], t["nonfinite_removed"], t["status"]) == (0, 0, "identical")
    assert proc.returncode == 0


def test_nonfinite_tensor_sorts_first_and_is_in_the_summary_line(wd_bin, tmp_path):
    a, b = overflow_pair(tmp_path)
    out = table(wd_bin, a, b, "--top", "1").stdout.splitlines()
    assert out[1].startswith("emb.weight"), out
    assert "NaN/Inf +64 -0" in out[1]
    assert "NaN/Inf +64 -0 in 1 tensor" in out[-1]


def test_nonfinite_change_fails_every_gate(wd_bin, tmp_path):
    a, b = overflow_pair(tmp_path)
    for gate in ("cosine<0.5", "rel_l2>1e6", "global.rel_l2>1e6"):
        out = tmp_path / "g.json"
        proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--fail-if", gate, "--json", out)
        assert proc.returncode == 1, (gate, proc.stderr)
        r = load_report(out)
        t = {x["name"]: x for x in r["tensors"]}
        if gate.startswith("global."):
            assert r["summary"]["failed"] == ["global"]
        else:
            assert t["emb.weight"]["failed"] == [gate]
            assert t["noisy.weight"]["failed"] == []  # its metrics pass these gates
            assert r["summary"]["failed"] == ["emb.weight"]


# --- 3. dtype changes and --exact -------------------------------------------

def f16_f32_pair(tmp_path):
    rng = np.random.default_rng(184)
    h = rng.standard_normal((16, 16)).astype(np.float16)
    save_file({"w": h, "b": h[0].copy()}, str(tmp_path / "a.safetensors"))
    save_file({"w": h.astype(np.float32), "b": h[0].copy()}, str(tmp_path / "b.safetensors"))
    return tmp_path / "a.safetensors", tmp_path / "b.safetensors"


def test_dtype_change_is_counted_and_shown(wd_bin, tmp_path):
    a, b = f16_f32_pair(tmp_path)
    proc, r = diff_json(wd_bin, a, b, tmp_path, "--atol", "0", "--rtol", "0")
    assert proc.returncode == 0  # the values are equal: --atol 0 --rtol 0 decides by values
    assert r["summary"]["dtype_changed"] == 1
    assert r["summary"]["identical"] == 2
    lines = table(wd_bin, a, b).stdout.splitlines()
    row = next(ln for ln in lines if ln.startswith("w "))
    assert "f16→f32" in row
    assert "dtype changed 1" in lines[-1]


def test_exact_fails_on_a_dtype_change(wd_bin, tmp_path):
    a, b = f16_f32_pair(tmp_path)
    proc, r = diff_json(wd_bin, a, b, tmp_path, "--exact")
    assert proc.returncode == 1
    t = {x["name"]: x for x in r["tensors"]}
    assert t["w"]["bytes_equal"] is False and t["b"]["bytes_equal"] is True
    assert r["summary"]["bytes_differ"] == 1 and r["options"]["exact"] is True


def test_exact_fails_on_signed_zero_and_nan_payload(wd_bin, tmp_path):
    """Equal values, different bytes: identical by value, not exact."""
    x = np.array([0.0, 1.0, 2.0, 3.0], np.float32)
    y = x.copy()
    y[0] = -0.0
    n1 = np.array([1.0, np.nan], np.float32)
    n2 = n1.copy()
    n2.view(np.uint32)[1] = 0x7FC00001  # another quiet NaN
    save_file({"z": x, "n": n1}, str(tmp_path / "a.safetensors"))
    save_file({"z": y, "n": n2}, str(tmp_path / "b.safetensors"))
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    assert run_wd(wd_bin, a, b, "--backend", "cpu", "--atol", "0", "--rtol", "0").returncode == 0
    proc, r = diff_json(wd_bin, a, b, tmp_path, "--exact")
    assert proc.returncode == 1
    assert {t["name"]: (t["status"], t["bytes_equal"]) for t in r["tensors"]} == {
        "z": ("identical", False), "n": ("identical", False)}
    csv = tmp_path / "r.csv"
    assert run_wd(wd_bin, a, b, "--backend", "cpu", "--exact", "--csv", csv).returncode == 1
    rows = csv.read_text().splitlines()
    assert rows[0].endswith(",failed,bytes_equal")
    assert all(r.endswith(",false") for r in rows[1:])


def test_exact_passes_on_a_byte_copy_and_beats_gates(wd_bin, tmp_path):
    a, _ = f16_f32_pair(tmp_path)
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(a.read_bytes())
    proc, r = diff_json(wd_bin, a, copy, tmp_path, "--exact")
    assert proc.returncode == 0
    assert all(t["bytes_equal"] is True for t in r["tensors"])
    # With gates the gates decide, but --exact still does.
    _, b = f16_f32_pair(tmp_path)
    assert run_wd(wd_bin, a, b, "--backend", "cpu", "--exact", "--fail-if", "max_abs>1").returncode == 1


def test_exact_with_structure_only_is_a_usage_error(wd_bin, tmp_path):
    a, b = f16_f32_pair(tmp_path)
    proc = run_wd(wd_bin, a, b, "--exact", "--structure-only")
    assert proc.returncode == 2
    assert last_stderr_line(proc) == \
        "weightdiff: error: --exact compares tensor bytes: not with --structure-only"


# --- 5. an empty comparison -------------------------------------------------

def test_no_names_in_common_reads_as_nothing_compared(wd_bin, tmp_path):
    rng = np.random.default_rng(185)
    w = {f"layers.{i}.weight": rng.standard_normal(8).astype(np.float32) for i in range(3)}
    save_file(w, str(tmp_path / "a.safetensors"))
    save_file({"model." + k: v for k, v in w.items()}, str(tmp_path / "b.safetensors"))
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    proc, r = diff_json(wd_bin, a, b, tmp_path)
    s = r["summary"]
    assert proc.returncode == 1
    assert s["compared"] == 0
    assert s["cosine"] is None and s["rel_l2"] is None and s["max_abs"] is None
    t = table(wd_bin, a, b)
    assert t.stdout.splitlines()[-1].startswith(
        "nothing compared: no tensor name in common (only in A 3, only in B 3); see the hint above")
    assert "hint:" in t.stderr and "--map" in t.stderr
    # A gate cannot certify an empty comparison: null triggers (SPEC §6).
    assert run_wd(wd_bin, a, b, "--backend", "cpu", "--fail-if", "global.rel_l2>1").returncode == 1


def test_models_without_tensors_say_so(wd_bin, tmp_path):
    for name in ("a", "b"):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
        g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], name, [x], [y])
        onnx.save(helper.make_model(g), str(tmp_path / f"{name}.onnx"))
    proc = table(wd_bin, tmp_path / "a.onnx", tmp_path / "b.onnx")
    assert proc.returncode == 0  # two models without tensors are equal (SPEC §2)
    assert proc.stdout.splitlines()[-1].startswith("nothing compared: neither model holds a tensor")


def test_backend_hybrid_is_an_accepted_choice(wd_bin, tmp_path):
    """--backend hybrid is parsed (the help names it); here it needs CUDA."""
    a, b = f16_f32_pair(tmp_path)
    proc = run_wd(wd_bin, a, b, "--backend", "hybrid")
    if proc.returncode == 2:
        assert "not in" not in last_stderr_line(proc)
        assert "CUDA" in last_stderr_line(proc) or "cuda" in last_stderr_line(proc)
    else:
        assert proc.returncode == 0, proc.stderr
