// The backend interface: reduce a batch of chunk pairs into partial stats.
//
// The engine owns planning and merging; a backend only computes. Results are
// the same bits whatever the backend's internal parallelism, because each
// task's Partial depends on the task alone.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/partial.hpp"
#include "weightdiff/cancel.hpp"
#include "weightdiff/options.hpp"
#include "weightdiff/stats.hpp"
#include "weightdiff/tensor.hpp"

namespace weightdiff::backend {

struct ChunkTask {
  const TensorRef* a;
  const TensorRef* b;
  uint64_t first;  // flat index of the first element
  uint64_t count;
  double atol, rtol;
  // Inspect: b is a (the same TensorRef), its bytes read and decoded once;
  // the a-side fields of the result are that tensor's value statistics.
  // Set by the caller, never inferred: diff_models(m, m) is two-sided.
  bool one_sided = false;
  // b is stored as a's transpose (backend/transpose.hpp): a's [rows, cols]
  // against b's [cols, rows], compared in a's order.
  bool b_transposed = false;
};

// The file bytes [begin, end) holding elements [first, first + count) of t
// (sub-byte elements: the partial bytes at either end included; block
// types: the whole blocks that hold them, so begin is a block's first byte).
struct ByteRange {
  uint64_t begin, end;
};

inline ByteRange chunk_bytes(const TensorRef& t, uint64_t first, uint64_t count) {
  if (dtype_is_block(t.dtype)) {
    const uint64_t be = dtype_block_elems(t.dtype), bb = dtype_block_bytes(t.dtype);
    return {t.offset + first / be * bb, t.offset + (first + count + be - 1) / be * bb};
  }
  const uint64_t bits = dtype_bits(t.dtype);
  return {t.offset + first * bits / 8, t.offset + ((first + count) * bits + 7) / 8};
}

// The file bytes a task touches on b's side: chunk_bytes, or for a
// transposed b the span from its first to its last element read (the
// chunk's rows of a are b's columns, in every row of b).
inline ByteRange b_bytes_touched(const ChunkTask& t) {
  if (!t.b_transposed) return chunk_bytes(*t.b, t.first, t.count);
  const uint64_t rows = t.b->shape[1], cols = t.b->shape[0], es = dtype_bits(t.b->dtype) / 8;
  const uint64_t r0 = t.first / cols, r1 = (t.first + t.count - 1) / cols;
  return {t.b->offset + r0 * es, t.b->offset + ((cols - 1) * rows + r1 + 1) * es};
}

// The bytes a task reads (a one-sided task reads its tensor once); a
// transposed b reads as many bytes as an untransposed one, gathered.
inline uint64_t task_bytes(const ChunkTask& t) {
  const ByteRange a = chunk_bytes(*t.a, t.first, t.count);
  if (t.one_sided) return a.end - a.begin;
  const ByteRange b = chunk_bytes(*t.b, t.first, t.count);
  return (a.end - a.begin) + (b.end - b.begin);
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual unsigned threads() const = 0;
  // The devices it computes on, as reported in JSON ("cuda:0", ...); none for the CPU.
  virtual std::vector<std::string> devices() const { return {}; }
  // out[i] receives the Partial of tasks[i] (flat indices of its tensor),
  // and slots[i * H, (i + 1) * H) its histogram slots, H =
  // hist_layout(hist).total() (backend/partial_stats.hpp): the one
  // accumulator every backend produces and the engine merges.
  // The backend may drop the tasks' pages from memory once it has read them.
  // Once `cancel` is set a backend may return before every task is done
  // (the caller then discards `out`): a batch can take seconds on a loaded
  // machine, a cancelled run must stop within one.
  virtual void reduce(std::span<const ChunkTask> tasks, const HistRange& hist,
                      std::span<Partial> out, std::span<uint64_t> slots) = 0;

  // The asynchronous form, so a device's queue stays full across batches
  // instead of draining at the end of each: submit() starts a batch and may
  // return before it is done; collect() waits for the oldest batch submitted
  // and not yet collected and leaves its results in that batch's out and
  // slots. Until then the batch's tasks, out and slots must stay valid and
  // its files pinned; at most max_in_flight() batches are outstanding. Once
  // submit or collect has thrown, or `cancel` is set, outstanding batches
  // may be abandoned: the backend never writes their out or slots after
  // that. Results are the same bits as reduce() gives.
  // The default computes in submit() and has nothing to collect: for a
  // backend that keeps no device busy there is nothing to overlap.
  virtual size_t max_in_flight() const noexcept { return 1; }
  virtual void submit(std::span<const ChunkTask> tasks, const HistRange& hist,
                      std::span<Partial> out, std::span<uint64_t> slots) {
    reduce(tasks, hist, out, slots);
  }
  virtual void collect() {}

  // A backend made of others passes the flag on.
  virtual void set_cancel(const CancelFlag* cancel) noexcept { cancel_ = cancel; }

 protected:
  bool cancelled() const noexcept {
    return cancel_ != nullptr && cancel_->load(std::memory_order_relaxed);
  }

 private:
  const CancelFlag* cancel_ = nullptr;
};

std::unique_ptr<Backend> make_cpu_backend(unsigned threads);

// The backend of that kind; `devices` as ComputeOptions::devices (CUDA: one
// pipeline each). `notice` receives a one-line message when automatic
// selection falls back to the CPU. Throws Error(backend) when the backend
// asked for is unusable.
std::unique_ptr<Backend> make_backend(BackendKind kind, unsigned threads,
                                      const std::vector<int>& devices, std::string* notice);

}  // namespace weightdiff::backend
