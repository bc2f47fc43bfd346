// `inspect` reports (SPEC §5): the per-tensor fields, JSON and CSV.
//
// Conventions are the diff reports': finite doubles shortest round-trip,
// non-finite ones "nan"/"inf"/"-inf" (strings in JSON), null for undefined
// (an empty CSV cell); CSV records end in CRLF (RFC 4180), a scalar's shape
// is an empty cell.
#include <nlohmann/json.hpp>

#include "report/number_text.hpp"
#include "weightdiff/inspect_report.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff {
namespace {

using Json = nlohmann::ordered_json;

FieldValue opt(const std::optional<double>& v) {
  return v ? FieldValue(*v) : FieldValue(std::monostate{});
}

Json json_number(double v) {
  if (const auto word = report::non_finite_name(v)) return std::string(*word);
  return v;  // nlohmann writes the shortest text that parses back to v
}

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

Json value_hist(const ValueHistogram& h, const HistRange& r) {
  return Json{{"lo", r.lo}, {"hi", r.hi},   {"zero", h.zero}, {"under", h.under},
              {"over", h.over}, {"pos", h.pos}, {"neg", h.neg}};
}

Json model_json(const Model& m) {
  Json meta = Json::object();
  for (const auto& [k, v] : m.metadata) meta[k] = v;
  return Json{{"path", m.path}, {"format", m.format}, {"tensors", m.tensors.size()},
              {"bytes", m.bytes}, {"metadata", meta}};
}

Json summary_json(const InspectSummary& s) {
  const auto opt_number = [](const std::optional<double>& v) {
    return v ? json_number(*v) : Json(nullptr);
  };
  return Json{{"tensors", s.tensors},
              {"inspected", s.inspected},
              {"unsupported_dtype", s.unsupported_dtype},
              {"elements", s.elements},
              {"bytes", s.bytes},
              {"nan", s.nan},
              {"inf", s.inf},
              {"n_finite", s.n_finite},
              {"tensors_with_nan", s.tensors_with_nan},
              {"tensors_with_inf", s.tensors_with_inf},
              {"min", opt_number(s.min)},
              {"max", opt_number(s.max)},
              {"seconds", json_number(s.seconds)},
              {"bytes_read", s.bytes_read}};
}

// Paths and names need not be UTF-8; replace what is not rather than fail.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// RFC 4180: a cell holding a comma, a quote or a line break is quoted, with
// its quotes doubled.
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}

std::string csv_value(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return "";
        else if constexpr (std::is_same_v<T, uint64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) return report::number_text(x);
        else if constexpr (std::is_same_v<T, std::string>) return csv_cell(x);
        else return shape_string(x);
      },
      v);
}

}  // namespace

std::vector<Field> inspect_tensor_fields(const InspectTensor& t) {
  std::vector<Field> f{
      {"name", t.name},
      {"status", std::string(inspect_status(t))},
      {"dtype", t.dtype},
      {"shape", t.shape},
      {"numel", t.numel},
      {"bytes", t.bytes},
  };
  if (!t.stats) return f;
  const ValueStats& s = *t.stats;
  f.insert(f.end(), {{"nan", s.nan},
                     {"inf", s.inf},
                     {"n_finite", s.n_finite},
                     {"min", opt(s.min)},
                     {"max", opt(s.max)},
                     {"mean", opt(s.mean)},
                     {"std", opt(s.std)}});
  return f;
}

void write_inspect_json(std::ostream& out, const InspectReportContext& ctx) {
  const InspectResult& r = *ctx.result;
  const InspectOptions& o = *ctx.options;
  Json j;
  j["schema_version"] = 1;
  j["tool"] = "weightdiff";
  j["version"] = kVersion;
  j["command"] = "inspect";  // an extra field: tells this report from a diff's
  j["a"] = model_json(*ctx.model);
  j["backend"] = Json{{"name", r.backend}, {"devices", r.devices}, {"threads", r.threads}};
  j["options"] = Json{{"include", o.include}, {"exclude", o.exclude},
                      {"hist_range", {o.hist.lo, o.hist.hi}}};
  j["summary"] = summary_json(r.summary);

  // One line per top-level key and per tensor, like the diff report.
  out << "{\n";
  for (auto it = j.begin(); it != j.end(); ++it)
    out << Json(it.key()).dump() << ": " << dump(it.value()) << ",\n";
  out << "\"tensors\": [";
  bool first = true;
  for (const auto& t : r.tensors) {
    Json row;
    for (const auto& f : inspect_tensor_fields(t)) row[f.name] = json_value(f.value);
    if (t.stats) row["hist"] = value_hist(t.stats->hist, o.hist);
    out << (first ? "\n" : ",\n") << dump(row);
    first = false;
  }
  out << "\n]}\n";
}

void write_inspect_csv(std::ostream& out, const InspectReportContext& ctx) {
  // The header is the full field list (that of a tensor with stats);
  // unsupported tensors leave the stats cells empty.
  InspectTensor full;
  full.stats.emplace();
  const std::vector<Field> header = inspect_tensor_fields(full);
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i].name;
  out << "\r\n";
  for (const auto& t : ctx.result->tensors) {
    const std::vector<Field> row = inspect_tensor_fields(t);
    for (size_t i = 0; i < header.size(); ++i)
      out << (i ? "," : "") << (i < row.size() ? csv_value(row[i].value) : std::string());
    out << "\r\n";
  }
}

}  // namespace weightdiff
