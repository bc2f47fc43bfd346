"""Two ONNX models' graphs compared (issue 15 item 5), on models written by
the official `onnx` package: op-type counts (checked against
collections.Counter over onnx.load's nodes), nodes added / removed /
changed (op type, inputs, outputs, attributes), graph inputs and outputs
with their types; in the JSON's "graph", the table and the HTML page;
informational for the exit code unless `--fail-if graph`; kept by
--shard/merge; a malformed graph input is exit 2.
"""

import collections
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import assert_clean_failure, load_report, run_wd
from test_html_report import browser, open_page  # noqa: F401  (pytest fixture)
from test_onnx import _varint


def model(act="Relu", trans_b=1, x_shape=(1, 4), extra=False, unnamed_add=False, w=None, opsets=(("", 17),),
          ir_version=None):
    weight = numpy_helper.from_array(w if w is not None else np.arange(12, dtype=np.float32).reshape(3, 4), "W")
    bias = numpy_helper.from_array(np.ones(3, np.float32), "bias")
    nodes = [helper.make_node("Gemm", ["x", "W"], ["h"], name="/fc/Gemm", transB=trans_b),
             helper.make_node(act, ["h"], ["a"], name="/act/Act"),
             # unnamed, as exporters often leave them: keyed by op and output
             helper.make_node("Add", ["a", "bias"] if not unnamed_add else ["bias", "a"], ["y"])]
    out = "y"
    if extra:
        nodes.append(helper.make_node("Identity", ["y"], ["z"]))
        out = "z"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 3])], [weight, bias])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    if ir_version is not None:
        m.ir_version = ir_version
    return m


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("graph")
    onnx.save(model(), str(d / "a.onnx"))
    onnx.save(model(act="Sigmoid", trans_b=0, x_shape=("batch", 4), extra=True, unnamed_add=True,
                    opsets=(("", 18), ("com.microsoft", 1))), str(d / "b.onnx"))
    onnx.save(model(ir_version=7), str(d / "ir7.onnx"))
    onnx.save(model(w=np.arange(12, dtype=np.float32).reshape(3, 4) * 2), str(d / "w2.onnx"))
    return d


def test_json_graph_section(wd_bin, models):
    proc = run_wd(wd_bin, "a.onnx", "b.onnx", "--backend", "cpu", "--json", "r.json", cwd=models)
    assert proc.returncode == 0, proc.stderr  # the weights are equal: the graph is informational
    g = load_report(models / "r.json")["graph"]
    ops = {}
    for side, f in (("a", "a.onnx"), ("b", "b.onnx")):
        for op, n in collections.Counter(n.op_type for n in onnx.load(str(models / f)).graph.node).items():
            ops.setdefault(op, {"a": 0, "b": 0})[side] = n
    assert g["op_counts"] == [{"op": op, **ops[op]} for op in sorted(ops)]
    assert (g["nodes_a"], g["nodes_b"], g["differs"], g["too_large"]) == (3, 4, True, False)
    assert (g["added"], g["removed"], g["changed"]) == (1, 0, 3)
    assert g["nodes_added"] == ["Identity(z)"] and g["nodes_removed"] == []
    changed = {c["node"]: c["changes"] for c in g["nodes_changed"]}
    assert changed == {"/fc/Gemm": ["attribute transB"], "/act/Act": ["op_type Relu -> Sigmoid"],
                       "Add(y)": ["inputs"]}
    assert g["inputs"] == [{"name": "x", "a": "f32[1,4]", "b": "f32[batch,4]"}]
    assert g["outputs"] == [{"name": "y", "a": "f32[1,3]", "b": "(absent)"},
                            {"name": "z", "a": "(absent)", "b": "f32[1,3]"}]
    ir = onnx.load(str(models / "a.onnx")).ir_version
    assert g["ir_version"] == {"a": ir, "b": ir}
    assert g["opsets"] == [{"domain": "ai.onnx", "a": 17, "b": 18}, {"domain": "com.microsoft", "a": None, "b": 1}]


def test_ir_version_alone_is_a_graph_difference(wd_bin, models):
    proc = run_wd(wd_bin, "a.onnx", "ir7.onnx", "--backend", "cpu", "--fail-if", "graph", "--json", "ir.json",
                  cwd=models)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    g = load_report(models / "ir.json")["graph"]
    assert g["differs"] and g["ir_version"]["b"] == 7 and (g["added"], g["removed"], g["changed"]) == (0, 0, 0)
    assert f"graph  ir_version {g['ir_version']['a']} → 7" in proc.stdout


def test_table_and_gate(wd_bin, models):
    proc = run_wd(wd_bin, "a.onnx", "b.onnx", "--backend", "cpu", "--fail-if", "graph", cwd=models)
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("graph  ")]
    assert lines[0].startswith("graph  A 3 nodes, B 4 nodes: 1 added, 0 removed, 3 changed; op counts "), lines
    assert "graph  + Identity(z)" in lines and "graph  ~ /fc/Gemm: attribute transB" in lines
    assert "graph  input x: f32[1,4] → f32[batch,4]" in lines
    assert "graph  opset ai.onnx 17 → 18" in lines and "graph  opset com.microsoft (absent) → 1" in lines
    assert "--fail-if triggered by 1 (graph)" in proc.stdout
    # The same graph with other weights: the gate passes, the values decide.
    same = run_wd(wd_bin, "a.onnx", "w2.onnx", "--backend", "cpu", "--fail-if", "graph", cwd=models)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "graph  A 3 nodes, B 3 nodes: no difference" in same.stdout
    plain = run_wd(wd_bin, "a.onnx", "w2.onnx", "--backend", "cpu", cwd=models)
    assert plain.returncode == 1  # W differs
    # Without values: the graph gate needs none.
    s = run_wd(wd_bin, "a.onnx", "b.onnx", "--structure-only", "--fail-if", "graph", "--json", "s.json", cwd=models)
    assert s.returncode == 1, s.stderr
    assert load_report(models / "s.json")["graph"]["changed"] == 3
    bad = run_wd(wd_bin, "a.onnx", "b.onnx", "--structure-only", "--fail-if", "max_abs>0", cwd=models)
    assert_clean_failure(bad, "--structure-only")


def test_safetensors_have_no_graph(wd_bin, tmp_path):
    from safetensors.numpy import save_file
    save_file({"w": np.ones(3, np.float32)}, str(tmp_path / "a.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "a.safetensors", "--backend", "cpu", "--json", "r.json",
                  "--fail-if", "graph", cwd=tmp_path)
    assert proc.returncode == 0 and "graph" not in load_report(tmp_path / "r.json")
    assert "graph  " not in proc.stdout


def test_merge_keeps_the_graph(wd_bin, models):
    one = run_wd(wd_bin, "a.onnx", "b.onnx", "--backend", "cpu", "--json", "one.json", "-q", cwd=models)
    for k in (1, 2):
        run_wd(wd_bin, "a.onnx", "b.onnx", "--backend", "cpu", "--shard", f"{k}/2", "--json", f"g{k}.json", "-q",
               cwd=models)
    merged = run_wd(wd_bin, "merge", "g1.json", "g2.json", "--json", "m.json", "-q", cwd=models)
    assert merged.returncode == one.returncode, merged.stderr
    assert load_report(models / "m.json")["graph"] == load_report(models / "one.json")["graph"]


def test_html_shows_the_graph(browser, wd_bin, models):  # noqa: F811
    proc = run_wd(wd_bin, "a.onnx", "b.onnx", "--backend", "cpu", "--html", "r.html", "-q", cwd=models)
    assert proc.returncode == 0, proc.stderr
    page = open_page(browser, models / "r.html")
    assert page.eval("document.getElementById('graph-section').hidden") is False
    text = page.eval("document.getElementById('graph-section').innerText")
    assert "1 added, 0 removed, 3 changed" in text and "Identity(z)" in text and "attribute transB" in text
    assert "f32[batch,4]" in text
    assert page.eval("document.getElementById('quant-section').hidden") is True
    assert page.problems() == []
    page.close()


def test_malformed_graph_input_is_exit_2(wd_bin, models, tmp_path):
    m = onnx.load(str(models / "a.onnx"))
    graph = m.graph.SerializeToString() + bytes([0x5A, 0x02, 0xFF, 0xFF])  # input (11): not a ValueInfoProto
    m.ClearField("graph")
    raw = m.SerializeToString() + bytes([0x3A]) + _varint(len(graph)) + graph  # graph (7)
    (tmp_path / "bad.onnx").write_bytes(raw)
    proc = run_wd(wd_bin, models / "a.onnx", tmp_path / "bad.onnx", "--json", tmp_path / "r.json")
    assert_clean_failure(proc, "bad.onnx", tmp_path / "r.json")
    assert "ValueInfoProto" in proc.stderr


def test_quant_section_renders(browser, wd_bin, tmp_path):  # noqa: F811
    import ml_dtypes
    from safetensors.numpy import save_file
    x = np.random.default_rng(5).standard_normal((8, 16)).astype(np.float32)
    save_file({"w": x}, str(tmp_path / "a.safetensors"))
    save_file({"w": x.astype(ml_dtypes.float8_e4m3fn)}, str(tmp_path / "b.safetensors"))
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--html", "q.html", "-q",
                  cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    page = open_page(browser, tmp_path / "q.html")
    assert page.eval("document.getElementById('quant-section').hidden") is False
    assert "f32 \u2192 f8e4m3fn" in page.eval("document.getElementById('quant-table').innerText")
    assert page.problems() == []
    page.close()


def test_huge_graph_input_is_exit_2(wd_bin, tmp_path):
    m = model()
    m.graph.input[0].doc_string = "x" * (2 << 20)  # a 2 MiB ValueInfoProto
    onnx.save(m, str(tmp_path / "huge.onnx"))
    proc = run_wd(wd_bin, tmp_path / "huge.onnx", tmp_path / "huge.onnx", "--json", tmp_path / "r.json")
    assert_clean_failure(proc, "huge.onnx", tmp_path / "r.json")
    assert "at most 1 MiB" in proc.stderr
