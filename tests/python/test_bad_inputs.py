"""SPEC §7: hostile safetensors files and sharded folders.

Every malformed input is hand-built (struct.pack + bytes), because the
official writer refuses to produce them. Each bad case asserts (SPEC §6/§7):
  * exit status 2 (not 0/1, not a signal, not a hang);
  * the LAST non-empty stderr line names the offending file by its path as
    given (for shards: joined with the folder as given);
  * no crash output (terminate/sanitizer/...);
  * `--json out.json` leaves no report file behind.
The bad model is tried both as A and as B: both sides go through the loader.

Positive counterparts (things that look odd but are valid) sit next to the
negative ones, so an over-strict loader is caught as well.
"""

import json
import os
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import assert_clean_failure, load_report, run_wd, write_raw_safetensors

F32x2 = np.array([1.0, 2.0], np.float32).tobytes()       # 8 data bytes


def tensor(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def run_pair(wd_bin, cwd, bad, side):
    """Runs weightdiff with `bad` as model A or B, a valid file on the other side."""
    good = "good.safetensors"
    if not (cwd / good).exists():
        save_file({"x": np.array([1.0, 2.0], np.float32)}, str(cwd / good))
    args = (bad, good) if side == "a" else (good, bad)
    return run_wd(wd_bin, *args, "--json", "out.json", "--backend", "cpu", cwd=cwd)


SIDES = pytest.mark.parametrize("side", ["a", "b"])


def expect_bad_file(wd_bin, tmp_path, side, writer, *, name="sub/bad.safetensors"):
    """Writes a hostile file with writer(path) at tmp_path/name and checks
    that weightdiff refuses it cleanly, naming `name` as given."""
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    writer(p)
    proc = run_pair(wd_bin, tmp_path, name, side)
    assert_clean_failure(proc, name, report=tmp_path / "out.json")
    return proc


# --------------------------------------------------------------------------
# Single safetensors files
# --------------------------------------------------------------------------

@SIDES
@pytest.mark.parametrize("size", [0, 1, 7])
def test_file_shorter_than_8_bytes(wd_bin, tmp_path, side, size):
    expect_bad_file(wd_bin, tmp_path, side, lambda p: p.write_bytes(b"\x08" * size))


@SIDES
@pytest.mark.parametrize("header_len", [100_000_001, 2**63, 2**64 - 1],
                         ids=["100M+1", "2^63", "u64max"])
def test_header_length_too_large(wd_bin, tmp_path, side, header_len):
    # Must be rejected before any allocation of that size; 2^64-1 also
    # checks that 8 + header_len does not wrap around.
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, {"x": tensor()}, F32x2, header_len=header_len))


@SIDES
def test_header_length_past_eof(wd_bin, tmp_path, side):
    def w(p):
        hdr = json.dumps({"x": tensor()}).encode()
        p.write_bytes(struct.pack("<Q", len(hdr) + 100) + hdr + F32x2)
    expect_bad_file(wd_bin, tmp_path, side, w)


@SIDES
@pytest.mark.parametrize("bad_bytes", [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"],
                         ids=["ff", "overlong", "surrogate", "truncated-seq"])
def test_header_not_utf8(wd_bin, tmp_path, side, bad_bytes):
    # Invalid UTF-8 inside a tensor name (JSON-wise the header is fine).
    hdr = b'{"x' + bad_bytes + b'":' + json.dumps(tensor()).encode() + b"}"
    expect_bad_file(wd_bin, tmp_path, side,
                    lambda p: write_raw_safetensors(p, hdr, F32x2))


@SIDES
@pytest.mark.parametrize("hdr", [b'{"x": {"dtype": "F32",', b"{}garbage", b"{'x': 1}",
                                 b"", b"\x00" * 8],
                         ids=["truncated", "trailing-garbage", "single-quotes", "empty",
                              "nul-bytes"])
def test_header_not_json(wd_bin, tmp_path, side, hdr):
    expect_bad_file(wd_bin, tmp_path, side,
                    lambda p: write_raw_safetensors(p, hdr, b"", pad=False))


@SIDES
@pytest.mark.parametrize("hdr", ["[1, 2]", '"x"', "null", "42", "true"])
def test_header_json_not_object(wd_bin, tmp_path, side, hdr):
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(p, hdr))


@SIDES
@pytest.mark.parametrize("hdr", [
    # top level: x twice, offsets contiguous so only the duplicate is wrong
    '{"x":%s,"x":%s}' % (json.dumps(tensor()), json.dumps(tensor(offsets=(8, 16)))),
    # inside a tensor entry
    '{"x":{"dtype":"F32","dtype":"F32","shape":[4],"data_offsets":[0,16]}}',
    # __metadata__ twice
    '{"__metadata__":{"a":"b"},"__metadata__":{"a":"b"},"x":%s}' % json.dumps(tensor(shape=(4,), offsets=(0, 16))),
    # a duplicate key inside __metadata__
    '{"__metadata__":{"a":"b","a":"c"},"x":%s}' % json.dumps(tensor(shape=(4,), offsets=(0, 16))),
], ids=["top-level", "in-tensor", "metadata-twice", "in-metadata"])
def test_duplicate_keys(wd_bin, tmp_path, side, hdr):
    expect_bad_file(wd_bin, tmp_path, side,
                    lambda p: write_raw_safetensors(p, hdr, F32x2 * 2))


@SIDES
@pytest.mark.parametrize("meta", [{"k": 1}, {"k": None}, {"k": {"n": "v"}}, {"k": ["v"]},
                                  [["k", "v"]], "str", 5, None],
                         ids=["int-value", "null-value", "object-value", "list-value",
                              "list", "string", "number", "null"])
def test_metadata_not_string_map(wd_bin, tmp_path, side, meta):
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, {"__metadata__": meta, "x": tensor()}, F32x2))


def test_metadata_string_map_is_accepted(wd_bin, tmp_path):
    # The positive counterpart: a string->string __metadata__ (any size,
    # including empty strings and non-ASCII) is valid and reported.
    meta = {"format": "pt", "": "", "ключ": "значение"}
    write_raw_safetensors(tmp_path / "m.safetensors", {"__metadata__": meta, "x": tensor()}, F32x2)
    proc = run_wd(wd_bin, "m.safetensors", "m.safetensors", "--json", "out.json",
                  "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert load_report(tmp_path / "out.json")["a"]["metadata"] == meta


@SIDES
@pytest.mark.parametrize("dtype", ["F17", "FLOAT32", "f32", "", 5, None],
                         ids=["F17", "FLOAT32", "lowercase-f32", "empty", "number", "null"])
def test_unknown_dtype(wd_bin, tmp_path, side, dtype):
    # Dtype strings are case-sensitive in the format (BF16, F32, ...).
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, {"x": {"dtype": dtype, "shape": [2], "data_offsets": [0, 8]}}, F32x2))


def test_defined_but_undecodable_dtype_is_not_malformed(wd_bin, tmp_path):
    # C64 is a dtype safetensors defines: SPEC §3 says unsupported_dtype,
    # reported, never deciding the exit status.
    for name in ("a", "b"):
        save_file({"c": np.zeros(2, np.complex64), "x": np.ones(3, np.float32)},
                  str(tmp_path / f"{name}.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--json", "out.json",
                  "--backend", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rep = load_report(tmp_path / "out.json")
    st = {t["name"]: t["status"] for t in rep["tensors"]}
    assert st == {"c": "unsupported_dtype", "x": "identical"}
    assert rep["summary"]["unsupported_dtype"] == 1


class Raw(str):
    """A JSON token written verbatim (json.dumps cannot spell 2e0 or 1e400)."""


def dumps_with_raw(obj):
    raws = {}

    def sub(v):
        if isinstance(v, Raw):
            key = f"@RAW{len(raws)}@"
            raws[key] = str(v)
            return key
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v

    text = json.dumps(sub(obj))
    for key, tok in raws.items():
        text = text.replace(f'"{key}"', tok)
    return text


# Shapes and offsets must be non-negative JSON integers that fit in 64 bits.
# The 2^64+k cases catch parsers that wrap around to a small, plausible value
# (2^64+2 elements of F32 would wrap to exactly the 8 bytes present).
BAD_FIELDS = {
    "shape-negative": {"shape": [-2]},
    "shape-float": {"shape": [2.5]},
    "shape-float-integral": {"shape": [2.0]},
    "shape-exponent": {"shape": [Raw("2e0")]},
    "shape-huge-exponent": {"shape": [Raw("1e400")]},
    "shape-string": {"shape": ["2"]},
    "shape-null": {"shape": [None]},
    "shape-bool": {"shape": [True, True]},
    "shape-not-array": {"shape": 2},
    "shape-missing": {"shape": None},
    "shape-2^64+2": {"shape": [2**64 + 2]},
    "offsets-negative": {"data_offsets": [-8, 0]},
    "offsets-float": {"data_offsets": [0, 8.5]},
    "offsets-string": {"data_offsets": ["0", "8"]},
    "offsets-one": {"data_offsets": [0]},
    "offsets-three": {"data_offsets": [0, 8, 8]},
    "offsets-reversed": {"data_offsets": [8, 0]},
    "offsets-not-array": {"data_offsets": 8},
    "offsets-missing": {"data_offsets": None},
    "offsets-2^64+8": {"data_offsets": [0, 2**64 + 8]},
    "dtype-missing": {"dtype": None},
}


@SIDES
@pytest.mark.parametrize("case", list(BAD_FIELDS))
def test_bad_shape_or_offsets(wd_bin, tmp_path, side, case):
    entry = tensor()
    for k, v in BAD_FIELDS[case].items():
        if v is None and case.endswith("-missing"):
            del entry[k]
        else:
            entry[k] = v
    # json.dumps writes 2.0 as "2.0": a float token, not an integer.
    expect_bad_file(wd_bin, tmp_path, side,
                    lambda p: write_raw_safetensors(p, dumps_with_raw({"x": entry}), F32x2))


@SIDES
@pytest.mark.parametrize("dtype,shape", [
    ("F32", [2**32, 2**32, 2]),        # product 2^65
    ("F32", [2**63 + 1, 2]),           # product wraps to exactly 2
    ("U8", [2**32, 2**32 + 2]),        # product wraps to 2^33
    ("F32", [2**62 + 2]),              # numel fits, bytes 2^64+8 wrap to 8
    ("F64", [2**61 + 1]),              # bytes 2^64+8 wrap to 8
], ids=["product-2^65", "product-wraps-to-2", "product-wraps", "bytes-wrap-f32",
        "bytes-wrap-f64"])
def test_shape_or_byte_size_overflow(wd_bin, tmp_path, side, dtype, shape):
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, {"x": tensor(dtype, shape, (0, 8))}, F32x2))


@SIDES
@pytest.mark.parametrize("entries,data_len", [
    ({"x": tensor(offsets=(4, 12))}, 12),                                # not from 0
    ({"x": tensor(), "y": tensor(offsets=(12, 20))}, 20),                # gap
    ({"x": tensor(), "y": tensor(offsets=(4, 12))}, 12),                 # overlap
    ({"x": tensor(), "y": tensor()}, 8),                                 # same bytes twice
], ids=["not-from-0", "gap", "overlap", "aliased"])
def test_offsets_not_contiguous(wd_bin, tmp_path, side, entries, data_len):
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, entries, bytes(range(data_len))))


def test_offsets_in_any_json_order_are_valid(wd_bin, tmp_path):
    # Contiguity is about offsets, not the order of keys in the header:
    # y's bytes come first on disk but y is listed last (positive case).
    # A zero-length tensor at the end ([16, 16]) is valid too.
    hdr = '{"x":%s,"z":%s,"y":%s}' % (json.dumps(tensor(offsets=(8, 16))),
                                      json.dumps(tensor(shape=(0, 3), offsets=(16, 16))),
                                      json.dumps(tensor(offsets=(0, 8))))
    write_raw_safetensors(tmp_path / "o.safetensors", hdr, F32x2 * 2)
    proc = run_wd(wd_bin, "o.safetensors", "o.safetensors", "--backend", "cpu", "-q",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


@SIDES
@pytest.mark.parametrize("entry", [tensor("F32", (2,), (0, 4)), tensor("F16", (3,), (0, 8)),
                                   tensor("F32", (0,), (0, 8)), tensor("F32", (), (0, 8))],
                         ids=["short", "f16-long", "empty-with-bytes", "scalar-8-bytes"])
def test_byte_length_not_numel_times_size(wd_bin, tmp_path, side, entry):
    end = entry["data_offsets"][1]
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, {"x": entry}, F32x2[:end]))


@SIDES
@pytest.mark.parametrize("header,data", [({"x": tensor()}, F32x2 + b"\0\0\0\0"),
                                         ({}, b"junk")],
                         ids=["after-tensor", "no-tensors"])
def test_bytes_after_last_tensor(wd_bin, tmp_path, side, header, data):
    expect_bad_file(wd_bin, tmp_path, side,
                    lambda p: write_raw_safetensors(p, header, data))


@SIDES
def test_file_shorter_than_header_says(wd_bin, tmp_path, side):
    expect_bad_file(wd_bin, tmp_path, side, lambda p: write_raw_safetensors(
        p, {"x": tensor(shape=(4,), offsets=(0, 16))}, F32x2))


def test_truncated_official_file(wd_bin, tmp_path):
    # A real file cut in the middle of its data (interrupted download).
    save_file({"w": np.arange(1000, dtype=np.float32)}, str(tmp_path / "full.safetensors"))
    raw = (tmp_path / "full.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) - 1000])
    proc = run_pair(wd_bin, tmp_path, "cut.safetensors", "a")
    assert_clean_failure(proc, "cut.safetensors", report=tmp_path / "out.json")


# --------------------------------------------------------------------------
# Sharded folders
# --------------------------------------------------------------------------

INDEX = "model.safetensors.index.json"


def make_shards(folder, shards):
    """shards: {filename: {tensor_name: array}}."""
    folder.mkdir(parents=True, exist_ok=True)
    for fname, tensors in shards.items():
        save_file(tensors, str(folder / fname))


def write_index(folder, weight_map):
    (folder / INDEX).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def two_shards(folder):
    x = np.arange(6, dtype=np.float32)
    make_shards(folder, {"s1.safetensors": {"x": x}, "s2.safetensors": {"y": x * 2}})
    return {"x": x, "y": x * 2}


def expect_bad_folder(wd_bin, tmp_path, side, names, folder="model", tensor=None):
    proc = run_pair(wd_bin, tmp_path, folder, side)
    assert_clean_failure(proc, names, report=tmp_path / "out.json")
    if tensor is not None:
        assert tensor in proc.stderr.strip().splitlines()[-1], proc.stderr
    return proc


def _outside_shard(tmp_path):
    out = tmp_path / "outside"
    make_shards(out, {"evil.safetensors": {"y": np.arange(6, dtype=np.float32) * 2}})
    return out / "evil.safetensors"


@SIDES
def test_index_entry_absolute_path(wd_bin, tmp_path, side):
    # The absolute target exists and is valid: only its absoluteness is wrong.
    two_shards(tmp_path / "model")
    evil = _outside_shard(tmp_path)
    write_index(tmp_path / "model", {"x": "s1.safetensors", "y": str(evil)})
    expect_bad_folder(wd_bin, tmp_path, side, (f"model/{INDEX}", str(evil)))


@SIDES
@pytest.mark.parametrize("entry", ["../outside/evil.safetensors",
                                   "sub/../../outside/evil.safetensors",
                                   "./../outside/evil.safetensors"])
def test_index_entry_with_dotdot(wd_bin, tmp_path, side, entry):
    two_shards(tmp_path / "model")
    _outside_shard(tmp_path)
    (tmp_path / "model" / "sub").mkdir()
    write_index(tmp_path / "model", {"x": "s1.safetensors", "y": entry})
    expect_bad_folder(wd_bin, tmp_path, side, (f"model/{INDEX}", f"model/{entry}", entry))


def test_index_entry_dotdot_normalizing_inside_is_valid(wd_bin, tmp_path):
    # 'sub/../s2.safetensors' normalizes to 's2.safetensors': no '..' left.
    t = two_shards(tmp_path / "model")
    (tmp_path / "model" / "sub").mkdir()
    write_index(tmp_path / "model", {"x": "./s1.safetensors", "y": "sub/../s2.safetensors"})
    save_file(t, str(tmp_path / "single.safetensors"))
    proc = run_wd(wd_bin, "single.safetensors", "model", "--backend", "cpu", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


@SIDES
def test_index_missing_shard(wd_bin, tmp_path, side):
    two_shards(tmp_path / "model")
    write_index(tmp_path / "model", {"x": "s1.safetensors", "y": "missing.safetensors"})
    expect_bad_folder(wd_bin, tmp_path, side, "model/missing.safetensors")


@SIDES
def test_index_names_tensor_its_shard_lacks(wd_bin, tmp_path, side):
    two_shards(tmp_path / "model")
    write_index(tmp_path / "model", {"x": "s1.safetensors", "y": "s2.safetensors",
                                     "ghost_tensor": "s1.safetensors"})
    expect_bad_folder(wd_bin, tmp_path, side, ("model/s1.safetensors", f"model/{INDEX}"),
                      tensor="ghost_tensor")


@SIDES
@pytest.mark.parametrize("index_text", ["{not json", "[]", '{"weight_map": {"x": 5}}',
                                        '{"metadata": {}}', '{"weight_map": []}'],
                         ids=["not-json", "array", "non-string-entry", "no-weight_map",
                              "weight_map-array"])
def test_malformed_index(wd_bin, tmp_path, side, index_text):
    two_shards(tmp_path / "model")
    (tmp_path / "model" / INDEX).write_text(index_text)
    expect_bad_folder(wd_bin, tmp_path, side, f"model/{INDEX}")


@SIDES
def test_bad_shard_content_named_with_folder(wd_bin, tmp_path, side):
    # A malformed shard is named joined with its folder as given.
    two_shards(tmp_path / "model")
    (tmp_path / "model" / "s2.safetensors").write_bytes(b"\x01\x02\x03")
    write_index(tmp_path / "model", {"x": "s1.safetensors", "y": "s2.safetensors"})
    expect_bad_folder(wd_bin, tmp_path, side, "model/s2.safetensors")


@SIDES
def test_tensor_in_two_shards_without_index(wd_bin, tmp_path, side):
    x = np.arange(6, dtype=np.float32)
    make_shards(tmp_path / "model", {"s1.safetensors": {"dup_tensor": x, "a": x},
                                     "s2.safetensors": {"dup_tensor": x, "b": x}})
    expect_bad_folder(wd_bin, tmp_path, side, ("model/s1.safetensors", "model/s2.safetensors"),
                      tensor="dup_tensor")


@SIDES
def test_folder_without_any_safetensors(wd_bin, tmp_path, side):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "README.md").write_text("no weights here")
    expect_bad_folder(wd_bin, tmp_path, side, "model")


@SIDES
@pytest.mark.parametrize("with_index", [False, True], ids=["no-index", "index"])
def test_symlinked_shard_escaping_folder_is_refused(wd_bin, tmp_path, side, with_index):
    x = np.arange(6, dtype=np.float32)
    make_shards(tmp_path / "model", {"s1.safetensors": {"x": x}})
    evil = _outside_shard(tmp_path)
    os.symlink(os.path.relpath(evil, tmp_path / "model"), tmp_path / "model" / "s2.safetensors")
    if with_index:
        write_index(tmp_path / "model", {"x": "s1.safetensors", "y": "s2.safetensors"})
    expect_bad_folder(wd_bin, tmp_path, side, "model/s2.safetensors")


def _hf_cache(tmp_path, tensors):
    """hub/models--org--m/{blobs/<hash>, snapshots/<rev>/<name> -> ../../blobs/<hash>},
    as huggingface_hub lays out its cache."""
    repo = tmp_path / "hub" / "models--org--m"
    blobs, snap = repo / "blobs", repo / "snapshots" / "0123abcd"
    blobs.mkdir(parents=True)
    snap.mkdir(parents=True)
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[:1],
              "model-00002-of-00002.safetensors": names[1:]}
    weight_map = {}
    for i, (fname, members) in enumerate(shards.items()):
        blob = f"{i:02d}" + "a" * 62          # looks like a sha256
        save_file({n: tensors[n] for n in members}, str(blobs / blob))
        os.symlink(f"../../blobs/{blob}", snap / fname)
        weight_map.update({n: fname for n in members})
    (blobs / ("ee" + "b" * 62)).write_text(json.dumps({"metadata": {"total_size": 48},
                                                       "weight_map": weight_map}))
    os.symlink("../../blobs/ee" + "b" * 62, snap / INDEX)
    return snap


def test_hf_cache_layout_works(wd_bin, tmp_path):
    x = np.arange(6, dtype=np.float32)
    t = {"x": x, "y": x * 2}
    snap = _hf_cache(tmp_path, t)
    save_file(t, str(tmp_path / "single.safetensors"))
    rel = os.path.relpath(snap, tmp_path)
    for args in (("single.safetensors", rel), (rel, "single.safetensors")):
        proc = run_wd(wd_bin, *args, "--json", "out.json", "--backend", "cpu", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        rep = load_report(tmp_path / "out.json")
        assert rep["summary"]["identical"] == 2
    # A single shard given directly as a symlink into blobs works too.
    proc = run_wd(wd_bin, f"{rel}/model-00001-of-00002.safetensors",
                  f"{rel}/model-00001-of-00002.safetensors", "--backend", "cpu", "-q",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
