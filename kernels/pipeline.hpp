// One device's share of a batch: the staging ring feeding the diff kernels,
// and the device and pinned buffers of their tile partials and per-task
// results. CudaBackend (cuda_backend.cpp) runs one per entry of --devices.
#pragma once

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
  // out[i] = the Partial of tasks[i], slots its histogram slots (as
  // Backend::reduce); Error(backend) on a CUDA failure.
  void reduce(std::span<const backend::ChunkTask> tasks, const HistRange& range,
              std::span<Partial> out, std::span<uint64_t> slots);

 private:
  void reserve_tiles(uint32_t H);
  void reserve_results(size_t n, uint32_t H);

  int device_;  // first: made current before the ring allocates
  CudaConfig config_;
  StagingRing ring_;
  DeviceBuffer<Partial> d_tile_partials_;
  DeviceBuffer<uint32_t> d_tile_hist_;
  uint32_t tile_cap_ = 0, tile_H_ = 0;
  DeviceBuffer<Partial> d_res_;
  DeviceBuffer<unsigned long long> d_res_hist_;
  PinnedBuffer<Partial> h_res_;
  PinnedBuffer<unsigned long long> h_res_hist_;
  size_t res_cap_ = 0;
  uint32_t res_H_ = 0;
};

}  // namespace weightdiff::cuda
