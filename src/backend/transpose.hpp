// Reading one side of a pair in the other side's element order when it is
// stored transposed (an ONNX export keeps a Linear's weight as the MatMul's
// right input, Wᵀ): a's [rows, cols] against b's [cols, rows].
//
// Every backend computes on a's row-major order, so a transposed pair gives
// the same bits as the pair against a transposed copy of b. Only b's
// elements of one chunk are gathered, tile by tile (bounded memory; no copy
// of the tensor).
#pragma once

#include <cstddef>
#include <cstdint>

#include "weightdiff/tensor.hpp"

namespace weightdiff::backend {

// Element j of the output is b's element for a's flat index first + j:
// out[j] = b[c * rows + r] where first + j = r * cols + c. `b` is b's
// element 0; elements are elem_bytes (1, 2, 4 or 8) each.
void gather_transposed(const std::byte* b, size_t elem_bytes, uint64_t rows, uint64_t cols,
                       uint64_t first, uint64_t count, std::byte* out);

// Whether a backend can read b transposed: 2-D, and elements of whole bytes
// (sub-byte and block-quantized storage has no per-element address).
bool can_gather_transposed(const TensorRef& t) noexcept;

}  // namespace weightdiff::backend
