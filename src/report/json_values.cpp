#include "report/json_values.hpp"

#include "report/number_text.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff::report {

Json json_number(double v) {
  if (const auto word = non_finite_name(v)) return std::string(*word);
  return v;
}

Json json_number(const std::optional<double>& v) { return v ? json_number(*v) : Json(nullptr); }

Json json_value(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> Json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return nullptr;
        else if constexpr (std::is_same_v<T, double>) return json_number(x);
        else return x;
      },
      v);
}

Json model_json(const Model& m) {
  Json meta = Json::object();
  for (const auto& [k, v] : m.metadata) meta[k] = v;
  return Json{{"path", m.path}, {"format", m.format}, {"tensors", m.tensors.size()},
              {"bytes", m.bytes}, {"metadata", meta}};
}

Json value_hist_json(const ValueHistogram& h, const HistRange& r) {
  return Json{{"lo", r.lo},     {"hi", r.hi},   {"zero", h.zero}, {"under", h.under},
              {"over", h.over}, {"pos", h.pos.to_vector()}, {"neg", h.neg.to_vector()}};
}

Json quant_groups_json(const std::vector<QuantGroup>& groups) {
  Json out = Json::array();
  for (const QuantGroup& g : groups) {
    out.push_back(Json{{"quant_a", g.quant_a},
                       {"quant_b", g.quant_b},
                       {"tensors", g.tensors},
                       {"elements", g.elements},
                       {"rel_l2", json_number(g.rel_l2)},
                       {"snr_db", json_number(g.snr_db)},
                       {"rel_l2_median", json_number(g.rel_l2_median)},
                       {"rel_l2_max", json_number(g.rel_l2_max)},
                       {"snr_db_median", json_number(g.snr_db_median)},
                       {"snr_db_min", json_number(g.snr_db_min)},
                       {"max_abs_median", json_number(g.max_abs_median)},
                       {"max_abs_max", json_number(g.max_abs_max)},
                       {"worst", g.worst}});
  }
  return out;
}

Json graph_json(const GraphDiff& g) {
  Json ops = Json::array();
  for (const auto& c : g.op_counts) ops.push_back(Json{{"op", c.op}, {"a", c.a}, {"b", c.b}});
  Json changed = Json::array();
  for (const auto& c : g.nodes_changed) changed.push_back(Json{{"node", c.node}, {"changes", c.changes}});
  const auto values = [](const std::vector<ValueChange>& v) {
    Json out = Json::array();
    for (const auto& c : v) out.push_back(Json{{"name", c.name}, {"a", c.a}, {"b", c.b}});
    return out;
  };
  Json opsets = Json::array();
  const auto version = [](int64_t v) { return v ? Json(v) : Json(nullptr); };
  for (const auto& o : g.opsets) opsets.push_back(Json{{"domain", o.domain}, {"a", version(o.a)}, {"b", version(o.b)}});
  return Json{{"ir_version", {{"a", g.ir_version_a}, {"b", g.ir_version_b}}},
              {"opsets", opsets},
              {"nodes_a", g.nodes_a},         {"nodes_b", g.nodes_b},
              {"too_large", g.too_large},     {"differs", g.differs()},
              {"op_counts", ops},             {"added", g.added},
              {"removed", g.removed},         {"changed", g.changed},
              {"nodes_added", g.nodes_added}, {"nodes_removed", g.nodes_removed},
              {"nodes_changed", changed},     {"inputs", values(g.inputs)},
              {"outputs", values(g.outputs)}};
}

std::string json_dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json report_head(const char* command, const Model& a, const Model* b, const std::string& backend,
                 const std::vector<std::string>& devices, unsigned threads) {
  Json j;
  j["schema_version"] = 1;
  j["tool"] = "weightdiff";
  j["version"] = kVersion;
  if (command) j["command"] = command;
  j["a"] = model_json(a);
  if (b) j["b"] = model_json(*b);
  j["backend"] = Json{{"name", backend}, {"devices", devices}, {"threads", threads}};
  return j;
}

}  // namespace weightdiff::report
