// weightdiff command line: parse, call the library, print, exit like diff(1).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "backend/backend.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/progress.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/version.hpp"

namespace wd = weightdiff;

namespace {

struct CliArgs {
  std::string a, b;
  std::string backend = "auto";
  std::string devices;
  unsigned threads = 0;
  std::string json;
  long long top = 20;
  std::string sort = "rel_l2";
  std::vector<std::string> include, exclude, map, fail_if;
  std::optional<double> atol, rtol;
  std::string hist_range = "-40:16";
  std::string progress = "auto", color = "auto";
  bool quiet = false;
};

wd::HistRange parse_hist_range(const std::string& s) {
  const auto bad = [&] {
    return wd::Error(wd::Errc::usage, "--hist-range '" + s + "': expected LO:HI, e.g. -40:16");
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

std::optional<double> tolerance(const std::optional<double>& v, const char* option) {
  if (v && !(std::isfinite(*v) && *v >= 0))
    throw wd::Error(wd::Errc::usage, std::string(option) + " must be a finite number >= 0");
  return v;
}

bool want_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::string(term) == "dumb");
}

template <typename Writer>
void write_file_atomically(const std::filesystem::path& path, const std::string& given,
                           Writer&& write) {
  const std::string tmp = path.string() + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw wd::Error(wd::Errc::io, "cannot write report", given);
    write(out);
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw wd::Error(wd::Errc::io, "cannot write report", given);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw wd::Error(wd::Errc::io, "cannot write report: " + ec.message(), given);
  }
}

// Writes a report next to its destination and renames it into place, so an
// error never leaves a partial report behind. A symlink is followed (the link
// stays); a destination that is not a regular file (/dev/null, a FIFO) is
// written directly.
template <typename Writer>
void write_report(const std::string& given, Writer&& write) {
  namespace fs = std::filesystem;
  if (given == "-") {
    write(std::cout);
    std::cout.flush();
    return;
  }
  std::error_code ec;
  fs::path path = fs::weakly_canonical(given, ec);  // follows symlinks
  if (ec || path.empty()) path = given;
  const fs::file_status st = fs::status(path, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st)) {
    std::ofstream out(given, std::ios::binary);
    if (!out) throw wd::Error(wd::Errc::io, "cannot write report", given);
    write(out);
    out.flush();
    if (!out) throw wd::Error(wd::Errc::io, "cannot write report", given);
    return;
  }
  write_file_atomically(path, given, write);
}

int run(const CliArgs& args) {
  wd::DiffOptions opt;
  opt.atol = tolerance(args.atol, "--atol");
  opt.rtol = tolerance(args.rtol, "--rtol");
  for (const auto& m : args.map) opt.map.push_back(wd::parse_map_rule(m));
  opt.include = args.include;
  opt.exclude = args.exclude;
  opt.hist = parse_hist_range(args.hist_range);
  opt.threads = args.threads;
  opt.backend = args.backend;
  std::vector<wd::Gate> gates;
  for (const auto& g : args.fail_if) gates.push_back(wd::parse_gate(g));
  wd::check_sort_metric(args.sort);
  if (args.top < 0) throw wd::Error(wd::Errc::usage, "--top must be >= 0 (0 = all rows)");

  const wd::Model a = wd::open_model(args.a);
  const wd::Model b = wd::open_model(args.b);
  std::optional<wd::ProgressLine> progress;
  if (args.progress == "always" || (args.progress == "auto" && isatty(STDERR_FILENO))) {
    progress.emplace(stderr);
    opt.on_progress = [&](const wd::Progress& p) { progress->update(p); };
  }
  wd::DiffResult result = wd::diff_models(a, b, opt);
  progress.reset();  // ends the progress line before anything else is printed
  for (const auto& n : result.notices) std::cerr << "weightdiff: " << n << '\n';
  wd::apply_gates(result, gates);

  wd::ReportContext ctx{&a, &b, &result, &opt, args.fail_if};
  if (!args.json.empty())
    write_report(args.json, [&](std::ostream& out) { wd::write_json(out, ctx); });
  if (!args.quiet && args.json != "-") {
    wd::TableOptions t;
    t.top = static_cast<size_t>(args.top);
    t.sort = args.sort;
    t.color = want_color(args.color);
    wd::print_table(std::cout, ctx, t);
  }
  return wd::exit_code(result, !gates.empty());
}

}  // namespace

int main(int argc, char** argv) {
  CliArgs args;
  CLI::App app{"weightdiff: compare the weights of two models, tensor by tensor", "weightdiff"};
  app.set_version_flag("--version",
                       std::string("weightdiff ") + wd::kVersion +
                           " (backends: " + wd::backend::compiled_backends() + ")");
  app.add_option("A", args.a, "reference model (file or folder)")->required();
  app.add_option("B", args.b, "candidate model (file or folder)")->required();
  app.add_option("--backend", args.backend, "auto | cpu | cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--devices", args.devices, "CUDA devices, e.g. 0,1 (used by the CUDA backend)");
  app.add_option("--threads", args.threads, "CPU worker threads")->check(CLI::Range(1u, 4096u));
  app.add_option("--json", args.json, "write the JSON report to PATH ('-' = stdout)");
  app.add_option("--top", args.top, "rows in the terminal table (0 = all)");
  app.add_option("--sort", args.sort, "table order, worst first");
  app.add_option("--include", args.include, "keep tensors whose name matches REGEX");
  app.add_option("--exclude", args.exclude, "drop tensors whose name matches REGEX");
  app.add_option("--map", args.map, "rename B's tensors: 'REGEX=REPL', applied in order");
  app.add_option("--atol", args.atol, "absolute tolerance (overrides the per-dtype default)");
  app.add_option("--rtol", args.rtol, "relative tolerance (overrides the per-dtype default)");
  app.add_option("--fail-if", args.fail_if, "gate, e.g. 'cosine<0.9999' or 'global.rel_l2>1e-3'");
  app.add_option("--hist-range", args.hist_range, "histogram exponent range LO:HI");
  app.add_option("--progress", args.progress, "progress on stderr: auto (a TTY) | always | never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--color", args.color, "auto | always | never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("-q,--quiet", args.quiet, "no table; only the reports asked for");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "weightdiff: error: " << e.what() << '\n';
    return 2;
  }
  try {
    return run(args);
  } catch (const wd::Error& e) {
    std::cerr << "weightdiff: error: " << wd::printable(e.what()) << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "weightdiff: internal error: " << e.what() << '\n';
    return 2;
  }
}
