// Option parsing shared by the diff and inspect commands.
#pragma once

#include <string>

#include "weightdiff/stats.hpp"

namespace weightdiff::cli {

// --hist-range LO:HI (the range itself is checked by the engine). Throws Error(usage).
HistRange parse_hist_range(const std::string& s);

// --color auto|always|never; auto: stdout is a terminal, NO_COLOR unset, TERM not dumb.
bool want_color(const std::string& mode);

}  // namespace weightdiff::cli
