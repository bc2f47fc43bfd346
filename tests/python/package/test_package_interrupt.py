"""Ctrl-C cancels a long call: SIGINT to a Python process in the middle of a
diff (and of an inspect) raises KeyboardInterrupt within a second, and the
process can diff again afterwards.

The inputs are 8 GiB of zeros per side, never written (numpy's calloc: the
reads map the shared zero page, so nothing is resident), read with one
thread: several seconds of work, so a call that ignored the signal would
print 'completed'.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import weightdiff
    n = 1 << 31
    a = {"t": np.zeros(n, np.float32)}
    b = {"t": np.zeros(n, np.float32)}
    call = sys.argv[1]
    print("ready", flush=True)
    try:
        if call == "diff":
            weightdiff.diff(a, b, backend="cpu", threads=1)
        else:
            weightdiff.inspect(a, backend="cpu", threads=1)
        print("completed", flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.monotonic(), flush=True)
    r = weightdiff.diff({"t": np.ones(3, np.float32)}, {"t": np.ones(3, np.float32)}, backend="cpu")
    print("after", r.exit_code, flush=True)
""")


@pytest.mark.parametrize("call", ["diff", "inspect"])
def test_sigint_cancels_within_a_second(call):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, call], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(0.7)  # into the computation
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = out.split("\n")
    assert lines[0].startswith("interrupted"), f"stdout:\n{out}\nstderr:\n{err}"
    latency = float(lines[0].split()[1]) - sent
    assert 0 <= latency < 1.0, f"KeyboardInterrupt {latency:.2f} s after SIGINT"
    assert lines[1] == "after 0", out
    assert proc.returncode == 0, err


def test_progress_line_on_stderr():
    child = ("import numpy as np, weightdiff\n"
             "a = {'t': np.zeros(1 << 26, np.float32)}\n"
             "for on in (False, True):\n"
             "    weightdiff.diff(a, a, backend='cpu', threads=1, progress=on)\n"
             "    print('call', on, file=__import__('sys').stderr, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    quiet, shown = proc.stderr.split(b"call False\n")
    assert quiet == b""
    # Both sides' bytes, rewritten in place, ended by one newline.
    assert shown.startswith(b"\rweightdiff: ") and b"0.54 / 0.54 GB (100%) t" in shown, shown
    assert shown.endswith(b"\x1b[K\ncall True\n") and shown.count(b"\n") == 2, shown
