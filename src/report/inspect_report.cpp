// `inspect` reports (SPEC §5): the per-tensor fields, JSON and CSV.
//
// Conventions are the diff reports': finite doubles shortest round-trip,
// non-finite ones "nan"/"inf"/"-inf" (strings in JSON), null for undefined
// (an empty CSV cell); CSV records end in CRLF (RFC 4180), a scalar's shape
// is an empty cell.
#include "report/csv_text.hpp"
#include "report/json_values.hpp"
#include "weightdiff/inspect_report.hpp"

namespace weightdiff {
namespace {

using report::Json;
using report::json_number;

FieldValue opt(const std::optional<double>& v) {
  return v ? FieldValue(*v) : FieldValue(std::monostate{});
}

Json summary_json(const InspectSummary& s) {
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
              {"min", json_number(s.min)},
              {"max", json_number(s.max)},
              {"seconds", json_number(s.seconds)},
              {"bytes_read", s.bytes_read}};
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
  const InspectSettings& o = r.settings;
  // `command`: an extra field that tells this report from a diff's.
  Json j = report::report_head("inspect", *ctx.model, nullptr, r.backend, r.devices, r.threads);
  j["options"] = Json{{"include", o.include}, {"exclude", o.exclude},
                      {"hist_range", {o.hist.lo, o.hist.hi}}};
  j["summary"] = summary_json(r.summary);

  // One line per top-level key and per tensor, like the diff report.
  out << "{\n";
  for (auto it = j.begin(); it != j.end(); ++it)
    out << Json(it.key()).dump() << ": " << report::json_dump(it.value()) << ",\n";
  out << "\"tensors\": [";
  bool first = true;
  for (const auto& t : r.tensors) {
    Json row;
    for (const auto& f : inspect_tensor_fields(t)) row[f.name] = report::json_value(f.value);
    if (t.stats) row["hist"] = report::value_hist_json(t.stats->hist, o.hist);
    out << (first ? "\n" : ",\n") << report::json_dump(row);
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
    for (size_t i = 0; i < header.size(); ++i) {
      if (i) out << ',';
      if (i < row.size()) report::write_csv_cell(out, report::csv_text(row[i]));
    }
    out << "\r\n";
  }
}

}  // namespace weightdiff
