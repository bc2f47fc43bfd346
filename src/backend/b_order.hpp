// Reading b's elements of a chunk in a's order (backend::BOrder): b stored
// transposed (an ONNX MatMul's Wᵀ), or with llama.cpp's Q/K row permutation
// (a GGUF conversion). Every backend computes on a's flat order, so such a
// pair gives the bits of a comparison against a reordered copy of b. Only
// one chunk of b is gathered at a time: bounded memory, no tensor copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/backend.hpp"

namespace weightdiff::backend {

// llama.cpp's convert_hf_to_gguf permute(): with D = rows / heads, HF row
// h·D + s·D/2 + i (s ∈ {0, 1}) is GGUF row h·D + 2i + s. Both map a row
// index of a tensor of `rows` rows; rows % heads == 0 and D even.
uint64_t rope_gguf_row(uint64_t hf_row, uint64_t rows, uint32_t heads) noexcept;
uint64_t rope_hf_row(uint64_t gguf_row, uint64_t rows, uint32_t heads) noexcept;

// Whether b (of a's shape, or a's transpose) can be read in that order:
// transposed, 2-D of whole-byte elements; permuted rows, 1-D or 2-D with
// rows of whole bytes (block types: whole blocks per row) and rows a
// multiple of 2·heads.
bool can_reorder(const TensorRef& b, const BOrder& order) noexcept;

// The file bytes of b that a's elements [first, first + count) read: the
// chunk's bytes, or (reordered) the span from the first to the last byte read.
ByteRange b_bytes_touched(const TensorRef& b, const BOrder& order, uint64_t first, uint64_t count);

// Bytes [from, from + len) of b's elements for a's [first, first + count)
// in a's order, as chunk_bytes(b, first, count) would hold them unordered
// (first at a block boundary for block types; whole elements when
// transposed). `out` receives len bytes. b's storage must be pinned; the
// caller guards against SIGBUS.
void gather_b(const TensorRef& b, const BOrder& order, uint64_t first, uint64_t count, uint64_t from,
              uint64_t len, std::byte* out);

}  // namespace weightdiff::backend
