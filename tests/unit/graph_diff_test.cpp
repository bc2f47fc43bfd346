// diff_graphs (issue 15 item 5) on hand-built summaries: how nodes are
// keyed (unique names, else op and first output), what counts as a change,
// opsets and IR version, and a summary too large to compare.
#include <gtest/gtest.h>

#include "weightdiff/graph_diff.hpp"

namespace weightdiff {
namespace {

GraphNode node(std::string name, std::string op, std::vector<std::string> in, std::vector<std::string> out,
               std::vector<std::pair<std::string, uint64_t>> attrs = {}) {
  return GraphNode{std::move(name), std::move(op), std::move(in), std::move(out), std::move(attrs)};
}

GraphSummary graph(std::vector<GraphNode> nodes) {
  GraphSummary g;
  g.ir_version = 8;
  g.opsets = {{"ai.onnx", 17}};
  g.nodes = std::move(nodes);
  g.inputs = {{"x", "f32[1,4]"}};
  g.outputs = {{"y", "f32[1,3]"}};
  return g;
}

TEST(GraphDiff, IdenticalGraphsDoNotDiffer) {
  const auto g = graph({node("/a", "MatMul", {"x", "W"}, {"h"}), node("", "Relu", {"h"}, {"y"})});
  const GraphDiff d = diff_graphs(g, g);
  EXPECT_FALSE(d.differs());
  EXPECT_EQ(d.nodes_a, 2u);
  EXPECT_EQ(d.added + d.removed + d.changed, 0u);
  ASSERT_EQ(d.op_counts.size(), 2u);
  EXPECT_EQ(d.op_counts[0].op, "MatMul");  // by op
}

TEST(GraphDiff, DuplicateNamesFallBackToOpAndOutput) {
  // Two nodes named "n": neither name is a key; both pair by op(output).
  const auto a = graph({node("n", "Relu", {"x"}, {"p"}), node("n", "Relu", {"p"}, {"q"})});
  auto b = a;
  b.nodes[1].inputs = {"x"};
  const GraphDiff d = diff_graphs(a, b);
  EXPECT_TRUE(d.differs());
  ASSERT_EQ(d.nodes_changed.size(), 1u);
  EXPECT_EQ(d.nodes_changed[0].node, "Relu(q)");
  EXPECT_EQ(d.nodes_changed[0].changes, (std::vector<std::string>{"inputs"}));
}

TEST(GraphDiff, AttributeChangesAreNamed) {
  const auto a = graph({node("/g", "Gemm", {"x", "W"}, {"y"}, {{"alpha", 1}, {"transB", 2}})});
  auto b = a;
  b.nodes[0].attributes = {{"beta", 3}, {"transB", 9}};
  b.nodes[0].op_type = "MatMul";
  const GraphDiff d = diff_graphs(a, b);
  ASSERT_EQ(d.nodes_changed.size(), 1u);
  EXPECT_EQ(d.nodes_changed[0].changes,
            (std::vector<std::string>{"op_type Gemm -> MatMul", "attribute removed alpha", "attribute added beta",
                                      "attribute transB"}));
}

TEST(GraphDiff, OpsetsIrVersionAndValues) {
  const auto a = graph({});
  auto b = a;
  b.ir_version = 9;
  b.opsets = {{"ai.onnx", 18}, {"com.microsoft", 1}};
  b.inputs = {{"x", "f32[batch,4]"}};
  b.outputs = {};
  const GraphDiff d = diff_graphs(a, b);
  EXPECT_TRUE(d.differs());
  EXPECT_EQ(d.ir_version_b, 9);
  ASSERT_EQ(d.opsets.size(), 2u);
  EXPECT_EQ(d.opsets[1].domain, "com.microsoft");
  EXPECT_EQ(d.opsets[1].a, 0);
  ASSERT_EQ(d.inputs.size(), 1u);
  EXPECT_EQ(d.inputs[0].b, "f32[batch,4]");
  ASSERT_EQ(d.outputs.size(), 1u);
  EXPECT_EQ(d.outputs[0].b, "(absent)");
  // Only the IR version: still a difference.
  auto c = a;
  c.ir_version = 7;
  EXPECT_TRUE(diff_graphs(a, c).differs());
}

TEST(GraphDiff, TooLargeComparesNoNode) {
  auto a = graph({node("/a", "Relu", {"x"}, {"y"})});
  auto b = graph({});
  b.truncated = true;
  const GraphDiff d = diff_graphs(a, b);
  EXPECT_TRUE(d.too_large);
  EXPECT_TRUE(d.differs());  // one side kept its nodes, the other could not: not the same graph
  EXPECT_TRUE(d.op_counts.empty());
  a.truncated = true;
  a.nodes.clear();
  EXPECT_FALSE(diff_graphs(a, b).differs());  // both too large: only inputs, outputs, opsets compared, equal
  b.inputs = {{"x", "f16[1,4]"}};
  EXPECT_TRUE(diff_graphs(a, b).differs());
}

TEST(GraphDiff, FallbackKeysNeverCollide) {
  // "Relu(x)#2" is a node's own name; the two unnamed Relus writing x need
  // fallback keys that stay distinct from it: no node may be dropped.
  const auto a = graph({node("Relu(x)#2", "Relu", {"p"}, {"q"}), node("", "Relu", {"x"}, {"x"}),
                        node("", "Relu", {"x"}, {"x"})});
  auto b = a;
  b.nodes[2].inputs = {"q"};
  const GraphDiff d = diff_graphs(a, b);
  EXPECT_EQ(d.changed, 1u);
  EXPECT_EQ(d.added + d.removed, 0u);
}

TEST(GraphDiff, ListsAreBoundedCountsExact) {
  std::vector<GraphNode> many;
  for (int i = 0; i < 1500; ++i) {
    std::string name = "n", out = "o";  // += only: GCC 12's -Wrestrict misfires on "n" + s
    name += std::to_string(i);
    out += std::to_string(i);
    many.push_back(node(name, "Relu", {"x"}, {out}));
  }
  const GraphDiff d = diff_graphs(graph({}), graph(many));
  EXPECT_EQ(d.added, 1500u);
  EXPECT_EQ(d.nodes_added.size(), kMaxListed);
}

}  // namespace
}  // namespace weightdiff
