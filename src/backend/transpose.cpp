#include "backend/transpose.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace weightdiff::backend {
namespace {

// Tile edge: a tile's reads (kTile contiguous runs of b) and writes stay in
// L1/L2 for every element size.
constexpr uint64_t kTile = 64;

template <class T>
void gather(const T* b, uint64_t rows, uint64_t cols, uint64_t first, uint64_t count, T* out) {
  const uint64_t end = first + count;
  uint64_t i = first;
  while (i < end) {
    const uint64_t r = i / cols, c0 = i % cols;
    if (c0 != 0 || end - i < cols) {  // a partial row: the chunk's first or last
      const uint64_t c1 = std::min(cols, c0 + (end - i));
      T* o = out + (i - first) - c0;
      for (uint64_t c = c0; c < c1; ++c) o[c] = b[c * rows + r];
      i += c1 - c0;
      continue;
    }
    // Whole rows [r, r_end): b's columns r..r_end, tile by tile.
    const uint64_t r_end = r + (end - i) / cols;
    for (uint64_t rt = r; rt < r_end; rt += kTile) {
      const uint64_t re = std::min(rt + kTile, r_end);
      for (uint64_t ct = 0; ct < cols; ct += kTile) {
        const uint64_t ce = std::min(ct + kTile, cols);
        for (uint64_t c = ct; c < ce; ++c) {
          const T* src = b + c * rows;
          T* o = out + (rt * cols + c - first);
          for (uint64_t rr = rt; rr < re; ++rr, o += cols) *o = src[rr];
        }
      }
    }
    i = r_end * cols;
  }
}

// Element types by size only: the bytes move as they are.
template <size_t N>
struct Bytes {
  unsigned char b[N];
};

template <size_t N>
void gather_as(const std::byte* b, uint64_t rows, uint64_t cols, uint64_t first, uint64_t count,
               std::byte* out) {
  using T = std::conditional_t<N == 1, uint8_t,
            std::conditional_t<N == 2, uint16_t, std::conditional_t<N == 4, uint32_t, uint64_t>>>;
  static_assert(sizeof(T) == N);
  // The mappings and staging buffers are aligned to their element size
  // (formats align tensor data; a misaligned one is read bytewise).
  if (reinterpret_cast<uintptr_t>(b) % N == 0 && reinterpret_cast<uintptr_t>(out) % N == 0) {
    gather(reinterpret_cast<const T*>(b), rows, cols, first, count, reinterpret_cast<T*>(out));
  } else {
    gather(reinterpret_cast<const Bytes<N>*>(b), rows, cols, first, count,
           reinterpret_cast<Bytes<N>*>(out));
  }
}

}  // namespace

void gather_transposed(const std::byte* b, size_t elem_bytes, uint64_t rows, uint64_t cols,
                       uint64_t first, uint64_t count, std::byte* out) {
  if (count == 0) return;
  switch (elem_bytes) {
    case 1: gather_as<1>(b, rows, cols, first, count, out); break;
    case 2: gather_as<2>(b, rows, cols, first, count, out); break;
    case 4: gather_as<4>(b, rows, cols, first, count, out); break;
    default: gather_as<8>(b, rows, cols, first, count, out); break;
  }
}

bool can_gather_transposed(const TensorRef& t) noexcept {
  if (t.shape.size() != 2 || !t.unsupported_dtype.empty() || dtype_is_block(t.dtype)) return false;
  const unsigned bits = dtype_bits(t.dtype);
  return bits % 8 == 0 && bits / 8 >= 1 && bits / 8 <= 8 && (bits / 8 & (bits / 8 - 1)) == 0;
}

}  // namespace weightdiff::backend
