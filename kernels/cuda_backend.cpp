// The CUDA backend: one streaming pipeline (pipeline.hpp) per entry of
// --devices, and its registration with make_backend.
//
// Multi-GPU: a batch is split into consecutive task ranges of similar bytes,
// one per pipeline, run concurrently. A task's result depends only on the
// task, so the merged result is the same bits whatever the device list.
#include "cuda_backend.hpp"

#include <algorithm>

#include "backend/on_each_thread.hpp"
#include "backend/registry.hpp"
#include "cuda_try.hpp"
#include "pipeline.hpp"
#include "probe.hpp"

namespace weightdiff::cuda {
namespace {

class CudaBackend final : public backend::Backend {
 public:
  CudaBackend(const CudaConfig& config, unsigned threads) : threads_(threads) {
    validate(config);
    std::vector<int> devices = config.devices;
    int count = 0;
    CUDA_TRY(cudaGetDeviceCount(&count));
    if (devices.empty())
      for (int d = 0; d < count; ++d) devices.push_back(d);
    for (int d : devices)
      if (d >= count)
        throw Error(Errc::backend, "--devices: CUDA device " + std::to_string(d) +
                                       " does not exist (" + std::to_string(count) + " visible)");
    const unsigned per = std::max(1u, threads / static_cast<unsigned>(devices.size()));
    for (int d : devices) pipes_.push_back(std::make_unique<Pipeline>(d, config, per));
  }

  std::string name() const override { return "cuda"; }
  unsigned threads() const override { return threads_; }
  std::vector<std::string> devices() const override {
    std::vector<std::string> out;
    for (const auto& p : pipes_) out.push_back("cuda:" + std::to_string(p->device()));
    return out;
  }

  void reduce(std::span<const backend::ChunkTask> tasks, const HistRange& hist,
              std::span<Partial> out, std::span<uint64_t> slots) override {
    submit(tasks, hist, out, slots);
    collect();
  }

  size_t max_in_flight() const noexcept override { return Pipeline::kInFlight; }

  // Each pipeline gets its range of the batch (possibly empty, so that every
  // pipeline sees one submit per collect), staged concurrently.
  void submit(std::span<const backend::ChunkTask> tasks, const HistRange& hist,
              std::span<Partial> out, std::span<uint64_t> slots) override {
    if (pipes_.size() == 1) return pipes_[0]->submit(tasks, hist, out, slots);
    const size_t H = hist_layout(hist).total();
    std::vector<uint64_t> bytes(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) bytes[i] = backend::task_bytes(tasks[i]);
    const std::vector<size_t> cut = split_by_bytes(bytes, pipes_.size());
    backend::on_each_thread(pipes_.size(), [&](size_t p) {
      const size_t n = cut[p + 1] - cut[p];
      pipes_[p]->submit(tasks.subspan(cut[p], n), hist, out.subspan(cut[p], n),
                        slots.subspan(cut[p] * H, n * H));
    });
  }

  void collect() override {
    for (auto& p : pipes_) p->collect();
  }

 private:
  unsigned threads_;
  std::vector<std::unique_ptr<Pipeline>> pipes_;
};

}  // namespace

bool cuda_usable(std::string* reason) {
  const ProbeResult r = probe_device();
  if (reason) *reason = r.reason;
  return r.usable;
}

std::unique_ptr<backend::Backend> make_cuda_backend(const CudaConfig& config, unsigned threads) {
  return std::make_unique<CudaBackend>(config, threads);
}

namespace {

// The factory make_backend calls (src/backend/select.cpp): the CUDA
// backend, or nullptr with the reason when no device is usable.
std::unique_ptr<backend::Backend> make_if_usable(const std::vector<int>& devices, unsigned threads,
                                                 bool required, std::string* reason) {
  CudaConfig config;  // the defaults: nothing else configures the product backend
  config.devices = devices;
  if (cuda_usable(reason)) {
    if (required) return make_cuda_backend(config, threads);
    try {
      return make_cuda_backend(config, threads);
    } catch (const Error& e) {
      *reason = e.detail();
    }
  }
  return nullptr;
}

// Registered before main (backend/registry.hpp: why not a direct call).
// weightdiff::weightdiff links this library as a whole archive, so this
// object is always in the program.
[[maybe_unused]] const bool registered =
    (backend::register_backend({"cuda", &make_if_usable, true}), true);

}  // namespace

}  // namespace weightdiff::cuda
