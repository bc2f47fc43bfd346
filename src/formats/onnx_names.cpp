#include "formats/onnx_names.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <unordered_map>

namespace weightdiff::formats {
namespace {

// When a consumer's input says which parameter it is.
enum class Needs : uint8_t {
  nothing,
  // Add: the other input is the output of a MatMul of the same module (the
  // bias of a Linear exported as MatMul + Add).
  matmul_in_module,
};

// Which parameter a node's input is, by op type and input slot. Data, not
// code per model: a new exporter pattern is a new row.
struct Pattern {
  std::string_view op;
  int slot;  // -1: any input (commutative ops)
  std::string_view suffix;
  size_t min_rank, max_rank;
  uint64_t min_numel;
  Needs needs;
  bool transposed = false;  // the input holds the parameter transposed
};

constexpr size_t kAnyRank = 8;
constexpr std::array<Pattern, 17> kPatterns{{
    {"MatMul", 1, "weight", 2, 2, 1, Needs::nothing, true},  // Linear's Wᵀ
    {"Gemm", 1, "weight", 2, 2, 1, Needs::nothing},
    {"Gemm", 2, "bias", 1, 1, 1, Needs::nothing},
    {"Add", -1, "bias", 1, 1, 1, Needs::matmul_in_module},
    {"Conv", 1, "weight", 3, kAnyRank, 1, Needs::nothing},
    {"Conv", 2, "bias", 1, 1, 1, Needs::nothing},
    {"ConvTranspose", 1, "weight", 3, kAnyRank, 1, Needs::nothing},
    {"ConvTranspose", 2, "bias", 1, 1, 1, Needs::nothing},
    {"LayerNormalization", 1, "weight", 1, kAnyRank, 1, Needs::nothing},
    {"LayerNormalization", 2, "bias", 1, kAnyRank, 1, Needs::nothing},
    {"SimplifiedLayerNormalization", 1, "weight", 1, kAnyRank, 1, Needs::nothing},
    {"Gather", 0, "weight", 2, 2, 1, Needs::nothing},  // an embedding table
    // RMSNorm as exported op by op: weight * normalized. A 1-D vector of
    // more than one element: scalar scales (attention's 1/sqrt(d)) are not.
    {"Mul", -1, "weight", 1, 1, 2, Needs::nothing},
    {"BatchNormalization", 1, "weight", 1, 1, 1, Needs::nothing},
    {"BatchNormalization", 2, "bias", 1, 1, 1, Needs::nothing},
    {"BatchNormalization", 3, "running_mean", 1, 1, 1, Needs::nothing},
    {"BatchNormalization", 4, "running_var", 1, 1, 1, Needs::nothing},
}};

bool is_op_suffix(std::string_view last, std::string_view op) {
  if (op.empty() || !last.starts_with(op)) return false;
  std::string_view rest = last.substr(op.size());
  if (rest.empty()) return true;
  if (rest.front() != '_' || rest.size() == 1) return false;
  rest.remove_prefix(1);
  return std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The derived name each consumer proposes, and whether they disagree.
struct Opinion {
  std::string name;
  bool conflict = false;
  bool transposed = false;
};

}  // namespace

std::string module_path_of(std::string_view n, std::string_view op_type) {
  if (n.find('/') != std::string_view::npos) {
    if (n.front() == '/') n.remove_prefix(1);
    const size_t last = n.rfind('/');
    if (last == std::string_view::npos || last == 0) return {};
    std::string out;
    for (const char c : n.substr(0, last)) out.push_back(c == '/' ? '.' : c);
    // An empty component (`a//b`) is no module path.
    if (out.front() == '.' || out.back() == '.' || out.find("..") != std::string::npos) return {};
    return out;
  }
  const size_t dot = n.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || !is_op_suffix(n.substr(dot + 1), op_type)) return {};
  const std::string_view path = n.substr(0, dot);
  if (path.back() == '.' || path.find("..") != std::string_view::npos) return {};
  return std::string(path);
}

bool looks_like_parameter(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string_view last = std::string_view(name).substr(dot + 1);
  return last == "weight" || last == "bias" || last == "running_mean" || last == "running_var";
}

std::vector<std::string> derive_onnx_names(const std::vector<OnnxNamedTensor>& tensors,
                                           const std::vector<OnnxNodeUse>& nodes,
                                           std::vector<bool>* transposed) {
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < tensors.size(); ++i) index.emplace(tensors[i].name, i);
  std::unordered_map<std::string_view, size_t> producer;  // first output -> node
  std::vector<std::string> modules(nodes.size());
  for (size_t k = 0; k < nodes.size(); ++k) {
    modules[k] = module_path_of(nodes[k].name, nodes[k].op_type);
    if (!nodes[k].output.empty()) producer.emplace(nodes[k].output, k);
  }
  const auto needs_met = [&](const Pattern& p, size_t k, size_t slot) {
    if (p.needs == Needs::nothing) return true;
    const auto& in = nodes[k].inputs;
    if (nodes[k].n_inputs != 2) return false;
    const auto it = producer.find(in[1 - slot]);
    return it != producer.end() && nodes[it->second].op_type == "MatMul" &&
           modules[it->second] == modules[k];
  };

  std::vector<Opinion> opinions(tensors.size());
  for (size_t k = 0; k < nodes.size(); ++k) {
    if (modules[k].empty()) continue;
    const auto& in = nodes[k].inputs;
    for (size_t slot = 0; slot < nodes[k].n_inputs; ++slot) {
      const auto it = index.find(in[slot]);
      if (it == index.end()) continue;
      const OnnxNamedTensor& t = tensors[it->second];
      for (const Pattern& p : kPatterns) {
        if (p.op != nodes[k].op_type || (p.slot >= 0 && static_cast<size_t>(p.slot) != slot)) continue;
        if (t.rank < p.min_rank || t.rank > p.max_rank || t.numel < p.min_numel) continue;
        if (!needs_met(p, k, slot)) continue;
        std::string name = modules[k];
        name += '.';
        name += p.suffix;
        Opinion& o = opinions[it->second];
        if (o.name.empty()) o.name = std::move(name), o.transposed = p.transposed;
        else if (o.name != name || o.transposed != p.transposed) o.conflict = true;
        break;  // one opinion per input
      }
    }
  }

  std::vector<std::string> out(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Opinion& o = opinions[i];
    if (o.name.empty() || o.conflict || o.name == tensors[i].name || looks_like_parameter(tensors[i].name))
      continue;
    out[i] = o.name;
  }
  // A derived name that a tensor already has, or that two tensors derive,
  // is refused for all of them: which one "wins" would depend on order.
  std::unordered_map<std::string_view, size_t> uses;
  for (const auto& t : tensors) ++uses[t.name];
  for (const auto& d : out)
    if (!d.empty()) ++uses[d];
  std::vector<std::string> kept(tensors.size());
  for (size_t i = 0; i < out.size(); ++i)
    if (!out[i].empty() && uses[out[i]] == 1) kept[i] = out[i];
  if (transposed) {
    transposed->assign(tensors.size(), false);
    for (size_t i = 0; i < kept.size(); ++i) (*transposed)[i] = !kept[i].empty() && opinions[i].transposed;
  }
  return kept;
}

}  // namespace weightdiff::formats
