// weightdiff command line: parse, call the library, print, exit like diff(1).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/inspect_command.hpp"
#include "cli/interrupt.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "cli/report_file.hpp"
#include "cli/std_streams.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/version.hpp"

namespace wd = weightdiff;

namespace {

struct CliArgs : wd::cli::SharedArgs {
  std::string a, b;
  std::string html;
  std::string sort = "rel_l2";
  std::vector<std::string> map, fail_if;
  std::optional<double> atol, rtol;
  bool structure_only = false;
  bool exact = false;
  std::string transpose = "auto";
  std::string dequant = "auto";
  std::string map_preset;
};

using wd::cli::want_color;
using wd::cli::write_report;

int run(const CliArgs& args) {
  wd::DiffOptions opt;
  static_cast<wd::ComputeOptions&>(opt) = wd::cli::compute_options(args);
  opt.atol = args.atol;
  opt.rtol = args.rtol;
  for (const auto& m : args.map) opt.map.push_back(wd::parse_map_rule(m));
  opt.include = args.include;
  opt.exclude = args.exclude;
  opt.structure_only = args.structure_only;
  opt.exact = args.exact;
  opt.map_preset = args.map_preset;
  opt.transpose = args.transpose == "never" ? wd::TransposeMode::never : wd::TransposeMode::automatic;
  opt.dequant = args.dequant == "always" ? wd::DequantMode::always
                : args.dequant == "never" ? wd::DequantMode::never
                                          : wd::DequantMode::automatic;
  wd::validate(opt);
  std::vector<wd::Gate> gates;
  for (const auto& g : args.fail_if) gates.push_back(wd::parse_gate(g));
  // Gates name values; without data every one would pass, silently.
  if (args.structure_only && !gates.empty())
    throw wd::Error(wd::Errc::usage, "--fail-if needs tensor values: not with --structure-only");
  wd::check_sort_metric(args.sort);
  const std::vector<wd::cli::ReportRequest> reports = wd::cli::report_requests(
      {{"--json", args.json}, {"--csv", args.csv}, {"--html", args.html}});
  const bool report_to_stdout = wd::cli::any_to_stdout(reports);
  // Nothing is opened before every destination is known not to be an input.
  wd::cli::refuse_reports_over_inputs(reports, wd::model_path_files(args.a));
  wd::cli::refuse_reports_over_inputs(reports, wd::model_path_files(args.b));
  opt.cancel = wd::cli::install_interrupt_handlers();
  const auto allow = wd::cli::allow_threads(opt.threads ? opt.threads : wd::default_thread_count());

  const wd::Model a = wd::open_model(args.a);
  const wd::Model b = wd::open_model(args.b);
  // Shards and external data are known once the models are open; their
  // tensor bytes are not read yet.
  wd::cli::refuse_reports_over_inputs(reports, wd::model_input_files(a));
  wd::cli::refuse_reports_over_inputs(reports, wd::model_input_files(b));
  wd::throw_if_cancelled(opt.cancel);
  std::optional<wd::cli::ProgressLine> progress;
  if (wd::cli::want_progress(args.progress)) {
    progress.emplace(stderr);
    opt.on_progress = [&](const wd::Progress& p) { progress->update(p); };
  }
  wd::DiffResult result = wd::diff_models(a, b, opt);
  progress.reset();  // ends the progress line before anything else is printed
  for (const auto& n : result.notices) std::cerr << "weightdiff: " << wd::printable(n) << '\n';
  wd::apply_gates(result, gates);

  wd::ReportContext ctx{&a, &b, &result};
  for (const auto& r : reports)
    write_report(r.path, [&](std::ostream& out) {
      if (r.option == "--json") wd::write_json(out, ctx);
      else if (r.option == "--csv") wd::write_csv(out, ctx);
      else wd::write_html(out, ctx);
    }, opt.cancel);
  if (!args.quiet && !report_to_stdout) {
    wd::TableOptions t;
    t.top = static_cast<size_t>(args.top);
    t.sort = args.sort;
    t.color = want_color(args.color);
    wd::cli::write_to_stdout("the table", [&](std::ostream& out) { wd::print_table(out, ctx, t); });
  }
  return wd::exit_code(result, !gates.empty());
}

}  // namespace

int main(int argc, char** argv) {
  wd::cli::reserve_closed_std_fds();
  if (argc > 1 && std::string_view(argv[1]) == "inspect")
    return wd::cli::inspect_command(argc - 1, argv + 1);
  CliArgs args;
  CLI::App app{"weightdiff: compare the weights of two models, tensor by tensor", "weightdiff"};
  app.footer("One model: weightdiff inspect [OPTIONS] A  (dtype/shape/bytes, value stats,\n"
             "NaN/Inf scan; see weightdiff inspect --help)");
  app.set_version_flag("--version",
                       std::string("weightdiff ") + wd::kVersion +
                           " (backends: " + wd::compiled_backends() + ")");
  app.add_option("A", args.a, "reference model (file or folder)")->required();
  app.add_option("B", args.b, "candidate model (file or folder)")->required();
  wd::cli::add_shared_options(app, args);
  app.add_option("--html", args.html, "write the self-contained HTML report to PATH ('-' = stdout)");
  app.add_option("--sort", args.sort, "table order, worst first");
  app.add_option("--map", args.map, "rename B's tensors: 'REGEX=REPL', applied in order")
      ->allow_extra_args(false);
  app.add_option("--atol", args.atol, "absolute tolerance (overrides the per-dtype default)");
  app.add_option("--rtol", args.rtol, "relative tolerance (overrides the per-dtype default)");
  app.add_option("--fail-if", args.fail_if, "gate, e.g. 'cosine<0.9999' or 'global.rel_l2>1e-3'")
      ->allow_extra_args(false);
  app.add_flag("--structure-only", args.structure_only,
               "compare names, dtypes, shapes and metadata; read no tensor data");
  app.add_flag("--exact", args.exact,
               "also require the same dtypes and bytes (a re-export check): exit 1 otherwise");
  app.add_option("--map-preset", args.map_preset,
                 "built-in names for a converted side: llama-gguf (a GGUF file's blk.N.attn_q.weight,\n"
                 "... as the Hugging Face checkpoint's names; llama.cpp's Q/K row permutation undone)");
  app.add_option("--transpose", args.transpose,
                 "auto: compare a 2-D pair stored as each other's transpose (A [r,c], B [c,r];\n"
                 "an ONNX MatMul weight against its Linear) as A against B^T; never: a shape mismatch")
      ->check(CLI::IsMember({"auto", "never"}));
  app.add_option("--dequant", args.dequant,
                 "auto: compare an FP8 weight times its scales (weight_scale_inv, weight_scale) or a\n"
                 "GPTQ/AWQ qweight dequantized when only one side holds such scales; always; never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  return wd::cli::parse_and_run(app, argc, argv, [&] { return run(args); });
}
