// --fail-if gates and the exit code (SPEC §6).
#pragma once

#include <string>
#include <vector>

#include "weightdiff/diff.hpp"

namespace weightdiff {

struct Gate {
  std::string text;    // as given, e.g. "cosine<0.9999"
  bool global = false;  // "global." prefix: evaluated on the summary
  std::string metric;
  std::string op;  // < <= > >=
  double value = 0;
  // "graph": fails when two ONNX models' graphs differ (DiffResult::graph);
  // the fields above are unused then.
  bool graph = false;
};

// Parses 'METRIC OP VALUE', or the word 'graph'. Throws Error(usage) when
// malformed or when the metric is not a numeric per-tensor (or summary) field.
Gate parse_gate(const std::string& text);

// Some gate reads tensor values (all but `graph`): such gates would all
// pass, silently, on a --structure-only result.
bool gates_need_values(const std::vector<Gate>& gates);

// Marks triggered gates in each tensor's `failed` and in summary.failed.
void apply_gates(DiffResult& result, const std::vector<Gate>& gates);

// 0, or 1 when differences are found (SPEC §6). Errors never reach here.
int exit_code(const DiffResult& result, bool have_gates);

}  // namespace weightdiff
