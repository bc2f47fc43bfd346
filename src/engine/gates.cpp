#include "weightdiff/gates.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "weightdiff/error.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {
namespace {

bool triggered(const Gate& g, double v) {
  if (std::isnan(v)) return true;
  if (g.op == "<") return v < g.value;
  if (g.op == "<=") return v <= g.value;
  if (g.op == ">") return v > g.value;
  return v >= g.value;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Gate parse_gate(const std::string& text) {
  static const std::regex re(R"(^\s*(global\.)?([A-Za-z_][A-Za-z_0-9]*)\s*(<=|>=|<|>)\s*(\S+)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw Error(Errc::usage, "--fail-if '" + text + "': expected 'METRIC OP VALUE' with OP one of < <= > >=");
  Gate g;
  g.text = text;
  g.global = m[1].matched;
  g.metric = m[2];
  g.op = m[3];
  const std::string value = m[4];
  char* end = nullptr;
  g.value = std::strtod(value.c_str(), &end);
  if (end == value.c_str() || *end != '\0' || std::isnan(g.value))
    throw Error(Errc::usage, "--fail-if '" + text + "': '" + value + "' is not a number");
  const bool known =
      g.global ? contains(numeric_field_names(summary_numeric_fields(Summary{})), g.metric)
               : contains(numeric_tensor_metrics(), g.metric);
  if (!known)
    throw Error(Errc::usage, "--fail-if '" + text + "': unknown " +
                                 std::string(g.global ? "summary" : "per-tensor") + " metric '" +
                                 g.metric + "'");
  return g;
}

void apply_gates(DiffResult& result, const std::vector<Gate>& gates) {
  for (auto& t : result.tensors) {
    if (!is_compared(t.status)) continue;
    const auto fields = tensor_fields(t);
    for (const auto& g : gates) {
      if (g.global) continue;
      const auto v = numeric_field(fields, g.metric);
      if (v && triggered(g, *v)) t.failed.push_back(g.text);
    }
    if (!t.failed.empty()) result.summary.failed.push_back(t.name);
  }
  const auto summary = summary_numeric_fields(result.summary);
  for (const auto& g : gates) {
    if (!g.global) continue;
    const auto v = numeric_field(summary, g.metric);
    if (v && triggered(g, *v)) {
      result.summary.failed.push_back("global");
      break;
    }
  }
}

int exit_code(const DiffResult& r, bool have_gates) {
  const Summary& s = r.summary;
  // dtype_mismatch is counted by --structure-only only (a dtype change is
  // otherwise the point of a comparison, decided by the values).
  if (s.only_in_a || s.only_in_b || s.shape_mismatch || s.dtype_mismatch) return 1;
  if (have_gates) return s.failed.empty() ? 0 : 1;
  return s.different ? 1 : 0;
}

}  // namespace weightdiff
