// The CLI's progress on a terminal (a library caller draws its own from
// ComputeOptions::on_progress): bytes done/total, GB/s, ETA, current tensor.
#pragma once

#include <chrono>
#include <cstdio>

#include "weightdiff/options.hpp"

namespace weightdiff::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::FILE* out);
  ~ProgressLine();  // ends the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Redraws the line at most 10 times a second (and always at 100%).
  void update(const Progress& p);

 private:
  using Clock = std::chrono::steady_clock;
  std::FILE* out_;
  Clock::time_point start_, last_;
  bool shown_ = false;
};

}  // namespace weightdiff::cli
