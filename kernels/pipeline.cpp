#include "pipeline.hpp"

#include <algorithm>

#include "kernels.hpp"

namespace weightdiff::cuda {
namespace {

constexpr uint64_t kTileBufferBytes = uint64_t{64} << 20;  // tile partials + histograms

int make_current(int device) {
  CUDA_TRY(cudaSetDevice(device));
  return device;
}

}  // namespace

Pipeline::Pipeline(int device, const CudaConfig& config, unsigned threads)
    : device_(make_current(device)),
      config_(config),
      ring_(config.staging.slot_bytes, config.slots, threads) {}

Pipeline::~Pipeline() {
  // The members are freed after this body, on this thread: on this device,
  // once nothing queued still reads or writes them.
  CUDA_LOG(cudaSetDevice(device_));
  ring_.synchronize();
}

void Pipeline::submit(std::span<const backend::ChunkTask> tasks, const HistRange& range,
                      std::span<Partial> out, std::span<uint64_t> slots) {
  if (pending_.size() >= kInFlight)
    throw Error(Errc::backend, "CUDA pipeline: more batches submitted than it holds");
  // Free: at most kInFlight are outstanding and this one is not.
  Results& r = results_[next_results_++ % kInFlight];
  r.out = out, r.slots = slots, r.n = tasks.size();
  if (tasks.empty()) {  // nothing to wait for; collect() stays one per submit()
    pending_.push_back(&r);
    return;
  }
  CUDA_TRY(cudaSetDevice(device_));
  const HistLayout h = hist_layout(range);
  const uint32_t H = h.total();
  reserve_tiles(H);
  reserve_results(tasks.size(), H);
  reserve_host(r, tasks.size(), H);
  StagingLimits limits = config_.staging;
  limits.max_tiles = tile_cap_;
  const std::vector<LaunchGroup> groups = plan_launches(tasks, limits);
  const cudaStream_t compute = ring_.compute();
  ring_.run(groups, [&](const LaunchGroup& g, const uint8_t* d_slot) {
    LaunchArgs a{};
    a.d_slot = d_slot;
    a.d_tasks = reinterpret_cast<const TaskDesc*>(d_slot);
    a.d_tiles = reinterpret_cast<const TileDesc*>(d_slot + g.tile_table_offset);
    a.n_tasks = static_cast<uint32_t>(g.tasks.size());
    a.n_tiles = static_cast<uint32_t>(g.tile_table.size());
    a.hist = h;
    a.d_tile_partials = d_tile_partials_.data();
    a.d_tile_hist = d_tile_hist_.data();
    a.d_results = d_res_.data() + g.first_task;
    a.d_result_hist = d_res_hist_.data() + g.first_task * H;
    CUDA_TRY(launch_diff(a, compute));
  });
  CUDA_TRY(cudaMemcpyAsync(r.partials.data(), d_res_.data(), tasks.size() * sizeof(Partial),
                           cudaMemcpyDeviceToHost, compute));
  CUDA_TRY(cudaMemcpyAsync(r.hist.data(), d_res_hist_.data(), tasks.size() * H * 8,
                           cudaMemcpyDeviceToHost, compute));
  CUDA_TRY(cudaEventRecord(r.done.get(), compute));
  pending_.push_back(&r);
}

void Pipeline::collect() {
  if (pending_.empty()) throw Error(Errc::backend, "CUDA pipeline: collect without a batch");
  Results& r = *pending_.front();
  pending_.pop_front();
  if (r.n == 0) return;
  CUDA_TRY(cudaSetDevice(device_));
  CUDA_TRY(cudaEventSynchronize(r.done.get()));
  // The device's results are the shared accumulator: handed over as they are.
  std::copy(r.partials.data(), r.partials.data() + r.n, r.out.begin());
  // unsigned long long (CUDA's atomics) to uint64_t by value, not by an aliasing cast.
  std::copy(r.hist.data(), r.hist.data() + r.n * r.H, r.slots.begin());
}

// Buffers are freed before their replacements are allocated (lower peak),
// once the kernels that use them are done.
void Pipeline::reserve_tiles(uint32_t H) {
  if (H == tile_H_) return;
  CUDA_TRY(cudaStreamSynchronize(ring_.compute()));
  d_tile_partials_.reset(), d_tile_hist_.reset();
  tile_H_ = 0;  // until both are allocated again
  tile_cap_ = static_cast<uint32_t>(
      std::clamp<uint64_t>(kTileBufferBytes / (sizeof(Partial) + uint64_t{4} * H), 64, 1u << 16));
  d_tile_partials_ = DeviceBuffer<Partial>(tile_cap_);
  d_tile_hist_ = DeviceBuffer<uint32_t>(uint64_t{tile_cap_} * H);
  tile_H_ = H;
}

void Pipeline::reserve_results(size_t n, uint32_t H) {
  if (n <= res_cap_ && H == res_H_) return;
  // The previous batch's copy-out reads them.
  CUDA_TRY(cudaStreamSynchronize(ring_.compute()));
  const size_t cap = std::max(n, res_cap_);
  d_res_.reset(), d_res_hist_.reset();
  res_cap_ = 0, res_H_ = 0;  // until both are allocated again
  d_res_ = DeviceBuffer<Partial>(cap);
  d_res_hist_ = DeviceBuffer<unsigned long long>(cap * H);
  res_cap_ = cap, res_H_ = H;
}

// Only for a Results no outstanding batch uses: no wait needed.
void Pipeline::reserve_host(Results& r, size_t n, uint32_t H) {
  if (n <= r.cap && H == r.H) return;
  const size_t cap = std::max(n, r.cap);
  r.partials.reset(), r.hist.reset();
  r.cap = 0, r.H = 0;  // until both are allocated again
  r.partials = PinnedBuffer<Partial>(cap);
  r.hist = PinnedBuffer<unsigned long long>(cap * H);
  r.cap = cap, r.H = H;
}

}  // namespace weightdiff::cuda
