"""Two ONNX models from Python: result.report["graph"] is the CLI's graph
section, fail_if="graph" gates on it, and a malformed graph input raises
MalformedFileError (fixtures from tests/python/test_graph_diff.py)."""

import onnx
import pytest

import weightdiff
from test_graph_diff import model
from test_onnx import _varint


def test_graph_from_python(tmp_path):
    onnx.save(model(), str(tmp_path / "a.onnx"))
    onnx.save(model(act="Sigmoid"), str(tmp_path / "b.onnx"))
    r = weightdiff.diff(str(tmp_path / "a.onnx"), str(tmp_path / "b.onnx"), backend="cpu")
    assert r.exit_code == 0 and r.report["graph"]["changed"] == 1
    gated = weightdiff.diff(str(tmp_path / "a.onnx"), str(tmp_path / "b.onnx"), backend="cpu", fail_if="graph")
    assert gated.exit_code == 1 and gated.failed == ["graph"]


def test_malformed_graph_input_raises(tmp_path):
    m = model()
    graph = m.graph.SerializeToString() + bytes([0x5A, 0x02, 0xFF, 0xFF])
    m.ClearField("graph")
    (tmp_path / "bad.onnx").write_bytes(m.SerializeToString() + bytes([0x3A]) + _varint(len(graph)) + graph)
    onnx.save(model(), str(tmp_path / "a.onnx"))
    with pytest.raises(weightdiff.MalformedFileError) as e:
        weightdiff.diff(str(tmp_path / "a.onnx"), str(tmp_path / "bad.onnx"), backend="cpu")
    assert "bad.onnx" in str(e.value)
