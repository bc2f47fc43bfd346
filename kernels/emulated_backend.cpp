// The CUDA emulation as a Backend ("cuda-emulation"): the CUDA backend's
// launch plan, staging-slot layout and per-thread/tile/task code
// (tile_agent.hpp, thread_accumulate.hpp) run on the host by the mirror of
// the kernels (emulate.hpp). Not selectable by --backend: it exists so the
// conformance suite, and any test that needs a second backend, can run the
// CUDA backend's semantics on machines without a GPU. Host C++ only (built
// without nvcc too).
#include <cstdlib>
#include <deque>
#include <memory>
#include <stdexcept>

#include "emulated_backend.hpp"

#include "backend/hybrid_backend.hpp"
#include "backend/registry.hpp"
#include "emulate.hpp"
#include "slot_fill.hpp"

namespace weightdiff::cuda {
namespace {

// A 64-byte aligned staging slot, as cudaHostAlloc gives.
struct HostSlot {
  explicit HostSlot(uint64_t bytes)
      : mem(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)), &std::free) {
    if (!mem) throw std::bad_alloc();
  }
  std::unique_ptr<uint8_t, decltype(&std::free)> mem;
};

class EmulatedCudaBackend final : public backend::Backend {
 public:
  explicit EmulatedCudaBackend(const StagingLimits& limits) : limits_(limits) {}
  std::string name() const override { return "cuda-emulation"; }
  unsigned threads() const override { return 1; }

  // Asynchronous as the CUDA backend is (two batches outstanding), and
  // deferred to the extreme: nothing is read or computed before collect(),
  // so an engine that merged, released or freed a batch too early, or
  // collected out of order, gives wrong results in the tests.
  size_t max_in_flight() const noexcept override { return 2; }
  void submit(std::span<const backend::ChunkTask> tasks, const HistRange& hist,
              std::span<Partial> out, std::span<uint64_t> slots) override {
    if (pending_.size() >= max_in_flight())
      throw std::logic_error("cuda-emulation: more batches submitted than max_in_flight");
    pending_.push_back({tasks, hist, out, slots});
  }
  void collect() override {
    if (pending_.empty()) throw std::logic_error("cuda-emulation: collect without a batch");
    const Pending p = pending_.front();
    pending_.pop_front();
    reduce(p.tasks, p.hist, p.out, p.slots);
  }

  void reduce(std::span<const backend::ChunkTask> tasks, const HistRange& hist,
              std::span<Partial> out, std::span<uint64_t> slots) override {
    const HistLayout h = hist_layout(hist);
    const size_t H = h.total();
    for (const LaunchGroup& g : plan_launches(tasks, limits_)) {
      if (cancelled()) return;
      HostSlot slot(g.bytes);
      fill_slot(g, copy_runs(g), slot.mem.get(), nullptr);  // as the staging ring fills
      const LaunchResults r = emulate_launch(slot.mem.get(), g, h);
      for (size_t k = 0; k < g.tasks.size(); ++k) {
        out[g.first_task + k] = r.partials[k];
        std::copy(r.hist.begin() + k * H, r.hist.begin() + (k + 1) * H,
                  slots.begin() + (g.first_task + k) * H);
      }
    }
  }

 private:
  struct Pending {
    std::span<const backend::ChunkTask> tasks;
    HistRange hist;
    std::span<Partial> out;
    std::span<uint64_t> slots;
  };
  StagingLimits limits_;
  std::deque<Pending> pending_;
};

std::unique_ptr<backend::Backend> make_emulated(const std::vector<int>&, unsigned, bool,
                                                std::string*) {
  return make_emulated_cuda_backend();
}

// The hybrid backend with the emulation as its GPU worker: how the tests run
// --backend hybrid's scheduling on machines without a GPU.
std::unique_ptr<backend::Backend> make_hybrid_emulated(const std::vector<int>&, unsigned threads,
                                                       bool, std::string*) {
  std::vector<backend::HybridWorker> workers;
  workers.push_back({make_emulated_cuda_backend(), 1.0});
  workers.push_back({backend::make_cpu_backend(threads), 1.0});
  return backend::make_hybrid_backend(std::move(workers));
}

// Registered before main (backend/registry.hpp); the tests link this
// library as a whole archive.
[[maybe_unused]] const bool registered =
    (backend::register_backend({"cuda-emulation", &make_emulated, false}),
     backend::register_backend({"hybrid-emulation", &make_hybrid_emulated, false}), true);

}  // namespace

std::unique_ptr<backend::Backend> make_emulated_cuda_backend(const StagingLimits& limits) {
  return std::make_unique<EmulatedCudaBackend>(limits);
}

}  // namespace weightdiff::cuda
