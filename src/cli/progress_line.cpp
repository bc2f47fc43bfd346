// A one-line progress display on stderr, updated in place.
#include "cli/progress_line.hpp"

#include <cstdio>
#include <string>

#include "weightdiff/report.hpp"

namespace weightdiff::cli {

ProgressLine::ProgressLine(std::FILE* out) : out_(out), start_(Clock::now()), last_(start_) {}

ProgressLine::~ProgressLine() {
  if (shown_) std::fputc('\n', out_);
}

void ProgressLine::update(const Progress& p) {
  const auto now = Clock::now();
  const bool done = p.bytes_done >= p.bytes_total;
  if (shown_ && !done && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(p.bytes_done) / secs : 0.0;
  const double left = static_cast<double>(p.bytes_total - std::min(p.bytes_done, p.bytes_total));
  const double pct = p.bytes_total ? 100.0 * static_cast<double>(p.bytes_done) /
                                         static_cast<double>(p.bytes_total)
                                   : 100.0;
  // A tensor name is file content: no escape sequence reaches the terminal,
  // and the line stays one line.
  std::string name = printable(p.current);
  if (name.size() > 80) {
    size_t cut = 80;  // at a UTF-8 boundary
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name = name.substr(0, cut) + "…";
  }
  std::fprintf(out_, "\r\033[K%5.1f%%  %.2f/%.2f GB  %.2f GB/s  ETA %.0fs  %s", pct,
               static_cast<double>(p.bytes_done) / 1e9, static_cast<double>(p.bytes_total) / 1e9,
               rate / 1e9, rate > 0 ? left / rate : 0.0, name.c_str());
  std::fflush(out_);
  shown_ = true;
}

}  // namespace weightdiff::cli
