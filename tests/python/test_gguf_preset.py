"""--map-preset llama-gguf: a Hugging Face llama checkpoint against its GGUF
conversion (issue 12 item 2).

The GGUF files are written with the official `gguf` package the way
llama.cpp's convert_hf_to_gguf.py writes a llama model: GGUF names
(`blk.N.attn_q.weight`, `token_embd.weight`, ...), q_proj and k_proj rows
permuted by its `LlamaModel.permute` (k with the KV head count), norms in
f32, the rest F16 or Q8_0 (`gguf.quants.quantize`). With the preset every
tensor pairs by its HF name, the permutation is undone (`rope_heads` in the
JSON), and what is left is the quantization error only.
"""

import gguf
import ml_dtypes  # noqa: F401  (the gguf package imports it too)
import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT
from gguf import quants
from safetensors.numpy import save_file

from conftest import load_report, run_wd

H, I, V, LAYERS, HEADS, KV_HEADS = 64, 96, 128, 2, 4, 2
HEAD_DIM = H // HEADS

LAYER_PARAMS = {  # HF suffix -> (GGUF suffix, shape)
    "input_layernorm.weight": ("attn_norm.weight", (H,)),
    "self_attn.q_proj.weight": ("attn_q.weight", (H, H)),
    "self_attn.k_proj.weight": ("attn_k.weight", (KV_HEADS * HEAD_DIM, H)),
    "self_attn.v_proj.weight": ("attn_v.weight", (KV_HEADS * HEAD_DIM, H)),
    "self_attn.o_proj.weight": ("attn_output.weight", (H, H)),
    "post_attention_layernorm.weight": ("ffn_norm.weight", (H,)),
    "mlp.gate_proj.weight": ("ffn_gate.weight", (I, H)),
    "mlp.up_proj.weight": ("ffn_up.weight", (I, H)),
    "mlp.down_proj.weight": ("ffn_down.weight", (H, I)),
}
GLOBAL_PARAMS = {
    "model.embed_tokens.weight": ("token_embd.weight", (V, H)),
    "model.norm.weight": ("output_norm.weight", (H,)),
    "lm_head.weight": ("output.weight", (V, H)),
}


def names():
    out = dict(GLOBAL_PARAMS)
    for n in range(LAYERS):
        for hf, (gg, shape) in LAYER_PARAMS.items():
            out[f"model.layers.{n}.{hf}"] = (f"blk.{n}.{gg}", shape)
    return out


def checkpoint(seed=12):
    rng = np.random.default_rng(seed)
    return {hf: (rng.standard_normal(shape) * 0.05).astype(np.float32) for hf, (_, shape) in names().items()}


def permute(w, n_head, n_head_kv):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute, as published."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def convert(params, path, qtype, heads=HEADS, kv_heads=KV_HEADS, head_count=True):
    w = gguf.GGUFWriter(str(path), "llama")
    if head_count:
        w.add_head_count(heads)
        w.add_head_count_kv(kv_heads)
    for hf, (gg, _shape) in names().items():
        data = params[hf]
        if hf.endswith("q_proj.weight"):
            data = permute(data, heads, heads)
        elif hf.endswith("k_proj.weight"):
            data = permute(data, heads, kv_heads)
        if data.ndim == 1:
            w.add_tensor(gg, data.astype(np.float32))
        elif qtype == QT.F16:
            w.add_tensor(gg, data.astype(np.float16))
        else:
            w.add_tensor(gg, quants.quantize(data, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def run_json(wd_bin, tmp_path, a, b, *extra, expect=(0, 1)):
    out = tmp_path / "r.json"
    proc = run_wd(wd_bin, "--backend", "cpu", "--json", out, a, b, *extra)
    assert proc.returncode in expect, proc.stdout + proc.stderr
    return proc, load_report(out)


def test_f16_conversion_is_identical_after_rounding(wd_bin, tmp_path):
    params = checkpoint()
    # The checkpoint rounded to f16 (norms stay f32, as the converter keeps them).
    rounded = {k: (v if v.ndim == 1 else v.astype(np.float16).astype(np.float32)) for k, v in params.items()}
    save_file(rounded, str(tmp_path / "hf.safetensors"))
    convert(params, tmp_path / "m.gguf", QT.F16)
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "hf.safetensors", tmp_path / "m.gguf",
                            "--map-preset", "llama-gguf")
    s = report["summary"]
    assert (s["only_in_a"], s["only_in_b"], s["compared"]) == (0, 0, len(params)), proc.stderr
    assert report["options"]["map_preset"] == "llama-gguf"
    gg = names()
    for t in report["tensors"]:
        assert t["status"] == "identical", t
        assert t["name_b"] == gg[t["name"]][0] and t["matched_as"] == t["name"]
        if t["name"].endswith("q_proj.weight"):
            assert t["rope_heads"] == HEADS
        elif t["name"].endswith("k_proj.weight"):
            assert t["rope_heads"] == KV_HEADS
        else:
            assert "rope_heads" not in t
    assert proc.returncode == 0
    # The other way round (the GGUF as A): the same pairs, identical too.
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "m.gguf", tmp_path / "hf.safetensors",
                            "--map-preset", "llama-gguf")
    assert proc.returncode == 0 and report["summary"]["identical"] == len(params)
    # Without the preset nothing pairs.
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "hf.safetensors", tmp_path / "m.gguf")
    assert report["summary"]["compared"] == 0 and proc.returncode == 1


def test_q8_0_shows_quantization_error_only(wd_bin, tmp_path):
    params = checkpoint(13)
    save_file(params, str(tmp_path / "hf.safetensors"))
    convert(params, tmp_path / "q8.gguf", QT.Q8_0)
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "hf.safetensors", tmp_path / "q8.gguf",
                            "--map-preset", "llama-gguf")
    assert report["summary"]["compared"] == len(params)
    gg = names()
    for t in report["tensors"]:
        if len(gg[t["name"]][1]) == 1:
            assert t["status"] == "identical", t  # f32 norms
            continue
        assert t["dtype_b"] == "q8_0"
        assert t["rel_l2"] < 1e-2, t  # a wrong permutation gives ~1.4
        # Against an independent numpy evaluation: the dequantized GGUF
        # tensor, permutation undone, minus the checkpoint.
        hf = params[t["name"]]
        deq = quants.dequantize(quants.quantize(
            permute(hf, HEADS, KV_HEADS if "k_proj" in t["name"] else HEADS)
            if t["name"].endswith(("q_proj.weight", "k_proj.weight")) else hf, QT.Q8_0), QT.Q8_0)
        if t["name"].endswith("q_proj.weight"):
            deq = unpermute(deq, HEADS)
        elif t["name"].endswith("k_proj.weight"):
            deq = unpermute(deq, KV_HEADS)
        d = deq.astype(np.float64) - hf.astype(np.float64)
        assert t["max_abs"] == pytest.approx(np.abs(d).max(), rel=0, abs=0)
        assert t["max_abs_index"] == list(np.unravel_index(np.abs(d).argmax(), hf.shape))
        rel = np.sqrt((d * d).sum() / (hf.astype(np.float64) ** 2).sum())
        assert t["rel_l2"] == pytest.approx(rel, rel=1e-9)


def unpermute(w, n_head):
    """The inverse of permute(): GGUF row order back to the checkpoint's."""
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def test_a_preset_name_it_does_not_know_is_a_usage_error(wd_bin, tmp_path):
    save_file({"w": np.ones(4, np.float32)}, str(tmp_path / "a.safetensors"))
    proc = run_wd(wd_bin, "--backend", "cpu", tmp_path / "a.safetensors", tmp_path / "a.safetensors",
                  "--map-preset", "qwen-gguf")
    assert proc.returncode == 2
    assert "unknown preset 'qwen-gguf'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_head_count_is_exit_2_naming_the_file(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "hf.safetensors"))
    convert(params, tmp_path / "m.gguf", QT.F16, head_count=False)
    proc = run_wd(wd_bin, "--backend", "cpu", tmp_path / "hf.safetensors", tmp_path / "m.gguf",
                  "--map-preset", "llama-gguf")
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()
    assert len(line) == 1 and "llama.attention.head_count" in line[0] and "m.gguf" in line[0]
