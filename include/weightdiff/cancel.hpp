// Cooperative cancellation of a long call (diff, inspect, report writing).
//
// The caller owns a flag and sets it from any thread, or from a signal
// handler (a store to a lock-free std::atomic is async-signal-safe); the
// library polls it between batches of work — a few tenths of a second
// apart at most — and stops with Error(Errc::cancelled).
#pragma once

#include <atomic>

namespace weightdiff {

using CancelFlag = std::atomic<bool>;
static_assert(CancelFlag::is_always_lock_free, "set from signal handlers");

// Throws Error(Errc::cancelled) when `flag` is set; null never cancels.
void throw_if_cancelled(const CancelFlag* flag);

}  // namespace weightdiff
