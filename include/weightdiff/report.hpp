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
#include "weightdiff/fields.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff {

struct ReportContext {
  const Model* a = nullptr;
  const Model* b = nullptr;
  const DiffResult* result = nullptr;  // carries what it was computed with
};

void write_json(std::ostream& out, const ReportContext& ctx);
// SPEC §5 CSV: a header row, then one row per tensor in the JSON's order.
void write_csv(std::ostream& out, const ReportContext& ctx);
// One self-contained HTML file (inline CSS/JS/SVG, no network).
void write_html(std::ostream& out, const ReportContext& ctx);

struct TableOptions {
  size_t top = 20;  // rows of compared tensors, and lines of structural differences; 0 = all
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
