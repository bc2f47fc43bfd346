// SPEC §5's number rule, shared by the reports that write numbers as text:
// non-finite values are the words nan / inf / -inf, finite ones parse back
// to the same double.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weightdiff::report {

// "nan", "inf" or "-inf"; nullopt for a finite value.
std::optional<std::string_view> non_finite_name(double v) noexcept;

// non_finite_name(v), or the shortest text that parses back to v exactly.
std::string number_text(double v);

}  // namespace weightdiff::report
