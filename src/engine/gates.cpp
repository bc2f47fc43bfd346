#include "weightdiff/gates.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/fields.hpp"

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

// The gate grammar, ^\s*(global\.)?([A-Za-z_][A-Za-z_0-9]*)\s*(<=|>=|<|>)\s*(\S+)\s*$,
// scanned by hand: std::regex recurses once per character, so a long metric,
// value or run of spaces overflowed the stack. Every step is one pass.
struct GateParts {
  bool global = false;
  std::string_view metric, op, value;
};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_ident(char c) { return is_ident_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::optional<GateParts> scan_gate(std::string_view s) {
  GateParts g;
  size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  skip_spaces();
  if (s.substr(i).starts_with("global.")) {
    g.global = true;
    i += 7;
  }
  const size_t m = i;
  if (i == s.size() || !is_ident_start(s[i])) return std::nullopt;
  while (i < s.size() && is_ident(s[i])) ++i;
  g.metric = s.substr(m, i - m);
  skip_spaces();
  if (i == s.size() || (s[i] != '<' && s[i] != '>')) return std::nullopt;
  const size_t op_at = i;
  size_t op_len = i + 1 < s.size() && s[i + 1] == '=' ? 2 : 1;
  i += op_len;
  skip_spaces();
  size_t v = i;
  while (i < s.size() && !is_space(s[i])) ++i;
  if (i == v) {
    if (op_len == 1) return std::nullopt;
    // As the regex backtracked: "x<=" is "<" with the value "=".
    op_len = 1;
    v = op_at + 1;
    i = v + 1;
  }
  g.op = s.substr(op_at, op_len);
  g.value = s.substr(v, i - v);
  skip_spaces();
  if (i != s.size()) return std::nullopt;
  return g;
}

}  // namespace

Gate parse_gate(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t"), last = text.find_last_not_of(" \t");
  if (first != std::string::npos && text.compare(first, last - first + 1, "graph") == 0) {
    Gate g;
    g.text = text;
    g.graph = true;
    return g;
  }
  const auto m = scan_gate(text);
  if (!m)
    throw Error(Errc::usage, "--fail-if '" + core::excerpt(text) +
                                 "': expected 'METRIC OP VALUE' with OP one of < <= > >=");
  Gate g;
  g.text = text;
  g.global = m->global;
  // (Built as new strings: GCC 12's -Wrestrict misfires on assigning a view.)
  g.metric = std::string(m->metric);
  g.op = std::string(m->op);
  const std::string value(m->value);
  char* end = nullptr;
  g.value = std::strtod(value.c_str(), &end);
  if (end == value.c_str() || *end != '\0' || std::isnan(g.value))
    throw Error(Errc::usage, "--fail-if '" + core::excerpt(text) + "': '" + core::excerpt(value) +
                                 "' is not a number");
  static const std::vector<std::string> summary_metrics = [] {
    Summary every;  // with the fields only --exact reports
    every.exact = true;
    return numeric_field_names(summary_numeric_fields(every));
  }();
  const bool known = g.global ? contains(summary_metrics, g.metric)
                              : contains(numeric_tensor_metrics(), g.metric);
  if (!known)
    throw Error(Errc::usage, "--fail-if '" + core::excerpt(text) + "': unknown " +
                                 std::string(g.global ? "summary" : "per-tensor") + " metric '" +
                                 core::excerpt(g.metric) + "'");
  return g;
}

bool gates_need_values(const std::vector<Gate>& gates) {
  return std::any_of(gates.begin(), gates.end(), [](const Gate& g) { return !g.graph; });
}

void apply_gates(DiffResult& result, const std::vector<Gate>& gates) {
  for (const auto& g : gates) result.settings.fail_if.push_back(g.text);
  // NaN/Inf appearing or vanishing is invisible to every metric over the
  // finite pairs (a tensor with 64 new +inf can keep cosine 0.99999998), so
  // it fails every gate on that tensor, and every global gate.
  for (auto& t : result.tensors) {
    if (!is_compared(t.status)) continue;
    const auto fields = tensor_fields(t);
    const bool nonfinite_changed = numeric_field(fields, "nonfinite_introduced").value_or(0) > 0 ||
                                   numeric_field(fields, "nonfinite_removed").value_or(0) > 0;
    for (const auto& g : gates) {
      if (g.global || g.graph) continue;
      const auto v = numeric_field(fields, g.metric);
      if (nonfinite_changed || (v && triggered(g, *v))) t.failed.push_back(g.text);
    }
    if (!t.failed.empty()) result.summary.failed.push_back(t.name);
  }
  const auto summary = summary_numeric_fields(result.summary);
  for (const auto& g : gates)
    if (g.graph && result.graph && result.graph->differs()) {
      result.summary.failed.push_back("graph");
      break;
    }
  for (const auto& g : gates) {
    if (!g.global) continue;
    const auto v = numeric_field(summary, g.metric);
    if (result.summary.nonfinite_tensors > 0 || (v && triggered(g, *v))) {
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
  // --exact asks for the same bytes: a dtype change or a byte difference is
  // a difference whatever the values, the tolerances or the gates say.
  if (s.exact && (s.dtype_changed || s.bytes_differ)) return 1;
  if (have_gates) return s.failed.empty() ? 0 : 1;
  return s.different ? 1 : 0;
}

}  // namespace weightdiff
