"""ONNX exports against the Hugging Face checkpoint they came from: derived names.

The fixtures are written with the official `onnx` package and follow the
layouts and names the PyTorch exporters give a small LLM-shaped model
(embedding, one decoder layer with attention projections, an MLP, norms, a
head), against a safetensors checkpoint with the HF names and layouts:

- TorchScript-based (`torch.onnx.export(..., dynamo=False)`): nodes named by
  the module path, `/model/layers.0/self_attn/q_proj/MatMul`; a Linear on a
  3-D input becomes MatMul by a constant-folded Wᵀ named `onnx::MatMul_N`
  plus an `Add` of the bias (first input, as torch writes `bias + x@Wᵀ`);
  parameters used as they are keep their names unless deduplicated or
  folded, which gives them `onnx::<Op>_N` names too (used here for the
  LayerNorm, embedding and bias cases, so that every node pattern is seen).
- Dynamo-based (`dynamo=True`): initializers `val_N`, nodes named with the
  dotted module path and the op (`model.layers.0.mlp.up_proj.MatMul_3`); a
  2-D Linear becomes Gemm with transB=1 (HF's layout), RMSNorm is exported
  as SimplifiedLayerNormalization or op by op ending in Mul by the weight.

MatMul weights are stored as Wᵀ: they pair by name and are compared as the
checkpoint's W against the export's Wᵀ read transposed (`--transpose auto`,
the default), the square q_proj included (the MatMul consumer says so);
`--transpose never` reports them as shape mismatches (and the square one as
different) as before.
"""

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

from conftest import load_report, run_wd

H, I, V = 8, 12, 32  # hidden, intermediate, vocabulary

# (HF name, shape in the checkpoint)
PARAMS = [
    ("model.embed_tokens.weight", (V, H)),
    ("model.layers.0.input_layernorm.weight", (H,)),
    ("model.layers.0.input_layernorm.bias", (H,)),
    ("model.layers.0.self_attn.q_proj.weight", (H, H)),
    ("model.layers.0.self_attn.q_proj.bias", (H,)),
    ("model.layers.0.self_attn.k_proj.weight", (H // 2, H)),
    ("model.layers.0.self_attn.k_proj.bias", (H // 2,)),
    ("model.layers.0.mlp.up_proj.weight", (I, H)),
    ("model.layers.0.mlp.down_proj.weight", (H, I)),
    ("model.layers.0.post_attention_layernorm.weight", (H,)),
    ("model.norm.weight", (H,)),
    ("score.weight", (3, H)),
    ("score.bias", (3,)),
]

# How each parameter is consumed: (op, module path, slot, stored transposed).
USES = {
    "model.embed_tokens.weight": ("Gather", "model/embed_tokens", 0, False),
    "model.layers.0.input_layernorm.weight": ("LayerNormalization", "model/layers.0/input_layernorm", 1, False),
    "model.layers.0.input_layernorm.bias": ("LayerNormalization", "model/layers.0/input_layernorm", 2, False),
    "model.layers.0.self_attn.q_proj.weight": ("MatMul", "model/layers.0/self_attn/q_proj", 1, True),
    "model.layers.0.self_attn.q_proj.bias": ("Add", "model/layers.0/self_attn/q_proj", 0, False),
    "model.layers.0.self_attn.k_proj.weight": ("MatMul", "model/layers.0/self_attn/k_proj", 1, True),
    "model.layers.0.self_attn.k_proj.bias": ("Add", "model/layers.0/self_attn/k_proj", 0, False),
    "model.layers.0.mlp.up_proj.weight": ("MatMul", "model/layers.0/mlp/up_proj", 1, True),
    "model.layers.0.mlp.down_proj.weight": ("MatMul", "model/layers.0/mlp/down_proj", 1, True),
    "model.layers.0.post_attention_layernorm.weight":
        ("SimplifiedLayerNormalization", "model/layers.0/post_attention_layernorm", 1, False),
    "model.norm.weight": ("Mul", "model/norm", 0, False),
    "score.weight": ("Gemm", "score", 1, False),  # transB=1
    "score.bias": ("Gemm", "score", 2, False),
}
LINEAR_WEIGHTS = [n for n, (op, *_rest) in USES.items() if op == "MatMul"]


def checkpoint(seed=15):
    rng = np.random.default_rng(seed)
    return {n: (rng.standard_normal(s) * 0.5 + 0.1).astype(np.float32) for n, s in PARAMS}


def node_name(style, module, op, k):
    if style == "torchscript":
        return f"/{module}/{op}" if k == 0 else f"/{module}/{op}_{k}"
    return module.replace("/", ".") + f".{op}_{k}"


def init_name(style, op, k):
    return f"onnx::{op}_{100 + k}" if style == "torchscript" else f"val_{100 + k}"


def export(path, params, style, rename=None, keep_names=()):
    """An ONNX graph consuming every parameter the way the exporter does.

    rename: {HF name: initializer name} to force a name; keep_names: HF
    names stored under their own name (as exporters keep parameters).
    """
    rename = rename or {}
    nodes, inits = [], []
    stored_as = {}
    for k, (hf, _shape) in enumerate(PARAMS):
        op, module, slot, transposed = USES[hf]
        name = rename.get(hf) or (hf if hf in keep_names else init_name(style, op, k))
        stored_as[hf] = name
        value = params[hf].T.copy() if transposed else params[hf]
        inits.append(numpy_helper.from_array(value, name))
        inputs = [f"x{k}", f"y{k}", f"z{k}"][: max(slot + 1, 2)]
        inputs[slot] = name
        out = f"/{module}/{op}_output_0"
        if op == "Add":  # the bias after the module's MatMul: torch writes bias + x@Wᵀ
            inputs[1] = f"/{module}/MatMul_output_0"
        attrs = {"transB": 1} if op == "Gemm" else {}
        nodes.append(helper.make_node(op, inputs, [out], name=node_name(style, module, op, 0 if op != "Add" else 1),
                                      **attrs))
    graph = helper.make_graph(nodes, "export", [], [], inits)
    model = helper.make_model(graph, producer_name="pytorch", producer_version="2.5.0")
    onnx.save(model, str(path))
    return stored_as


def run_json(wd_bin, tmp_path, a, b, *extra):
    out = tmp_path / "r.json"
    proc = run_wd(wd_bin, "--backend", "cpu", "--json", out, a, b, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc, load_report(out)


def by_name(report):
    return {t["name"]: t for t in report["tensors"]}


def check_export(wd_bin, tmp_path, style):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    stored = export(tmp_path / "model.onnx", params, style)
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    tensors = by_name(report)
    s = report["summary"]
    assert s["only_in_a"] == 0 and s["only_in_b"] == 0, proc.stderr
    assert set(tensors) == set(params)
    for hf, t in tensors.items():
        assert t["name_b"] == stored[hf]
        assert t["matched_as"] == hf
        assert t["status"] == "identical", t
        if hf in LINEAR_WEIGHTS:  # Wᵀ: compared transposed, square q_proj included
            assert t["shape_b"] == list(params[hf].shape[::-1])
            assert t["transposed"] is True, t
        else:
            assert "transposed" not in t, t
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # --transpose never: the MatMul weights are shape mismatches, and the
    # square q_proj (Wᵀ has W's shape) compares different.
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx",
                            "--transpose", "never")
    assert report["options"]["transpose"] == "never"
    for hf, t in by_name(report).items():
        assert "transposed" not in t
        if hf in LINEAR_WEIGHTS:
            square = params[hf].shape[0] == params[hf].shape[1]
            assert t["status"] == ("different" if square else "shape_mismatch"), t
    assert proc.returncode == 1
    # Everything but the MatMul weights: exit 0. The filter names them by
    # the names reports show, here the checkpoint's and the matched one.
    proc = run_wd(wd_bin, "--backend", "cpu", tmp_path / "model.safetensors", tmp_path / "model.onnx",
                  "--exclude", r"_proj\.weight$", "--transpose", "never")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return params, stored


def test_torchscript_export_pairs_every_parameter(wd_bin, tmp_path):
    check_export(wd_bin, tmp_path, "torchscript")


def test_dynamo_export_pairs_every_parameter(wd_bin, tmp_path):
    check_export(wd_bin, tmp_path, "dynamo")


def test_one_changed_element_is_named(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    changed = {k: v.copy() for k, v in params.items()}
    changed["model.layers.0.input_layernorm.bias"][3] += 0.5
    stored = export(tmp_path / "model.onnx", changed, "dynamo")
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx",
                            "--exclude", r"_proj\.weight$")
    assert proc.returncode == 1
    bad = [t for t in report["tensors"] if t["status"] == "different"]
    assert [t["name"] for t in bad] == ["model.layers.0.input_layernorm.bias"]
    assert bad[0]["name_b"] == stored["model.layers.0.input_layernorm.bias"]
    assert bad[0]["matched_as"] == "model.layers.0.input_layernorm.bias"
    assert bad[0]["max_abs_index"] == [3]
    assert "model.layers.0.input_layernorm.bias" in proc.stdout
    # The CSV carries the column too, last (SPEC §5's columns keep their
    # positions), filled for the rows paired by a derived name.
    csv = tmp_path / "r.csv"
    run_wd(wd_bin, "--backend", "cpu", "--csv", csv, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["name", "name_b", "status"]
    # (then `transposed`: the MatMul weights are compared transposed)
    assert header[-3:] == ["failed", "matched_as", "transposed"]
    row = next(l for l in lines[1:] if l.startswith("model.layers.0.input_layernorm.bias,"))
    assert row.endswith(",model.layers.0.input_layernorm.bias,false")
    row = next(l for l in lines[1:] if l.startswith("model.layers.0.mlp.up_proj.weight,"))
    assert row.endswith(",model.layers.0.mlp.up_proj.weight,true")
    # And the HTML report's data (its columns come from the same schema).
    html = tmp_path / "r.html"
    run_wd(wd_bin, "--backend", "cpu", "--html", html, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    page = html.read_text()
    assert '"matched_as"' in page and "matched as: " in page


def test_onnx_as_a_keeps_its_file_names(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    stored = export(tmp_path / "model.onnx", params, "torchscript")
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.onnx", tmp_path / "model.safetensors")
    tensors = by_name(report)
    assert set(tensors) == set(stored.values())  # `name` is A's, the file's
    for hf, name in stored.items():
        assert tensors[name]["matched_as"] == hf
        assert tensors[name]["name_b"] == hf
        # A holds Wᵀ now: the checkpoint's W is read transposed, square q_proj too.
        assert tensors[name]["status"] == "identical", tensors[name]
        assert tensors[name].get("transposed", False) == (hf in LINEAR_WEIGHTS)
    assert proc.returncode == 0


def test_parameter_names_and_models_without_exporter_names_are_untouched(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    export(tmp_path / "model.onnx", params, "torchscript", keep_names=[n for n, _ in PARAMS])
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    for t in report["tensors"]:
        assert "matched_as" not in t
        assert t["name"] == t["name_b"]


def test_tied_weights_conflict_and_collisions_keep_file_names(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    export(tmp_path / "model.onnx", params, "torchscript")
    m = onnx.load(str(tmp_path / "model.onnx"))
    # The embedding also read by a head MatMul (tied weights): consumers disagree.
    emb = [n for n in m.graph.node if n.op_type == "Gather"][0].input[0]
    m.graph.node.append(helper.make_node("MatMul", ["h", emb], ["logits"], name="/lm_head/MatMul"))
    # A second initializer that would derive q_proj's weight: both refused.
    q = [n for n in m.graph.node if n.name == "/model/layers.0/self_attn/q_proj/MatMul"][0]
    dup = numpy_helper.from_array(np.full((H, H), 0.25, np.float32), "onnx::MatMul_999")
    m.graph.initializer.append(dup)
    m.graph.node.append(helper.make_node("MatMul", ["x", dup.name], ["q2"],
                                         name="/model/layers.0/self_attn/q_proj/MatMul_1"))
    onnx.save(m, str(tmp_path / "model.onnx"))
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    rows = {t.get("name_b"): t for t in report["tensors"] if t.get("name_b")}
    assert rows[emb]["status"] == "only_in_b" and "matched_as" not in rows[emb]
    assert rows[q.input[1]]["status"] == "only_in_b" and "matched_as" not in rows[q.input[1]]
    assert rows["onnx::MatMul_999"]["status"] == "only_in_b"
    assert by_name(report)["model.layers.0.mlp.up_proj.weight"]["matched_as"] == "model.layers.0.mlp.up_proj.weight"


# --------------------------------------------------------------------------
# Content-fingerprint hint: what names could not pair
# --------------------------------------------------------------------------

def unname_nodes(path, hf_names, stored):
    """Gives the consumers of these parameters dynamo's bare node names
    (`node_MatMul_7`: no module path), so no name can be derived."""
    m = onnx.load(str(path))
    targets = {stored[h] for h in hf_names}
    for k, n in enumerate(m.graph.node):
        if targets & set(n.input):
            n.name = f"node_{n.op_type}_{k}"
    onnx.save(m, str(path))


def test_fingerprint_hint_suggests_rules_for_renamed_identical_tensors(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    changed = {k: v.copy() for k, v in params.items()}
    changed["model.layers.0.post_attention_layernorm.weight"][0] += 1.0  # renamed AND changed
    exact, transposed = "model.layers.0.input_layernorm.weight", "model.layers.0.mlp.up_proj.weight"
    renamed = [exact, transposed, "model.layers.0.post_attention_layernorm.weight"]
    stored = export(tmp_path / "model.onnx", changed, "dynamo")
    unname_nodes(tmp_path / "model.onnx", renamed, stored)
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    assert report["summary"]["only_in_a"] == 3 and report["summary"]["only_in_b"] == 3
    hints = [ln for ln in proc.stderr.splitlines() if "by content" in ln]
    assert len(hints) == 1, proc.stderr
    rule_exact = f"^{stored[exact]}$={exact}"
    rule_t = f"^{stored[transposed]}$={transposed}"
    assert "2 tensors only in B equal a tensor only in A by content (1 transposed)" in hints[0]
    assert f"--map '{rule_exact}'" in hints[0] and f"--map '{rule_t}'" in hints[0]
    assert sorted(report["suggested_map"]) == sorted([rule_exact, rule_t])
    # The hint changes no status and no exit code.
    assert proc.returncode == 1
    assert all(t["status"] == "only_in_a" for t in report["tensors"] if t["name"] in renamed)
    # Its rules pair them: the exact one identical, the transposed one
    # identical compared transposed; the changed one stays unmatched.
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx",
                            "--map", rule_exact, "--map", rule_t)
    tensors = by_name(report)
    assert tensors[exact]["status"] == "identical" and tensors[exact]["name_b"] == stored[exact]
    assert tensors[transposed]["status"] == "identical" and tensors[transposed]["transposed"] is True
    assert report["summary"]["only_in_a"] == 1 and report["summary"]["only_in_b"] == 1
    assert "by content" not in proc.stderr and "suggested_map" not in report


def test_fingerprint_hint_is_silent_when_everything_pairs(wd_bin, tmp_path):
    params = checkpoint()
    save_file(params, str(tmp_path / "model.safetensors"))
    export(tmp_path / "model.onnx", params, "torchscript")
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "model.safetensors", tmp_path / "model.onnx")
    assert "hint:" not in proc.stderr and "suggested_map" not in report
    # Unmatched on one side only (a tensor B lacks): nothing to pair, silent.
    save_file({**params, "extra.weight": np.ones((2, 3), np.float32)}, str(tmp_path / "more.safetensors"))
    proc, report = run_json(wd_bin, tmp_path, tmp_path / "more.safetensors", tmp_path / "model.onnx")
    assert "by content" not in proc.stderr and "suggested_map" not in report
