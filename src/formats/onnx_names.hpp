// Derived names for ONNX initializers that exporters renamed: the parameter
// name an initializer had in the source checkpoint, recovered from the node
// that consumes it (`onnx::MatMul_123` read by `/model/layers.0/self_attn/
// q_proj/MatMul` at input 1 was `model.layers.0.self_attn.q_proj.weight`).
// Pure: tensor and node descriptions in, one name (or "") per tensor out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace weightdiff::formats {

// A node of the main graph, as far as naming needs it: views of the model
// file (kept small: a hostile graph may hold millions of nodes).
struct OnnxNodeUse {
  std::string_view name, op_type;  // op_type: "" for a domain the table does not know
  static constexpr size_t kMaxInputs = 5;  // the table's slots are 0..4
  std::array<std::string_view, kMaxInputs> inputs{};  // "" for an omitted input
  size_t n_inputs = 0;              // min(the node's inputs, kMaxInputs)
  std::string_view output;          // the first output
};

// A tensor of the model (initializer or Constant output), by its final name.
struct OnnxNamedTensor {
  std::string name;
  size_t rank = 0;
  uint64_t numel = 0;
};

// `model.layers.0.self_attn.q_proj` from `/model/layers.0/self_attn/q_proj/
// MatMul` (a '/' path: its last component is the node's own name) or from
// `model.layers.0.self_attn.q_proj.MatMul_1` (dotted, last component the op
// type, maybe numbered); "" when the name holds no module path.
std::string module_path_of(std::string_view node_name, std::string_view op_type);

// True when a name already reads as a parameter (`*.weight`, `*.bias`, ...):
// such names are never replaced.
bool looks_like_parameter(const std::string& name);

// One derived name per entry of `tensors` ("" where none): from the
// consumers in `nodes` by the table in onnx_names.cpp. Refused (left "")
// for a parameter-like name, consumers that disagree, or a derived name
// that another tensor holds or derives too. Order-independent.
// `transposed` (when given) receives, per tensor, whether its derived name
// is a parameter it holds transposed (a MatMul's right input: a Linear's Wᵀ).
std::vector<std::string> derive_onnx_names(const std::vector<OnnxNamedTensor>& tensors,
                                           const std::vector<OnnxNodeUse>& nodes,
                                           std::vector<bool>* transposed = nullptr);

}  // namespace weightdiff::formats
