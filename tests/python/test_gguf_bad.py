"""SPEC §7 for GGUF: a corpus of hostile files, hand-built with struct.pack
(the official writer refuses to produce them).

Each case asserts exit 2, no crash output, no report left behind, and the
exact last stderr line: the file as given, the tensor where there is one,
and which check refused it. Valid oddities sit beside them (an over-strict
loader is caught too).
"""

import struct

import numpy as np
import pytest

from conftest import assert_clean_failure, last_stderr_line, load_report, run_wd

# GGUF value types and ggml tensor types used below.
U8, U32, F32T, BOOL, STRING, ARRAY, U64 = 0, 4, 6, 7, 8, 9, 10
F32, Q8_0, Q4_K = 0, 8, 12

A_VALUES = (np.arange(8, dtype=np.float32) * 0.75 + 1.0)            # 32 bytes
B_VALUES = (np.arange(8, dtype=np.float32) * -1.5 + 0.25).reshape(2, 4)


def gstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    """One key/value: key, value type, the packed value (caller-packed)."""
    return gstr(key) + struct.pack("<I", vtype) + payload


def tinfo(name, ne, ttype=F32, offset=0, n_dims=None):
    """ne in GGUF order (fastest first)."""
    n = len(ne) if n_dims is None else n_dims
    return gstr(name) + struct.pack("<I", n) + b"".join(struct.pack("<Q", d) for d in ne) + \
        struct.pack("<IQ", ttype, offset)


GOOD_KVS = [kv("general.architecture", STRING, gstr("llama")),
            kv("general.alignment", U32, struct.pack("<I", 32))]
GOOD_TENSORS = [tinfo("a", [8], offset=0), tinfo("b", [4, 2], offset=32)]
GOOD_DATA = A_VALUES.tobytes() + B_VALUES.tobytes()


def build(kvs=None, tensors=None, data=GOOD_DATA, version=3, magic=b"GGUF", n_tensors=None,
          n_kv=None, alignment=32, cut=0):
    kvs = GOOD_KVS if kvs is None else kvs
    tensors = GOOD_TENSORS if tensors is None else tensors
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)
    head += b"".join(kvs) + b"".join(tensors)
    head += b"\0" * (-len(head) % alignment)
    out = head + data
    return out[:len(out) - cut] if cut else out


def run_bad(wd_bin, tmp_path, data, name="bad.gguf"):
    p = tmp_path / name
    p.write_bytes(data)
    return run_wd(wd_bin, name, name, "--backend", "cpu", "--json", "out.json", cwd=tmp_path)


def nested(depth):
    """An array of arrays `depth` levels deep, one uint8 at the bottom."""
    payload = struct.pack("<IQ", U8, 1) + b"\x07"
    for _ in range(depth - 1):
        payload = struct.pack("<IQ", ARRAY, 1) + payload
    return payload


E = "weightdiff: error: bad.gguf: "
BIG = 2**64 - 1

CASES = {
    # --- header
    "bad_magic": (build(magic=b"GGUX"), E + "not a GGUF file: magic 'GGUX', expected 'GGUF'"),
    "empty_file": (b"", E + "magic (4 bytes at byte 0) runs past the end of the file (0 bytes)"),
    "version_0": (build(version=0), E + "GGUF version 0 is not defined (2 and 3 are)"),
    "version_1": (build(version=1), E + "GGUF version 1 is not supported (versions 2 and 3 are)"),
    "version_4": (build(version=4), E + "GGUF version 4 is not defined (2 and 3 are)"),
    "big_endian": (build(version=0x03000000),
                   E + "big-endian GGUF is not supported (version field reads 50331648)"),
    "header_cut": (b"GGUF\x03\0\0\0\x01\0",
                   E + "tensor count (8 bytes at byte 8) runs past the end of the file (10 bytes)"),
    "tensor_count_huge": (build(n_tensors=2**40), E + "tensor count 1099511627776 is more than the 240 bytes "
                          "that follow can hold (24 bytes each at least)"),
    "tensor_count_negative": (build(n_tensors=BIG), E + "tensor count is negative (-1)"),
    "kv_count_huge": (build(n_kv=2**62), E + f"metadata key count {2**62} is more than the 232 bytes that "
                      "follow can hold (13 bytes each at least)"),
    # --- metadata
    "key_length_huge": (build(kvs=[struct.pack("<Q", BIG) + b"general"]),
                        E + f"metadata key 0 ({BIG} bytes at byte 32) runs past the end of the file (192 bytes)"),
    "key_too_long": (build(kvs=[kv("k" * 65536, U8, b"\1")]),
                     E + "metadata key 0 is 65536 bytes long; GGUF allows at most 65535"),
    "string_value_huge": (build(kvs=[kv("general.name", STRING, struct.pack("<Q", 2**63) + b"x")]),
                          E + f"metadata key 'general.name' value ({2**63} bytes at byte 56) runs past the end "
                             "of the file (224 bytes)"),
    "kv_type_13": (build(kvs=[kv("general.name", 13, b"\0" * 8)]),
                   E + "metadata key 'general.name' value type 13 is not a GGUF value type (0 to 12)"),
    "array_item_type_bad": (build(kvs=[kv("t.tokens", ARRAY, struct.pack("<IQ", 99, 1))]),
                            E + "metadata key 't.tokens' array item type 99 is not a GGUF value type (0 to 12)"),
    "array_count_huge": (build(kvs=[kv("t.scores", ARRAY, struct.pack("<IQ", F32T, 2**61))]),
                         E + f"metadata key 't.scores': array of {2**61} float32 is more than the 168 bytes "
                             "left can hold"),
    "array_string_item_huge": (build(kvs=[kv("t.tokens", ARRAY, struct.pack("<IQ", STRING, 2) + gstr("ok")
                                             + struct.pack("<Q", 2**40))]),
                               E + "metadata key 't.tokens' array item 1 (1099511627776 bytes at byte 74) runs past "
                                   "the end of the file (224 bytes)"),
    "arrays_nested_too_deep": (build(kvs=[kv("t.deep", ARRAY, nested(9))]),
                               E + "metadata key 't.deep': arrays nested more than 8 deep"),
    "bool_not_0_or_1": (build(kvs=[kv("general.flag", BOOL, b"\x02")]),
                        E + "metadata key 'general.flag': bool value 2 is neither 0 nor 1"),
    "duplicate_key": (build(kvs=GOOD_KVS + [kv("general.architecture", STRING, gstr("gpt2"))]),
                      E + "metadata key 'general.architecture' defined twice"),
    "alignment_48": (build(kvs=[kv("general.alignment", U32, struct.pack("<I", 48))], alignment=48),
                     E + "metadata key 'general.alignment': alignment 48 is not a power of two"),
    "alignment_0": (build(kvs=[kv("general.alignment", U32, struct.pack("<I", 0))]),
                    E + "metadata key 'general.alignment': alignment 0 is not a power of two"),
    "alignment_u64": (build(kvs=[kv("general.alignment", U64, struct.pack("<Q", 32))]),
                      E + "metadata key 'general.alignment' must be a uint32, not uint64"),
    # --- tensor infos
    "tensor_name_huge": (build(tensors=[struct.pack("<Q", 2**50) + b"a"]),
                         E + "tensor info 0 name (1125899906842624 bytes at byte 110) runs past the end of "
                             "the file (192 bytes)"),
    "tensor_name_over_16k": (build(tensors=[tinfo("n" * 20000, [8])]),
                             E + "tensor '" + "n" * 64 + "...': tensor name of 20000 bytes, longer than 16 KiB"),
    "duplicate_tensor": (build(tensors=[tinfo("a", [8]), tinfo("a", [4, 2], offset=32)]),
                         E + "tensor 'a': tensor name defined twice (tensor infos 0 and 1)"),
    "n_dims_5": (build(tensors=[tinfo("a", [8]), tinfo("b", [1, 1, 1, 1, 1], offset=32)]),
                 E + "tensor 'b': has 5 dimensions; GGUF allows at most 4"),
    "dim_negative": (build(tensors=[tinfo("a", [8, 2**64 - 2])]),
                     E + "tensor 'a': ne[1] is negative (-2)"),
    "ne_product_overflow": (build(tensors=[tinfo("a", [2**32, 2**31])]),
                            E + "tensor 'a': the product of its dimensions overflows int64"),
    "byte_size_overflow": (build(tensors=[tinfo("a", [2**62], ttype=F32)]),
                           E + "tensor 'a': byte size overflows 64 bits"),
    "type_removed_q4_2": (build(tensors=[tinfo("a", [8], ttype=4)]), E + "tensor 'a': unknown ggml type 4"),
    "type_unknown": (build(tensors=[tinfo("a", [8], ttype=1000)]), E + "tensor 'a': unknown ggml type 1000"),
    "ne0_not_block_multiple": (build(tensors=[tinfo("q", [33, 2], ttype=Q8_0)]),
                               E + "tensor 'q': ne[0] = 33 is not a positive multiple of the q8_0 block size 32"),
    "ne0_zero_block_type": (build(tensors=[tinfo("q", [0, 2], ttype=Q4_K)]),
                            E + "tensor 'q': ne[0] = 0 is not a positive multiple of the q4_K block size 256"),
    "infos_cut": (build(data=b"", alignment=1)[:-6],
                  E + "tensor 'b': data offset (8 bytes at byte 168) runs past the end of the file (170 bytes)"),
    # --- extents
    "offset_misaligned": (build(tensors=[tinfo("a", [8]), tinfo("b", [4, 2], offset=40)]),
                          E + "tensor 'b': data offset 40 is not a multiple of the alignment 32"),
    "offsets_overlap": (build(tensors=[tinfo("a", [16]), tinfo("b", [4, 2], offset=32)],
                              data=GOOD_DATA + GOOD_DATA),
                        E + "tensor 'b': bytes [32, 64) of the data section overlap tensor 'a' (bytes [0, 64))"),
    "offset_past_eof": (build(tensors=[tinfo("a", [8]), tinfo("b", [4, 2], offset=2**40)]),
                        E + f"tensor 'b': bytes [{2**40}, {2**40 + 32}) of the data section run past the end of "
                            "the file (the data section starts at byte 192 and holds 64 bytes)"),
    "offset_plus_size_overflow": (build(tensors=[tinfo("a", [8], offset=2**64 - 32)]),
                                  E + "tensor 'a': data offset + byte size overflows 64 bits"),
    "data_section_truncated": (build(cut=20),
                               E + "tensor 'b': bytes [32, 64) of the data section run past the end of the file "
                                   "(the data section starts at byte 192 and holds 44 bytes)"),
    "data_section_missing": (build(data=b"")[:-8],
                             E + "tensor 'a': bytes [0, 32) of the data section run past the end of the file "
                                 "(the data section starts at byte 192 and holds 0 bytes)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_gguf(wd_bin, tmp_path, case):
    data, line = CASES[case]
    proc = run_bad(wd_bin, tmp_path, data)
    assert_clean_failure(proc, "bad.gguf", report=tmp_path / "out.json")
    assert last_stderr_line(proc) == line


def test_bad_gguf_as_model_b(wd_bin, tmp_path):
    """Model B goes through the same loader: a bad B is named, not A."""
    (tmp_path / "good.gguf").write_bytes(build())
    (tmp_path / "bad.gguf").write_bytes(CASES["offsets_overlap"][0])
    proc = run_wd(wd_bin, "good.gguf", "bad.gguf", "--backend", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, "bad.gguf")
    assert last_stderr_line(proc) == CASES["offsets_overlap"][1]


def test_corpus_is_large_enough():
    assert len(CASES) >= 25


def test_the_good_file_of_the_corpus_is_good(wd_bin, tmp_path):
    """The corpus's base file is valid: each case fails for its one change."""
    p = tmp_path / "good.gguf"
    p.write_bytes(build())
    proc = run_wd(wd_bin, p.name, p.name, "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = {t["name"]: t for t in load_report(tmp_path / "r.json")["tensors"]}
    assert got["b"]["shape_a"] == [2, 4] and got["b"]["max_a"] == float(B_VALUES.max())
    assert got["a"]["min_a"] == float(A_VALUES.min())


VALID_ODDITIES = {
    # Offsets out of file order, with a gap, and bytes after the last tensor.
    "unordered_with_gap": build(tensors=[tinfo("a", [8], offset=64), tinfo("b", [4, 2], offset=0)],
                                data=B_VALUES.tobytes() + b"\x11" * 32 + A_VALUES.tobytes() + b"tail"),
    "alignment_64": build(kvs=[kv("general.alignment", U32, struct.pack("<I", 64))],
                          tensors=[tinfo("a", [8]), tinfo("b", [4, 2], offset=64)], alignment=64,
                          data=A_VALUES.tobytes() + b"\x22" * 32 + B_VALUES.tobytes()),
    "nested_arrays_8_deep": build(kvs=GOOD_KVS + [kv("t.deep", ARRAY, nested(8))]),
    "empty_and_scalar": build(tensors=[tinfo("a", [8]), tinfo("b", [4, 2], offset=32), tinfo("e", [0, 3]),
                                       tinfo("s", [], offset=64)], data=GOOD_DATA + struct.pack("<f", 2.5)),
    "no_tensors_no_padding": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + GOOD_KVS[0],
    "version_2": build(version=2),
}


@pytest.mark.parametrize("case", sorted(VALID_ODDITIES))
def test_valid_oddities_are_accepted(wd_bin, tmp_path, case):
    p = tmp_path / "odd.gguf"
    p.write_bytes(VALID_ODDITIES[case])
    proc = run_wd(wd_bin, p.name, p.name, "--backend", "cpu", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r = load_report(tmp_path / "r.json")
    got = {t["name"]: t for t in r["tensors"]}
    if "a" in got and case != "empty_and_scalar":
        assert got["a"]["min_a"] == float(A_VALUES.min()) and got["b"]["max_a"] == float(B_VALUES.max())
    if case == "empty_and_scalar":
        assert got["e"]["shape_a"] == [3, 0] and got["s"]["shape_a"] == [] and got["s"]["numel"] == 1
    if case == "nested_arrays_8_deep":
        assert r["a"]["metadata"]["gguf.t.deep"] == "[array of 1 array]"
