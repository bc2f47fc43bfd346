"""Shared helpers for the weightdiff Python test-suite.

The binary under test comes from $WEIGHTDIFF_BIN (CTest sets it to the built
target) and defaults to build/weightdiff relative to the repository root, so
`python3 -m pytest tests/python` works after a plain CMake build.
"""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

# Make `import reference` work whatever the pytest rootdir / import mode is.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# Generous per-run limit: every fixture here is small, so a run that takes this
# long is a hang (SPEC §7 forbids hangs on hostile input).
RUN_TIMEOUT_S = 60


def weightdiff_path() -> Path:
    env = os.environ.get("WEIGHTDIFF_BIN")
    p = Path(env) if env else REPO_ROOT / "build" / "weightdiff"
    return p if p.is_absolute() else (REPO_ROOT / p)


@pytest.fixture(scope="session")
def wd_bin() -> Path:
    p = weightdiff_path()
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"weightdiff binary not found at {p} (set WEIGHTDIFF_BIN)")
    return p


def run_wd(wd_bin, *args, cwd=None, timeout=RUN_TIMEOUT_S):
    """Runs weightdiff with the given arguments; never raises on exit status.

    `--backend cpu` is NOT added here: callers pass it so that each command
    line in a test reads exactly like what a user would type.
    """
    cmd = [str(wd_bin)] + [str(a) for a in args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          errors="replace", timeout=timeout)


def _reject_constant(name):
    # SPEC §5: non-finite numbers must be the strings "nan"/"inf"/"-inf".
    # Python's json would silently accept bare NaN/Infinity; refuse them.
    raise ValueError(f"bare JSON constant {name!r} in report (SPEC §5 wants a string)")


def load_report(path):
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f, parse_constant=_reject_constant)


def last_stderr_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# Markers of an abnormal end that a clean `exit 2` must never show.
CRASH_MARKERS = ("terminate called", "Segmentation fault", "Aborted",
                 "AddressSanitizer", "UndefinedBehaviorSanitizer",
                 "runtime error:", "Traceback", "core dumped")


def assert_clean_failure(proc, must_name, report=None):
    """Asserts SPEC §6/§7 for a trouble exit.

    must_name: a string, or a tuple of acceptable strings, one of which the
    LAST non-empty stderr line must contain (the offending file as given).
    report: a --json path that must not exist afterwards.
    """
    # A negative returncode means the process died from a signal.
    assert proc.returncode == 2, (
        f"expected exit 2, got {proc.returncode}\nstderr:\n{proc.stderr}")
    for marker in CRASH_MARKERS:
        assert marker not in proc.stderr, f"crash marker {marker!r} in stderr:\n{proc.stderr}"
    last = last_stderr_line(proc)
    names = must_name if isinstance(must_name, tuple) else (must_name,)
    assert any(n in last for n in names), (
        f"last stderr line does not name any of {names!r}:\n  {last!r}\n"
        f"full stderr:\n{proc.stderr}")
    if report is not None:
        assert not Path(report).exists(), f"report {report} left behind on exit 2"


def write_raw_safetensors(path, header, data=b"", header_len=None, pad=True):
    """Hand-writes a safetensors file: u64 LE header length, header, data.

    header: dict (serialized compactly), str or bytes (written verbatim).
    header_len: overrides the length field (to lie about it).
    pad: space-pad the header to a multiple of 8 like the official writer.
    """
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode("utf-8")
    if pad and len(header) % 8:
        header += b" " * (8 - len(header) % 8)
    n = len(header) if header_len is None else header_len
    Path(path).write_bytes(struct.pack("<Q", n) + header + data)
    return Path(path)
