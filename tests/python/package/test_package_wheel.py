"""`pip wheel .` builds a wheel from the repository, and it installs into a
fresh virtual environment (no site packages, no index) where the package
imports, diffs, and the `weightdiff` command runs.

Nothing comes from the build tree: scikit-build-core configures and builds
in a temporary folder (CUDA left out: nvcc on two cores would take most of
CI's time, and CUDA cannot run here). Its own ctest entry (python_wheel),
so that it builds beside the rest of the suite. About 3.5 minutes on two
cores without ccache.
"""

import os
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

REPO = Path(__file__).resolve().parents[3]


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    return proc


def test_wheel_builds_installs_and_runs(tmp_path):
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL="2")
    env.pop("PYTHONPATH", None)  # not the build tree's package
    t0 = time.monotonic()
    run([sys.executable, "-m", "pip", "wheel", REPO, "--no-build-isolation", "--no-deps",
         "-w", tmp_path / "dist", "-C", "cmake.define.WEIGHTDIFF_CUDA=OFF",
         "-C", f"build-dir={tmp_path / 'build'}"], env=env)
    print(f"pip wheel: {time.monotonic() - t0:.0f} s")
    wheels = list((tmp_path / "dist").glob("weightdiff-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    for want in ("weightdiff/__init__.py", "weightdiff/_core.pyi", "weightdiff/py.typed"):
        assert want in names
    assert any(n.startswith("weightdiff/_core.") and n.endswith(".so") for n in names)
    assert any(n.endswith(".data/scripts/weightdiff") for n in names)
    # The package only: no static libraries, headers or CMake files.
    assert not [n for n in names if n.endswith((".a", ".hpp", ".cmake"))]

    venv.create(tmp_path / "venv", with_pip=True, system_site_packages=False)
    py, bin_dir = tmp_path / "venv" / "bin" / "python", tmp_path / "venv" / "bin"
    run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheels[0]], env=env)

    rng = np.random.default_rng(14)
    w = rng.standard_normal((16, 16), dtype=np.float32)
    save_file({"w": w}, str(tmp_path / "a.safetensors"))
    save_file({"w": w * np.float32(1.5)}, str(tmp_path / "b.safetensors"))
    script = ("import array, weightdiff\n"
              "r = weightdiff.diff('a.safetensors', 'b.safetensors', backend='cpu')\n"
              "m = weightdiff.diff({'x': array.array('f', [1, 2])}, {'x': array.array('f', [1, 2])})\n"
              "print(weightdiff.__file__)\n"
              "print(r.exit_code, r.summary['compared'], r.tensors[0]['status'], m.exit_code)\n")
    out = run([py, "-c", script], cwd=tmp_path, env=env).stdout.split("\n")
    assert out[0].startswith(str(tmp_path / "venv")), out  # the installed package
    assert out[1] == "1 1 different 0", out
    cli = subprocess.run([bin_dir / "weightdiff", "a.safetensors", "b.safetensors", "--backend",
                          "cpu", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert cli.returncode == 1, cli.stderr
