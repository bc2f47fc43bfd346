// The staging ring of one device: slots of pinned host memory, each with a
// device buffer of the same size, a copy stream and a compute stream.
//
// For each launch group in turn: prefetch the next group's pages (madvise
// WILLNEED), wait until the slot's previous upload is done, fill the slot
// from the mappings on host threads (slot_fill.hpp: SIGBUS-guarded, pages
// released behind, one range per run of adjacent copies), upload it on the copy stream once the slot's previous consumer
// is done, then let the consumer enqueue its work on the compute stream
// after the upload. So page cache/disk, PCIe and compute overlap, and memory
// is bounded by slots x slot bytes whatever the model.
//
// The consumer is the diff kernels (pipeline.cpp); the bench's staging floor
// (bench/cuda_staging.cpp) runs the ring with a consumer that does nothing.
#pragma once

#include <cuda_runtime.h>
#include <tbb/task_arena.h>

#include <functional>
#include <span>
#include <vector>

#include "cuda_buffer.hpp"
#include "cuda_handles.hpp"
#include "launch_plan.hpp"

namespace weightdiff::cuda {

class StagingRing {
 public:
  // Enqueues the work on group g's bytes at d_slot, on compute().
  using Consumer = std::function<void(const LaunchGroup& g, const uint8_t* d_slot)>;

  // On the current device; `threads` fill the slots. Throws Error(backend).
  StagingRing(uint64_t slot_bytes, unsigned slots, unsigned threads);
  ~StagingRing();  // waits for both streams (logged, never throws)
  StagingRing(const StagingRing&) = delete;
  StagingRing& operator=(const StagingRing&) = delete;

  // Streams the groups (each at most slot_bytes) through the ring. Returns
  // once the last group's consumer is enqueued; wait on compute() for it.
  void run(std::span<const LaunchGroup> groups, const Consumer& consume);

  cudaStream_t compute() const noexcept { return compute_.get(); }
  // Waits for both streams; failures are logged (release paths).
  void synchronize() noexcept;

 private:
  struct Slot {
    PinnedBuffer<uint8_t> host;
    DeviceBuffer<uint8_t> dev;
    Event copied, consumed;
  };

  Stream copy_, compute_;
  std::vector<Slot> slots_;
  size_t next_slot_ = 0;
  tbb::task_arena arena_;
};

}  // namespace weightdiff::cuda
