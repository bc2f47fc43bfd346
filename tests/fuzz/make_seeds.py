#!/usr/bin/env python3
"""Seed corpora for the fuzz harnesses, written by the official safetensors,
onnx and gguf packages (fixed seeds): make_seeds.py OUT_DIR →
OUT_DIR/{safetensors,index,onnx,gguf}.

Two-part inputs (index + shard, model + external data) are a 4-byte
little-endian length of the first part, the first part, then the second."""

import json
import struct
import sys
import tempfile
from pathlib import Path

import gguf
import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save, save_file


def two_parts(first: bytes, second: bytes) -> bytes:
    return struct.pack("<I", len(first)) + first + second


def arrays(rng):
    return {
        "model.embed.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "model.layers.0.w": rng.standard_normal((2, 5)).astype(ml_dtypes.bfloat16),
        "model.layers.0.b": rng.standard_normal(3).astype(np.float16),
        "model.ids": np.arange(4, dtype=np.int64),
        "model.flag": np.array([True, False]),
        "model.q": rng.standard_normal(6).astype(ml_dtypes.float8_e4m3fn),
    }


def gguf_file(path: Path, a, rng, alignment=None, version=None):
    """Every plain type, Q8_0/Q4_0 from gguf.quants, a K type's raw blocks,
    and metadata of every value type (arrays, nested ones included)."""
    qt = gguf.GGMLQuantizationType
    w = gguf.GGUFWriter(str(path), "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_uint32("llama.context_length", 4096)
    w.add_int8("k.i8", -3)
    w.add_uint16("k.u16", 7)
    w.add_int16("k.i16", -9)
    w.add_int32("k.i32", -100)
    w.add_uint64("k.u64", 2**40)
    w.add_int64("k.i64", -2**40)
    w.add_float32("k.f32", 0.1)
    w.add_float64("k.f64", 1e-300)
    w.add_bool("k.bool", True)
    w.add_string("general.name", "seed")
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a"])
    w.add_array("k.nested", [[1, 2], [3]])
    w.add_tensor("f32", a["model.embed.weight"])
    w.add_tensor("f16", a["model.layers.0.b"])
    w.add_tensor("bf16", a["model.layers.0.w"].view(np.uint16), raw_dtype=qt.BF16)
    w.add_tensor("f64", rng.standard_normal((2, 3)))
    w.add_tensor("i64", a["model.ids"])
    for t in (np.int8, np.int16, np.int32):
        w.add_tensor(np.dtype(t).name, np.arange(1, 5, dtype=t))
    w.add_tensor("scalar", np.array(1.5, np.float32))
    x = rng.standard_normal((2, 32)).astype(np.float32)
    w.add_tensor("q8_0", gguf.quants.quantize(x, qt.Q8_0), raw_dtype=qt.Q8_0)
    w.add_tensor("q4_0", gguf.quants.quantize(x, qt.Q4_0), raw_dtype=qt.Q4_0)
    w.add_tensor("q4_K", rng.integers(1, 255, (1, 144), dtype=np.uint8), raw_dtype=qt.Q4_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if version is not None:
        data = bytearray(path.read_bytes())
        data[4:8] = struct.pack("<I", version)
        path.write_bytes(bytes(data))


def main(out: Path):
    rng = np.random.default_rng(1234)
    a = arrays(rng)
    st = out / "safetensors"
    st.mkdir(parents=True, exist_ok=True)
    (st / "all.safetensors").write_bytes(save(a, metadata={"format": "pt"}))
    for i, (k, v) in enumerate(a.items()):
        (st / f"one_{i}.safetensors").write_bytes(save({k: v}))
    (st / "empty.safetensors").write_bytes(save({}))

    idx = out / "index"
    idx.mkdir(parents=True, exist_ok=True)
    shard = save(a)
    index = {"metadata": {"total_size": 0},
             "weight_map": {k: "model-00001-of-00001.safetensors" for k in a}}
    (idx / "full").write_bytes(two_parts(json.dumps(index).encode(), shard))
    index["weight_map"] = {"model.ids": "model-00001-of-00001.safetensors"}
    (idx / "one").write_bytes(two_parts(json.dumps(index).encode(), shard))

    ox = out / "onnx"
    ox.mkdir(parents=True, exist_ok=True)
    tensors = [numpy_helper.from_array(v, k) for k, v in a.items()]
    typed = [helper.make_tensor("typed.f16", TensorProto.FLOAT16, [3], [1.0, -2.0, 0.5]),
             helper.make_tensor("typed.i4", TensorProto.INT4, [3], [1, -2, 7]),
             helper.make_tensor("typed.f32", TensorProto.FLOAT, [2], [1.5, 2.5]),
             helper.make_tensor("typed.i64", TensorProto.INT64, [2], [-1, 2**40])]
    typed += [helper.make_tensor("typed.u32", TensorProto.UINT32, [2], [7, 2**32 - 1]),
              helper.make_tensor("typed.f64", TensorProto.DOUBLE, [2], [0.5, -1e300]),
              helper.make_tensor("typed.bf16", TensorProto.BFLOAT16, [2], [1.0, -3.0]),
              helper.make_tensor("typed.bool", TensorProto.BOOL, [3], [True, False, True]),
              helper.make_tensor("typed.fp8", TensorProto.FLOAT8E5M2, [2], [1.0, 2.0]),
              helper.make_tensor("typed.str", TensorProto.STRING, [1], [b"s"])]
    body = helper.make_graph([], "body", [], [], initializer=[numpy_helper.from_array(
        np.arange(3, dtype=np.float32), "body.w")])
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([1.5], np.float32), "sp"),
        numpy_helper.from_array(np.array([2], np.int64), "sp.idx"), [4])
    nodes = [helper.make_node("Constant", [], ["c"], value_floats=[1.0, 2.0]),
             helper.make_node("Constant", [], ["c.t"], value=numpy_helper.from_array(
                 np.arange(4, dtype=np.float16), "inner")),
             helper.make_node("Constant", [], ["c.i"], value_int=-3),
             helper.make_node("Constant", [], ["c.f"], value_float=0.25),
             helper.make_node("Constant", [], ["c.is"], value_ints=[1, -2, 3]),
             helper.make_node("Constant", [], ["c.sp"], sparse_value=sparse),
             helper.make_node("If", ["x"], ["y"], then_branch=body, else_branch=body)]
    graph = helper.make_graph(nodes, "g", [], [], initializer=tensors + typed)
    graph.sparse_initializer.append(sparse)
    model = helper.make_model(graph, producer_name="seed")
    (ox / "inline").write_bytes(two_parts(model.SerializeToString(), b""))
    with tempfile.TemporaryDirectory() as d:
        onnx.save_model(model, f"{d}/model.onnx", save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
        (ox / "external").write_bytes(two_parts(Path(f"{d}/model.onnx").read_bytes(),
                                                Path(f"{d}/weights.bin").read_bytes()))
    # External data at non-zero offsets; the last tensor without a length.
    data = b"".join(v.tobytes() for v in a.values())
    ext, offset = [], 0
    for i, (k, v) in enumerate(a.items()):
        t = numpy_helper.from_array(v, k)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value="weights.bin")
        t.external_data.add(key="offset", value=str(offset))
        if i + 1 < len(a):  # the last one runs to the end of the file
            t.external_data.add(key="length", value=str(v.nbytes))
        ext.append(t)
        offset += v.nbytes
    ext_model = helper.make_model(helper.make_graph([], "g", [], [], initializer=ext))
    (ox / "offsets").write_bytes(two_parts(ext_model.SerializeToString(), data))

    gg = out / "gguf"
    gg.mkdir(parents=True, exist_ok=True)
    gguf_file(gg / "all.gguf", a, rng)
    gguf_file(gg / "align64_v2.gguf", a, rng, alignment=64, version=2)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
