#include "engine/same_bytes.hpp"

#include <algorithm>
#include <cstring>

#include "io/sigbus_guard.hpp"

namespace weightdiff::engine {

bool same_bytes(const TensorRef& a, const TensorRef& b, const CancelFlag* cancel) {
  if (a.dtype != b.dtype || a.nbytes != b.nbytes) return false;
  if (a.nbytes == 0) return true;
  // A few MB per piece: one cancellation poll and one page release each,
  // and at most that much of each file resident at a time.
  constexpr uint64_t kPiece = uint64_t{8} << 20;
  const StoragePin pin_a(a.storage.get()), pin_b(b.storage.get());
  bool equal = true;
  for (uint64_t at = 0; equal && at < a.nbytes; at += kPiece) {
    throw_if_cancelled(cancel);
    const uint64_t n = std::min(kPiece, a.nbytes - at);
    io::read_guarded(a.storage.get(), b.storage.get(),
                     [&] { equal = std::memcmp(a.data() + at, b.data() + at, n) == 0; });
    a.storage->release_touched(a.offset + at, n);
    b.storage->release_touched(b.offset + at, n);
  }
  return equal;
}

}  // namespace weightdiff::engine
