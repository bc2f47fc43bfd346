// The HTML report's embedded data (see html_data.hpp).
#include "report/html_data.hpp"

#include <sstream>
#include <unordered_map>

#include "report/json_values.hpp"

namespace weightdiff::html {
namespace {

using report::Json;
using report::json_dump;

// [first, last) of the nonzero entries of all `arrays` together; {0, 0} if none.
template <typename... Arrays>
std::pair<size_t, size_t> nonzero_span(const Arrays&... arrays) {
  size_t first = SIZE_MAX, last = 0;
  const auto scan = [&](const Bins& v) {
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] != 0) {
        first = std::min(first, i);
        last = std::max(last, i + 1);
      }
  };
  (scan(arrays), ...);
  return first == SIZE_MAX ? std::pair<size_t, size_t>{0, 0} : std::pair{first, last};
}

Json slice(const Bins& v, std::pair<size_t, size_t> span) {
  const size_t end = std::min(span.second, v.size());
  const size_t begin = std::min(span.first, end);
  std::vector<uint64_t> out;
  for (size_t i = begin; i < end; ++i) out.push_back(v[i]);
  return out;
}

Json abs_hist(const AbsHistogram& h) {
  const auto span = nonzero_span(h.counts);
  return Json{{"z", h.zero}, {"u", h.under}, {"o", h.over}, {"s", span.first},
              {"c", slice(h.counts, span)}};
}

Json value_hist(const ValueHistogram& h) {
  const auto span = nonzero_span(h.pos, h.neg);
  return Json{{"z", h.zero}, {"u", h.under}, {"o", h.over}, {"s", span.first},
              {"p", slice(h.pos, span)}, {"n", slice(h.neg, span)}};
}

// The JSON report's top level, written by write_json itself so that the
// page shows exactly what --json would (models, metadata, options, summary).
// Only the fields write_json reads besides the tensors are copied: copying
// the tensors of a large model just to drop them would double the memory.
// (tests/unit/html_report_test.cpp checks that nothing --json has is lost.)
Json header_json(const ReportContext& ctx) {
  DiffResult head;
  head.settings = ctx.result->settings;
  head.summary = ctx.result->summary;
  head.metadata_diffs = ctx.result->metadata_diffs;
  head.graph = ctx.result->graph;
  head.backend = ctx.result->backend;
  head.devices = ctx.result->devices;
  head.threads = ctx.result->threads;
  ReportContext head_ctx = ctx;
  head_ctx.result = &head;
  std::ostringstream text;
  write_json(text, head_ctx);
  Json j = Json::parse(text.str());
  j.erase("tensors");
  // write_json derives the groups from the tensors, which head lacks.
  if (auto groups = quant_groups(*ctx.result); !groups.empty())
    j["quant_types"] = report::quant_groups_json(groups);
  return j;
}

// Every per-tensor field a compared tensor has, in SPEC §5 order.
std::vector<std::string> tensor_columns() {
  TensorDiff t;
  t.dtype_a = t.dtype_b = "f32";
  t.matched_as.push_back('-');  // a column on every row, empty where no derived name was used
  t.transposed = true;          // likewise: null where the pair was not transposed
  t.rope_heads = 1;             // and where no row permutation was undone
  t.quant_a = t.quant_b = "-";  // and where a side was not dequantized
  t.stats.emplace();
  t.stats->n_finite = 1;
  std::vector<std::string> names;
  for (const auto& f : tensor_fields(t)) names.emplace_back(f.name);
  return names;
}

}  // namespace

std::string escape_script_json(std::string_view json) {
  std::string out;
  out.reserve(json.size() + json.size() / 16);
  for (const char c : json) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

void write_report_data(std::ostream& out, const ReportContext& ctx) {
  std::vector<std::string> columns = tensor_columns();
  std::unordered_map<std::string, size_t> column_of;
  for (size_t i = 0; i < columns.size(); ++i) column_of.emplace(columns[i], i);
  const size_t n_fields = columns.size();
  for (const char* extra : {"failed", "hist_abs_diff", "hist_a", "hist_b"}) columns.emplace_back(extra);

  out << "{\"header\":" << escape_script_json(json_dump(header_json(ctx)))
      << ",\n\"columns\":" << escape_script_json(json_dump(Json(columns))) << ",\n\"rows\":[";
  // One row at a time: the page's data is never held whole in memory twice.
  bool first = true;
  for (const auto& t : ctx.result->tensors) {
    Json row = Json::array();
    for (size_t i = 0; i < columns.size(); ++i) row.push_back(nullptr);
    for (const auto& f : tensor_fields(t)) {
      const auto it = column_of.find(f.name);
      if (it != column_of.end()) row[it->second] = report::json_value(f.value);
    }
    if (t.stats) {
      row[n_fields] = t.failed;
      row[n_fields + 1] = abs_hist(t.stats->hist_abs_diff);
      row[n_fields + 2] = value_hist(t.stats->hist_a);
      row[n_fields + 3] = value_hist(t.stats->hist_b);
    }
    out << (first ? "\n" : ",\n") << escape_script_json(json_dump(row));
    first = false;
  }
  out << "\n]}";
}

}  // namespace weightdiff::html
