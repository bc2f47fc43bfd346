#include "staging_ring.hpp"

#include <algorithm>

#include "slot_fill.hpp"

namespace weightdiff::cuda {

StagingRing::StagingRing(uint64_t slot_bytes, unsigned slots, unsigned threads)
    : arena_(static_cast<int>(std::max(1u, threads))) {
  slots_.reserve(slots);
  for (unsigned i = 0; i < slots; ++i)
    slots_.push_back({PinnedBuffer<uint8_t>(slot_bytes), DeviceBuffer<uint8_t>(slot_bytes), Event(),
                      Event()});
}

StagingRing::~StagingRing() { synchronize(); }

void StagingRing::synchronize() noexcept {
  CUDA_LOG(cudaStreamSynchronize(copy_.get()));
  CUDA_LOG(cudaStreamSynchronize(compute_.get()));
}

void StagingRing::run(std::span<const LaunchGroup> groups, const Consumer& consume) {
  std::vector<CopyRun> runs, next_runs;
  if (!groups.empty()) runs = copy_runs(groups[0]);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const LaunchGroup& g = groups[gi];
    Slot& s = slots_[next_slot_++ % slots_.size()];
    // The kernel reads the next group's pages while this one is copied.
    if (gi + 1 < groups.size()) {
      next_runs = copy_runs(groups[gi + 1]);
      prefetch_runs(next_runs);
    }
    CUDA_TRY(cudaEventSynchronize(s.copied.get()));  // the host buffer's last upload is done
    fill_slot(g, runs, s.host.data(), &arena_);
    CUDA_TRY(cudaStreamWaitEvent(copy_.get(), s.consumed.get(), 0));  // its last consumer is done
    CUDA_TRY(cudaMemcpyAsync(s.dev.data(), s.host.data(), g.bytes, cudaMemcpyHostToDevice,
                             copy_.get()));
    CUDA_TRY(cudaEventRecord(s.copied.get(), copy_.get()));
    CUDA_TRY(cudaStreamWaitEvent(compute_.get(), s.copied.get(), 0));
    consume(g, s.dev.data());
    CUDA_TRY(cudaEventRecord(s.consumed.get(), compute_.get()));
    runs.swap(next_runs);
  }
}

}  // namespace weightdiff::cuda
