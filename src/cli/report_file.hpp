// Report files for every command: written in full or not at all, never over
// an input, and every write checked.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "weightdiff/model.hpp"
#include "weightdiff/cancel.hpp"

namespace weightdiff::cli {

struct ReportRequest {
  std::string option;  // "--json", ...
  std::string path;    // as given; "-" = stdout
};

// The reports asked for (empty paths dropped), in the order given. At most
// one may go to stdout (writes_to_stdout). Throws Error(usage).
std::vector<ReportRequest> report_requests(const std::vector<ReportRequest>& options);
bool any_to_stdout(const std::vector<ReportRequest>& reports);

// Refuses, with Error(usage) naming both, a destination that is one of
// `inputs` (the same device and inode, so through links and hard links
// too). A destination that does not exist yet is no input.
void refuse_reports_over_inputs(const std::vector<ReportRequest>& reports,
                                const std::vector<InputFile>& inputs);

// True when the report goes to this process's stdout: "-", or a path that
// names the file stdout is open on (/dev/stdout, /dev/fd/1, the log a shell
// opened with `>> log`).
bool writes_to_stdout(const std::string& given);

// Writes a report to `given`:
// - stdout (see above) or the file stderr is open on: written to that stream,
//   never reopened or truncated (an append stays an append);
// - an existing non-regular file (/dev/null, a FIFO): opened and written
//   directly, not truncated;
// - otherwise a regular file: written to an exclusively created temporary
//   file with an unpredictable name beside the destination (a link there is
//   never followed), fsync'ed, then renamed over it. A symlink destination is
//   followed (the link stays). An existing file keeps its permissions.
// Any failed write, flush, fsync, close or rename is Error(io) and leaves no
// temporary file; `cancel` set while writing is Error(cancelled), likewise.
void write_report(const std::string& given, const std::function<void(std::ostream&)>& write,
                  const CancelFlag* cancel = nullptr);

// Writes `what` (e.g. "the table") to stdout through its descriptor: a
// failed write (a full disk, a closed stdout) is Error(io).
void write_to_stdout(const std::string& what, const std::function<void(std::ostream&)>& write);

}  // namespace weightdiff::cli
