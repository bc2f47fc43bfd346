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

// Where pass 1 counts the codes of every element as it goes (so that the
// scalar counter updates overlap with the vector arithmetic): code -> slot
// tables, and counters in kCountCopies interleaved copies (copy = element
// index % kCountCopies) of `width` slots each.
inline constexpr size_t kCountCopies = 4;
struct CountTargets {
  const uint16_t* abs_slot;    // 2048 |d| codes
  const uint16_t* value_slot;  // 4096 value codes
  uint32_t* d;                 // kCountCopies x d_width
  uint32_t* a;                 // kCountCopies x v_width
  size_t d_width, v_width;
};

struct BlockArgs {
  const double* a;  // kBlock elements each (entries past n are ignored)
  const double* b;
  size_t n;
  double atol, rtol;
  // A side is f64: subnormal doubles and |d| overflowing to inf can occur,
  // and their exponent codes need fixing (see BlockSlots).
  bool f64_codes;
  CountTargets counts;  // |d| and a's value histogram (b's: see BlockSlots)
  // A lower bound for max |d|/|a| already known (the chunk's so far, or -1):
  // seeding the lanes with it keeps the exact-division path rare.
  double max_rel_seed = -1.0;
};

// Histogram codes: the top 12 bits of a float64 (sign << 11 | biased
// exponent) decide its bin exactly; the chunk maps codes to bins through a
// table when counting. Code 0x7FF (with either sign) means "not counted": a
// non-finite value, or |d| of a non-finite pair. For f64 inputs: a subnormal
// gets exponent code 1 and a finite pair whose |d| overflows gets 0x7FE (both
// land in `under` / `over` because --hist-range keeps -1021 <= lo < hi <= 1023).
//
// b's value histogram is a's plus corrections: most elements of a diffed
// pair have the same code on both sides, so only those that differ are
// listed, saving one counter update per element.
struct BlockSlots {
  alignas(64) uint64_t packed[kBlock];     // |d| code | a code << 16
  alignas(64) uint64_t moved[kBlock + 8];  // a code | b code << 16 where they differ
  size_t n_moved = 0;                      // (+8: a compressing store may write a full vector)
};

// The Highway targets these loops (and decode_simd) are compiled for, as a
// mask: the ones the dispatcher can pick (tests force each in turn).
int64_t compiled_simd_targets() noexcept;

// Pass 1: counts, sums, extremes, max |d| with index, max rel, histogram slots.
void block_stats(const BlockArgs& args, BlockLanes& out, BlockSlots& slots);
// Pass 2: centered squares around the block means (fills m2_a, m2_b).
// all_finite: every pair of the block is finite (skips the masks).
void block_moments(const BlockArgs& args, double mean_a, double mean_b, bool all_finite,
                   BlockLanes& out);

}  // namespace weightdiff::cpu
