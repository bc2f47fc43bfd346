#include "engine/same_bytes.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/transpose.hpp"

#include "io/sigbus_guard.hpp"

namespace weightdiff::engine {

bool same_bytes(const TensorRef& a, const TensorRef& b, const CancelFlag* cancel,
                bool b_transposed) {
  if (a.dtype != b.dtype || a.nbytes != b.nbytes) return false;
  if (a.nbytes == 0) return true;
  // A few MB per piece: one cancellation poll and one page release each,
  // and at most that much of each file resident at a time (a transposed b:
  // one piece gathered at a time, its pages dropped at the end).
  constexpr uint64_t kPiece = uint64_t{8} << 20;
  const uint64_t es = b_transposed ? dtype_bits(b.dtype) / 8 : 1;
  std::vector<std::byte> gathered(b_transposed ? kPiece : 0);
  const StoragePin pin_a(a.storage.get()), pin_b(b.storage.get());
  bool equal = true;
  for (uint64_t at = 0; equal && at < a.nbytes; at += kPiece) {
    throw_if_cancelled(cancel);
    const uint64_t n = std::min(kPiece, a.nbytes - at);
    io::read_guarded(a.storage.get(), b.storage.get(), [&] {
      const std::byte* bytes_b = b.data() + at;
      if (b_transposed) {
        const backend::TransposedShape s = backend::transposed_shape(b);
        backend::gather_transposed(b.data(), es, s.rows, s.cols, at / es, n / es, gathered.data());
        bytes_b = gathered.data();
      }
      equal = std::memcmp(a.data() + at, bytes_b, n) == 0;
    });
    a.storage->release_touched(a.offset + at, n);
    if (!b_transposed) b.storage->release_touched(b.offset + at, n);
  }
  if (b_transposed) b.storage->release_touched(b.offset, b.nbytes);
  return equal;
}

}  // namespace weightdiff::engine
