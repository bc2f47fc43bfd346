#include "staging_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include "io/sigbus_guard.hpp"

namespace weightdiff::cuda {
namespace {

constexpr uint64_t kCopyPiece = uint64_t{1} << 20;  // host copy work unit

// Asks the kernel to read the group's pages while the previous one is copied.
void prefetch(const LaunchGroup& g) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  for (const CopyOp& op : g.copies) {
    const auto addr = reinterpret_cast<uintptr_t>(op.t->storage->data() + op.src_begin);
    const uintptr_t start = addr / page * page;
    ::madvise(reinterpret_cast<void*>(start), addr + op.bytes - start, MADV_WILLNEED);
  }
}

}  // namespace

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
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const LaunchGroup& g = groups[gi];
    Slot& s = slots_[next_slot_++ % slots_.size()];
    if (gi + 1 < groups.size()) prefetch(groups[gi + 1]);
    CUDA_TRY(cudaEventSynchronize(s.copied.get()));  // the host buffer's last upload is done
    fill(g, s.host.data());
    CUDA_TRY(cudaStreamWaitEvent(copy_.get(), s.consumed.get(), 0));  // its last consumer is done
    CUDA_TRY(cudaMemcpyAsync(s.dev.data(), s.host.data(), g.bytes, cudaMemcpyHostToDevice,
                             copy_.get()));
    CUDA_TRY(cudaEventRecord(s.copied.get(), copy_.get()));
    CUDA_TRY(cudaStreamWaitEvent(compute_.get(), s.copied.get(), 0));
    consume(g, s.dev.data());
    CUDA_TRY(cudaEventRecord(s.consumed.get(), compute_.get()));
  }
}

void StagingRing::fill(const LaunchGroup& g, uint8_t* slot) {
  write_metadata(g, slot);
  struct Piece {
    const CopyOp* op;
    uint64_t from, len;
  };
  std::vector<Piece> pieces;
  for (const CopyOp& op : g.copies)
    for (uint64_t f = 0; f < op.bytes; f += kCopyPiece)
      pieces.push_back({&op, f, std::min(kCopyPiece, op.bytes - f)});
  arena_.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, pieces.size()),
                      [&](const tbb::blocked_range<size_t>& r) {
                        for (size_t i = r.begin(); i != r.end(); ++i) {
                          const Piece& p = pieces[i];
                          // A file truncated under us: Error(changed), not a SIGBUS.
                          io::read_guarded(p.op->t->storage.get(), nullptr,
                                           [&] { copy_bytes(*p.op, slot, p.from, p.len); });
                        }
                      });
  });
  // Copied: keep the resident set bounded (whole pages only; the engine
  // drops shared edge pages after the batch).
  for (const CopyOp& op : g.copies) op.t->storage->release(op.src_begin, op.bytes);
}

}  // namespace weightdiff::cuda
