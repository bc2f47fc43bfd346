#include "cli/merge_command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/diff_reports.hpp"
#include "cli/interrupt.hpp"
#include "cli/options.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/merge.hpp"

namespace weightdiff::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> parts;
  std::string json, csv, html;
  std::vector<std::string> fail_if;
  std::string sort = "rel_l2", color = "auto";
  long long top = 20;
  bool quiet = false;
};

int run(const MergeArgs& args) {
  check_sort_metric(args.sort);
  DiffOutput out;
  out.reports = report_requests({{"--json", args.json}, {"--csv", args.csv}, {"--html", args.html}});
  out.sort = args.sort, out.top = args.top, out.color = args.color, out.quiet = args.quiet;
  std::vector<Gate> gates;  // checked before anything is read
  for (const auto& g : args.fail_if) gates.push_back(parse_gate(g));
  for (const auto& p : args.parts) refuse_reports_over_inputs(out.reports, model_path_files(p));
  const CancelFlag* cancel = install_interrupt_handlers();

  MergedRun run = merge_parts(args.parts);
  // The parts' gates unless others are given: as the single run would have.
  if (args.fail_if.empty())
    for (const auto& g : run.fail_if) gates.push_back(parse_gate(g));
  for (const auto& n : run.result.notices) std::cerr << "weightdiff: " << printable(n) << '\n';
  throw_if_cancelled(cancel);
  apply_gates(run.result, gates);
  const ReportContext ctx{&run.a, &run.b, &run.result};
  write_diff_output(ctx, out, cancel);
  return exit_code(run.result, !gates.empty());
}

}  // namespace

int merge_command(int argc, char** argv) {
  MergeArgs args;
  CLI::App app{"weightdiff merge: the JSON reports of the parts of a --shard K/N run joined into the\n"
               "single run's reports and exit code (every part 1..N once, same inputs and options).\n"
               "Exit status: 0 no difference, 1 differences, 2 trouble.",
               "weightdiff merge"};
  app.add_option("PART", args.parts, "a part's JSON report (weightdiff A B --shard K/N --json PART)")
      ->required();
  app.add_option("--json", args.json, "write the JSON report to PATH ('-' = stdout)");
  app.add_option("--csv", args.csv, "write the CSV report to PATH ('-' = stdout)");
  app.add_option("--html", args.html, "write the self-contained HTML report to PATH ('-' = stdout)");
  app.add_option("--fail-if", args.fail_if, "gate, as for a diff (default: the parts' own gates)")
      ->allow_extra_args(false);
  app.add_option("--sort", args.sort, "table order, worst first");
  app.add_option("--top", args.top, "table rows (0 = all)")->check(CLI::NonNegativeNumber);
  app.add_option("--color", args.color, "auto|always|never")->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("-q,--quiet", args.quiet, "no table on stdout");
  return parse_and_run(app, argc, argv, [&] { return run(args); });
}

}  // namespace weightdiff::cli
