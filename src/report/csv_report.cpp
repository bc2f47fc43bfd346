// CSV report (SPEC §5): one row per tensor, the scalar fields of the JSON
// report in its order. Choices where the spec is silent:
// - the columns are SPEC's fields of a compared tensor, for every row: cells a
//   tensor lacks (stats of unmatched pairs, of --structure-only) are empty,
//   as null is;
// - shapes are `4096x4096` and a scalar's shape is empty (its dtype cell
//   tells it from an absent side); `max_abs_index` joins coordinates with
//   `;` (`x` would read as a shape), a scalar's index is empty;
// - a column `failed` after them joins the triggered --fail-if conditions
//   with `;` (a gate's VALUE is a number, so it never holds one);
// - a column `matched_as` only when some tensor was paired by a derived
//   name (ONNX exports), then `transposed` only when some pair was compared
//   as A against Bᵀ, then `quant_a,quant_b` only when some side was
//   compared dequantized (--dequant), then `bytes_equal` only with --exact:
//   the other columns keep their positions;
// - records end in CRLF as RFC 4180 says; names are written byte for byte.
#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "report/csv_text.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {
namespace {

// Every scalar field name of SPEC §5, in its order: those of a compared
// tensor, less the JSON's extra counts (NaN/Inf introduced and removed are
// nan_*/inf_* of the same row, and scripts index these columns by position).
std::vector<std::string> columns() {
  TensorDiff t;
  t.dtype_a = t.dtype_b = "f32";
  t.stats.emplace();
  std::vector<std::string> names;
  for (const auto& f : tensor_fields(t)) {
    const std::string_view name = f.name;
    if (name != "nonfinite_introduced" && name != "nonfinite_removed") names.emplace_back(name);
  }
  return names;
}

}  // namespace

void write_csv(std::ostream& out, const ReportContext& ctx) {
  static const std::vector<std::string> cols = columns();
  static const std::unordered_map<std::string_view, size_t> column_of = [] {
    std::unordered_map<std::string_view, size_t> m;
    for (size_t i = 0; i < cols.size(); ++i) m.emplace(cols[i], i);
    return m;
  }();
  const bool matched_as = std::any_of(ctx.result->tensors.begin(), ctx.result->tensors.end(),
                                      [](const TensorDiff& t) { return !t.matched_as.empty(); });
  const bool transposed = std::any_of(ctx.result->tensors.begin(), ctx.result->tensors.end(),
                                      [](const TensorDiff& t) { return t.transposed; });
  const bool quant = std::any_of(ctx.result->tensors.begin(), ctx.result->tensors.end(),
                                 [](const TensorDiff& t) { return !t.quant_a.empty() || !t.quant_b.empty(); });
  const bool exact = ctx.result->settings.exact;
  for (const auto& c : cols) out << c << ',';
  out << "failed" << (matched_as ? ",matched_as" : "") << (transposed ? ",transposed" : "")
      << (quant ? ",quant_a,quant_b" : "") << (exact ? ",bytes_equal" : "") << "\r\n";
  std::vector<std::string> cells(cols.size());
  for (const auto& t : ctx.result->tensors) {
    for (auto& c : cells) c.clear();
    for (const auto& f : tensor_fields(t))
      if (const auto it = column_of.find(f.name); it != column_of.end()) cells[it->second] = report::csv_text(f);
    for (const auto& c : cells) {
      report::write_csv_cell(out, c);
      out << ',';
    }
    std::string failed;
    for (const auto& g : t.failed) {  // += only: GCC 12's -Wrestrict misfires on "x" + s
      if (!failed.empty()) failed += ';';
      failed += g;
    }
    report::write_csv_cell(out, failed);
    if (matched_as) {
      out << ',';
      report::write_csv_cell(out, t.matched_as);
    }
    if (transposed) out << ',' << (t.transposed ? "true" : "false");
    if (quant) {
      out << ',';
      report::write_csv_cell(out, t.quant_a);
      out << ',';
      report::write_csv_cell(out, t.quant_b);
    }
    if (exact) out << ',' << (t.bytes_equal ? (*t.bytes_equal ? "true" : "false") : "");
    out << "\r\n";
  }
}

}  // namespace weightdiff
