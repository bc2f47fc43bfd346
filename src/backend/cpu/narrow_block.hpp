// The fused pass over one block of a pair of 16-bit float tensors (bf16 or
// f16 on either side), in float32 where that is exact and float64 where
// the result bits are fixed by float64 rounding: the same BlockLanes, bit
// for bit, as decoding to float64 and running block_stats/block_moments.
//
// Why it is the same: every bf16/f16 value is a float32, so comparisons,
// min/max, |a| and the exponent codes of a and b are the same in float32;
// b - a is exact in float32 when the pair's exponents are close (checked
// per pair below), and then so are |d|, its exponent, max |d| and its
// index. The sums, the tolerance test and the moments stay float64, lane
// for lane in the same order (element j feeds lane j % 8), only fed from
// float32 values widened exactly. max |d|/|a| is a maximum of float64
// quotients: any pass that finds the largest one finds the same value.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/fused_block.hpp"
#include "weightdiff/dtype.hpp"

namespace weightdiff::cpu {

// True for the dtypes the narrow path reads.
inline bool narrow_dtype(DType t) { return t == DType::bf16 || t == DType::f16; }

// Where the narrow pass counts its histograms: by raw code, mapped to bin
// slots once per chunk by the caller (a table lookup per element cost more
// than the count itself). kNarrowCopies interleaved copies (copy = element
// index % kNarrowCopies) keep increments of one code from waiting on each
// other in memory.
inline constexpr size_t kNarrowCopies = 4;
inline constexpr size_t kAbsCodes = 2048;   // |d|: float64 exponent field
inline constexpr size_t kValueCodes = 512;  // a, b: float32 sign << 8 | exponent field
struct NarrowCounts {
  uint32_t* d;        // kNarrowCopies x kAbsCodes
  uint32_t* a;        // kNarrowCopies x kValueCodes
  uint32_t* b_plus;   // kValueCodes each: b = a + plus - minus, code by code
  uint32_t* b_minus;

  // The words of all of them, and their places in one array of that size.
  static constexpr size_t kWords = kNarrowCopies * (kAbsCodes + kValueCodes) + 2 * kValueCodes;
  static NarrowCounts at(uint32_t* p) {
    uint32_t* const values = p + kNarrowCopies * kAbsCodes;
    uint32_t* const plus = values + kNarrowCopies * kValueCodes;
    return {p, values, plus, plus + kValueCodes};
  }
};

// The block's values as float32 (filled by narrow_block; the caller reads
// the values at max |d| from them).
struct NarrowValues {
  alignas(64) float a[kBlock];
  alignas(64) float b[kBlock];
};

struct NarrowArgs {
  DType type_a, type_b;  // narrow_dtype
  const std::byte* a;    // the block's first element on each side
  const std::byte* b;
  size_t n;  // a multiple of kLanes, at most kBlock
  double atol, rtol;
  double max_rel_seed;  // as BlockArgs::max_rel_seed
  NarrowCounts counts;
};

// Pass 1 (counts, sums, extremes, max |d| with index, max rel, histograms)
// into `out`, like block_stats. Returns false, having counted nothing,
// when a pair is outside what the float32 proof covers (NaN, Inf, a
// subnormal, a magnitude below 2^-96 or from 2^113, exponents of a and b
// too far apart): the caller then takes the float64 path for the block.
bool narrow_block(const NarrowArgs& args, NarrowValues& v, BlockLanes& out);

// Pass 2, like block_moments on an all-finite block.
void narrow_moments(const NarrowValues& v, size_t n, double mean_a, double mean_b, BlockLanes& out);

}  // namespace weightdiff::cpu
