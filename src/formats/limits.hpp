// Limits every loader enforces, whatever the format (SPEC §7: no unbounded
// allocation, no crash on hostile files).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "weightdiff/error.hpp"

namespace weightdiff::formats {

// Longest tensor name, also held to by --map's results: bounds the memory
// per name (a rule like '(.*)=$1$1' doubles a name) and what a message
// quotes.
inline constexpr size_t kMaxTensorName = 16 * 1024;

// Throws Error(malformed) naming `file` (and the name's start) for a name
// longer than kMaxTensorName. Loaders call it as soon as a name is read, so
// no later message carries a megabyte of name.
inline void check_tensor_name(std::string_view name, const std::string& file) {
  if (name.size() > kMaxTensorName)
    throw Error(Errc::malformed,
                "tensor name of " + std::to_string(name.size()) + " bytes, longer than 16 KiB", file,
                std::string(name.substr(0, 64)) + "...");
}

// Most tensors in one model. Each compared pair keeps its statistics and
// histograms (a few KiB) for the reports, so a small hostile file declaring
// millions of empty tensors would otherwise need tens of GB. The largest
// real checkpoints hold around 10^5 tensors.
inline constexpr size_t kMaxTensors = 1'000'000;

}  // namespace weightdiff::formats
