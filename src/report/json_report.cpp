// JSON report (SPEC §5), via nlohmann::ordered_json: field order as the spec,
// doubles written shortest-round-trip, non-finite numbers as strings.
// Extra fields: options.structure_only, and metadata_diffs (after summary).
#include <nlohmann/json.hpp>

#include "report/number_text.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff {
namespace {

using Json = nlohmann::ordered_json;

Json number(double v) {
  if (const auto word = report::non_finite_name(v)) return std::string(*word);
  return v;
}

Json value(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> Json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return nullptr;
        else if constexpr (std::is_same_v<T, double>) return number(x);
        else return x;
      },
      v);
}

Json hist_range_json(const HistRange& r, Json h) {
  Json out{{"lo", r.lo}, {"hi", r.hi}};
  out.update(h);
  return out;
}

Json abs_hist(const AbsHistogram& h, const HistRange& r) {
  return hist_range_json(r, Json{{"zero", h.zero}, {"under", h.under}, {"counts", h.counts},
                                 {"over", h.over}});
}

Json value_hist(const ValueHistogram& h, const HistRange& r) {
  return hist_range_json(r, Json{{"zero", h.zero}, {"under", h.under}, {"over", h.over},
                                 {"pos", h.pos}, {"neg", h.neg}});
}

Json model_json(const Model& m) {
  Json meta = Json::object();
  for (const auto& [k, v] : m.metadata) meta[k] = v;
  return Json{{"path", m.path}, {"format", m.format}, {"tensors", m.tensors.size()},
              {"bytes", m.bytes}, {"metadata", meta}};
}

// Paths need not be UTF-8; replace what is not rather than fail the report.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json optional_number(const std::optional<double>& v) { return v ? number(*v) : Json(nullptr); }
Json optional_string(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }

}  // namespace

void write_json(std::ostream& out, const ReportContext& ctx) {
  const DiffResult& r = *ctx.result;
  const DiffOptions& o = *ctx.options;
  Json j;
  j["schema_version"] = 1;
  j["tool"] = "weightdiff";
  j["version"] = kVersion;
  j["a"] = model_json(*ctx.a);
  j["b"] = model_json(*ctx.b);
  j["backend"] = Json{{"name", r.backend}, {"devices", r.devices}, {"threads", r.threads}};
  Json map = Json::array();
  for (const auto& m : o.map) map.push_back(m.pattern + "=" + m.replacement);
  j["options"] = Json{{"atol", optional_number(o.atol)},
                      {"rtol", optional_number(o.rtol)},
                      {"map", map},
                      {"include", o.include},
                      {"exclude", o.exclude},
                      {"fail_if", ctx.fail_if},
                      {"hist_range", {o.hist.lo, o.hist.hi}},
                      {"structure_only", o.structure_only}};
  const Summary& s = r.summary;
  Json summary;
  for (const auto& f : summary_numeric_fields(s)) {
    const std::string name = f.name;
    if (name == "seconds") summary["failed"] = s.failed;
    summary[name] = value(f.value);
    if (name == "max_abs")
      summary["max_abs_tensor"] = s.max_abs ? Json(s.max_abs_tensor) : Json(nullptr);
  }
  j["summary"] = std::move(summary);
  Json meta = Json::array();
  for (const auto& m : r.metadata_diffs)
    meta.push_back(Json{{"key", m.key}, {"a", optional_string(m.a)}, {"b", optional_string(m.b)}});
  j["metadata_diffs"] = std::move(meta);

  // One line per top-level key and per tensor: diffable, greppable, and
  // small for models with many tensors.
  out << "{\n";
  for (auto it = j.begin(); it != j.end(); ++it)
    out << Json(it.key()).dump() << ": " << dump(it.value()) << ",\n";
  out << "\"tensors\": [";
  bool first = true;
  for (const auto& t : r.tensors) {
    Json row;
    for (const auto& f : tensor_fields(t)) row[f.name] = value(f.value);
    if (t.stats) {
      row["hist_abs_diff"] = abs_hist(t.stats->hist_abs_diff, o.hist);
      row["hist_a"] = value_hist(t.stats->hist_a, o.hist);
      row["hist_b"] = value_hist(t.stats->hist_b, o.hist);
      row["failed"] = t.failed;
    }
    out << (first ? "\n" : ",\n") << dump(row);
    first = false;
  }
  out << "\n]}\n";
}

}  // namespace weightdiff
