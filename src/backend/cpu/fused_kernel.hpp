// The fused CPU pass over one chunk of a tensor pair, on float64 values.
//
// Determinism by construction: element j of a chunk always feeds lane j % 8
// of every accumulator, and lanes are combined in one fixed order, so the
// result does not depend on the SIMD width the compiler picked (SSE2, AVX2,
// AVX-512 give the same bits), nor on threads (a chunk is one task).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/partial.hpp"
#include "weightdiff/dtype.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff::cpu {

struct ChunkInput {
  DType dtype_a, dtype_b;
  const std::byte* base_a;  // element 0 of each tensor
  const std::byte* base_b;  // unused when one_sided
  uint64_t first;  // flat index of the chunk's first element
  uint64_t count;
  double atol, rtol;
  HistRange hist;
  bool one_sided = false;  // b is a: decoded once
  // bf16/f16/f32 pairs take the float32 path (narrow_block.hpp) where it applies;
  // false: the float64 path for every block (tests compare the two).
  bool narrow = true;
  // Set: b's elements of this chunk, gathered in a's order (a transposed
  // pair, backend/transpose.hpp); element 0 is the chunk's first. base_b is
  // then unused.
  const std::byte* gathered_b = nullptr;
  // Set: a's elements of this chunk, computed in a's dtype (a dequantized
  // tensor's float64 values, backend/dequant.hpp); element 0 is the chunk's
  // first. base_a is then unused. b's may come this way too (gathered_b).
  const std::byte* gathered_a = nullptr;
};

// The chunk's Partial (indices are flat tensor indices); its histogram
// slots (backend::HistLayout of in.hist) are written to `slots`.
backend::Partial reduce_chunk(const ChunkInput& in, uint64_t* slots);

}  // namespace weightdiff::cpu
