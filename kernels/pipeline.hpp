// One device's share of a batch: the staging ring feeding the diff kernels,
// and the device and pinned buffers of their tile partials and per-task
// results. CudaBackend (cuda_backend.cpp) runs one per entry of --devices.
#pragma once

#include <array>
#include <deque>
#include <span>

#include "backend/backend.hpp"
#include "cuda_buffer.hpp"
#include "launch_plan.hpp"
#include "staging_ring.hpp"

namespace weightdiff::cuda {

class Pipeline {
 public:
  // On `device`, with `threads` host threads filling its slots. Throws
  // Error(backend) when the device cannot be used.
  Pipeline(int device, const CudaConfig& config, unsigned threads);
  // Waits for the device's work before any buffer is freed (logged).
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  int device() const noexcept { return device_; }
  // As Backend::submit/collect: submit stages the batch through the ring and
  // enqueues its kernels and the copy of its results to pinned memory;
  // collect waits for the oldest batch's results and hands them over
  // (out[i] = the Partial of tasks[i], slots its histogram slots). At most
  // kInFlight batches outstanding, so the ring never drains between them.
  // Error(backend) on a CUDA failure.
  static constexpr size_t kInFlight = 2;
  void submit(std::span<const backend::ChunkTask> tasks, const HistRange& range,
              std::span<Partial> out, std::span<uint64_t> slots);
  void collect();

 private:
  // The pinned results of one outstanding batch and where they go.
  struct Results {
    PinnedBuffer<Partial> partials;
    PinnedBuffer<unsigned long long> hist;
    size_t cap = 0;
    uint32_t H = 0;
    Event done;  // recorded after the copies to `partials` and `hist`
    std::span<Partial> out;
    std::span<uint64_t> slots;
    size_t n = 0;
  };

  void reserve_tiles(uint32_t H);
  void reserve_results(size_t n, uint32_t H);
  static void reserve_host(Results& r, size_t n, uint32_t H);

  int device_;  // first: made current before the ring allocates
  CudaConfig config_;
  StagingRing ring_;
  DeviceBuffer<Partial> d_tile_partials_;
  DeviceBuffer<uint32_t> d_tile_hist_;
  uint32_t tile_cap_ = 0, tile_H_ = 0;
  // One batch's results on the device at a time: the next batch's kernels
  // come after this one's copy-out on the same stream.
  DeviceBuffer<Partial> d_res_;
  DeviceBuffer<unsigned long long> d_res_hist_;
  size_t res_cap_ = 0;
  uint32_t res_H_ = 0;
  std::array<Results, kInFlight> results_;
  size_t next_results_ = 0;
  std::deque<Results*> pending_;  // submitted, not collected; oldest first
};

}  // namespace weightdiff::cuda
