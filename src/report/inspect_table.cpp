// The `inspect` terminal table: tensors holding NaN/Inf first (what a health
// check is for), then the largest magnitudes (exploding weights); then the
// tensors that could not be read and a summary line.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "weightdiff/inspect_report.hpp"

namespace weightdiff {
namespace {

std::string fmt(double v, const char* f = "%.4g") {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string fmt(const std::optional<double>& v) { return v ? fmt(*v) : "-"; }

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}
std::string lpad(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

// Largest |value| of a tensor; -1 when it has no finite value.
double magnitude(const ValueStats& s) {
  if (!s.min || !s.max) return -1.0;
  return std::max(std::fabs(*s.min), std::fabs(*s.max));
}

bool worse(const InspectTensor* x, const InspectTensor* y) {
  const uint64_t bad_x = x->stats->nan + x->stats->inf, bad_y = y->stats->nan + y->stats->inf;
  if (bad_x != bad_y) return bad_x > bad_y;
  return magnitude(*x->stats) > magnitude(*y->stats);
}

}  // namespace

void print_inspect_table(std::ostream& out, const InspectReportContext& ctx,
                         const InspectTableOptions& opt) {
  const InspectResult& r = *ctx.result;
  std::vector<const InspectTensor*> rows;
  for (const auto& t : r.tensors)
    if (t.stats) rows.push_back(&t);
  std::stable_sort(rows.begin(), rows.end(), worse);  // ties stay by name
  const size_t shown = opt.top == 0 ? rows.size() : std::min(opt.top, rows.size());

  size_t wname = 6;
  for (size_t i = 0; i < shown; ++i) wname = std::max(wname, printable(rows[i]->name).size());
  wname = std::min<size_t>(wname, 60);
  const char* red = opt.color ? "\033[31m" : "";
  const char* green = opt.color ? "\033[32m" : "";
  const char* yellow = opt.color ? "\033[33m" : "";
  const char* reset = opt.color ? "\033[0m" : "";
  if (shown > 0) {
    out << pad("tensor", wname) << "  " << pad("dtype", 6) << "  " << pad("shape", 14) << "  "
        << lpad("nan", 7) << "  " << lpad("inf", 7) << "  " << lpad("min", 10) << "  "
        << lpad("max", 10) << "  " << lpad("mean", 10) << "  " << lpad("std", 10) << "  status\n";
  }
  for (size_t i = 0; i < shown; ++i) {
    const InspectTensor& t = *rows[i];
    const ValueStats& s = *t.stats;
    const std::string full = printable(t.name);
    const std::string name =
        full.size() > wname ? "…" + full.substr(full.size() - wname + 1) : full;
    out << pad(name, wname) << "  " << pad(t.dtype, 6) << "  " << pad(shape_string(t.shape), 14)
        << "  " << lpad(std::to_string(s.nan), 7) << "  " << lpad(std::to_string(s.inf), 7) << "  "
        << lpad(fmt(s.min), 10) << "  " << lpad(fmt(s.max), 10) << "  " << lpad(fmt(s.mean), 10)
        << "  " << lpad(fmt(s.std), 10) << "  " << (t.nonfinite() ? red : green)
        << inspect_status(t) << reset << '\n';
  }
  if (shown < rows.size()) out << "… " << rows.size() - shown << " more (--top 0 shows all)\n";

  for (const auto& t : r.tensors) {
    if (t.stats) continue;
    out << yellow << inspect_status(t) << reset << "  " << printable(t.name) << "  "
        << printable(t.dtype) << " [" << shape_string(t.shape) << "]\n";
  }

  const InspectSummary& s = r.summary;
  out << "inspected " << s.inspected << " tensor" << (s.inspected == 1 ? "" : "s") << ", "
      << s.elements << " elements: ";
  if (s.tensors_with_nan == 0 && s.tensors_with_inf == 0) {
    out << green << "no NaN or Inf" << reset;
  } else {
    out << red << s.tensors_with_nan << " with NaN (" << s.nan << "), " << s.tensors_with_inf
        << " with Inf (" << s.inf << ")" << reset;
  }
  if (s.unsupported_dtype) out << "; unsupported " << s.unsupported_dtype;
  out << " | min " << fmt(s.min) << ", max " << fmt(s.max) << " | "
      << fmt(static_cast<double>(s.bytes_read) / 1e9, "%.2f") << " GB in "
      << fmt(s.seconds, "%.2f") << " s on " << r.backend << '\n';
}

}  // namespace weightdiff
