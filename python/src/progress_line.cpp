#include "progress_line.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "weightdiff/report.hpp"

namespace weightdiff::python {
namespace {

void write_stderr(const std::string& s) {
  // Progress is best effort: a closed or full stderr must not fail the call.
  for (size_t done = 0; done < s.size();) {
    const ssize_t n = ::write(STDERR_FILENO, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

ProgressLine::~ProgressLine() {
  if (shown_) write_stderr("\n");
}

void ProgressLine::update(const Progress& p) {
  const std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  // The end is always shown, once.
  const bool end = p.bytes_done >= p.bytes_total && p.bytes_done != done_;
  if (shown_ && !end && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  done_ = p.bytes_done;
  shown_ = true;
  char head[96];
  const double pct = p.bytes_total ? 100.0 * static_cast<double>(p.bytes_done) /
                                         static_cast<double>(p.bytes_total)
                                   : 100.0;
  std::snprintf(head, sizeof head, "\rweightdiff: %.2f / %.2f GB (%.0f%%) ",
                static_cast<double>(p.bytes_done) / 1e9, static_cast<double>(p.bytes_total) / 1e9, pct);
  std::string line = head;
  line += printable(p.current).substr(0, 60);
  line += "\x1b[K";  // clears what a longer previous line left
  write_stderr(line);
}

}  // namespace weightdiff::python
