// Derived names of ONNX initializers (src/formats/onnx_names): every node
// pattern of the table, each refusal, the loader filling
// TensorRef::matched_as, and match_tensors pairing by it.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "formats/onnx_names.hpp"
#include "match/match.hpp"
#include "test_files.hpp"
#include "weightdiff/diff.hpp"

namespace wdtest {
namespace {

using weightdiff::formats::derive_onnx_names;
using weightdiff::formats::looks_like_parameter;
using weightdiff::formats::module_path_of;
using weightdiff::formats::OnnxNamedTensor;
using weightdiff::formats::OnnxNodeUse;

OnnxNodeUse node(std::string_view name, std::string_view op, std::vector<std::string_view> inputs,
                 std::string_view output = {}) {
  OnnxNodeUse n;
  n.name = name;
  n.op_type = op;
  for (const auto in : inputs) n.inputs[n.n_inputs++] = in;
  n.output = output;
  return n;
}

// The one derived name of a model holding `t` and the nodes.
std::string derived(const OnnxNamedTensor& t, const std::vector<OnnxNodeUse>& nodes) {
  return derive_onnx_names({t}, nodes).at(0);
}

TEST(OnnxNames, ModulePathFromSlashAndDottedNodeNames) {
  EXPECT_EQ(module_path_of("/model/layers.0/self_attn/q_proj/MatMul", "MatMul"), "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(module_path_of("/lm_head/MatMul_1", "MatMul"), "lm_head");
  EXPECT_EQ(module_path_of("model.layers.0.mlp.up_proj.MatMul", "MatMul"), "model.layers.0.mlp.up_proj");
  EXPECT_EQ(module_path_of("model.layers.0.mlp.up_proj.MatMul_12", "MatMul"), "model.layers.0.mlp.up_proj");
  // No module path: a bare op name, an op at the root, empty components,
  // a dotted name whose last component is not the op.
  EXPECT_EQ(module_path_of("MatMul_3", "MatMul"), "");
  EXPECT_EQ(module_path_of("node_MatMul_3", "MatMul"), "");
  EXPECT_EQ(module_path_of("/MatMul", "MatMul"), "");
  EXPECT_EQ(module_path_of("/a//MatMul", "MatMul"), "");
  EXPECT_EQ(module_path_of("a.b.Gemm", "MatMul"), "");
  EXPECT_EQ(module_path_of("a.b.MatMul_x", "MatMul"), "");
}

TEST(OnnxNames, EveryPatternOfTheTable) {
  struct Case {
    const char* op;
    size_t slot, rank;
    uint64_t numel;
    const char* suffix;
  };
  const Case cases[] = {
      {"MatMul", 1, 2, 12, "weight"},
      {"Gemm", 1, 2, 12, "weight"},
      {"Gemm", 2, 1, 4, "bias"},
      {"Conv", 1, 4, 54, "weight"},
      {"Conv", 2, 1, 2, "bias"},
      {"ConvTranspose", 1, 4, 54, "weight"},
      {"ConvTranspose", 2, 1, 2, "bias"},
      {"LayerNormalization", 1, 1, 8, "weight"},
      {"LayerNormalization", 2, 1, 8, "bias"},
      {"SimplifiedLayerNormalization", 1, 1, 8, "weight"},
      {"Gather", 0, 2, 80, "weight"},
      {"Mul", 0, 1, 8, "weight"},
      {"Mul", 1, 1, 8, "weight"},
      {"BatchNormalization", 1, 1, 3, "weight"},
      {"BatchNormalization", 2, 1, 3, "bias"},
      {"BatchNormalization", 3, 1, 3, "running_mean"},
      {"BatchNormalization", 4, 1, 3, "running_var"},
  };
  for (const auto& c : cases) {
    std::vector<std::string_view> inputs(5, "x");
    inputs[c.slot] = "onnx::W_7";
    inputs.resize(std::max<size_t>(c.slot + 1, 2));
    std::string node_name = "/blocks.1/sub/";
    node_name += c.op;
    const auto got = derived({"onnx::W_7", c.rank, c.numel}, {node(node_name, c.op, inputs)});
    EXPECT_EQ(got, std::string("blocks.1.sub.") + c.suffix) << c.op << " slot " << c.slot;
  }
}

TEST(OnnxNames, SlotsAndShapesOutsideTheTableDeriveNothing) {
  EXPECT_EQ(derived({"val_1", 2, 12}, {node("/a/MatMul", "MatMul", {"val_1", "x"})}), "");  // MatMul A
  EXPECT_EQ(derived({"val_1", 1, 1}, {node("/a/Mul", "Mul", {"x", "val_1"})}), "");  // a scalar scale
  EXPECT_EQ(derived({"val_1", 0, 1}, {node("/a/Mul", "Mul", {"x", "val_1"})}), "");
  EXPECT_EQ(derived({"val_1", 1, 8}, {node("/a/Gather", "Gather", {"val_1", "ids"})}), "");  // 1-D: no embedding
  EXPECT_EQ(derived({"val_1", 2, 12}, {node("/a/Relu", "Relu", {"val_1"})}), "");
  EXPECT_EQ(derived({"val_1", 2, 12}, {node("/a/MatMul", "", {"x", "val_1"})}), "");  // another domain
  EXPECT_EQ(derived({"val_1", 2, 12}, {node("MatMul_4", "MatMul", {"x", "val_1"})}), "");  // no module
}

TEST(OnnxNames, AddIsABiasOnlyAfterAMatMulOfTheSameModule) {
  const std::vector<OnnxNodeUse> linear{
      node("/model/fc/MatMul", "MatMul", {"input", "onnx::MatMul_5"}, "/model/fc/MatMul_output_0"),
      node("/model/fc/Add", "Add", {"onnx::Add_6", "/model/fc/MatMul_output_0"}, "out")};
  const auto names = derive_onnx_names({{"onnx::MatMul_5", 2, 12}, {"onnx::Add_6", 1, 4}}, linear);
  EXPECT_EQ(names[0], "model.fc.weight");
  EXPECT_EQ(names[1], "model.fc.bias");
  // The MatMul of another module, or no MatMul at all: a residual or a
  // position add, not a bias.
  const std::vector<OnnxNodeUse> other{
      node("/model/fc/MatMul", "MatMul", {"input", "w"}, "/model/fc/MatMul_output_0"),
      node("/model/res/Add", "Add", {"/model/fc/MatMul_output_0", "onnx::Add_6"}, "out")};
  EXPECT_EQ(derive_onnx_names({{"onnx::Add_6", 1, 4}}, other)[0], "");
  EXPECT_EQ(derived({"onnx::Add_6", 1, 4}, {node("/model/fc/Add", "Add", {"x", "onnx::Add_6"})}), "");
}

// A MatMul's right input holds the Linear's weight transposed (x @ Wᵀ); a
// Gemm's holds it as it is (transB), as do every other pattern's inputs.
TEST(OnnxNames, OnlyAMatMulWeightIsMarkedStoredTransposed) {
  const std::vector<OnnxNodeUse> nodes{
      node("/model/q/MatMul", "MatMul", {"x", "onnx::MatMul_5"}, "q"),
      node("/model/k/Gemm", "Gemm", {"x", "onnx::Gemm_6", "onnx::Gemm_7"}, "k"),
      node("/model/res/MatMul", "MatMul", {"x", "model.res.weight"}, "r")};
  std::vector<bool> transposed;
  const auto names = derive_onnx_names(
      {{"onnx::MatMul_5", 2, 16}, {"onnx::Gemm_6", 2, 16}, {"onnx::Gemm_7", 1, 4}, {"model.res.weight", 2, 16}},
      nodes, &transposed);
  EXPECT_EQ(names[0], "model.q.weight");
  EXPECT_EQ(names[1], "model.k.weight");
  EXPECT_EQ(names[2], "model.k.bias");
  EXPECT_EQ(names[3], "");  // already a parameter name: kept, and not marked
  EXPECT_EQ(transposed, (std::vector<bool>{true, false, false, false}));
  // Consumers that disagree on the layout give no name, and no mark.
  const std::vector<OnnxNodeUse> both{node("/model/q/MatMul", "MatMul", {"x", "w"}, "q"),
                                      node("/model/q/Gemm", "Gemm", {"x", "w"}, "k")};
  EXPECT_EQ(derive_onnx_names({{"w", 2, 16}}, both, &transposed)[0], "");
  EXPECT_EQ(transposed, std::vector<bool>{false});
}

TEST(OnnxNames, AParameterNameIsKept) {
  EXPECT_TRUE(looks_like_parameter("model.norm.weight"));
  EXPECT_TRUE(looks_like_parameter("fc.bias"));
  EXPECT_FALSE(looks_like_parameter("onnx::MatMul_3"));
  EXPECT_FALSE(looks_like_parameter("weight"));
  // Exported under its parameter name already, though another module
  // consumes it (tied embeddings): never renamed.
  EXPECT_EQ(derived({"model.embed_tokens.weight", 2, 80},
                    {node("/lm_head/MatMul", "MatMul", {"h", "model.embed_tokens.weight"})}),
            "");
}

TEST(OnnxNames, ConsumersThatAgreeOrDisagree) {
  // One weight read twice by the same module: one name.
  EXPECT_EQ(derived({"val_9", 2, 12}, {node("/m/q/MatMul", "MatMul", {"a", "val_9"}),
                                        node("/m/q/MatMul_1", "MatMul", {"b", "val_9"}),
                                        node("/m/q/Shape", "Shape", {"val_9"})}),
            "m.q.weight");
  // Tied weights (an embedding read by Gather and by the head's MatMul):
  // no name is right, so none is given.
  EXPECT_EQ(derived({"val_9", 2, 80}, {node("/model/embed_tokens/Gather", "Gather", {"val_9", "ids"}),
                                        node("/lm_head/MatMul", "MatMul", {"h", "val_9"})}),
            "");
}

TEST(OnnxNames, CollisionsRefuseEveryoneInvolved) {
  // Two initializers that both derive `m.q.weight`: neither gets it, in
  // either order.
  const std::vector<OnnxNodeUse> nodes{node("/m/q/MatMul", "MatMul", {"a", "val_1"}),
                                       node("/m/q/MatMul_1", "MatMul", {"b", "val_2"})};
  for (const bool swapped : {false, true}) {
    std::vector<OnnxNamedTensor> t{{"val_1", 2, 12}, {"val_2", 2, 12}};
    if (swapped) std::swap(t[0], t[1]);
    const auto names = derive_onnx_names(t, nodes);
    EXPECT_EQ(names[0], "");
    EXPECT_EQ(names[1], "");
  }
  // A derived name another tensor already has.
  const auto names = derive_onnx_names({{"val_1", 2, 12}, {"m.q.weight", 2, 12}},
                                       {node("/m/q/MatMul", "MatMul", {"a", "val_1"})});
  EXPECT_EQ(names[0], "");
  EXPECT_EQ(names[1], "");
}

// --- through the loader and the matcher ---

onnx::TensorProto f32_tensor(const std::string& name, std::vector<int64_t> dims, float seed) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (auto d : dims) t.add_dims(d), n *= d;
  for (int64_t i = 0; i < n; ++i) t.add_float_data(seed + static_cast<float>(i) * 0.25f);
  return t;
}

class OnnxNamesFileTest : public FileTest {
 protected:
  static onnx::ModelProto empty_model() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    return m;
  }
  weightdiff::Model saved(const onnx::ModelProto& m, const std::string& name) {
    std::string bytes;
    EXPECT_TRUE(m.SerializeToString(&bytes));
    write_bytes(file(name), bytes);
    return weightdiff::open_model(path(name));
  }
};

TEST_F(OnnxNamesFileTest, LoaderSetsMatchedAsAndMatchingPairsByIt) {
  onnx::ModelProto m = empty_model();
  auto* g = m.mutable_graph();
  auto* mm = g->add_node();
  mm->set_name("/model/fc/MatMul");
  mm->set_op_type("MatMul");
  mm->add_input("x");
  mm->add_input("onnx::MatMul_5");
  mm->add_output("/model/fc/MatMul_output_0");
  auto* add = g->add_node();
  add->set_name("/model/fc/Add");
  add->set_op_type("Add");
  add->add_input("onnx::Add_6");  // torch puts the bias first
  add->add_input("/model/fc/MatMul_output_0");
  add->add_output("y");
  *g->add_initializer() = f32_tensor("onnx::MatMul_5", {3, 2}, 1.0f);
  *g->add_initializer() = f32_tensor("onnx::Add_6", {2}, 3.0f);
  const auto model = saved(m, "export.onnx");
  ASSERT_EQ(model.tensors.size(), 2u);
  for (const auto& t : model.tensors) {
    if (t.name == "onnx::MatMul_5") EXPECT_EQ(t.matched_as, "model.fc.weight");
    else EXPECT_EQ(t.matched_as, "model.fc.bias") << t.name;
  }

  const auto hf = model_of_names("hf", {"model.fc.bias", "model.fc.weight"});
  weightdiff::MatchOptions opt;
  auto entries = weightdiff::match::match_tensors(hf, model, opt);
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    EXPECT_TRUE(e.a && e.b) << e.name;
    EXPECT_EQ(e.matched_as, e.name);  // A's name, which B was matched as
  }
  EXPECT_EQ(entries[0].name_b, "onnx::Add_6");
  // --map applies to the derived name; a rule on the file name wins.
  opt.map = {weightdiff::parse_map_rule("^model\\.=net."), weightdiff::parse_map_rule("^onnx::Add_6$=model.fc.bias")};
  entries = weightdiff::match::match_tensors(hf, model, opt);
  size_t pairs = 0;
  for (const auto& e : entries) pairs += e.a && e.b;
  EXPECT_EQ(pairs, 1u);  // the bias, by its file name's rule; the weight became net.fc.weight
  // Filters see both names: the file's and the matched one.
  opt.map.clear();
  opt.include = {"^onnx::MatMul"};
  entries = weightdiff::match::match_tensors(hf, model, weightdiff::MatchOptions{{}, {"fc\\.weight"}, {}});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].a && entries[0].b);
  entries = weightdiff::match::match_tensors(model, model, opt);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "onnx::MatMul_5");
  EXPECT_EQ(entries[0].matched_as, "model.fc.weight");
}

TEST_F(OnnxNamesFileTest, AConstantNodesOutputIsNamedByItsConsumerToo) {
  onnx::ModelProto m = empty_model();
  auto* g = m.mutable_graph();
  auto* c = g->add_node();
  c->set_name("/model/norm/Constant");
  c->set_op_type("Constant");
  c->add_output("onnx::Mul_9");
  auto* value = c->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  *value->mutable_t() = f32_tensor("", {4}, 0.5f);
  auto* mul = g->add_node();
  mul->set_name("/model/norm/Mul_1");
  mul->set_op_type("Mul");
  mul->add_input("onnx::Mul_9");  // weight * normalized, as torch writes RMSNorm
  mul->add_input("/model/norm/Div_output_0");
  mul->add_output("y");
  const auto model = saved(m, "norm.onnx");
  ASSERT_EQ(model.tensors.size(), 1u);
  EXPECT_EQ(model.tensors[0].name, "onnx::Mul_9");
  EXPECT_EQ(model.tensors[0].matched_as, "model.norm.weight");
}

}  // namespace
}  // namespace wdtest
