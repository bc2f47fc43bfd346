// progress=True: one line on stderr, rewritten in place, as the CLI's
// (bytes done, percent, tensor), at most ten times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "weightdiff/options.hpp"

namespace weightdiff::python {

class ProgressLine {
 public:
  ProgressLine() = default;
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();  // ends the line
  void update(const Progress& p);

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t done_ = 0;
  bool shown_ = false;
};

}  // namespace weightdiff::python
