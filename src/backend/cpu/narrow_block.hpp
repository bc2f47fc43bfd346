// The fused pass over one block of a pair whose values are all float32
// (bf16, f16 or f32 on either side): the same BlockLanes, bit for bit, as
// decoding to float64 and running block_stats/block_moments, at about half
// the cost.
//
// Why it is the same: every such value is a float32, so comparisons (equal
// pairs), min/max and the exponent codes of a and b are the same computed
// on the float32 values, eight to a vector. Everything else is float64 as
// before, lane for lane in the same order (element j feeds lane j % 8):
// d = b - a, |d| and its exponent code, max |d| with its first index per
// lane, the sums, the tolerance test and the moments, only fed from the
// float32 values widened exactly, and run one half-group at a time so that
// the accumulators stay in registers. max |d|/|a| is a maximum of float64
// quotients: any pass that finds the largest one finds the same value.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/fused_block.hpp"
#include "weightdiff/dtype.hpp"

namespace weightdiff::cpu {

// True for the dtypes the narrow path reads: float32 values, exactly. (f32
// itself too: none of the float32 work above needs fewer mantissa bits.)
inline bool narrow_dtype(DType t) { return t == DType::bf16 || t == DType::f16 || t == DType::f32; }

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
// when the block holds a NaN, an Inf or a float32 subnormal (its exponent
// field does not give its bin; the masks for non-finite pairs are the
// float64 pass's): the caller then takes the float64 path for the block.
bool narrow_block(const NarrowArgs& args, NarrowValues& v, BlockLanes& out);

// Pass 2, like block_moments on an all-finite block.
void narrow_moments(const NarrowValues& v, size_t n, double mean_a, double mean_b, BlockLanes& out);

}  // namespace weightdiff::cpu
