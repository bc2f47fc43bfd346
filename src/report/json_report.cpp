// JSON report (SPEC §5): field order as the spec, doubles written as
// nlohmann writes them, non-finite numbers as strings. The head goes
// through nlohmann::ordered_json; the tensor rows are streamed (JsonText).
// Extra fields: options.structure_only, metadata_diffs (after summary), and,
// only when some pair has a quantized side, quant_types (issue 12), and for
// two ONNX models, graph (issue 15).
#include "report/json_text.hpp"
#include "report/part_json.hpp"
#include "report/json_values.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {
namespace {

using report::Json;
using report::json_dump;
using report::json_number;
using report::json_value;
using report::model_json;

void abs_hist(report::JsonText& w, const AbsHistogram& h, const HistRange& r) {
  w.begin_object();
  w.key("lo").number(int64_t{r.lo}).key("hi").number(int64_t{r.hi});
  w.key("zero").number(h.zero).key("under").number(h.under);
  w.key("counts").numbers(h.counts).key("over").number(h.over);
  w.end_object();
}

void value_hist(report::JsonText& w, const ValueHistogram& h, const HistRange& r) {
  w.begin_object();
  w.key("lo").number(int64_t{r.lo}).key("hi").number(int64_t{r.hi});
  w.key("zero").number(h.zero).key("under").number(h.under).key("over").number(h.over);
  w.key("pos").numbers(h.pos).key("neg").numbers(h.neg);
  w.end_object();
}

// One tensor's object, as the DOM row it replaces wrote it. `index`: a
// --shard part's row also carries its place and raw sums (part_json.hpp).
void tensor_row(report::JsonText& w, const TensorDiff& t, const HistRange& hist,
                const uint64_t* index) {
  w.begin_object();
  for (const auto& f : tensor_fields(t)) w.key(f.name).value(f.value);
  if (t.stats) {
    abs_hist(w.key("hist_abs_diff"), t.stats->hist_abs_diff, hist);
    value_hist(w.key("hist_a"), t.stats->hist_a, hist);
    value_hist(w.key("hist_b"), t.stats->hist_b, hist);
    w.key("failed").strings(t.failed);
  }
  if (index) {
    w.key("index").number(*index);
    if (t.stats) report::raw_stats(w.key("raw"), t);
  }
  w.end_object();
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
                      {"dequant", dequant_mode_name(o.dequant)},
                      {"map_preset", o.map_preset.empty() ? Json(nullptr) : Json(o.map_preset)}};
  if (o.shard) {  // only on a part: a single run's options stay as they were
    std::string shard = std::to_string(o.shard->k);
    shard += '/';
    shard += std::to_string(o.shard->n);
    j["options"]["shard"] = std::move(shard);
  }
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
  if (r.graph) j["graph"] = report::graph_json(*r.graph);  // two ONNX models only
  // Only when there is a quantized side: other reports stay as they were.
  if (auto groups = quant_groups(r); !groups.empty()) j["quant_types"] = report::quant_groups_json(groups);
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
  if (r.part) j["part"] = report::part_header(ctx);  // --shard: what merge needs

  // One line per top-level key and per tensor: diffable, greppable, and
  // small for models with many tensors.
  out << "{\n";
  for (auto it = j.begin(); it != j.end(); ++it)
    out << Json(it.key()).dump() << ": " << json_dump(it.value()) << ",\n";
  out << "\"tensors\": [";
  report::JsonText rows;
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    rows.append_separator(i == 0 ? "\n" : ",\n");
    tensor_row(rows, r.tensors[i], o.hist, r.part ? &r.part->of_tensor[i] : nullptr);
    if (rows.text().size() >= (size_t{1} << 16)) out << rows.take();  // bounded, few writes
  }
  out << rows.take() << "\n]}\n";
}

}  // namespace weightdiff
