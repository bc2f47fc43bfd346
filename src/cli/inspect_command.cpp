// The inspect command line: parse, call the library, print, exit.
#include "cli/inspect_command.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "cli/interrupt.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "cli/report_file.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/inspect.hpp"
#include "weightdiff/inspect_report.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff::cli {
namespace {

struct InspectArgs : SharedArgs {
  std::string model;
};

int run(const InspectArgs& args) {
  InspectOptions opt;
  static_cast<ComputeOptions&>(opt) = compute_options(args);
  opt.include = args.include;
  opt.exclude = args.exclude;
  const std::vector<ReportRequest> reports =
      report_requests({{"--json", args.json}, {"--csv", args.csv}});
  const bool report_to_stdout = any_to_stdout(reports);
  // Nothing is opened before every destination is known not to be an input.
  refuse_reports_over_inputs(reports, model_path_files(args.model));
  opt.cancel = install_interrupt_handlers();
  const auto allow = allow_threads(opt.threads ? opt.threads : default_thread_count());

  const Model model = open_model(args.model);
  refuse_reports_over_inputs(reports, model_input_files(model));
  throw_if_cancelled(opt.cancel);
  std::optional<ProgressLine> progress;
  if (want_progress(args.progress)) {
    progress.emplace(stderr);
    opt.on_progress = [&](const Progress& p) { progress->update(p); };
  }
  const InspectResult result = inspect_model(model, opt);
  progress.reset();  // ends the progress line before anything else is printed
  for (const auto& n : result.notices) std::cerr << "weightdiff: " << printable(n) << '\n';

  const InspectReportContext ctx{&model, &result};
  for (const auto& r : reports)
    write_report(r.path, [&](std::ostream& out) {
      if (r.option == "--json") write_inspect_json(out, ctx);
      else write_inspect_csv(out, ctx);
    }, opt.cancel);
  if (!args.quiet && !report_to_stdout) {
    InspectTableOptions t;
    t.top = static_cast<size_t>(args.top);
    t.color = want_color(args.color);
    write_to_stdout("the table", [&](std::ostream& out) { print_inspect_table(out, ctx, t); });
  }
  return inspect_exit_code(result);
}

}  // namespace

int inspect_command(int argc, char** argv) {
  InspectArgs args;
  CLI::App app{"weightdiff inspect: one model's per-tensor dtype, shape, bytes and value stats "
               "(NaN/Inf scan).\nExit status: 0 healthy, 1 a tensor holds NaN or Inf, 2 trouble.",
               "weightdiff inspect"};
  app.add_option("A", args.model, "model (file or folder)")->required();
  add_shared_options(app, args);

  return parse_and_run(app, argc, argv, [&] { return run(args); });
}

}  // namespace weightdiff::cli
