// Limits every loader enforces, whatever the format (SPEC §7: no unbounded
// allocation, no crash on hostile files).
#pragma once

#include <cstddef>

namespace weightdiff::formats {

// Longest tensor name: std::regex (--include, --exclude, --map) recurses
// once per character, so a megabyte-long name would overflow the stack.
inline constexpr size_t kMaxTensorName = 16 * 1024;

// Most tensors in one model. Each compared pair keeps its statistics and
// histograms (a few KiB) for the reports, so a small hostile file declaring
// millions of empty tensors would otherwise need tens of GB. The largest
// real checkpoints hold around 10^5 tensors.
inline constexpr size_t kMaxTensors = 1'000'000;

}  // namespace weightdiff::formats
