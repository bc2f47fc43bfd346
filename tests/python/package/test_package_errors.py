"""Bad inputs raise the documented exceptions.

What the CLI reports with exit 2 is a weightdiff.Error subclass whose
message is the CLI's last stderr line without "weightdiff: error: "; bad
arrays are TypeError (a type weightdiff cannot read) or ValueError (a layout
or place it cannot read in place); structural differences are statuses,
never exceptions.
"""

import json

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import weightdiff
from conftest import last_stderr_line, run_wd, write_raw_safetensors

PREFIX = "weightdiff: error: "


def cli_message(wd_bin, *args):
    proc = run_wd(wd_bin, *args, "--backend", "cpu", "-q")
    assert proc.returncode == 2, proc.stderr
    line = last_stderr_line(proc)
    assert line.startswith(PREFIX)
    return line[len(PREFIX):]


@pytest.fixture()
def good(tmp_path):
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(tmp_path / "good.safetensors"))
    return tmp_path / "good.safetensors"


def test_malformed_file(wd_bin, tmp_path, good):
    bad = write_raw_safetensors(tmp_path / "bad.safetensors",
                                {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}},
                                data=b"\0" * 20)
    expected = cli_message(wd_bin, bad, good)
    with pytest.raises(weightdiff.MalformedFileError) as e:
        weightdiff.diff(bad, good, backend="cpu")
    assert str(e.value) == expected
    assert isinstance(e.value, weightdiff.Error) and not isinstance(e.value, ValueError)
    assert e.value.errc == "malformed" and e.value.file == str(bad) and e.value.tensor == "w"
    with pytest.raises(weightdiff.MalformedFileError):
        weightdiff.inspect(bad, backend="cpu")


def test_short_file_and_missing_file(wd_bin, tmp_path, good):
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\1\2\3")
    with pytest.raises(weightdiff.MalformedFileError) as e:
        weightdiff.diff(good, short, backend="cpu")
    assert str(e.value) == cli_message(wd_bin, good, short)
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(weightdiff.FileAccessError) as e:
        weightdiff.diff(good, missing, backend="cpu")
    assert str(e.value) == cli_message(wd_bin, good, missing) and e.value.errc == "io"


def test_unsafe_path(wd_bin, tmp_path, good):
    d = tmp_path / "sharded"
    d.mkdir()
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": {"w": "../good.safetensors"}}))
    with pytest.raises(weightdiff.UnsafePathError) as e:
        weightdiff.diff(d, good, backend="cpu")
    assert str(e.value) == cli_message(wd_bin, d, good) and e.value.errc == "unsafe_path"


def test_usage_errors_are_value_errors(wd_bin, good):
    for kwargs, argv in (({"include": "zzz"}, ["--include", "zzz"]),
                         ({"fail_if": "cosine<<1"}, ["--fail-if", "cosine<<1"]),
                         ({"include": "(?=x)"}, ["--include", "(?=x)"]),
                         ({"hist_range": (5, 1)}, ["--hist-range", "5:1"]),
                         ({"map": "nope"}, ["--map", "nope"])):
        with pytest.raises(weightdiff.UsageError) as e:
            weightdiff.diff(good, good, backend="cpu", **kwargs)
        assert isinstance(e.value, ValueError) and e.value.errc == "usage"
        assert str(e.value) == cli_message(wd_bin, good, good, *argv), kwargs
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff(good, good, backend="tpu")
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff(good, good, threads=0)
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff(good, good, structure_only=True, fail_if="cosine<1")


def test_wrong_shapes_and_keys_are_statuses():
    a = {"w": np.ones((2, 3), np.float32), "x": np.ones(4, np.float32)}
    b = {"w": np.ones((1, 6), np.float32), "y": np.ones(4, np.float32)}  # (3, 2): transposed
    r = weightdiff.diff(a, b, backend="cpu")
    assert [(t["name"], t["status"]) for t in r.tensors] == [
        ("w", "shape_mismatch"), ("x", "only_in_a"), ("y", "only_in_b")]
    assert r.exit_code == 1 and r.summary["compared"] == 0


def test_bad_arrays():
    ok = np.ones(4, np.float32)
    cases = [
        ({"w": np.array([1, "x"], dtype=object)}, TypeError, "object arrays"),
        ({"w": np.ones(4, np.complex64)}, TypeError, "unsupported element type"),
        ({"w": np.ones(4, ">f4")}, TypeError, "big-endian"),
        ({"w": np.ones(4, ml_dtypes.int4)}, TypeError, "unsupported element type int4"),
        ({"w": np.ones(4, [("a", "f4")])}, TypeError, "unsupported element type"),
        ({"w": np.ones((4, 4), np.float32).T}, ValueError, "non-contiguous"),
        ({"w": np.ones(8, np.float32)[::2]}, ValueError, "non-contiguous"),
        ({"w": np.ones((4, 4), ml_dtypes.bfloat16).T}, ValueError, "non-contiguous"),
        ({"w": [1.0, 2.0]}, TypeError, "expected an array"),
        ({1: ok}, TypeError, "names must be str"),
    ]
    for model, exc, text in cases:
        with pytest.raises(exc) as e:
            weightdiff.diff(model, {"w": ok}, backend="cpu")
        assert text in str(e.value), (model, str(e.value))
        assert not isinstance(e.value, weightdiff.Error)
    with pytest.raises(TypeError, match="a model is a path"):
        weightdiff.diff(42, {"w": ok})


def test_dlpack_device_not_cpu():
    class OnDevice:
        def __dlpack__(self, stream=None):
            raise AssertionError("must not be exported: the device is checked first")

        def __dlpack_device__(self):
            return (2, 0)  # kDLCUDA

    with pytest.raises(ValueError, match="not in CPU memory"):
        weightdiff.diff({"w": OnDevice()}, {"w": np.ones(1, np.float32)}, backend="cpu")


def test_a_report_is_never_written_over_an_input(tmp_path, good):
    r = weightdiff.diff(good, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, backend="cpu")
    before = good.read_bytes()
    link = tmp_path / "link.safetensors"
    link.symlink_to(good)
    for dest in (good, link):
        with pytest.raises(weightdiff.UsageError, match="is an input of this run"):
            r.write_json(dest)
    assert good.read_bytes() == before
    r.write_json(tmp_path / "out.json")  # elsewhere: written, no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors", "link.safetensors",
                                                          "out.json"]
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["identical"] == 1


def test_backend_and_conflict_errors(wd_bin, good):
    proc = run_wd(wd_bin, good, good, "--backend", "cuda", "-q")
    if proc.returncode == 2:  # no usable device here: the CLI's error, as an exception
        with pytest.raises(weightdiff.BackendError) as e:
            weightdiff.diff(good, good, backend="cuda")
        assert str(e.value) == last_stderr_line(proc)[len(PREFIX):] and e.value.errc == "backend"
    else:
        assert weightdiff.diff(good, good, backend="cuda").exit_code == proc.returncode
    two = {"a": np.ones(2, np.float32), "b": np.ones(2, np.float32)}
    with pytest.raises(weightdiff.NameConflictError) as e:
        weightdiff.diff(two, two, map={"^[ab]$": "c"}, backend="cpu")
    assert e.value.errc == "conflict" and e.value.file == "<memory b>"


def test_notices_are_the_clis_stderr_lines(wd_bin, good):
    proc = run_wd(wd_bin, good, good, "-q")  # backend auto: a fallback notice without a device
    assert proc.returncode == 0, proc.stderr
    cli = [ln[len("weightdiff: "):] for ln in proc.stderr.splitlines() if ln.startswith("weightdiff: ")]
    assert weightdiff.diff(good, good).notices == cli
