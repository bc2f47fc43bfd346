#include "engine/same_bytes.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/b_order.hpp"
#include "backend/dequant.hpp"

#include "io/sigbus_guard.hpp"

namespace weightdiff::engine {

bool same_bytes(const TensorRef& a, const TensorRef& b, const CancelFlag* cancel,
                const backend::BOrder& b_order) {
  // Dequantized sides: the same bytes when every stored part has them.
  if (a.dequant || b.dequant) {
    if (!a.dequant || !b.dequant || a.dequant->scheme != b.dequant->scheme || b_order.any()) return false;
    const backend::StoredParts pa = backend::stored_parts(a), pb = backend::stored_parts(b);
    if (pa.n != pb.n) return false;
    for (size_t i = 0; i < pa.n; ++i)
      if (!same_bytes(*pa.part[i], *pb.part[i], cancel)) return false;
    return true;
  }
  if (a.dtype != b.dtype || a.nbytes != b.nbytes) return false;
  if (a.nbytes == 0) return true;
  // A few MB per piece: one cancellation poll and one page release each,
  // and at most that much of each file resident at a time (a reordered b:
  // one piece gathered in a's order at a time, its pages dropped at the end).
  constexpr uint64_t kPiece = uint64_t{8} << 20;  // whole elements of every size
  const bool reordered = b_order.any();
  std::vector<std::byte> gathered(reordered ? kPiece : 0);
  const StoragePin pin_a(a.storage.get()), pin_b(b.storage.get());
  bool equal = true;
  for (uint64_t at = 0; equal && at < a.nbytes; at += kPiece) {
    throw_if_cancelled(cancel);
    const uint64_t n = std::min(kPiece, a.nbytes - at);
    io::read_guarded(a.storage.get(), b.storage.get(), [&] {
      const std::byte* bytes_b = b.data() + at;
      if (reordered) {
        backend::gather_b(b, b_order, 0, b.numel, at, n, gathered.data());
        bytes_b = gathered.data();
      }
      equal = std::memcmp(a.data() + at, bytes_b, n) == 0;
    });
    a.storage->release_touched(a.offset + at, n);
    if (!reordered) b.storage->release_touched(b.offset + at, n);
  }
  if (reordered) b.storage->release_touched(b.offset, b.nbytes);
  return equal;
}

}  // namespace weightdiff::engine
