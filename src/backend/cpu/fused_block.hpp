// The SIMD block loops of the fused CPU pass (Google Highway, one copy per
// ISA, picked at run time).
//
// Determinism by construction: element j of a block always feeds lane j % 8
// of every accumulator, whatever the vector width (one AVX-512 vector, two
// AVX2, four SSE4 vectors hold the 8 lanes), and each lane sees the same
// IEEE operation sequence. The caller folds lanes in one fixed order, so the
// results are the same bits on every x86 ISA level and thread count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weightdiff::cpu {

inline constexpr int kLanes = 8;
inline constexpr size_t kBlock = 1024;  // elements decoded at a time (L1-resident)

// Per-lane accumulators of one block.
struct alignas(64) BlockLanes {
  int64_t n_fin[kLanes], n_eq[kLanes], n_mis[kLanes];
  int64_t n_nan_a[kLanes], n_nan_b[kLanes], n_inf_a[kLanes], n_inf_b[kLanes];
  double s_abs[kLanes], s_sq_d[kLanes], s_dot[kLanes], s_sq_a[kLanes], s_sq_b[kLanes];
  double s_a[kLanes], s_b[kLanes];
  double min_a[kLanes], max_a[kLanes], min_b[kLanes], max_b[kLanes];
  double mx[kLanes], mx_i[kLanes], mrel[kLanes];  // mx, mrel: -1 when none
  double m2_a[kLanes], m2_b[kLanes];
};

struct BlockArgs {
  const double* a;  // kBlock elements each (entries past n are ignored)
  const double* b;
  size_t n;
  double atol, rtol;
  int lo, nbins;  // histogram range
};

// Histogram slot per element: 0 = zero, 1 = under, 2.. = bins, nbins+2 =
// over; value slots add stride = nbins+3 for negative values. Elements that
// are not counted go to slot `stride` (|d|) or `2*stride` (values).
struct BlockSlots {
  alignas(64) int64_t d[kBlock];
  alignas(64) int64_t a[kBlock];
  alignas(64) int64_t b[kBlock];
};

// Pass 1: counts, sums, extremes, max |d| with index, max rel.
void block_stats(const BlockArgs& args, BlockLanes& out);
// Pass 2: centered squares around the block means, and histogram slots.
void block_moments(const BlockArgs& args, double mean_a, double mean_b, BlockLanes& out,
                   BlockSlots& slots);

}  // namespace weightdiff::cpu
