// Host side of the Partial: the slot layout of a --hist-range, and the
// PairStats a tensor's merged Partial and slots give (built once per
// tensor, after its last chunk).
#pragma once

#include <cstdint>

#include "backend/partial.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff::backend {

HistLayout hist_layout(const HistRange& r);

// With n_fin == 0 the extremes and moments keep PairStats' defaults (0),
// as reports expect for a tensor without finite pairs.
PairStats pair_stats_of(const Partial& p, const uint64_t* slots, const HistRange& r,
                        uint64_t numel);

}  // namespace weightdiff::backend
