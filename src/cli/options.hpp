// Option parsing shared by the diff and inspect commands.
#pragma once

#include <functional>
#include <string>

#include "weightdiff/stats.hpp"

namespace CLI {
class App;
}

namespace weightdiff::cli {

// Parses the command line into `app`'s options, then runs `run`; turns a
// bad command line or any error into one line on stderr and exit status 2
// (help and --version exit as CLI11 says).
int parse_and_run(CLI::App& app, int argc, char** argv, const std::function<int()>& run);

// --hist-range LO:HI (the range itself is checked by the engine). Throws Error(usage).
HistRange parse_hist_range(const std::string& s);

// --color auto|always|never; auto: stdout is a terminal, NO_COLOR unset, TERM not dumb.
bool want_color(const std::string& mode);

}  // namespace weightdiff::cli
