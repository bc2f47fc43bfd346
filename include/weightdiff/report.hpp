// Reports read only the merged results.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff {

// One named field of a report row, in SPEC §5 order. monostate = null.
using FieldValue = std::variant<std::monostate, uint64_t, double, std::string, std::vector<uint64_t>>;
struct Field {
  const char* name;
  FieldValue value;
};

// The per-tensor fields of SPEC §5 except histograms and `failed`. Unmatched
// and incomparable tensors carry name, status, dtypes and shapes only.
std::vector<Field> tensor_fields(const TensorDiff& t);
// The numeric summary fields of SPEC §5 (what `global.` gates can name).
std::vector<Field> summary_numeric_fields(const Summary& s);

// Names of the numeric fields among `fields`, and of every numeric field a
// compared tensor has (what --sort and --fail-if can name).
std::vector<std::string> numeric_field_names(const std::vector<Field>& fields);
const std::vector<std::string>& numeric_tensor_metrics();
// A numeric field's value: nullopt if absent or not numeric, NaN if null.
std::optional<double> numeric_field(const std::vector<Field>& fields, const std::string& name);

struct ReportContext {
  const Model* a = nullptr;
  const Model* b = nullptr;
  const DiffResult* result = nullptr;
  const DiffOptions* options = nullptr;
  std::vector<std::string> fail_if;  // gate expressions as given
};

void write_json(std::ostream& out, const ReportContext& ctx);
// SPEC §5 CSV: a header row, then one row per tensor in the JSON's order.
void write_csv(std::ostream& out, const ReportContext& ctx);
// One self-contained HTML file (inline CSS/JS/SVG, no network).
void write_html(std::ostream& out, const ReportContext& ctx);

struct TableOptions {
  size_t top = 20;  // 0 = all
  std::string sort = "rel_l2";
  bool color = false;
};
// The terminal table, worst first, a summary line and the structural differences.
// Throws Error(usage) for an unknown sort metric.
void print_table(std::ostream& out, const ReportContext& ctx, const TableOptions& opt);

// Text from model files made safe for a terminal: control characters (C0
// such as ESC and newline, DEL, C1) and bytes that break UTF-8 become '?'.
std::string printable(std::string_view text);

// Validates a --sort metric name. Throws Error(usage).
void check_sort_metric(const std::string& metric);

}  // namespace weightdiff
