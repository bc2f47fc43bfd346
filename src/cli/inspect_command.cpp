// The inspect command line: parse, call the library, print, exit.
#include "cli/inspect_command.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "cli/interrupt.hpp"
#include "cli/options.hpp"
#include "cli/report_file.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/inspect.hpp"
#include "weightdiff/inspect_report.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/progress.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff::cli {
namespace {

struct InspectArgs {
  std::string model;
  std::string backend = "auto";
  std::string devices;
  unsigned threads = 0;
  std::string json, csv;
  long long top = 20;
  std::vector<std::string> include, exclude;
  std::string hist_range = "-40:16";
  std::string progress = "auto", color = "auto";
  bool quiet = false;
};

int run(const InspectArgs& args) {
  InspectOptions opt;
  opt.include = args.include;
  opt.exclude = args.exclude;
  opt.hist = parse_hist_range(args.hist_range);
  opt.threads = args.threads;
  opt.backend = args.backend;
  opt.devices = args.devices;
  if (args.top < 0) throw Error(Errc::usage, "--top must be >= 0 (0 = all rows)");
  const std::vector<ReportRequest> reports =
      report_requests({{"--json", args.json}, {"--csv", args.csv}});
  const bool report_to_stdout = any_to_stdout(reports);
  // Nothing is opened before every destination is known not to be an input.
  refuse_reports_over_inputs(reports, model_path_files(args.model));
  opt.cancel = install_interrupt_handlers();

  const Model model = open_model(args.model);
  refuse_reports_over_inputs(reports, model_input_files(model));
  throw_if_cancelled(opt.cancel);
  std::optional<ProgressLine> progress;
  if (args.progress == "always" || (args.progress == "auto" && isatty(STDERR_FILENO))) {
    progress.emplace(stderr);
    opt.on_progress = [&](const Progress& p) { progress->update(p); };
  }
  const InspectResult result = inspect_model(model, opt);
  progress.reset();  // ends the progress line before anything else is printed
  for (const auto& n : result.notices) std::cerr << "weightdiff: " << printable(n) << '\n';

  const InspectReportContext ctx{&model, &result, &opt};
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
  app.add_option("--backend", args.backend, "auto | cpu | cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--devices", args.devices, "CUDA devices, e.g. 0,1 (used by the CUDA backend)");
  app.add_option("--threads", args.threads, "CPU worker threads")->check(CLI::Range(1u, 4096u));
  app.add_option("--json", args.json, "write the JSON report to PATH ('-' = stdout)");
  app.add_option("--csv", args.csv, "write the CSV report to PATH ('-' = stdout)");
  app.add_option("--top", args.top, "rows in the terminal table (0 = all)");
  // One value per occurrence: `--include X A` leaves A to the positional.
  app.add_option("--include", args.include, "keep tensors whose name matches REGEX")
      ->allow_extra_args(false);
  app.add_option("--exclude", args.exclude, "drop tensors whose name matches REGEX")
      ->allow_extra_args(false);
  app.add_option("--hist-range", args.hist_range, "histogram exponent range LO:HI");
  app.add_option("--progress", args.progress, "progress on stderr: auto (a TTY) | always | never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--color", args.color, "auto | always | never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("-q,--quiet", args.quiet, "no table; only the reports asked for");

  return parse_and_run(app, argc, argv, [&] { return run(args); });
}

}  // namespace weightdiff::cli
