// Option parsing shared by the diff and inspect commands.
#pragma once

#include <tbb/global_control.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weightdiff/options.hpp"

namespace CLI {
class App;
}

namespace weightdiff::cli {

// The options diff and inspect both take, declared once for both.
struct SharedArgs {
  std::string backend = "auto";
  std::string devices;
  unsigned threads = 0;
  std::string hist_range = "-40:16";
  std::string progress = "auto", color = "auto";
  std::vector<std::string> include, exclude;
  std::string json, csv;
  long long top = 20;
  bool quiet = false;
};
void add_shared_options(CLI::App& app, SharedArgs& args);

// The typed, validated ComputeOptions they give (no progress callback, no
// cancel flag: those are the command's). Throws Error(usage).
ComputeOptions compute_options(const SharedArgs& args);

// TBB caps its workers at the CPU count, and --threads may ask for more.
// The process is the command's, so the command (never the library: a
// process-wide setting) lifts the cap while it runs. Null when not needed.
std::unique_ptr<tbb::global_control> allow_threads(unsigned threads);

// --progress auto|always|never; auto: stderr is a terminal.
bool want_progress(const std::string& mode);

// Parses the command line into `app`'s options, then runs `run`; turns a
// bad command line or any error into one line on stderr and exit status 2
// (help and --version exit as CLI11 says).
int parse_and_run(CLI::App& app, int argc, char** argv, const std::function<int()>& run);

// The parse alone: nullopt when the command line is good, else how the
// command ends: help and version printed (code 0), or a bad command line
// (code 2 and its error line, not printed).
struct ParseEnd {
  int code = 0;
  std::string line;
};
std::optional<ParseEnd> parse_only(CLI::App& app, int argc, char** argv);

// Inside a catch block: the one line parse_and_run prints for the exception
// being handled ("weightdiff: error: ..."), without the newline.
std::string current_error_line();

// --hist-range LO:HI (the range itself is checked by the engine). Throws Error(usage).
HistRange parse_hist_range(const std::string& s);

// --color auto|always|never; auto: stdout is a terminal, NO_COLOR unset, TERM not dumb.
bool want_color(const std::string& mode);

}  // namespace weightdiff::cli
