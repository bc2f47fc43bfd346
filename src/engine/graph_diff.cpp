#include "weightdiff/graph_diff.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace weightdiff {
namespace {

// Each node's key: its name where set and unique in the graph, else its op
// and first output (unique in a valid graph: outputs are assigned once).
std::map<std::string, const GraphNode*> keyed(const GraphSummary& g) {
  std::unordered_map<std::string, size_t> names;
  for (const auto& n : g.nodes)
    if (!n.name.empty()) ++names[n.name];
  std::map<std::string, const GraphNode*> out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const GraphNode& n = g.nodes[i];
    std::string key;
    if (!n.name.empty() && names[n.name] == 1) {
      key = n.name;
    } else {
      key = n.op_type;
      key += '(';
      key += n.outputs.empty() ? std::string() : n.outputs.front();
      key += ')';
    }
    for (size_t k = i; out.count(key); k += g.nodes.size()) {  // malformed graphs only: keep every node
      key += '#';
      key += std::to_string(k);
    }
    out.emplace(std::move(key), &n);
  }
  return out;
}

std::vector<std::string> changes_of(const GraphNode& a, const GraphNode& b) {
  std::vector<std::string> out;
  if (a.op_type != b.op_type) {
    std::string c = "op_type ";
    c += a.op_type;
    c += " -> ";
    c += b.op_type;
    out.push_back(std::move(c));
  }
  if (a.inputs != b.inputs) out.emplace_back("inputs");
  if (a.outputs != b.outputs) out.emplace_back("outputs");
  // Attributes are sorted by name (the loader's order).
  std::map<std::string, std::pair<const uint64_t*, const uint64_t*>> attrs;
  for (const auto& [name, h] : a.attributes) attrs[name].first = &h;
  for (const auto& [name, h] : b.attributes) attrs[name].second = &h;
  for (const auto& [name, sides] : attrs) {
    const auto [x, y] = sides;
    if (x && y && *x == *y) continue;
    std::string c = !x ? "attribute added " : !y ? "attribute removed " : "attribute ";
    c += name;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<ValueChange> values_diff(const std::vector<GraphValue>& a, const std::vector<GraphValue>& b) {
  std::map<std::string, std::pair<std::string, std::string>> by_name;
  const std::string absent = "(absent)";
  for (const auto& v : a) by_name[v.name] = {v.type, absent};
  for (const auto& v : b) {
    auto it = by_name.find(v.name);
    if (it == by_name.end()) by_name[v.name] = {absent, v.type};
    else it->second.second = v.type;
  }
  std::vector<ValueChange> out;
  for (const auto& [name, types] : by_name)
    if (types.first != types.second) out.push_back({name, types.first, types.second});
  return out;
}

// What diff_graphs found, once every field is filled.
bool any_difference(const GraphDiff& d) {
  if (d.ir_version_a != d.ir_version_b || !d.inputs.empty() || !d.outputs.empty()) return true;
  for (const auto& o : d.opsets)
    if (o.a != o.b) return true;
  for (const auto& c : d.op_counts)
    if (c.a != c.b) return true;
  return d.added || d.removed || d.changed;
}

}  // namespace

GraphDiff diff_graphs(const GraphSummary& a, const GraphSummary& b) {
  GraphDiff d;
  d.ir_version_a = a.ir_version;
  d.ir_version_b = b.ir_version;
  std::map<std::string, OpsetChange> opsets;
  for (const auto& [domain, v] : a.opsets) opsets[domain].a = v;
  for (const auto& [domain, v] : b.opsets) opsets[domain].b = v;
  for (auto& [domain, o] : opsets) {
    o.domain = domain;
    d.opsets.push_back(o);
  }
  d.inputs = values_diff(a.inputs, b.inputs);
  d.outputs = values_diff(a.outputs, b.outputs);
  if (a.truncated || b.truncated) {
    d.too_large = true;
    d.set_differs(a.truncated != b.truncated || any_difference(d));
    return d;
  }
  d.nodes_a = a.nodes.size();
  d.nodes_b = b.nodes.size();
  std::map<std::string, OpCount> ops;
  for (const auto& n : a.nodes) ++ops[n.op_type].a;
  for (const auto& n : b.nodes) ++ops[n.op_type].b;
  for (auto& [op, c] : ops) {
    c.op = op;
    d.op_counts.push_back(c);
  }
  const auto ka = keyed(a), kb = keyed(b);
  for (const auto& [key, node] : ka) {
    const auto it = kb.find(key);
    if (it == kb.end()) {
      if (d.removed++ < kMaxListed) d.nodes_removed.push_back(key);
      continue;
    }
    auto changes = changes_of(*node, *it->second);
    if (changes.empty()) continue;
    if (d.changed++ < kMaxListed) d.nodes_changed.push_back({key, std::move(changes)});
  }
  for (const auto& [key, node] : kb)
    if (!ka.count(key) && d.added++ < kMaxListed) d.nodes_added.push_back(key);
  d.set_differs(any_difference(d));
  return d;
}

}  // namespace weightdiff
