// CSV report (SPEC §5): one row per tensor, the scalar fields of the JSON
// report in its order. Choices where the spec is silent:
// - the columns are those of a compared tensor, for every row: cells a
//   tensor lacks (stats of unmatched pairs, of --structure-only) are empty,
//   as null is;
// - shapes are `4096x4096` and a scalar's shape is empty (its dtype cell
//   tells it from an absent side); `max_abs_index` joins coordinates with
//   `;` (`x` would read as a shape), a scalar's index is empty;
// - a last column `failed` joins the triggered --fail-if conditions with `;`
//   (a gate's VALUE is a number, so it never holds one);
// - records end in CRLF as RFC 4180 says; names are written byte for byte.
#include <string_view>
#include <unordered_map>

#include "report/number_text.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {
namespace {

// Every scalar field name, in SPEC §5 order: those of a compared tensor.
std::vector<std::string> columns() {
  TensorDiff t;
  t.dtype_a = t.dtype_b = "f32";
  t.stats.emplace();
  std::vector<std::string> names;
  for (const auto& f : tensor_fields(t)) names.emplace_back(f.name);
  return names;
}

std::string join(const std::vector<uint64_t>& v, char sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += std::to_string(v[i]);
  }
  return out;
}

std::string cell(const Field& f) {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return {};
        else if constexpr (std::is_same_v<T, uint64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) return report::number_text(x);
        else if constexpr (std::is_same_v<T, std::string>) return x;
        else return join(x, std::string_view(f.name).starts_with("shape_") ? 'x' : ';');
      },
      f.value);
}

// RFC 4180: a field holding a comma, a quote or a line break is quoted, its
// quotes doubled.
void write_cell(std::ostream& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out << text;
    return;
  }
  out << '"';
  for (const char c : text) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

}  // namespace

void write_csv(std::ostream& out, const ReportContext& ctx) {
  static const std::vector<std::string> cols = columns();
  static const std::unordered_map<std::string_view, size_t> column_of = [] {
    std::unordered_map<std::string_view, size_t> m;
    for (size_t i = 0; i < cols.size(); ++i) m.emplace(cols[i], i);
    return m;
  }();
  for (const auto& c : cols) out << c << ',';
  out << "failed\r\n";
  std::vector<std::string> cells(cols.size());
  for (const auto& t : ctx.result->tensors) {
    for (auto& c : cells) c.clear();
    for (const auto& f : tensor_fields(t))
      if (const auto it = column_of.find(f.name); it != column_of.end()) cells[it->second] = cell(f);
    for (const auto& c : cells) {
      write_cell(out, c);
      out << ',';
    }
    std::string failed;
    for (const auto& g : t.failed) failed += (failed.empty() ? "" : ";") + g;
    write_cell(out, failed);
    out << "\r\n";
  }
}

}  // namespace weightdiff
