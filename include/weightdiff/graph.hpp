// An ONNX model's main graph as `weightdiff A.onnx B.onnx` compares it
// (issue 15 item 5, what diffonnx shows statically): its nodes, its inputs
// and outputs with their types. Filled by the ONNX loader (Model::graph);
// weights are the tensors, not part of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weightdiff {

struct GraphNode {
  std::string name;                 // may be empty
  std::string op_type;              // "MatMul"; a non-standard domain's op as "com.microsoft.Attention"
  std::vector<std::string> inputs;  // as the node lists them ("" = an omitted optional input)
  std::vector<std::string> outputs;
  // Each attribute's name and a 64-bit hash of its serialized bytes (a
  // change of value, type or subgraph changes it).
  std::vector<std::pair<std::string, uint64_t>> attributes;
};

struct GraphValue {
  std::string name;
  std::string type;  // "f32[1,seq,384]", "i64[?]", "sequence", "" when the file gives none
};

struct GraphSummary {
  int64_t ir_version = 0;
  std::vector<std::pair<std::string, int64_t>> opsets;  // (domain, version), "ai.onnx" for ""; by domain
  std::vector<GraphNode> nodes;  // main graph, in file order
  std::vector<GraphValue> inputs, outputs;
  // More nodes than a summary keeps (a hostile graph): nodes is empty then,
  // and reports say the graph was too large to compare.
  bool truncated = false;
};

}  // namespace weightdiff
