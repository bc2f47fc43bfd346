"""Results of diff() and inspect(): the library's reports, as Python values.

Every report is written by the C++ library's own writers, so to_json(),
write_csv() and write_html() give what the command line writes for the same
inputs (the timing fields aside). summary and tensors are that JSON parsed,
with one change: the strings "nan", "inf" and "-inf" that stand for
non-finite numbers become Python floats.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

from . import _core

# Fields whose values are text, where "inf" is a name rather than a number.
_TEXT_FIELDS = frozenset({"name", "name_b", "matched_as", "status", "dtype", "dtype_a",
                          "dtype_b", "max_abs_tensor", "quant_a", "quant_b", "worst"})
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _numbers(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _numbers(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v, key) for v in value]
    if isinstance(value, str) and key not in _TEXT_FIELDS and key != "failed":
        return _NON_FINITE.get(value, value)
    return value


def _write_atomically(path: str | os.PathLike, text: str, inputs) -> None:
    """As the CLI writes a report: never over an input, whole or not at all."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        for f in inputs:
            if st.st_dev == f.device and st.st_ino == f.inode:
                raise _core.UsageError(f"'{path}' is an input of this run ({f.display}): "
                                       "refusing to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Result:
    def __init__(self, report):
        self._report = report
        self._parsed = None

    def _json(self) -> dict:
        if self._parsed is None:
            parsed = json.loads(self._report.json())
            # Only the metrics: metadata and options are text as they are.
            for key in ("summary", "tensors", "quant_types"):
                if key in parsed:
                    parsed[key] = _numbers(parsed[key])
            self._parsed = parsed
        return self._parsed

    @property
    def exit_code(self) -> int:
        """As the command line's: 0 no difference (healthy), 1 differences (NaN/Inf)."""
        return self._report.exit_code

    @property
    def summary(self) -> dict:
        """The JSON report's "summary" (SPEC §5), non-finite numbers as floats."""
        return self._json()["summary"]

    @property
    def tensors(self) -> list[dict]:
        """The JSON report's "tensors" (SPEC §5): one dict per tensor, sorted by name."""
        return self._json()["tensors"]

    @property
    def report(self) -> dict:
        """The whole JSON report, parsed (a, b, backend, options, summary, tensors, ...)."""
        return self._json()

    @property
    def notices(self) -> list[str]:
        """The one-line notes the CLI prints on stderr (backend fallback, name hints)."""
        return list(self._report.notices)

    def to_json(self) -> str:
        """The JSON report, byte for byte the CLI's --json (timing fields aside)."""
        return self._report.json()

    def write_json(self, path: str | os.PathLike) -> None:
        _write_atomically(path, self._report.json(), self._report.inputs)

    def write_csv(self, path: str | os.PathLike) -> None:
        _write_atomically(path, self._report.csv(), self._report.inputs)

    def to_pandas(self):
        """The tensors as a pandas DataFrame, one row per tensor, the scalar
        fields as columns (histograms left out; shapes as tuples). Needs pandas."""
        import pandas as pd
        rows = []
        for t in self.tensors:
            row = {k: (tuple(v) if k.startswith("shape") and isinstance(v, list) else v)
                   for k, v in t.items()
                   if not k.startswith("hist")}
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} exit_code={self.exit_code}: {self._report.summary_line()}>"


class DiffResult(_Result):
    """What diff() returns. str() is the terminal table."""

    @property
    def failed(self) -> list[str]:
        """Names of the tensors that triggered a fail_if gate ('global' for a
        summary gate): summary["failed"]. Whether anything differs: exit_code."""
        return self.summary["failed"]

    @property
    def quant_types(self) -> list[dict]:
        """The error grouped by (A, B) quant type, worst SNR first: the JSON
        report's "quant_types", [] when no compared pair has a quantized side."""
        return self._json().get("quant_types", [])

    def table(self, top: int = 20, sort: str = "rel_l2") -> str:
        """The CLI's terminal table: top rows worst first by `sort` (0 = all)."""
        return self._report.table(top, sort)

    def write_html(self, path: str | os.PathLike) -> None:
        _write_atomically(path, self._report.html(), self._report.inputs)

    def __str__(self) -> str:
        return self.table()


class InspectResult(_Result):
    """What inspect() returns. str() is the terminal table."""

    @property
    def failed(self) -> list[str]:
        """Names of the tensors holding a NaN or an Inf (what makes exit_code 1)."""
        return [t["name"] for t in self.tensors if t.get("status") == "nonfinite"]

    def table(self, top: int = 20) -> str:
        return self._report.table(top)

    def __str__(self) -> str:
        return self.table()
