#include "cli/options.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "weightdiff/error.hpp"

namespace weightdiff::cli {

HistRange parse_hist_range(const std::string& s) {
  const auto bad = [&] {
    return Error(Errc::usage, "--hist-range '" + s + "': expected LO:HI, e.g. -40:16");
  };
  const auto colon = s.find(':');
  if (colon == std::string::npos) throw bad();
  int lo = 0, hi = 0;
  const char* end = s.data() + s.size();
  const auto r1 = std::from_chars(s.data(), s.data() + colon, lo);
  const auto r2 = std::from_chars(s.data() + colon + 1, end, hi);
  if (r1.ec != std::errc() || r1.ptr != s.data() + colon || r2.ec != std::errc() || r2.ptr != end)
    throw bad();
  return {lo, hi};
}

bool want_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::string(term) == "dumb");
}

}  // namespace weightdiff::cli
