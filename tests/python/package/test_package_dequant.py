"""weightdiff.diff(dequant=...): the CLI's --dequant from Python (fixtures
from tests/python/test_dequant.py, written by the safetensors package)."""

import numpy as np
import pytest
from safetensors.numpy import save_file

import weightdiff
from test_dequant import BAD, bad_case, fp8_block_quantize, gptq_fixture, rng

ERROR_CLASS = {"malformed": weightdiff.MalformedFileError, "conflict": weightdiff.NameConflictError,
               "unsupported": weightdiff.UnsupportedError}


def test_python_diff_dequant(tmp_path):
    r = rng("py-fp8")
    w = (r.standard_normal((130, 70)) * 0.02).astype(np.float32)
    q, s, deq = fp8_block_quantize(w)
    save_file({"x.weight": w}, str(tmp_path / "a.safetensors"))
    save_file({"x.weight": q, "x.weight_scale_inv": s}, str(tmp_path / "b.safetensors"))
    res = weightdiff.diff(str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), backend="cpu")
    (t,) = res.tensors
    assert t["quant_b"] == "f8e4m3fn*scale[128x128]"
    assert t["max_abs"] == float(np.abs(w.astype(np.float64) - deq).max())
    res = weightdiff.diff(str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), backend="cpu",
                          dequant="never")
    assert {t["name"]: t["status"] for t in res.tensors}["x.weight_scale_inv"] == "only_in_b"
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff(str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), dequant="sometimes")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_quantized_groups_raise_their_class(tmp_path, case):
    make, errc, tensor = BAD[case]
    a, b = bad_case(tmp_path, make(rng(case)))
    with pytest.raises(ERROR_CLASS[errc]) as e:
        weightdiff.diff(str(a), str(b), backend="cpu")
    assert tensor in str(e.value) and str(b) in str(e.value)


@pytest.mark.parametrize("text", ['{"bits": 4, "checkpoint_format": ', '{"checkpoint_format": 2}', '[1]'])
def test_bad_quantize_config_is_malformed(tmp_path, text):
    gptq_fixture(tmp_path, "gptq-bad-config-py")
    cfg = tmp_path / "b" / "quantize_config.json"
    cfg.write_text(text)
    with pytest.raises(weightdiff.MalformedFileError) as e:
        weightdiff.diff(str(tmp_path / "a.safetensors"), str(tmp_path / "b"), backend="cpu")
    assert str(cfg) in str(e.value)


def test_python_quant_types(tmp_path):
    """result.quant_types: the JSON's groups with numbers as floats, keyed by
    the dequantized side's scheme; [] without a quantized side."""
    r = rng("py-quant-types")
    w = (r.standard_normal((130, 70)) * 0.02).astype(np.float32)
    q, s, deq = fp8_block_quantize(w)
    save_file({"x.weight": w, "norm": w[0]}, str(tmp_path / "a.safetensors"))
    save_file({"x.weight": q, "x.weight_scale_inv": s, "norm": w[0]}, str(tmp_path / "b.safetensors"))
    res = weightdiff.diff(str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), backend="cpu")
    g, same = res.quant_types
    assert (g["quant_a"], g["quant_b"], g["tensors"], g["worst"]) == ("f32", "f8e4m3fn*scale[128x128]", 1, "x.weight")
    a = w.astype(np.float64)
    want = 20 * np.log10(np.sqrt(np.sum(a * a)) / np.sqrt(np.sum((deq - a) ** 2)))
    assert abs(g["snr_db"] - want) <= 1e-9 * abs(want)
    assert (same["quant_a"], same["quant_b"]) == ("f32", "f32") and same["snr_db"] == float("inf")
    assert res.quant_types == [{k: (float(v) if v == "inf" else v) for k, v in x.items()}
                               for x in __import__("json").loads(res.to_json())["quant_types"]]
    save_file({"x.weight": w}, str(tmp_path / "c.safetensors"))
    plain = weightdiff.diff(str(tmp_path / "a.safetensors"), str(tmp_path / "c.safetensors"), backend="cpu")
    assert plain.quant_types == []
