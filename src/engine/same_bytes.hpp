// --exact: whether two tensors are stored as the same bytes. Equal values
// are not enough for a re-export check: +0 and -0, NaN payloads, integers
// beyond 2^53 and block-quantized encodings of one value all compare equal.
#pragma once

#include "weightdiff/cancel.hpp"
#include "weightdiff/tensor.hpp"

namespace weightdiff::engine {

// Same dtype, same byte count and the same content. Reads both in bounded
// pieces through their storages (a file truncated meanwhile is
// Error(changed), not a signal), drops the pages behind it, polls `cancel`.
// b_transposed: b stored as a's transpose, its bytes compared in a's order.
bool same_bytes(const TensorRef& a, const TensorRef& b, const CancelFlag* cancel,
                bool b_transposed = false);

}  // namespace weightdiff::engine
