// weightdiff command line: parse, call the library, print, exit like diff(1).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cli/diff_reports.hpp"
#include "cli/inspect_command.hpp"
#include "cli/interrupt.hpp"
#include "cli/merge_command.hpp"
#include "cli/mpi_world.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "cli/report_file.hpp"
#include "cli/std_streams.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/merge.hpp"
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
  std::string shard;
};

// What a diff needs before any model is opened: options, gates and report
// destinations, all checked (nothing is opened before every destination is
// known not to be an input).
struct Plan {
  wd::DiffOptions opt;
  std::vector<wd::Gate> gates;
  wd::cli::DiffOutput out;
};

Plan plan_of(const CliArgs& args, const wd::cli::MpiWorld* world) {
  Plan p;
  wd::DiffOptions& opt = p.opt;
  static_cast<wd::ComputeOptions&>(opt) = wd::cli::compute_options(args);
  opt.atol = args.atol;
  opt.rtol = args.rtol;
  for (const auto& m : args.map) opt.map.push_back(wd::parse_map_rule(m));
  opt.include = args.include;
  opt.exclude = args.exclude;
  opt.structure_only = args.structure_only;
  opt.exact = args.exact;
  opt.map_preset = args.map_preset;
  if (!args.shard.empty()) opt.shard = wd::parse_shard(args.shard);
  opt.transpose = args.transpose == "never" ? wd::TransposeMode::never : wd::TransposeMode::automatic;
  opt.dequant = args.dequant == "always" ? wd::DequantMode::always
                : args.dequant == "never" ? wd::DequantMode::never
                                          : wd::DequantMode::automatic;
  if (world) {  // mpirun: rank r computes part r + 1 of the ranks
    if (opt.shard) throw wd::Error(wd::Errc::usage, "--shard splits the run, and so does mpirun: not both");
    if (opt.structure_only)
      throw wd::Error(wd::Errc::usage, "--structure-only reads no values: run it without mpirun");
    opt.shard = wd::Shard{static_cast<uint32_t>(world->rank() + 1), static_cast<uint32_t>(world->size())};
    // One GPU per rank: the local rank's, unless the launcher already gave
    // each rank its own (CUDA_VISIBLE_DEVICES) or --devices says otherwise.
    if (args.devices.empty() && !std::getenv("CUDA_VISIBLE_DEVICES")) opt.devices = {world->local_rank()};
  }
  wd::validate(opt);
  for (const auto& g : args.fail_if) p.gates.push_back(wd::parse_gate(g));
  // Gates name values; without data every one would pass, silently.
  if (args.structure_only && wd::gates_need_values(p.gates))
    throw wd::Error(wd::Errc::usage, "--fail-if needs tensor values: not with --structure-only");
  wd::check_sort_metric(args.sort);
  p.out.reports = wd::cli::report_requests({{"--json", args.json}, {"--csv", args.csv}, {"--html", args.html}});
  p.out.sort = args.sort, p.out.top = args.top, p.out.color = args.color, p.out.quiet = args.quiet;
  wd::cli::refuse_reports_over_inputs(p.out.reports, wd::model_path_files(args.a));
  wd::cli::refuse_reports_over_inputs(p.out.reports, wd::model_path_files(args.b));
  return p;
}

struct Computed {
  wd::Model a, b;
  wd::DiffResult result;
};

// Opens both models and diffs them (a progress line on stderr when asked).
Computed compute(const CliArgs& args, Plan& p, bool progress_allowed) {
  p.opt.cancel = wd::cli::install_interrupt_handlers();
  const auto allow = wd::cli::allow_threads(p.opt.threads ? p.opt.threads : wd::default_thread_count());
  Computed c{wd::open_model(args.a), wd::open_model(args.b), {}};
  // Shards and external data are known once the models are open; their
  // tensor bytes are not read yet.
  wd::cli::refuse_reports_over_inputs(p.out.reports, wd::model_input_files(c.a));
  wd::cli::refuse_reports_over_inputs(p.out.reports, wd::model_input_files(c.b));
  wd::throw_if_cancelled(p.opt.cancel);
  std::optional<wd::cli::ProgressLine> progress;
  if (progress_allowed && wd::cli::want_progress(args.progress)) {
    progress.emplace(stderr);
    p.opt.on_progress = [&](const wd::Progress& pr) { progress->update(pr); };
  }
  c.result = wd::diff_models(c.a, c.b, p.opt);
  p.opt.on_progress = nullptr;
  return c;
}

int run(const CliArgs& args) {
  Plan p = plan_of(args, nullptr);
  Computed c = compute(args, p, true);
  for (const auto& n : c.result.notices) std::cerr << "weightdiff: " << wd::printable(n) << '\n';
  wd::apply_gates(c.result, p.gates);
  const wd::ReportContext ctx{&c.a, &c.b, &c.result};
  wd::cli::write_diff_output(ctx, p.out, p.opt.cancel);
  return wd::exit_code(c.result, !p.gates.empty());
}

// A rank's error line as rank 0 prints it: "weightdiff: error: ..." becomes
// "weightdiff: error: rank R: ..." (rank 0's own stays as it is).
std::string rank_line(int rank, std::string line) {
  if (rank == 0) return line;
  const std::string head = "weightdiff: error: ";
  const size_t at = line.starts_with(head) ? head.size() : line.find(": ") + 2;
  std::string where = "rank ";
  where += std::to_string(rank);
  where += ": ";
  line.insert(at, where);
  return line;
}

// Under mpirun: every rank computes its part; any rank's failure is every
// rank's exit 2 with one line (the lowest failing rank's) from rank 0 and no
// report; else rank 0 merges the parts as `weightdiff merge` does and alone
// prints and writes. Every rank exits with rank 0's status.
int run_ranks(const CliArgs& args, wd::cli::MpiWorld& world) {
  std::string part, line;
  int status = 0;
  Plan p;
  try {
    p = plan_of(args, &world);
    Computed c = compute(args, p, world.rank() == 0);
    std::ostringstream text;
    wd::write_json(text, wd::ReportContext{&c.a, &c.b, &c.result});
    part = std::move(text).str();
  } catch (...) {
    status = 2;
    line = wd::cli::current_error_line();
  }
  if (const auto failed = world.first_failure(status, line)) {
    if (world.rank() == 0) std::cerr << rank_line(failed->first, failed->second) << '\n';
    return 2;
  }
  std::vector<std::string> parts;
  try {
    parts = world.gather(part);
  } catch (...) {  // out of memory receiving the parts: the others would wait in the broadcast
    std::cerr << wd::cli::current_error_line() << '\n';
    world.abort(2);
  }
  part = std::string();
  int code = 2;
  if (world.rank() == 0) {
    try {
      std::vector<wd::PartText> texts;
      for (size_t r = 0; r < parts.size(); ++r) texts.push_back({"rank " + std::to_string(r), std::move(parts[r])});
      wd::MergedRun m = wd::merge_part_texts(std::move(texts));
      for (const auto& n : m.result.notices) std::cerr << "weightdiff: " << wd::printable(n) << '\n';
      wd::apply_gates(m.result, p.gates);
      const wd::ReportContext ctx{&m.a, &m.b, &m.result};
      wd::cli::write_diff_output(ctx, p.out, p.opt.cancel);
      code = wd::exit_code(m.result, !p.gates.empty());
    } catch (...) {
      std::cerr << wd::cli::current_error_line() << '\n';
      code = 2;
    }
  }
  return world.broadcast(code);
}

// Where the other ranks' stdout and stderr go: rank 0 speaks for the job.
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

}  // namespace

int main(int argc, char** argv) {
  wd::cli::reserve_closed_std_fds();
  if (argc > 1 && std::string_view(argv[1]) == "inspect")
    return wd::cli::inspect_command(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "merge") return wd::cli::merge_command(argc - 1, argv + 1);
  const std::unique_ptr<wd::cli::MpiWorld> world = wd::cli::MpiWorld::join(&argc, &argv);
  static NullBuffer quiet;
  if (world && world->rank() != 0) {  // rank 0 alone prints: help, version, errors, the table
    std::cerr.rdbuf(&quiet);
    std::cout.rdbuf(&quiet);
  }
  CliArgs args;
  CLI::App app{"weightdiff: compare the weights of two models, tensor by tensor", "weightdiff"};
  app.footer("One model: weightdiff inspect [OPTIONS] A  (dtype/shape/bytes, value stats,\n"
             "NaN/Inf scan; see weightdiff inspect --help)\n"
             "Parts of a --shard run: weightdiff merge PART.json... (see weightdiff merge --help)");
  app.set_version_flag("--version",
                       std::string("weightdiff ") + wd::kVersion +
                           " (backends: " + wd::compiled_backends() +
                           (wd::cli::built_with_mpi() ? "; mpirun" : "") + ")");
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
  app.add_option("--shard", args.shard,
                 "K/N: compare only the K-th of N parts of the pairs (balanced by bytes); --json then\n"
                 "writes a part that weightdiff merge joins with the others into the single run's reports");

  if (!world) return wd::cli::parse_and_run(app, argc, argv, [&] { return run(args); });
  // Under mpirun every rank takes part in every collective, whatever its
  // command line says (MPMD: each rank has its own): a rank that ends at
  // parsing (help, version, a bad option) ends every rank.
  const auto end = wd::cli::parse_only(app, argc, argv);
  if (const auto failed = world->first_failure(end ? 1 : 0, end ? end->line : std::string())) {
    if (world->rank() == 0 && !(end && end->line.empty()))  // help and version are printed already
      std::cerr << rank_line(failed->first, failed->second) << '\n';
    return world->broadcast(end ? end->code : 2);
  }
  return run_ranks(args, *world);  // reports every error itself, on rank 0
}
