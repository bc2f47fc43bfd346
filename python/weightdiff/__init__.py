"""weightdiff: compare the weights of two models, tensor by tensor.

    >>> import weightdiff
    >>> r = weightdiff.diff("base.safetensors", finetuned.state_dict())
    >>> r.exit_code, r.summary["rel_l2"]
    >>> r.to_pandas().sort_values("rel_l2")

A model is a path (a .safetensors file, a Hugging Face folder, an .onnx or
.gguf file: whatever the command line reads) or a mapping name -> array
(numpy arrays, torch CPU tensors, anything exporting DLPack or the buffer
protocol). Arrays are read in place, never copied or converted to float64
in Python: they must be contiguous (a ValueError otherwise) and in CPU
memory. The same C++ library as the command line computes everything, with
the GIL released; Ctrl-C (KeyboardInterrupt) stops a call within a second.

Errors are weightdiff.Error subclasses (MalformedFileError, UnsafePathError,
...), carrying the command line's message; their `errc` attribute names the
class as the library does ("malformed", "unsafe_path", ...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

from . import _core
from ._core import (BackendError, CancelledError, Error, FileAccessError, FileChangedError,
                    MalformedFileError, NameConflictError, UnsafePathError, UnsupportedError,
                    UsageError)
from ._inputs import device_list, map_rules, model_spec, string_list
from ._results import DiffResult, InspectResult

__version__ = _core.__version__

__all__ = [
    "diff", "inspect", "merge", "DiffResult", "InspectResult",
    "Error", "UsageError", "FileAccessError", "MalformedFileError", "UnsafePathError",
    "NameConflictError", "UnsupportedError", "BackendError", "FileChangedError", "CancelledError",
]

Model = Union[str, "os.PathLike[str]", Mapping[str, Any]]
Patterns = Union[None, str, Iterable[str]]


def diff(a: Model, b: Model, *, include: Patterns = None, exclude: Patterns = None,
         map: Union[None, str, Iterable[str], Mapping[str, str]] = None,
         atol: Optional[float] = None, rtol: Optional[float] = None,
         fail_if: Patterns = None, backend: str = "auto",
         devices: Union[None, str, int, Sequence[int]] = None, threads: Optional[int] = None,
         hist_range: Tuple[int, int] = (-40, 16), progress: bool = False,
         structure_only: bool = False, transpose: str = "auto",
         map_preset: Optional[str] = None, dequant: str = "auto",
         shard: Union[None, str, Tuple[int, int]] = None) -> DiffResult:
    """Diffs model b (the candidate) against model a (the reference).

    a, b: a path, or a mapping name -> array (e.g. model.state_dict()); see
    the module's docstring. Non-contiguous arrays raise ValueError; arrays of
    a type weightdiff cannot read (object, complex, big-endian, unpacked
    int4) raise TypeError.

    The keywords are the command line's options (SPEC §1): include/exclude
    (RE2 patterns, one or several), map ('REGEX=REPL' rules, or a mapping
    REGEX -> REPL, applied in order to b's names), atol/rtol (override the
    per-dtype defaults), fail_if ('cosine<0.9999', 'global.rel_l2>1e-3'),
    backend ('auto', 'cpu', 'cuda', 'hybrid'), devices (CUDA devices),
    threads (CPU threads; None = all), hist_range ((lo, hi) exponents),
    progress (a progress line on stderr), structure_only (names, dtypes and
    shapes only; no tensor byte read), transpose ('auto': a 2-D pair stored
    as each other's transpose is compared as a against bᵀ; 'never'),
    map_preset ('llama-gguf': a GGUF side's tensors matched by their Hugging
    Face names, llama.cpp's Q/K row permutation undone), dequant ('auto':
    an FP8 weight with its scale tensors, or GPTQ/AWQ qweight/qzeros/scales,
    compared dequantized when only one side holds such scales; 'always';
    'never'), shard ("K/N" or (K, N): only the K-th of N byte-balanced parts
    of the pairs; its to_json()/write_json() is a part for merge()).

    Returns a DiffResult (exit_code, summary, tensors, failed, to_json(),
    write_json/csv/html(), to_pandas()). Raises weightdiff.Error subclasses
    for what the CLI reports with exit 2 (a mapping with a bad name or size
    is a MalformedFileError naming the model as "<memory a>"/"<memory b>").
    """
    report = _core.diff(
        model_spec(a, "<memory a>"), model_spec(b, "<memory b>"),
        include=string_list(include, "include"), exclude=string_list(exclude, "exclude"),
        map=map_rules(map), atol=atol, rtol=rtol, fail_if=string_list(fail_if, "fail_if"),
        backend=backend, devices=device_list(devices), threads=_threads(threads),
        hist_range=_hist_range(hist_range), progress=bool(progress),
        structure_only=bool(structure_only), transpose=str(transpose),
        map_preset=str(map_preset or ""), dequant=str(dequant), shard=_shard(shard))
    return DiffResult(report)


def merge(parts: Iterable[Union[str, "os.PathLike[str]"]], *, fail_if: Patterns = None) -> DiffResult:
    """The command line's `weightdiff merge`: the JSON reports of the parts
    of a shard run (diff(..., shard=...) or --shard K/N, every part 1..N
    once, any order) joined into the single run's DiffResult — the same
    reports and exit code. fail_if: gates instead of the parts' own.

    Raises UsageError (a part missing), NameConflictError (parts of another
    run, a part twice), MalformedFileError (a file that is no part),
    FileAccessError (a part that cannot be read).
    """
    if isinstance(parts, (str, os.PathLike)):
        parts = [parts]
    paths = [os.fspath(p) for p in parts]
    gates = None if fail_if is None else string_list(fail_if, "fail_if")
    return DiffResult(_core.merge(paths, gates))


def inspect(a: Model, *, include: Patterns = None, exclude: Patterns = None,
            backend: str = "auto", devices: Union[None, str, int, Sequence[int]] = None,
            threads: Optional[int] = None, hist_range: Tuple[int, int] = (-40, 16),
            progress: bool = False) -> InspectResult:
    """One model's per-tensor dtype, shape, bytes and value statistics, and a
    NaN/Inf scan (the command line's `weightdiff inspect`).

    a: a path or a mapping name -> array, as for diff(). Returns an
    InspectResult: exit_code 1 when a tensor holds NaN or Inf, 0 otherwise;
    failed lists those tensors.
    """
    report = _core.inspect(
        model_spec(a, "<memory>"), include=string_list(include, "include"),
        exclude=string_list(exclude, "exclude"), backend=backend, devices=device_list(devices),
        threads=_threads(threads), hist_range=_hist_range(hist_range), progress=bool(progress))
    return InspectResult(report)


def _shard(shard: Union[None, str, Tuple[int, int]]) -> str:
    if shard is None:
        return ""
    if isinstance(shard, str):
        return shard
    if isinstance(shard, tuple) and len(shard) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                            for x in shard):
        return f"{shard[0]}/{shard[1]}"
    raise UsageError(f"shard must be 'K/N' or (K, N), not {shard!r}")


def _threads(threads: Optional[int]) -> int:
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 4096:
        raise UsageError(f"threads must be an int in [1, 4096] or None, not {threads!r}")
    return threads


def _hist_range(value: Tuple[int, int]) -> Tuple[int, int]:
    lo, hi = value
    return int(lo), int(hi)
