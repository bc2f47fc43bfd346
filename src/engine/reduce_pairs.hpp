// The engine core shared by diff and inspect: reduce a list of tensor pairs
// on a backend, in fixed chunks merged in chunk order.
//
// A pair whose two sides are the same TensorRef is one-sided (inspect): its
// bytes are read and decoded once, and only its a-side fields and the
// pair's counts mean anything.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "engine/chunk_plan.hpp"
#include "weightdiff/options.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff::engine {

struct Reduced {
  std::vector<PairStats> stats;  // one per pair, in the pairs' order
  uint64_t bytes_read = 0;       // the bytes the pairs hold (a one-sided pair's once)
};

// The backend ComputeOptions ask for, with the cancel flag set; a fallback
// notice (no usable GPU, ...) is appended to `notices`. Throws Error(backend).
std::unique_ptr<backend::Backend> open_backend(const ComputeOptions& opt,
                                               std::vector<std::string>& notices);

// Plans the chunks, maps each batch's files, hands batches to the backend,
// merges in chunk order, reports progress and cancellation between
// batches, and checks at the end that no file changed during the pass.
// Throws weightdiff::Error.
Reduced reduce_pairs(std::span<const PlannedPair> pairs, backend::Backend& backend,
                     const ComputeOptions& opt);

}  // namespace weightdiff::engine
