"""ONNX models written by the official `onnx` package vs a numpy float64 reference.

Every storage form (raw_data, typed fields, external data in one file and one
file per tensor), every decodable ONNX dtype, Constant nodes, subgraph
initializers, unsupported types, ONNX vs safetensors, the link policy and
every SPEC §7 ONNX rejection (exit 2, the file named, no report left).
The expected values come from onnx.numpy_helper.to_array, not from our code.
"""

import os
import subprocess
import zlib
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

import reference as ref
from conftest import assert_clean_failure, last_stderr_line, load_report, run_wd
from test_crosscheck_safetensors import compare_tensor

# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

# name -> (numpy dtype, ONNX code); values drawn per dtype below.
DTYPES = {
    "f32": (np.float32, TensorProto.FLOAT),
    "f64": (np.float64, TensorProto.DOUBLE),
    "f16": (np.float16, TensorProto.FLOAT16),
    "bf16": (ml_dtypes.bfloat16, TensorProto.BFLOAT16),
    "f8e4m3fn": (ml_dtypes.float8_e4m3fn, TensorProto.FLOAT8E4M3FN),
    "f8e4m3fnuz": (ml_dtypes.float8_e4m3fnuz, TensorProto.FLOAT8E4M3FNUZ),
    "f8e5m2": (ml_dtypes.float8_e5m2, TensorProto.FLOAT8E5M2),
    "f8e5m2fnuz": (ml_dtypes.float8_e5m2fnuz, TensorProto.FLOAT8E5M2FNUZ),
    "i4": (ml_dtypes.int4, TensorProto.INT4),
    "u4": (ml_dtypes.uint4, TensorProto.UINT4),
    "i8": (np.int8, TensorProto.INT8),
    "u8": (np.uint8, TensorProto.UINT8),
    "i16": (np.int16, TensorProto.INT16),
    "u16": (np.uint16, TensorProto.UINT16),
    "i32": (np.int32, TensorProto.INT32),
    "u32": (np.uint32, TensorProto.UINT32),
    "i64": (np.int64, TensorProto.INT64),
    "u64": (np.uint64, TensorProto.UINT64),
    "bool": (np.bool_, TensorProto.BOOL),
}
# Odd sizes (4-bit packing leaves a half byte) and one 3-d shape.
SHAPES = {"f32": (37, 29), "bf16": (3, 5, 7), "i4": (33,), "u4": (2, 9)}


def random_pair(name, rng):
    np_t, _ = DTYPES[name]
    shape = SHAPES.get(name, (41,))
    if name == "bool":
        a = rng.random(shape) < 0.5
        b = a.copy()
        b.flat[::7] = ~b.flat[::7]
        return a, b
    if np.issubdtype(np.dtype(np_t), np.integer) or name in ("i4", "u4"):
        lo, hi = {"i4": (-8, 8), "u4": (0, 16)}.get(name, (0, 100) if name[0] == "u" else (-100, 100))
        a = rng.integers(lo, hi, size=shape)
        b = np.clip(a + rng.integers(-1, 2, size=shape), lo, hi - 1)
        return a.astype(np_t), b.astype(np_t)
    a = rng.standard_normal(shape) * 2.0
    b = a + rng.standard_normal(shape) * 0.05
    a, b = a.astype(np_t), b.astype(np_t)
    if name == "f32":  # non-finite values where the dtype has them
        a.flat[3], b.flat[3] = np.nan, np.nan
        a.flat[5], b.flat[6] = np.inf, -np.inf
    return a, b


def typed_tensor(name, arr, code):
    """The typed fields (float_data, int32_data, ...) as helper.make_tensor writes them."""
    vals = arr.astype(np.float32) if arr.dtype.kind == "V" or arr.dtype in (
        np.dtype(ml_dtypes.bfloat16), np.dtype(ml_dtypes.float8_e4m3fn),
        np.dtype(ml_dtypes.float8_e4m3fnuz), np.dtype(ml_dtypes.float8_e5m2),
        np.dtype(ml_dtypes.float8_e5m2fnuz)) else arr
    if arr.dtype in (np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint4)):
        vals = arr.astype(np.int32)
    t = helper.make_tensor(name, code, list(arr.shape), vals.reshape(-1), raw=False)
    assert not t.raw_data, name
    return t


def make_model(tensors, producer="weightdiff-tests", extra_nodes=(), metadata=None):
    graph = helper.make_graph(list(extra_nodes), "g", [], [], initializer=tensors)
    model = helper.make_model(graph, producer_name=producer,
                              opset_imports=[helper.make_opsetid("", 21)])
    if metadata:
        helper.set_model_props(model, metadata)
    return model


def save(model, path, form):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if form in ("raw", "typed"):
        onnx.save_model(model, str(path))
    elif form == "external_one":
        onnx.save_model(model, str(path), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=path.stem + ".data",
                        size_threshold=0)
    elif form == "external_per_tensor":
        onnx.save_model(model, str(path), save_as_external_data=True,
                        all_tensors_to_one_file=False, size_threshold=0)
    else:
        raise ValueError(form)


FORMS = ("raw", "typed", "external_one", "external_per_tensor")


@pytest.fixture(scope="module")
def pairs():
    out = {}
    for name in DTYPES:
        rng = np.random.default_rng(zlib.crc32(("onnx-" + name).encode()))
        out[name] = random_pair(name, rng)
    return out


def build_side(pairs, side, form):
    tensors = []
    for name, (a, b) in pairs.items():
        arr = a if side == 0 else b
        code = DTYPES[name][1]
        t = typed_tensor(name, arr, code) if form == "typed" else numpy_helper.from_array(arr, name)
        assert t.data_type == code, name
        tensors.append(t)
    return make_model(tensors)


@pytest.fixture(scope="module", params=FORMS)
def form_dir(request, pairs, tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx-" + request.param)
    save(build_side(pairs, 0, request.param), d / "a" / "model.onnx", request.param)
    save(build_side(pairs, 1, request.param), d / "b" / "model.onnx", request.param)
    return request.param, d


def expected_values(model_path):
    """name -> numpy array, decoded by the onnx package (external data included)."""
    m = onnx.load(str(model_path))
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


# --------------------------------------------------------------------------
# Every storage form x every dtype against the float64 reference
# --------------------------------------------------------------------------

def test_every_form_and_dtype_matches_reference(wd_bin, form_dir):
    form, d = form_dir
    if form.startswith("external"):
        assert list((d / "a").glob("*.data")) or len(list((d / "a").iterdir())) > 2
    proc = run_wd(wd_bin, "a/model.onnx", "b/model.onnx", "--backend", "cpu",
                  "--json", "out.json", "--threads", "2", cwd=d)
    assert proc.returncode == 1, proc.stderr
    report = load_report(d / "out.json")
    assert report["a"]["format"] == "onnx"
    got = {t["name"]: t for t in report["tensors"]}
    va, vb = expected_values(d / "a" / "model.onnx"), expected_values(d / "b" / "model.onnx")
    assert set(got) == set(DTYPES) == set(va)
    errors = {}
    for name in DTYPES:
        exp, bounds = ref.pair_metrics(va[name], vb[name])
        e = compare_tensor(got[name], exp, bounds)
        if e:
            errors[name] = e
    assert not errors, f"{form}: {errors}"
    # The fixtures really differ, so the comparison above is not vacuous.
    assert all(got[n]["status"] == "different" for n in DTYPES), \
        {n: got[n]["status"] for n in DTYPES}


def test_external_data_referenced_in_place(form_dir):
    """The loaders' fixtures are what they claim: external forms keep no
    bytes in the .onnx, inline forms keep them all."""
    form, d = form_dir
    m = onnx.load(str(d / "a" / "model.onnx"), load_external_data=False)
    ext = [t for t in m.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    if form.startswith("external"):
        assert len(ext) == len(DTYPES)
        files = {dict((e.key, e.value) for e in t.external_data)["location"] for t in ext}
        assert len(files) == (1 if form == "external_one" else len(DTYPES))
    else:
        assert not ext


# --------------------------------------------------------------------------
# Cross-format and structure
# --------------------------------------------------------------------------

def same_values_models(tmp_path, rng):
    arrays = {
        "model.embed.weight": rng.standard_normal((64, 16)).astype(np.float32),
        "model.layers.0.attn.q_proj.weight": rng.standard_normal((16, 16)).astype(ml_dtypes.bfloat16),
        "model.layers.0.norm.weight": rng.standard_normal(16).astype(np.float16),
        "model.pos_ids": np.arange(32, dtype=np.int64),
    }
    return arrays


def test_onnx_equals_safetensors_with_same_values(wd_bin, tmp_path):
    arrays = same_values_models(tmp_path, np.random.default_rng(7))
    model = make_model([numpy_helper.from_array(v, k) for k, v in arrays.items()])
    save(model, tmp_path / "m.onnx", "external_one")
    save_file(arrays, str(tmp_path / "m.safetensors"))
    for a, b in (("m.onnx", "m.safetensors"), ("m.safetensors", "m.onnx")):
        proc = run_wd(wd_bin, a, b, "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        r = load_report(tmp_path / "r.json")
        assert r["summary"]["identical"] == len(arrays) == r["summary"]["compared"]
        assert {t["name"]: t["dtype_a"] for t in r["tensors"]} == {
            k: ref.dtype_name(v) for k, v in arrays.items()}


def test_onnx_vs_sharded_folder(wd_bin, tmp_path):
    import json
    arrays = same_values_models(tmp_path, np.random.default_rng(8))
    model = make_model([numpy_helper.from_array(v, k) for k, v in arrays.items()])
    save(model, tmp_path / "m.onnx", "raw")
    shard_dir = tmp_path / "hf"
    shard_dir.mkdir()
    names = sorted(arrays)
    weight_map = {}
    for i, part in enumerate((names[:2], names[2:])):
        fn = f"model-{i + 1:05d}-of-00002.safetensors"
        save_file({k: arrays[k] for k in part}, str(shard_dir / fn))
        weight_map.update({k: fn for k in part})
    (shard_dir / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map}))
    proc = run_wd(wd_bin, "m.onnx", "hf", "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # One changed value makes it exit 1: the comparison is real.
    arrays["model.pos_ids"][3] += 1
    save(make_model([numpy_helper.from_array(v, k) for k, v in arrays.items()]),
         tmp_path / "m2.onnx", "raw")
    assert run_wd(wd_bin, "m2.onnx", "hf", "--backend", "cpu", cwd=tmp_path).returncode == 1


def test_constants_subgraphs_sparse_and_unsupported(wd_bin, tmp_path):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    then_init = rng.standard_normal(5).astype(np.float32)
    else_init = rng.standard_normal(6).astype(np.float16)
    const_t = rng.standard_normal((2, 2)).astype(np.float32)
    then_g = helper.make_graph([], "then", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, None)],
                               initializer=[numpy_helper.from_array(then_init, "then.bias")])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["else.const"], value_ints=[3, 1, 4, 1, 5])],
        "else", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(else_init, "else.bias")])
    nodes = [
        helper.make_node("Constant", [], ["c.tensor"], value=numpy_helper.from_array(const_t, "ignored")),
        helper.make_node("Constant", [], ["c.float"], value_float=2.5),
        helper.make_node("Constant", [], ["c.floats"], value_floats=[1.0, -2.0, 0.5]),
        helper.make_node("Constant", [], ["c.int"], value_int=-7),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
    ]
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([1.5, 2.5], np.float32), "sparse.w"),
        numpy_helper.from_array(np.array([1, 7], np.int64), "sparse.idx"), [3, 4])
    strings = helper.make_tensor("names", TensorProto.STRING, [2], [b"a", b"b"])
    cplx = helper.make_tensor("cplx", TensorProto.COMPLEX64, [1], [1 + 2j])
    model = make_model([numpy_helper.from_array(w, "w"), strings, cplx], extra_nodes=nodes)
    model.graph.sparse_initializer.append(sparse)
    save(model, tmp_path / "a.onnx", "raw")
    # B: the same model with every float constant scaled, so each pair differs.
    for t in list(model.graph.initializer) + [model.graph.node[0].attribute[0].t]:
        if t.data_type == TensorProto.FLOAT and t.name != "cplx":
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * 2, t.name))
    save(model, tmp_path / "b.onnx", "raw")
    proc = run_wd(wd_bin, "a.onnx", "b.onnx", "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    got = {t["name"]: t for t in load_report(tmp_path / "r.json")["tensors"]}
    assert set(got) == {"w", "names", "cplx", "sparse.w", "c.tensor", "c.float", "c.floats",
                        "c.int", "then.bias", "else.bias", "else.const"}
    assert got["w"]["status"] == got["c.tensor"]["status"] == "different"
    assert got["w"]["max_abs"] == float(np.max(np.abs(w.astype(np.float64))))
    assert got["c.tensor"]["shape_a"] == [2, 2]
    assert got["c.float"]["shape_a"] == [] and got["c.float"]["max_a"] == 2.5
    assert got["c.floats"]["min_a"] == -2.0 and got["c.floats"]["shape_a"] == [3]
    assert got["c.int"]["dtype_a"] == "i64" and got["c.int"]["min_a"] == -7
    assert got["else.const"]["shape_a"] == [5] and got["else.const"]["max_a"] == 5
    assert got["then.bias"]["dtype_a"] == "f32" and got["else.bias"]["dtype_a"] == "f16"
    for n, dt in (("names", "STRING"), ("cplx", "COMPLEX64"), ("sparse.w", "sparse FLOAT")):
        assert got[n]["status"] == "unsupported_dtype" and got[n]["dtype_a"] == dt, got[n]
    assert got["sparse.w"]["shape_a"] == [3, 4]
    # Unsupported entries never decide the exit code.
    proc = run_wd(wd_bin, "a.onnx", "a.onnx", "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_metadata_reported(wd_bin, tmp_path):
    a = np.arange(6, dtype=np.float32)
    model = make_model([numpy_helper.from_array(a, "x")], producer="exporter-x",
                       metadata={"license": "mit", "note": "ünïcode"})
    save(model, tmp_path / "a.onnx", "raw")
    proc = run_wd(wd_bin, "a.onnx", "a.onnx", "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta = load_report(tmp_path / "r.json")["a"]["metadata"]
    assert meta["onnx.producer_name"] == "exporter-x"
    assert meta["license"] == "mit" and meta["note"] == "ünïcode"
    assert meta["onnx.opset.ai.onnx"] == "21"
    assert meta["onnx.ir_version"] == str(model.ir_version)


def test_model_without_tensors_equals_itself(wd_bin, tmp_path):
    save(make_model([]), tmp_path / "empty.onnx", "raw")
    proc = run_wd(wd_bin, "empty.onnx", "empty.onnx", "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_embedded_bytes_are_not_copied(wd_bin, tmp_path):
    """2 x 96 MiB of raw_data embedded in .onnx files: peak RSS stays far
    below what copying them would need (bytes referenced in place, pages
    dropped after use)."""
    rng = np.random.default_rng(5)
    n = 24 * 1024 * 1024 // 4 * 4  # 96 MiB of f32 per model
    base = rng.standard_normal(n // 8).astype(np.float32)
    for side, scale in (("a", 1.0), ("b", 1.001)):
        tensors = [numpy_helper.from_array(np.tile(base * scale, 8)[i::4].copy(), f"w{i}")
                   for i in range(4)]
        save(make_model(tensors), tmp_path / f"{side}.onnx", "raw")
    assert (tmp_path / "a.onnx").stat().st_size > 90 * 2**20
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", str(wd_bin), "a.onnx", "b.onnx",
                           "--backend", "cpu", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    assert peak_kib < 80 * 1024, f"peak RSS {peak_kib} KiB"


# --------------------------------------------------------------------------
# Links (SPEC §7): the Hugging Face cache layout works, escapes are refused
# --------------------------------------------------------------------------

def test_hf_cache_layout_with_symlinks(wd_bin, tmp_path):
    arrays = {"w": np.arange(12, dtype=np.float32)}
    model = make_model([numpy_helper.from_array(v, k) for k, v in arrays.items()])
    work = tmp_path / "work"
    save(model, work / "model.onnx", "external_one")
    repo = tmp_path / "models--org--m"
    snap, blobs = repo / "snapshots" / "abc123", repo / "blobs"
    snap.mkdir(parents=True)
    blobs.mkdir()
    for f in ("model.onnx", "model.data"):
        (work / f).rename(blobs / ("sha-" + f))
        os.symlink(Path("..") / ".." / "blobs" / ("sha-" + f), snap / f)
    proc = run_wd(wd_bin, snap / "model.onnx", snap / "model.onnx", "--backend", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_symlink_escaping_the_model_folder_is_refused(wd_bin, tmp_path):
    arrays = {"w": np.arange(12, dtype=np.float32)}
    save(make_model([numpy_helper.from_array(arrays["w"], "w")]), tmp_path / "m" / "model.onnx",
         "external_one")
    outside = tmp_path / "outside.data"
    (tmp_path / "m" / "model.data").rename(outside)
    os.symlink(outside, tmp_path / "m" / "model.data")
    proc = run_wd(wd_bin, tmp_path / "m" / "model.onnx", tmp_path / "m" / "model.onnx",
                  "--backend", "cpu", "--json", tmp_path / "r.json")
    assert_clean_failure(proc, "model.data", report=tmp_path / "r.json")
    assert "outside the model folder" in proc.stderr


# --------------------------------------------------------------------------
# Bad input (SPEC §7): exit 2, one line naming the file, no report
# --------------------------------------------------------------------------

def external_model(tmp_path, mutate, numel=8):
    """A one-tensor model with external data, then `mutate(tensor, folder)`."""
    arr = np.arange(numel, dtype=np.float32)
    model = make_model([numpy_helper.from_array(arr, "w")])
    d = tmp_path / "m"
    save(model, d / "model.onnx", "external_one")
    m = onnx.load(str(d / "model.onnx"), load_external_data=False)
    mutate(m.graph.initializer[0], d)
    # Serialized directly: onnx.save_model would validate the external data.
    (d / "model.onnx").write_bytes(m.SerializeToString())
    return d / "model.onnx"


def set_ext(t, **kv):
    cur = {e.key: e.value for e in t.external_data}
    cur.update(kv)
    del t.external_data[:]
    for k, v in cur.items():
        if v is not None:
            t.external_data.add(key=k, value=v)


BAD_EXTERNAL = {
    "empty_location": (lambda t, d: set_ext(t, location=""), "model.onnx"),
    "absolute_location": (lambda t, d: set_ext(t, location=str(d / "model.data")), "model.onnx"),
    "dotdot_location": (lambda t, d: set_ext(t, location="sub/../../model.data"), "model.onnx"),
    "missing_file": (lambda t, d: set_ext(t, location="nope.data"), "nope.data"),
    "directory_target": (lambda t, d: ((d / "dir.data").mkdir(), set_ext(t, location="dir.data")),
                         "dir.data"),
    "unknown_key": (lambda t, d: set_ext(t, compression="zstd"), "model.onnx"),
    "offset_past_end": (lambda t, d: set_ext(t, offset="4096", length=None), "model.data"),
    "length_past_end": (lambda t, d: set_ext(t, offset="0", length="4096"), "model.data"),
    "length_wrong": (lambda t, d: set_ext(t, offset="0", length="28"), "model.data"),
    "offset_not_a_number": (lambda t, d: set_ext(t, offset="-4"), "model.onnx"),
    "inline_and_external": (lambda t, d: setattr(t, "raw_data", b"\0" * 32), "model.onnx"),
    "no_location": (lambda t, d: set_ext(t, location=None), "model.onnx"),
}


@pytest.mark.parametrize("case", sorted(BAD_EXTERNAL))
def test_bad_external_data(wd_bin, tmp_path, case):
    mutate, must_name = BAD_EXTERNAL[case]
    path = external_model(tmp_path, mutate)
    proc = run_wd(wd_bin, path, path, "--backend", "cpu", "--json", tmp_path / "r.json")
    assert_clean_failure(proc, must_name, report=tmp_path / "r.json")
    assert "tensor 'w'" in last_stderr_line(proc), proc.stderr


def inline_model(tmp_path, mutate):
    t = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    mutate(t)
    p = tmp_path / "bad.onnx"
    onnx.save_model(make_model([t]), str(p))
    return p


BAD_INLINE = {
    "raw_data_short": lambda t: setattr(t, "raw_data", t.raw_data[:-4]),
    "raw_data_long": lambda t: setattr(t, "raw_data", t.raw_data + b"\0\0\0\0"),
    "unknown_data_type": lambda t: setattr(t, "data_type", 99),
    "undefined_data_type": lambda t: setattr(t, "data_type", 0),
    "negative_dim": lambda t: t.dims.__setitem__(0, -2),
    "raw_and_typed": lambda t: t.float_data.extend([1.0] * 6),
    "typed_count_wrong": lambda t: (t.ClearField("raw_data"), t.float_data.extend([1.0] * 5)),
    "typed_wrong_field": lambda t: (t.ClearField("raw_data"), t.int64_data.extend([1] * 6)),
    "no_data": lambda t: t.ClearField("raw_data"),
    "external_location_without_flag": lambda t: (t.ClearField("raw_data"),
                                                 t.external_data.add(key="location", value="x.bin")),
}


@pytest.mark.parametrize("case", sorted(BAD_INLINE))
def test_bad_inline_tensor(wd_bin, tmp_path, case):
    path = inline_model(tmp_path, BAD_INLINE[case])
    proc = run_wd(wd_bin, path, path, "--backend", "cpu", "--json", tmp_path / "r.json")
    assert_clean_failure(proc, "bad.onnx", report=tmp_path / "r.json")


def test_typed_value_out_of_range(wd_bin, tmp_path):
    t = helper.make_tensor("w", TensorProto.INT8, [3], [1, 2, 3])
    t.int32_data[1] = 300
    p = tmp_path / "bad.onnx"
    onnx.save_model(make_model([t]), str(p))
    proc = run_wd(wd_bin, p, p, "--backend", "cpu")
    assert_clean_failure(proc, "bad.onnx")
    assert "out of range" in proc.stderr


NOT_A_MODEL = {
    "text": b"hello, this is not a model\n",
    "empty": b"",
    "truncated_varint": b"\x08\xff\xff",
    "length_past_end": b"\x08\x07\x3a\x7f\x00",
    "bad_wire_type": b"\x08\x07\x0f\x00",
    "graph_not_a_message": b"\x08\x07\x38\x01",
    "no_ir_version": b"\x12\x03abc",
}


@pytest.mark.parametrize("case", sorted(NOT_A_MODEL))
def test_not_a_model_proto(wd_bin, tmp_path, case):
    p = tmp_path / "x.onnx"
    p.write_bytes(NOT_A_MODEL[case])
    proc = run_wd(wd_bin, p, p, "--backend", "cpu", "--json", tmp_path / "r.json")
    assert_clean_failure(proc, "x.onnx", report=tmp_path / "r.json")


def test_truncated_onnx_file(wd_bin, tmp_path):
    rng = np.random.default_rng(3)
    t = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "w")
    p = tmp_path / "t.onnx"
    onnx.save_model(make_model([t]), str(p))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    proc = run_wd(wd_bin, p, p, "--backend", "cpu")
    assert_clean_failure(proc, "t.onnx")


def test_export_folder_with_one_onnx_model(wd_bin, tmp_path):
    """A folder holding one model.onnx and its external data stands for it."""
    rng = np.random.default_rng(21)
    w = rng.standard_normal((8, 8)).astype(np.float32)
    save(make_model([numpy_helper.from_array(w, "w")]), tmp_path / "a" / "model.onnx", "external_one")
    save(make_model([numpy_helper.from_array(w * 2, "w")]), tmp_path / "b" / "model.onnx", "external_one")
    proc = run_wd(wd_bin, "a", "b", "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    r = load_report(tmp_path / "r.json")
    assert r["a"]["format"] == "onnx" and r["a"]["path"] == "a"
    assert r["tensors"][0]["max_abs"] == float(np.max(np.abs(w.astype(np.float64))))
    # Two .onnx files in one folder: ambiguous, refused.
    save(make_model([numpy_helper.from_array(w, "w")]), tmp_path / "a" / "other.onnx", "raw")
    proc = run_wd(wd_bin, "a", "b", "--backend", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, "a")


def test_external_file_named_as_the_user_would_write_it(wd_bin, tmp_path):
    path = external_model(tmp_path, lambda t, d: set_ext(t, location="nope.data"))
    proc = run_wd(wd_bin, "model.onnx", "model.onnx", "--backend", "cpu", cwd=path.parent)
    assert_clean_failure(proc, "nope.data")
    assert "./nope.data" not in proc.stderr and "nope.data" in last_stderr_line(proc)


def test_fifo_as_a_model_is_refused_without_waiting(wd_bin, tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    proc = run_wd(wd_bin, fifo, fifo, "--backend", "cpu", timeout=20)
    assert_clean_failure(proc, "model.onnx")
    assert "not a regular file" in proc.stderr


def test_long_names_do_not_overflow_the_regex_stack(wd_bin, tmp_path):
    """A 16 KiB name (the limit) under an --include that std::regex
    backtracked on (recursing per character) must still work: RE2 matches in
    linear time with a bounded stack."""
    name = "ab" * 8190 + "c"
    arr = np.arange(3, dtype=np.float32)
    save(make_model([numpy_helper.from_array(arr, name)]), tmp_path / "m.onnx", "raw")
    proc = run_wd(wd_bin, "m.onnx", "m.onnx", "--backend", "cpu", "--include", "(a|b)*c",
                  "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [t["name"] for t in load_report(tmp_path / "r.json")["tensors"]] == [name]


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_truncating_an_input_mid_run_is_exit_2_never_a_signal(wd_bin, tmp_path):
    """A big typed-field tensor (decoded while parsing) truncated while
    weightdiff runs: whether the cut lands in the parse or in the diff, the
    result is exit 2 naming the file (or 0 if it finished first), never a
    signal (SPEC §7)."""
    n = 96 * 2**20  # UINT8 values stored as packed varints in int32_data
    tensor = (b"\x08" + _varint(n) + b"\x10\x02" + b"\x42\x01w"
              + b"\x2a" + _varint(n) + b"\x01" * n)
    graph = b"\x2a" + _varint(len(tensor)) + tensor
    model = b"\x08\x0a" + b"\x3a" + _varint(len(graph)) + graph
    outcomes = []
    for delay in (0.05, 0.25, 0.6):
        p = tmp_path / f"big{delay}.onnx"
        p.write_bytes(model)
        proc = subprocess.Popen([str(wd_bin), str(p), str(p), "--backend", "cpu", "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(delay)
        os.truncate(p, 1000)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {err}"
        assert proc.returncode in (0, 2), err
        if proc.returncode == 2:
            assert p.name in err.strip().splitlines()[-1], err
        outcomes.append((delay, proc.returncode, err.strip().splitlines()[-1] if err.strip() else ""))
    print(outcomes)
