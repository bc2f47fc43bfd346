#include "backend/b_order.hpp"

#include <algorithm>
#include <cstring>

#include "backend/transpose.hpp"

namespace weightdiff::backend {
namespace {

struct Rows {
  uint64_t rows, cols, row_bytes;
};

// b as rows: 2-D [rows, cols], or 1-D as rows of one element.
Rows rows_of(const TensorRef& b) {
  const uint64_t rows = b.shape.empty() ? 1 : b.shape[0];
  const uint64_t cols = rows == 0 ? 0 : b.numel / rows;
  return {rows, cols, dtype_storage_bytes(b.dtype, cols).value_or(0)};
}

// Bytes of the first `elems` elements of a row (whole blocks: elems is a
// block multiple or the row's end).
uint64_t row_prefix_bytes(DType t, uint64_t elems) { return dtype_storage_bytes(t, elems).value_or(0); }

}  // namespace

uint64_t rope_gguf_row(uint64_t hf_row, uint64_t rows, uint32_t heads) noexcept {
  const uint64_t d = rows / heads, half = d / 2;
  const uint64_t h = hf_row / d, in = hf_row % d, s = in / half, i = in % half;
  return h * d + 2 * i + s;
}

uint64_t rope_hf_row(uint64_t gguf_row, uint64_t rows, uint32_t heads) noexcept {
  const uint64_t d = rows / heads, half = d / 2;
  const uint64_t h = gguf_row / d, in = gguf_row % d, i = in / 2, s = in % 2;
  return h * d + s * half + i;
}

bool can_reorder(const TensorRef& b, const BOrder& order) noexcept {
  if (!b.unsupported_dtype.empty()) return false;
  if (order.transposed) return order.rope_heads == 0 && can_gather_transposed(b);
  if (order.rope_heads == 0) return true;
  if (b.shape.empty() || b.shape.size() > 2 || dtype_bits(b.dtype) % 8 != 0) return false;
  const Rows r = rows_of(b);
  if (r.rows % (2 * uint64_t{order.rope_heads}) != 0) return false;
  // Rows of whole blocks (GGUF requires it of its block-typed tensors).
  return !dtype_is_block(b.dtype) || r.cols % dtype_block_elems(b.dtype) == 0;
}

ByteRange b_bytes_touched(const TensorRef& b, const BOrder& order, uint64_t first, uint64_t count) {
  if (!order.any() || count == 0) return chunk_bytes(b, first, count);
  if (order.transposed) {
    const uint64_t rows = b.shape[1], cols = b.shape[0], es = dtype_bits(b.dtype) / 8;
    const uint64_t r0 = first / cols, r1 = (first + count - 1) / cols;
    return {b.offset + r0 * es, b.offset + ((cols - 1) * rows + r1 + 1) * es};
  }
  // Permuted rows stay inside their head: the heads of the chunk's rows.
  const Rows r = rows_of(b);
  const uint64_t d = r.rows / order.rope_heads;
  const uint64_t h0 = first / r.cols / d, h1 = (first + count - 1) / r.cols / d;
  return {b.offset + h0 * d * r.row_bytes, b.offset + (h1 + 1) * d * r.row_bytes};
}

void gather_b(const TensorRef& b, const BOrder& order, uint64_t first, uint64_t count, uint64_t from,
              uint64_t len, std::byte* out) {
  if (len == 0) return;
  if (order.transposed) {
    const uint64_t es = dtype_bits(b.dtype) / 8;
    gather_transposed(b.data(), es, b.shape[1], b.shape[0], first + from / es, len / es, out);
    return;
  }
  // Permuted rows: a's row r of the chunk is b's row map(r); each row's
  // piece is one run of bytes, copied where it meets [from, from + len).
  const Rows r = rows_of(b);
  const std::byte* base = b.data();
  uint64_t at = 0;  // bytes of the output before the current row piece
  for (uint64_t i = first; i < first + count && at < from + len;) {
    const uint64_t row = i / r.cols, c0 = i % r.cols;
    const uint64_t c1 = std::min(r.cols, c0 + (first + count - i));
    const uint64_t src_row = order.rope_b_is_gguf ? rope_gguf_row(row, r.rows, order.rope_heads)
                                                  : rope_hf_row(row, r.rows, order.rope_heads);
    const uint64_t p0 = row_prefix_bytes(b.dtype, c0), p1 = row_prefix_bytes(b.dtype, c1);
    const uint64_t lo = std::max(at, from), hi = std::min(at + (p1 - p0), from + len);
    if (lo < hi) std::memcpy(out + (lo - from), base + src_row * r.row_bytes + p0 + (lo - at), hi - lo);
    at += p1 - p0;
    i += c1 - c0;
  }
}

}  // namespace weightdiff::backend
