// JSON report (SPEC §5), via nlohmann::ordered_json: field order as the spec,
// doubles written shortest-round-trip, non-finite numbers as strings.
// Extra fields: options.structure_only, and metadata_diffs (after summary).
#include "report/json_values.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {
namespace {

using report::Json;
using report::json_dump;
using report::json_number;
using report::json_value;
using report::model_json;

Json abs_hist(const AbsHistogram& h, const HistRange& r) {
  return Json{{"lo", r.lo},       {"hi", r.hi},          {"zero", h.zero},
              {"under", h.under}, {"counts", h.counts}, {"over", h.over}};
}

Json optional_string(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }

}  // namespace

void write_json(std::ostream& out, const ReportContext& ctx) {
  const DiffResult& r = *ctx.result;
  const DiffSettings& o = r.settings;
  Json j = report::report_head(nullptr, *ctx.a, ctx.b, r.backend, r.devices, r.threads);
  Json map = Json::array();
  for (const auto& m : o.map) map.push_back(m.pattern + "=" + m.replacement);
  j["options"] = Json{{"atol", json_number(o.atol)},
                      {"rtol", json_number(o.rtol)},
                      {"map", map},
                      {"include", o.include},
                      {"exclude", o.exclude},
                      {"fail_if", o.fail_if},
                      {"hist_range", {o.hist.lo, o.hist.hi}},
                      {"structure_only", o.structure_only},
                      {"exact", o.exact},
                      {"transpose", transpose_mode_name(o.transpose)},
                      {"map_preset", o.map_preset.empty() ? Json(nullptr) : Json(o.map_preset)}};
  const Summary& s = r.summary;
  Json summary;
  for (const auto& f : summary_numeric_fields(s)) {
    const std::string name = f.name;
    if (name == "seconds") summary["failed"] = s.failed;
    summary[name] = json_value(f.value);
    if (name == "max_abs")
      summary["max_abs_tensor"] = s.max_abs ? Json(s.max_abs_tensor) : Json(nullptr);
  }
  j["summary"] = std::move(summary);
  Json meta = Json::array();
  for (const auto& m : r.metadata_diffs)
    meta.push_back(Json{{"key", m.key}, {"a", optional_string(m.a)}, {"b", optional_string(m.b)}});
  j["metadata_diffs"] = std::move(meta);
  if (!r.suggested_map.empty()) {  // only when there is one: other reports stay as they were
    Json rules = Json::array();
    for (const auto& m : r.suggested_map) {
      std::string rule = m.pattern;
      rule += '=';
      rule += m.replacement;
      rules.push_back(std::move(rule));
    }
    j["suggested_map"] = std::move(rules);
  }

  // One line per top-level key and per tensor: diffable, greppable, and
  // small for models with many tensors.
  out << "{\n";
  for (auto it = j.begin(); it != j.end(); ++it)
    out << Json(it.key()).dump() << ": " << json_dump(it.value()) << ",\n";
  out << "\"tensors\": [";
  bool first = true;
  for (const auto& t : r.tensors) {
    Json row;
    for (const auto& f : tensor_fields(t)) row[f.name] = json_value(f.value);
    if (t.stats) {
      row["hist_abs_diff"] = abs_hist(t.stats->hist_abs_diff, o.hist);
      row["hist_a"] = report::value_hist_json(t.stats->hist_a, o.hist);
      row["hist_b"] = report::value_hist_json(t.stats->hist_b, o.hist);
      row["failed"] = t.failed;
    }
    out << (first ? "\n" : ",\n") << json_dump(row);
    first = false;
  }
  out << "\n]}\n";
}

}  // namespace weightdiff
