#include "cli/diff_reports.hpp"

#include "cli/options.hpp"

namespace weightdiff::cli {

void write_diff_output(const ReportContext& ctx, const DiffOutput& out, const CancelFlag* cancel) {
  for (const auto& r : out.reports)
    write_report(r.path, [&](std::ostream& os) {
      if (r.option == "--json") write_json(os, ctx);
      else if (r.option == "--csv") write_csv(os, ctx);
      else write_html(os, ctx);
    }, cancel);
  if (out.quiet || any_to_stdout(out.reports)) return;
  TableOptions t;
  t.top = static_cast<size_t>(out.top);
  t.sort = out.sort;
  t.color = want_color(out.color);
  write_to_stdout("the table", [&](std::ostream& os) { print_table(os, ctx, t); });
}

}  // namespace weightdiff::cli
