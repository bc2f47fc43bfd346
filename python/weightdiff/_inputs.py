"""What diff() and inspect() accept as a model, in the form _core takes.

A model is a path (any format the command line reads) or a mapping
name -> array. Arrays are handed to the C++ library as they are (DLPack or
the buffer protocol, read in place); only types their exporter cannot name
are reinterpreted here, without a copy, as unsigned integers of the same
width plus the weightdiff dtype they hold.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# ml_dtypes' numpy dtypes (numpy's DLPack and buffer protocol cannot
# export them) -> weightdiff dtype.
_NUMPY_NAMED = {
    "bfloat16": "bf16",
    "float8_e4m3fn": "f8e4m3fn",
    "float8_e4m3fnuz": "f8e4m3fnuz",
    "float8_e5m2": "f8e5m2",
    "float8_e5m2fnuz": "f8e5m2fnuz",
}
# torch dtypes whose DLPack export older torch versions refuse.
_TORCH_NAMED = {
    "torch.float8_e4m3fn": "f8e4m3fn",
    "torch.float8_e4m3fnuz": "f8e4m3fnuz",
    "torch.float8_e5m2": "f8e5m2",
    "torch.float8_e5m2fnuz": "f8e5m2fnuz",
}


def _not_contiguous(name: str) -> ValueError:
    return ValueError(
        f"tensor '{name}': non-contiguous array (a view, a transpose or a slice with steps): "
        "pass a contiguous copy (numpy.ascontiguousarray(x), tensor.contiguous())")


def _numpy_array(name: str, value: Any):
    dtype = value.dtype
    wd = _NUMPY_NAMED.get(dtype.name)
    if wd is None:
        # Other user-defined types (ml_dtypes' int4, float4, ...: kind 'V',
        # which numpy's exporters would pass on as raw bytes) are refused.
        if dtype.kind == "V":
            raise TypeError(f"tensor '{name}': unsupported element type {dtype.name} "
                            "(weightdiff reads floats, bf16, fp8, integers and bool)")
        return value, None
    if not value.flags.c_contiguous:
        raise _not_contiguous(name)
    return value.view(f"u{dtype.itemsize}"), wd


def _torch_tensor(name: str, value: Any):
    if value.requires_grad:  # a Parameter: DLPack refuses it; detach() shares the memory
        value = value.detach()
    wd = _TORCH_NAMED.get(str(value.dtype))
    if wd is None:
        return value, None
    if value.device.type != "cpu":
        raise ValueError(f"tensor '{name}': array is not in CPU memory: move it to the CPU "
                         "first (tensor.cpu())")
    if not value.is_contiguous():
        raise _not_contiguous(name)
    import torch
    return value.view(torch.uint8), wd


def _entry(name: Any, value: Any):
    if not isinstance(name, str):
        raise TypeError(f"tensor names must be str, got {type(name).__name__} ({name!r})")
    module = type(value).__module__.split(".")[0]
    if module == "numpy" and hasattr(value, "dtype") and hasattr(value, "flags"):
        value, wd = _numpy_array(name, value)
    elif module == "torch" and hasattr(value, "requires_grad"):
        value, wd = _torch_tensor(name, value)
    else:
        wd = None
    return (name, value, wd)


def model_spec(value: Any, label: str):
    """A path (str) or (label, [(name, array, dtype name or None), ...])."""
    if isinstance(value, (str, os.PathLike)):
        return os.fsdecode(os.fspath(value))
    if isinstance(value, Mapping):
        return (label, [_entry(k, v) for k, v in value.items()])
    raise TypeError("a model is a path (str or os.PathLike) or a mapping name -> array "
                    f"(a state_dict()), not {type(value).__name__}")


def string_list(value: Any, what: str) -> list[str]:
    """None, one str, or an iterable of str."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out = list(value)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{what}: expected str, got {type(v).__name__}")
    return out


def map_rules(value: Any) -> list[str]:
    """'REGEX=REPL' strings; a mapping {REGEX: REPL} keeps its order."""
    if isinstance(value, Mapping):
        return [f"{k}={v}" for k, v in value.items()]
    return string_list(value, "map")


def device_list(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str):
        return [int(v) for v in value.split(",") if v.strip()]
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]
