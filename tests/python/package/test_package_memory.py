"""In-memory inputs: mappings name -> array give the results of the same
arrays read from files, for every dtype numpy has (and bf16/fp8 through
ml_dtypes), through each way in (numpy's DLPack, an object exporting only
DLPack, only the buffer protocol, read-only arrays), mixed with files.

torch is not installed here (its CPU wheels' index cannot be reached from
this machine; the PyPI wheel is the multi-GB CUDA build), so torch tensors
are not tested; their path is DLPack, tested here with numpy's exporter and
a DLPack-only wrapper.
"""

import array
import json
import math
import sys
import zlib
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import reference as ref
import weightdiff
from test_crosscheck_safetensors import compare_tensor
from test_package_files import without_timing

# Every dtype numpy has that weightdiff reads, and ml_dtypes' floats. The
# fnuz fp8 types have no safetensors dtype: they are compared with the
# float64 reference only.
NUMPY_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
                np.uint64, np.uint32, np.uint16, np.uint8, np.bool_]
ML_DTYPES = [ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]
FNUZ = [ml_dtypes.float8_e4m3fnuz, ml_dtypes.float8_e5m2fnuz]


def _pair(dtype, shape=(37, 29)):
    dt = np.dtype(dtype)
    rng = np.random.default_rng(zlib.crc32(dt.name.encode()))
    if dt == np.bool_:
        a = rng.random(shape) < 0.5
        b = a.copy()
        b.flat[::7] = ~b.flat[::7]
        return a, b
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        a = rng.integers(lo, hi, shape, dtype=dt)
        b = a.copy()
        b.flat[::5] = rng.integers(lo, hi, b.flat[::5].shape, dtype=dt)
        return a, b
    x = rng.standard_normal(shape) * 2
    a = x.astype(dt)
    b = (x + rng.standard_normal(shape) * 0.05).astype(dt)
    return a, b


def _check_reference(report_json, name, a, b):
    got = next(t for t in json.loads(report_json)["tensors"] if t["name"] == name)
    exp, bounds = ref.pair_metrics(a, b)
    errs = compare_tensor(got, exp, bounds)
    assert not errs, f"{name}: " + "; ".join(errs)


@pytest.mark.parametrize("dtype", NUMPY_DTYPES + ML_DTYPES, ids=lambda d: np.dtype(d).name)
def test_memory_equals_file(dtype, tmp_path):
    a, b = _pair(dtype)
    # A scalar and an empty tensor of the same dtype ride along.
    ma = {"t": a, "scalar": a.reshape(-1)[:1].reshape(()).copy(), "empty": a[:0].copy()}
    mb = {"t": b, "scalar": b.reshape(-1)[1:2].reshape(()).copy(), "empty": b[:0].copy()}
    save_file(ma, str(tmp_path / "a.safetensors"))
    save_file(mb, str(tmp_path / "b.safetensors"))
    from_files = weightdiff.diff(tmp_path / "a.safetensors", tmp_path / "b.safetensors", backend="cpu")
    from_memory = weightdiff.diff(ma, mb, backend="cpu")
    assert from_memory.tensors == from_files.tensors
    fs, ms = dict(from_files.summary), dict(from_memory.summary)
    fs.pop("seconds"), ms.pop("seconds")
    assert ms == fs
    assert from_memory.exit_code == from_files.exit_code == 1
    assert from_memory.report["a"]["path"] == "<memory a>"
    assert from_memory.report["a"]["format"] == "memory"
    for name in ma:
        _check_reference(from_memory.to_json(), name, ma[name], mb[name])


@pytest.mark.parametrize("dtype", FNUZ, ids=lambda d: np.dtype(d).name)
def test_fnuz_against_reference(dtype):
    a, b = _pair(dtype)
    r = weightdiff.diff({"t": a}, {"t": b}, backend="cpu")
    assert r.tensors[0]["dtype_a"] == ref.dtype_name(a)
    _check_reference(r.to_json(), "t", a, b)


def test_transposed_arrays(tmp_path):
    # A Linear's W against an export's Wᵀ handed over as a contiguous array.
    a, b = _pair(np.float32)
    bt = np.ascontiguousarray(b.T)
    r = weightdiff.diff({"w": a}, {"w": bt}, backend="cpu")
    t = r.tensors[0]
    assert t["transposed"] is True and t["shape_b"] == list(bt.shape)
    got = json.loads(r.to_json())["tensors"][0]
    exp, bounds = ref.pair_metrics(a, b)
    exp["shape_b"] = list(bt.shape)
    errs = compare_tensor(got, exp, bounds)
    assert not errs, "; ".join(errs)
    never = weightdiff.diff({"w": a}, {"w": bt}, backend="cpu", transpose="never")
    assert never.tensors[0]["status"] == "shape_mismatch" and "transposed" not in never.tensors[0]
    with pytest.raises(weightdiff.UsageError, match="transpose"):
        weightdiff.diff({"w": a}, {"w": bt}, backend="cpu", transpose="sometimes")


def test_mixed_dict_and_file_and_dtypes(tmp_path):
    a, b = _pair(np.float32)
    save_file({"t": b, "u": b[:3].copy()}, str(tmp_path / "b.safetensors"))
    mixed = weightdiff.diff({"t": a}, tmp_path / "b.safetensors", backend="cpu")
    by = {t["name"]: t for t in mixed.tensors}
    assert by["u"]["status"] == "only_in_b"
    _check_reference(mixed.to_json(), "t", a, b)
    # b16 against f32 from memory: different dtypes are compared.
    bf = a.astype(ml_dtypes.bfloat16)
    r = weightdiff.diff({"t": bf}, {"t": a}, backend="cpu")
    assert (r.tensors[0]["dtype_a"], r.tensors[0]["dtype_b"]) == ("bf16", "f32")
    _check_reference(r.to_json(), "t", bf, a)


class DlpackOnly:
    """Exports an array through DLPack only (as a torch tensor does)."""

    def __init__(self, arr):
        self._arr = arr

    def __dlpack__(self, stream=None):
        return self._arr.__dlpack__()

    def __dlpack_device__(self):
        return self._arr.__dlpack_device__()


def test_each_way_in_gives_the_same():
    a, b = _pair(np.float32)
    base = weightdiff.diff({"t": a}, {"t": b}, backend="cpu")
    ro = np.frombuffer(a.tobytes(), dtype=np.float32).reshape(a.shape)  # read-only: no DLPack
    assert not ro.flags.writeable
    for wrap in (DlpackOnly, lambda x: memoryview(x), lambda x: ro):
        r = weightdiff.diff({"t": wrap(a)}, {"t": b}, backend="cpu")
        assert r.tensors == base.tensors
    # array.array: the buffer protocol, 1-D.
    ints = array.array("i", range(-50, 50))
    r = weightdiff.diff({"t": ints}, {"t": np.arange(-50, 50, dtype=np.int32)}, backend="cpu")
    assert r.tensors[0]["status"] == "identical" and r.tensors[0]["dtype_a"] == "i32"


def test_arrays_are_read_in_place():
    # The memory the call reads is the arrays' own: a view into a larger
    # buffer (offset, shared) is read where it is, and a change made to
    # the buffer between two calls is seen by the second.
    buf = np.zeros(1000, dtype=np.float32)
    view = buf[100:200]
    ref_arr = np.zeros(100, dtype=np.float32)
    assert weightdiff.diff({"t": view}, {"t": ref_arr}, backend="cpu").exit_code == 0
    buf[150] = 3.0
    r = weightdiff.diff({"t": view}, {"t": ref_arr}, backend="cpu")
    assert r.tensors[0]["max_abs"] == 3.0 and r.tensors[0]["max_abs_index"] == [50]


def test_state_dict_like_mapping_and_inspect():
    a, _ = _pair(np.float32)
    sd = OrderedDict([("layer.weight", a), ("layer.bias", np.array([np.nan, 1.0], np.float32))])
    r = weightdiff.inspect(sd, backend="cpu")
    assert r.exit_code == 1 and r.failed == ["layer.bias"]
    by = {t["name"]: t for t in r.tensors}
    w = a.astype(np.float64)
    assert by["layer.weight"]["min"] == float(w.min()) and by["layer.weight"]["max"] == float(w.max())
    assert math.isclose(by["layer.weight"]["mean"], math.fsum(w.ravel()) / w.size, rel_tol=1e-12)
    assert by["layer.bias"]["nan"] == 1 and by["layer.bias"]["n_finite"] == 1
    assert r.report["a"]["path"] == "<memory>"


def test_memory_json_equals_cli_json_of_the_files(wd_bin, tmp_path):
    from conftest import run_wd
    a, b = _pair(ml_dtypes.bfloat16)
    save_file({"t": a}, str(tmp_path / "a.safetensors"))
    save_file({"t": b}, str(tmp_path / "b.safetensors"))
    proc = run_wd(wd_bin, tmp_path / "a.safetensors", tmp_path / "b.safetensors", "--backend", "cpu",
                  "--json", tmp_path / "cli.json", "-q")
    assert proc.returncode == 1, proc.stderr
    r = weightdiff.diff({"t": a}, {"t": b}, backend="cpu")
    cli = json.loads(without_timing((tmp_path / "cli.json").read_text()))
    mine = json.loads(without_timing(r.to_json()))
    # Everything but the models' descriptions (a path and a format).
    for side in ("a", "b"):
        assert mine[side]["format"] == "memory" and cli[side]["format"] == "safetensors"
        for k in ("tensors", "bytes"):
            assert mine[side][k] == cli[side][k]
        del mine[side], cli[side]
    assert mine == cli


def test_lent_arrays_are_released_after_the_call():
    # DLPack: the consumed capsule's deleter runs (numpy's drops the
    # reference it took on the array); the buffer protocol: the view is
    # released (a bytearray with an export cannot be resized).
    arr = np.arange(64, dtype=np.float32)
    before = sys.getrefcount(arr)
    for _ in range(3):
        weightdiff.diff({"t": DlpackOnly(arr)}, {"t": arr}, backend="cpu")
    assert sys.getrefcount(arr) == before
    ba = bytearray(range(16))
    r = weightdiff.diff({"t": ba}, {"t": np.arange(16, dtype=np.uint8)}, backend="cpu")
    assert r.tensors[0]["status"] == "identical" and r.tensors[0]["dtype_a"] == "u8"
    ba.extend(b"more")  # BufferError if the view were still held
    # Also when the call fails after the arrays were taken.
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff({"t": ba}, {"t": DlpackOnly(arr)}, include="nothing", backend="cpu")
    ba.extend(b"again")
    assert sys.getrefcount(arr) == before


# DLPack type codes a torch tensor carries: bf16 is kDLBfloat (4), fp8 the
# DLPack 1.1 codes (10-13).
DLPACK_CODES = [(ml_dtypes.bfloat16, 4, 16), (ml_dtypes.float8_e4m3fn, 10, 8),
                (ml_dtypes.float8_e4m3fnuz, 11, 8), (ml_dtypes.float8_e5m2, 12, 8),
                (ml_dtypes.float8_e5m2fnuz, 13, 8)]


@pytest.mark.parametrize("dtype,code,bits", DLPACK_CODES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_dlpack_type_codes(dtype, code, bits):
    from dlpack_ctypes import CtypesDlpack
    a, b = _pair(dtype)
    exporter = CtypesDlpack(a.view(f"u{bits // 8}"), code, bits)
    r = weightdiff.diff({"t": exporter}, {"t": b}, backend="cpu")
    assert r.tensors == weightdiff.diff({"t": a}, {"t": b}, backend="cpu").tensors
    assert r.tensors[0]["dtype_a"] == ref.dtype_name(a)
    assert exporter.deleted == 1
    _check_reference(r.to_json(), "t", a, b)


def test_dlpack_layouts_and_refusals():
    from dlpack_ctypes import CtypesDlpack
    raw = np.arange(12, dtype=np.float32)
    ok = np.arange(12, dtype=np.float32).reshape(3, 4)
    # Row-major strides given explicitly, and any stride on an extent-1 axis.
    for strides, shape in (((4, 1), (3, 4)), ((99, 4, 1), (1, 3, 4))):
        e = CtypesDlpack(raw, 2, 32, shape=shape, strides=strides)
        r = weightdiff.diff({"t": e}, {"t": ok.reshape(shape)}, backend="cpu")
        assert r.tensors[0]["status"] == "identical" and e.deleted == 1
    cases = [(dict(shape=(4, 3), strides=(1, 4)), ValueError, "non-contiguous"),
             (dict(device_type=2), ValueError, "not in CPU memory"),
             (dict(lanes=2), TypeError, "unsupported element type"),
             (dict(code=5, bits=64), TypeError, "unsupported element type"),
             (dict(code=2, bits=8), TypeError, "unsupported element type")]
    for kw, exc, text in cases:
        kw = {"code": 2, "bits": 32, **kw}
        e = CtypesDlpack(raw, **kw)
        with pytest.raises(exc, match=text):
            weightdiff.diff({"t": e}, {"t": ok}, backend="cpu")
        assert e.deleted == 1, kw  # refused, and still handed back


def test_thread_counts_give_the_same_bits():
    a, b = _pair(np.float32, shape=(2048, 4096))  # 32 MiB a side: several chunks
    one = weightdiff.diff({"t": a}, {"t": b}, backend="cpu", threads=1).tensors
    assert weightdiff.diff({"t": a}, {"t": b}, backend="cpu", threads=2).tensors == one
    assert weightdiff.diff({"t": a}, {"t": b}, backend="cpu", threads=7).tensors == one
