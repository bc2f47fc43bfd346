"""GGUF files written by the official `gguf` package (gguf.GGUFWriter).

Every plain dtype is compared against the safetensors of the same arrays
(written by the safetensors package), shapes are row-major, the metadata is
reported, the quantized types weightdiff decodes are compared (their values:
test_gguf_quant.py) and the others (IQ*, ...) listed as unsupported_dtype
with their ggml name, versions 2 and 3 read alike, and
the format is found by content and in a folder. The malformed corpus is in
test_gguf_bad.py.
"""

import os
import subprocess
import zlib

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

gguf = pytest.importorskip("gguf")  # scripts/install_deps.sh installs it
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf import quants  # noqa: E402

import reference as ref  # noqa: E402
from conftest import assert_clean_failure, last_stderr_line, load_report, run_wd  # noqa: E402
from test_crosscheck_safetensors import compare_tensor  # noqa: E402

# name -> (numpy dtype, the shape (row-major) it is stored with)
PLAIN = {
    "w.f64": (np.float64, (3, 7)),
    "w.f32": (np.float32, (5, 4, 3)),
    "w.f16": (np.float16, (2, 3, 4, 5)),   # 4 dims, GGUF's most
    "w.bf16": (ml_dtypes.bfloat16, (6, 9)),
    "w.i8": (np.int8, (17,)),
    "w.i16": (np.int16, (4, 8)),
    "w.i32": (np.int32, (3, 11)),
    "w.i64": (np.int64, (2, 5)),
    "w.scalar": (np.float32, ()),          # n_dims 0
}


def plain_arrays(seed):
    rng = np.random.default_rng(seed)
    out = {}
    for name, (dt, shape) in PLAIN.items():
        if np.issubdtype(np.dtype(dt), np.integer):
            info = np.iinfo(dt)
            a = rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape)
        else:
            a = rng.standard_normal(shape) * 3.0
        out[name] = np.asarray(a).astype(dt)
    return out


def add_array(w, name, arr):
    if arr.dtype == np.dtype(ml_dtypes.bfloat16):
        # The writer takes bf16 as its bit patterns with the type given.
        w.add_tensor(name, arr.view(np.uint16), raw_dtype=QT.BF16)
    else:
        w.add_tensor(name, arr)


def write_gguf(path, arrays, quantized=(), metadata=None, alignment=None, version=None):
    """arrays: name -> numpy array; quantized: (name, type, uint8 blocks)."""
    w = gguf.GGUFWriter(str(path), "llama")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for key, (kind, value) in (metadata or {}).items():
        getattr(w, "add_" + kind)(key, value)
    for name, arr in arrays.items():
        add_array(w, name, arr)
    for name, qtype, blocks in quantized:
        w.add_tensor(name, blocks, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if version is not None:  # v2 and v3 share the little-endian layout
        data = bytearray(path.read_bytes())
        data[4:8] = version.to_bytes(4, "little")
        path.write_bytes(bytes(data))
    return path


def report_of(wd_bin, cwd, a, b, expect):
    proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--json", "r.json", cwd=cwd)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return load_report(cwd / "r.json")


def test_gguf_reader_agrees_about_the_fixture(tmp_path):
    """The fixture is what the tests assume: the writer stored every plain
    type with its GGUF type and ne in GGUF order (reversed)."""
    arrays = plain_arrays(1)
    write_gguf(tmp_path / "m.gguf", arrays)
    r = gguf.GGUFReader(str(tmp_path / "m.gguf"))
    got = {t.name: t for t in r.tensors}
    assert got["w.bf16"].tensor_type == QT.BF16 and got["w.i16"].tensor_type == QT.I16
    assert list(got["w.f16"].shape) == [5, 4, 3, 2]
    assert len(got["w.scalar"].shape) == 0 or list(got["w.scalar"].shape) == [1]


@pytest.mark.parametrize("version", [2, 3])
def test_every_plain_dtype_equals_its_safetensors(wd_bin, tmp_path, version):
    arrays = plain_arrays(zlib.crc32(b"gguf-plain"))
    write_gguf(tmp_path / "m.gguf", arrays, version=version)
    save_file(arrays, str(tmp_path / "m.safetensors"))
    r = report_of(wd_bin, tmp_path, "m.gguf", "m.safetensors", 0)
    assert r["a"]["format"] == "gguf" and r["a"]["metadata"]["gguf.version"] == str(version)
    assert r["summary"]["identical"] == r["summary"]["compared"] == len(PLAIN)
    got = {t["name"]: t for t in r["tensors"]}
    for name, arr in arrays.items():
        assert got[name]["dtype_a"] == ref.dtype_name(arr) == got[name]["dtype_b"], name
        assert got[name]["shape_a"] == list(arr.shape) == got[name]["shape_b"], name
    assert r["a"]["bytes"] == sum(a.nbytes for a in arrays.values())


def test_one_changed_element_is_found_and_measured(wd_bin, tmp_path):
    arrays = plain_arrays(zlib.crc32(b"gguf-changed"))
    changed = {k: v.copy() for k, v in arrays.items()}
    changed["w.f32"][3, 2, 1] += np.float32(0.5)
    changed["w.i16"][2, 7] -= 3
    write_gguf(tmp_path / "a.gguf", arrays)
    write_gguf(tmp_path / "b.gguf", changed)
    r = report_of(wd_bin, tmp_path, "a.gguf", "b.gguf", 1)
    got = {t["name"]: t for t in r["tensors"]}
    assert {n for n, t in got.items() if t["status"] != "identical"} == {"w.f32", "w.i16"}
    assert got["w.f32"]["max_abs_index"] == [3, 2, 1]  # row-major coordinates
    assert got["w.i16"]["max_abs_index"] == [2, 7]
    for name in ("w.f32", "w.i16"):
        exp, bounds = ref.pair_metrics(arrays[name], changed[name])
        errs = compare_tensor(got[name], exp, bounds)
        assert not errs, (name, errs)
    # The same change against the safetensors of the original: exit 1 too.
    save_file(arrays, str(tmp_path / "a.safetensors"))
    r = report_of(wd_bin, tmp_path, "a.safetensors", "b.gguf", 1)
    assert r["summary"]["different"] == 2


def test_metadata_is_reported_as_text(wd_bin, tmp_path):
    meta = {
        "general.name": ("string", "tiny ünïcode"),
        "llama.context_length": ("uint32", 4096),
        "llama.rope.freq_base": ("float32", 0.1),
        "llama.attention.layer_norm_rms_epsilon": ("float64", 1e-5),
        "llama.block_count": ("int32", -3),
        "llama.vocab_size": ("uint64", 2**40 + 1),
        "general.flag": ("bool", True),
        "tokenizer.ggml.tokens": ("array", ["<s>", "</s>", "a", "b", "c"]),
        "tokenizer.ggml.scores": ("array", [0.5, 1.5, -2.0]),
        "general.nested": ("array", [[1, 2], [3]]),
    }
    write_gguf(tmp_path / "m.gguf", {"x": np.arange(1, 9, dtype=np.float32)}, metadata=meta)
    m = report_of(wd_bin, tmp_path, "m.gguf", "m.gguf", 0)["a"]["metadata"]
    assert m["gguf.general.architecture"] == "llama"
    assert m["gguf.general.name"] == "tiny ünïcode"
    assert m["gguf.llama.context_length"] == "4096"
    assert m["gguf.llama.rope.freq_base"] == "0.1"  # shortest float32 text
    assert m["gguf.llama.attention.layer_norm_rms_epsilon"] == "1e-05"
    assert m["gguf.llama.block_count"] == "-3"
    assert m["gguf.llama.vocab_size"] == str(2**40 + 1)
    assert m["gguf.general.flag"] == "true"
    assert m["gguf.tokenizer.ggml.tokens"] == "[array of 5 string]"
    assert m["gguf.tokenizer.ggml.scores"] == "[array of 3 float32]"
    assert m["gguf.general.nested"] == "[array of 2 array]"
    assert m["gguf.version"] == "3"


def test_metadata_differences_are_listed_not_decisive(wd_bin, tmp_path):
    x = {"x": np.arange(1, 9, dtype=np.float32)}
    write_gguf(tmp_path / "a.gguf", x, metadata={"general.name": ("string", "one")})
    write_gguf(tmp_path / "b.gguf", x, metadata={"general.name": ("string", "two")})
    r = report_of(wd_bin, tmp_path, "a.gguf", "b.gguf", 0)
    diffs = {d["key"]: d for d in r["metadata_diffs"]}
    assert set(diffs) == {"gguf.general.name"}, r["metadata_diffs"]


def quantized_fixture(rng):
    """(name, type, uint8 blocks): Q8_0 and Q4_0 from gguf.quants.quantize; the
    K types and IQ4_NL from random bytes (gguf.quants cannot quantize them).
    Their values are checked in test_gguf_quant.py; here, how they are listed."""
    w8 = rng.standard_normal((4, 64)).astype(np.float32)
    w4 = rng.standard_normal((3, 96)).astype(np.float32)
    out = [("blk.0.attn_q.weight", QT.Q8_0, quants.quantize(w8, QT.Q8_0)),
           ("blk.0.attn_k.weight", QT.Q4_0, quants.quantize(w4, QT.Q4_0))]
    for name, qt, rows in (("blk.0.ffn_up.weight", QT.Q4_K, 2), ("blk.0.ffn_down.weight", QT.Q6_K, 3),
                           ("blk.0.attn_v.weight", QT.IQ4_NL, 2)):
        _, type_bytes = gguf.GGML_QUANT_SIZES[qt]
        out.append((name, qt, rng.integers(1, 255, size=(rows, type_bytes), dtype=np.uint8)))
    return out


def test_quantized_tensors_are_compared_and_others_unsupported(wd_bin, tmp_path):
    rng = np.random.default_rng(zlib.crc32(b"gguf-quant"))
    q = quantized_fixture(rng)
    plain = {"token_embd.weight": rng.standard_normal((8, 4)).astype(np.float32)}
    write_gguf(tmp_path / "m.gguf", plain, quantized=q)
    r = report_of(wd_bin, tmp_path, "m.gguf", "m.gguf", 0)  # unsupported never decides
    got = {t["name"]: t for t in r["tensors"]}
    expect = {"blk.0.attn_q.weight": ("q8_0", [4, 64]), "blk.0.attn_k.weight": ("q4_0", [3, 96]),
              "blk.0.ffn_up.weight": ("q4_K", [2, 256]), "blk.0.ffn_down.weight": ("q6_K", [3, 256]),
              "blk.0.attn_v.weight": ("iq4_nl", [2, 32])}
    for name, (dt, shape) in expect.items():
        t = got[name]
        want = "unsupported_dtype" if dt == "iq4_nl" else "identical"
        assert t["status"] == want and t["dtype_a"] == dt == t["dtype_b"], t
        assert t["shape_a"] == shape, t
    assert got["token_embd.weight"]["status"] == "identical"
    assert r["summary"]["unsupported_dtype"] == 1 and r["summary"]["compared"] == 5
    # The quantized bytes count in the model's size, as the writer laid them out.
    assert r["a"]["bytes"] == plain["token_embd.weight"].nbytes + sum(b.nbytes for _, _, b in q)
    # And the table says so too.
    proc = run_wd(wd_bin, "m.gguf", "m.gguf", "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0 and "iq4_nl" in proc.stdout, proc.stdout


def test_custom_alignment_and_tensor_order(wd_bin, tmp_path):
    arrays = plain_arrays(zlib.crc32(b"gguf-align"))
    write_gguf(tmp_path / "m.gguf", arrays, alignment=256)
    save_file(arrays, str(tmp_path / "m.safetensors"))
    r = gguf.GGUFReader(str(tmp_path / "m.gguf"))
    assert all(t.data_offset % 256 == 0 for t in r.tensors)
    rep = report_of(wd_bin, tmp_path, "m.gguf", "m.safetensors", 0)
    assert rep["a"]["metadata"]["gguf.general.alignment"] == "256"
    assert rep["summary"]["identical"] == len(PLAIN)


def test_detected_by_content_and_in_a_folder(wd_bin, tmp_path):
    arrays = plain_arrays(zlib.crc32(b"gguf-detect"))
    write_gguf(tmp_path / "m.gguf", arrays)
    save_file(arrays, str(tmp_path / "m.safetensors"))
    os.rename(tmp_path / "m.gguf", tmp_path / "weights.bin")  # the magic, not the name
    r = report_of(wd_bin, tmp_path, "weights.bin", "m.safetensors", 0)
    assert r["a"]["format"] == "gguf"
    (tmp_path / "dl").mkdir()
    os.rename(tmp_path / "weights.bin", tmp_path / "dl" / "model-q8.gguf")
    r = report_of(wd_bin, tmp_path, "dl", "m.safetensors", 0)
    assert r["a"]["format"] == "gguf" and r["a"]["path"] == "dl"
    # Two candidate models in one folder: which one is meant is not guessed.
    write_gguf(tmp_path / "dl" / "model-f16.gguf", arrays)
    proc = run_wd(wd_bin, "dl", "m.safetensors", "--backend", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, "dl")
    assert last_stderr_line(proc) == (
        "weightdiff: error: dl: folder holds 2 model files (model-f16.gguf, model-q8.gguf): "
        "pass one of them instead of the folder")


def test_gguf_magic_under_another_name_is_not_safetensors(wd_bin, tmp_path):
    """A .safetensors name does not override GGUF content."""
    arrays = plain_arrays(zlib.crc32(b"gguf-name"))
    write_gguf(tmp_path / "x.safetensors", arrays)
    r = report_of(wd_bin, tmp_path, "x.safetensors", "x.safetensors", 0)
    assert r["a"]["format"] == "gguf"


def test_truncating_an_input_mid_run_is_exit_2_never_a_signal(wd_bin, tmp_path):
    """The data section cut while weightdiff opens or diffs it: exit 2 naming
    the file (malformed if the open saw the short file, changed if the diff
    did: SIGBUS guarded), or 0 if it finished first; never a signal."""
    import time
    rng = np.random.default_rng(zlib.crc32(b"gguf-truncate"))
    big = {f"w{i}": rng.standard_normal(4 << 20).astype(np.float32) for i in range(6)}
    write_gguf(tmp_path / "a.gguf", big)
    outcomes = []
    for delay in (0.0, 0.05, 0.25):
        p = tmp_path / f"b{delay}.gguf"
        write_gguf(p, {k: v * 1.001 for k, v in big.items()})
        proc = subprocess.Popen([str(wd_bin), "a.gguf", p.name, "--backend", "cpu", "--threads", "1", "-q"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        os.truncate(p, p.stat().st_size // 3)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {err}"
        assert proc.returncode in (1, 2), err  # 1: it finished before the cut
        if proc.returncode == 2:
            assert p.name in err.strip().splitlines()[-1], err
        outcomes.append(proc.returncode)
    assert 2 in outcomes, outcomes
