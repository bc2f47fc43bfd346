// Report files for every command: written in full or not at all.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace weightdiff::cli {

// Writes a report to `given` ('-' = stdout). A file is written next to its
// destination and renamed into place, so an error never leaves a partial
// report behind. A symlink is followed (the link stays); a destination that
// is not a regular file (/dev/null, a FIFO) is written directly.
// Throws Error(io).
void write_report(const std::string& given, const std::function<void(std::ostream&)>& write);

}  // namespace weightdiff::cli
