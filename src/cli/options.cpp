#include "cli/options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <new>
#include <string_view>

#include "cli/interrupt.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff::cli {

HistRange parse_hist_range(const std::string& s) {
  const auto bad = [&] {
    return Error(Errc::usage, "--hist-range '" + s + "': expected LO:HI, e.g. -40:16");
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

void add_shared_options(CLI::App& app, SharedArgs& args) {
  app.add_option("--backend", args.backend, "auto | cpu | cuda | hybrid (CPU and CUDA together)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda", "hybrid"}));
  app.add_option("--devices", args.devices, "CUDA devices, e.g. 0,1 (used by the CUDA backend)");
  app.add_option("--threads", args.threads, "CPU worker threads")->check(CLI::Range(1u, 4096u));
  app.add_option("--json", args.json, "write the JSON report to PATH ('-' = stdout)");
  app.add_option("--csv", args.csv, "write the CSV report to PATH ('-' = stdout)");
  app.add_option("--top", args.top, "rows in the terminal table, and structural lines (0 = all)");
  // Repeatable options take one value per occurrence: `--include X A B`
  // must leave A and B to the positionals (CLI11 would otherwise take them).
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
}

ComputeOptions compute_options(const SharedArgs& args) {
  if (args.top < 0) throw Error(Errc::usage, "--top must be >= 0 (0 = all rows)");
  ComputeOptions opt;
  opt.backend = parse_backend_kind(args.backend);
  opt.devices = parse_device_list(args.devices);
  opt.threads = args.threads;
  opt.hist = parse_hist_range(args.hist_range);
  validate(opt);
  return opt;
}

bool want_progress(const std::string& mode) {
  return mode == "always" || (mode == "auto" && isatty(STDERR_FILENO));
}

bool want_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::string(term) == "dumb");
}

namespace {

// The error line is the last line on stderr (SPEC §6): printable, and
// bounded whatever a file or an option put into it.
std::string one_line(std::string_view text) {
  constexpr size_t kMax = 8192;
  std::string line = printable(text);
  if (line.size() > kMax) {
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line = line.substr(0, cut) + "… (" + std::to_string(text.size()) + " bytes)";
  }
  return line;
}

}  // namespace

std::optional<ParseEnd> parse_only(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::CallForHelp& e) {
    return ParseEnd{app.exit(e), ""};
  } catch (const CLI::CallForAllHelp& e) {
    return ParseEnd{app.exit(e), ""};
  } catch (const CLI::CallForVersion& e) {
    return ParseEnd{app.exit(e), ""};
  } catch (const CLI::ParseError& e) {
    std::string line = "weightdiff: error: ";  // += only: GCC 12's -Wrestrict
    line += one_line(e.what());
    return ParseEnd{2, line};
  }
}

int parse_and_run(CLI::App& app, int argc, char** argv, const std::function<int()>& run) {
  if (const auto end = parse_only(app, argc, argv)) {
    if (!end->line.empty()) std::cerr << end->line << '\n';
    return end->code;
  }
  try {
    return run();
  } catch (...) {
    std::cerr << current_error_line() << '\n';
    return 2;
  }
}

std::string current_error_line() {
  try {
    throw;
  } catch (const Error& e) {
    if (e.code() == Errc::cancelled && *interrupt_signal_name() != '\0')
      return std::string("weightdiff: error: interrupted by ") + interrupt_signal_name();
    std::string line = "weightdiff: error: ";  // += only: GCC 12's -Wrestrict
    line += one_line(e.what());
    return line;
  } catch (const std::bad_alloc&) {
    return "weightdiff: error: out of memory (a limit of this machine, not a finding about the models)";
  } catch (const std::exception& e) {
    std::string line = "weightdiff: internal error: ";
    line += one_line(e.what());
    return line;
  } catch (...) {
    return "weightdiff: internal error: an unknown exception";
  }
}

std::unique_ptr<tbb::global_control> allow_threads(unsigned threads) {
  const size_t now = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  if (threads <= now) return nullptr;
  return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, threads);
}

}  // namespace weightdiff::cli
