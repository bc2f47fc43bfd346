"""Issue 18, points 4 and 6, on files written by the official packages:
--top K bounds the table's structural lines too (a renamed prefix would
print hundreds), and a folder holding two single-file models is refused
naming both, with exit 2."""

import numpy as np
import onnx
from onnx import helper, numpy_helper
from safetensors.numpy import save_file

from conftest import assert_clean_failure, last_stderr_line, run_wd


def write_pair(tmp_path, only_a=10):
    rng = np.random.default_rng(18)
    a = {f"gone.{i:02d}": rng.standard_normal(4).astype(np.float32) for i in range(only_a)}
    shared = rng.standard_normal(8).astype(np.float32)
    a["kept"] = shared
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file({"kept": shared}, str(tmp_path / "b.safetensors"))
    return tmp_path / "a.safetensors", tmp_path / "b.safetensors"


def structural_lines(stdout):
    return [l for l in stdout.splitlines() if l.startswith("only_in_a")]


def test_top_bounds_the_structural_lines(wd_bin, tmp_path):
    a, b = write_pair(tmp_path)
    proc = run_wd(wd_bin, "--backend", "cpu", "--top", "3", "--color", "never", a, b)
    assert proc.returncode == 1, proc.stderr
    lines = structural_lines(proc.stdout)
    assert [l.split()[-1] for l in lines] == ["gone.00", "gone.01", "gone.02"]  # by name
    assert "… 7 more structural differences (--top 0 shows all)" in proc.stdout
    assert "only in A 10" in proc.stdout  # the summary still counts them all


def test_top_zero_shows_every_structural_line(wd_bin, tmp_path):
    a, b = write_pair(tmp_path)
    proc = run_wd(wd_bin, "--backend", "cpu", "--top", "0", "--color", "never", a, b)
    assert proc.returncode == 1
    assert len(structural_lines(proc.stdout)) == 10
    assert "more structural differences" not in proc.stdout


def test_fewer_than_top_need_no_more_line(wd_bin, tmp_path):
    a, b = write_pair(tmp_path, only_a=2)
    proc = run_wd(wd_bin, "--backend", "cpu", "--color", "never", a, b)  # --top 20
    assert len(structural_lines(proc.stdout)) == 2
    assert "more structural differences" not in proc.stdout


def write_onnx(path, value):
    init = numpy_helper.from_array(np.full(3, value, np.float32), "w")
    graph = helper.make_graph([], "g", [], [], [init])
    onnx.save(helper.make_model(graph), str(path))


def test_a_folder_of_two_onnx_files_names_both(wd_bin, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write_onnx(folder / "decoder.onnx", 1.0)
    write_onnx(folder / "encoder.onnx", 2.0)
    proc = run_wd(wd_bin, "--backend", "cpu", folder, folder / "encoder.onnx")
    assert_clean_failure(proc, str(folder))
    assert last_stderr_line(proc) == (
        f"weightdiff: error: {folder}: folder holds 2 model files (decoder.onnx, encoder.onnx): "
        "pass one of them instead of the folder")
    # Passing one of them works.
    ok = run_wd(wd_bin, "--backend", "cpu", folder / "encoder.onnx", folder / "encoder.onnx")
    assert ok.returncode == 0, ok.stderr
