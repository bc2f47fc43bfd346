// Two ONNX graphs compared statically (issue 15 item 5): IR version and
// opsets, op-type counts, nodes added, removed and changed, graph inputs
// and outputs. Informational for the exit code unless `--fail-if graph`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weightdiff/graph.hpp"

namespace weightdiff {

struct OpCount {
  std::string op;
  uint64_t a = 0, b = 0;
};

struct NodeChange {
  std::string node;                  // the node's key (below)
  std::vector<std::string> changes;  // "op_type Relu -> Gelu", "inputs", "outputs", "attribute perm"
};

// A graph input or output that is only on one side or has another type.
struct ValueChange {
  std::string name;
  std::string a, b;  // the type on each side; "(absent)" where it is missing
};

// An opset imported by either model: its version on each side, 0 = absent.
struct OpsetChange {
  std::string domain;
  int64_t a = 0, b = 0;
};

struct GraphDiff {
  int64_t ir_version_a = 0, ir_version_b = 0;
  std::vector<OpsetChange> opsets;  // every domain of either model, by domain
  bool too_large = false;  // a side kept no node summary (GraphSummary::truncated)
  uint64_t nodes_a = 0, nodes_b = 0;
  std::vector<OpCount> op_counts;  // every op type of either graph, by op
  // Nodes are paired by name where the name is set and unique in its
  // graph, else by "<op_type>(<first output>)". At most kMaxListed of each
  // list are kept; the counts are exact.
  std::vector<std::string> nodes_added, nodes_removed;
  std::vector<NodeChange> nodes_changed;
  uint64_t added = 0, removed = 0, changed = 0;
  std::vector<ValueChange> inputs, outputs;
  // Anything above differs, or exactly one side was too large (then the
  // graphs cannot be the same); both too large: only what was compared.
  bool differs() const { return differs_; }
  void set_differs(bool d) { differs_ = d; }  // diff_graphs, and merge reading a part

 private:
  bool differs_ = false;
};

inline constexpr size_t kMaxListed = 1000;

GraphDiff diff_graphs(const GraphSummary& a, const GraphSummary& b);

}  // namespace weightdiff
