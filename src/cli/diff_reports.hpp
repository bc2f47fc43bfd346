// What the diff and merge commands write once they hold a result: the
// report files, then the table on stdout (unless quiet or a report is there).
#pragma once

#include <string>
#include <vector>

#include "cli/report_file.hpp"
#include "weightdiff/cancel.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff::cli {

struct DiffOutput {
  std::vector<ReportRequest> reports;  // --json, --csv, --html
  std::string sort = "rel_l2";
  long long top = 20;
  std::string color = "auto";
  bool quiet = false;
};

void write_diff_output(const ReportContext& ctx, const DiffOutput& out, const CancelFlag* cancel);

}  // namespace weightdiff::cli
