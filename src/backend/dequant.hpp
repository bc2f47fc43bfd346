// Reading a dequantized tensor (weightdiff/dequant.hpp): its stored parts,
// the bytes a chunk of it reads, and its values, exactly in float64. Both
// backends compute on those values as on an f64 tensor's (the composite
// TensorRef's dtype is f64), so a quantized side is decoded once, on the
// host, a chunk at a time.
#pragma once

#include <cstdint>

#include "backend/backend.hpp"
#include "weightdiff/dequant.hpp"

namespace weightdiff::backend {

// The stored tensors whose bytes t's values are read from: t itself, or a
// dequantized tensor's weight, scales, zeros and g_idx. (A fixed array: the
// planner asks for every task of a 100k-tensor model.)
struct StoredParts {
  const TensorRef* part[4] = {};
  size_t n = 0;
  const TensorRef* const* begin() const noexcept { return part; }
  const TensorRef* const* end() const noexcept { return part + n; }
};
StoredParts stored_parts(const TensorRef& t) noexcept;

// The file bytes of `part` (one of stored_parts(t)) that t's elements
// [first, first + count) read. For t itself: chunk_bytes.
ByteRange part_bytes_touched(const TensorRef& t, const TensorRef& part, uint64_t first, uint64_t count);

// t's elements [first, first + count)'s share of the bytes t reads: a
// plain tensor's chunk bytes, a dequantized one's nbytes pro rata (what
// progress counts: the shares of a tensor's chunks add up to its nbytes).
uint64_t stored_bytes_share(const TensorRef& t, uint64_t first, uint64_t count);

// The file a SIGBUS while reading t most likely comes from: t's, or a
// dequantized tensor's weight's.
inline const Storage* stored_file(const TensorRef& t) noexcept {
  return t.dequant ? t.dequant->weight.storage.get() : t.storage.get();
}

// Elements [first, first + count) of d's tensor (row-major over [rows, cols])
// as float64. Every product is exact: an fp8 value (4 significant bits)
// times an f32/bf16/f16 scale, or a small integer times an f16 scale. The
// parts' storage must be pinned; the caller guards against SIGBUS. Throws
// Error(malformed) naming the tensor for a g_idx entry outside the groups.
void dequantize(const Dequant& d, uint64_t first, uint64_t count, double* out);

}  // namespace weightdiff::backend
