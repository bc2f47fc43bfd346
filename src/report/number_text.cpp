#include "report/number_text.hpp"

#include <charconv>
#include <cmath>

namespace weightdiff::report {

std::optional<std::string_view> non_finite_name(double v) noexcept {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return std::nullopt;
}

std::string number_text(double v) {
  if (const auto word = non_finite_name(v)) return std::string(*word);
  // std::to_chars without a precision is the shortest round-trip form.
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace weightdiff::report
