#include "weightdiff/cancel.hpp"

#include "weightdiff/error.hpp"

namespace weightdiff {

void throw_if_cancelled(const CancelFlag* flag) {
  if (flag != nullptr && flag->load(std::memory_order_relaxed))
    throw Error(Errc::cancelled, "cancelled");
}

}  // namespace weightdiff
