// The CUDA backend: one streaming pipeline per entry of --devices.
//
// A pipeline owns a ring of staging slots (pinned host buffer + device
// buffer of the same size), a copy stream and a compute stream. For each
// launch group of a batch (kernels/launch_plan): prefetch the next
// group's pages (madvise WILLNEED), wait until the slot's previous
// host-to-device copy is done, fill the slot from the mappings on the host
// threads (SIGBUS-guarded, pages released behind), copy it on the copy
// stream once the slot's previous kernels are done, launch the kernels on
// the compute stream after the copy. So page cache/disk, PCIe and kernels
// overlap, and memory is bounded by slots x slot size whatever the model.
//
// Multi-GPU: a batch is split into consecutive task ranges of similar bytes,
// one per pipeline, run concurrently. A task's result depends only on the
// task, so the merged result is the same bits whatever the device list.
#include "cuda_backend.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <exception>
#include <thread>

#include "backend/registry.hpp"
#include "cuda_try.hpp"
#include "io/mapped_file.hpp"
#include "io/sigbus_guard.hpp"
#include "kernels.hpp"
#include "probe.hpp"

namespace weightdiff::cuda {
namespace {

constexpr uint64_t kCopyPiece = uint64_t{1} << 20;    // host copy work unit
constexpr uint64_t kTileBufferBytes = uint64_t{64} << 20;  // tile partials + histograms

class Pipeline {
 public:
  Pipeline(int device, const CudaConfig& config, unsigned threads)
      : device_(device), config_(config), arena_(static_cast<int>(std::max(1u, threads))) {
    try {
      CUDA_TRY(cudaSetDevice(device_));
      CUDA_TRY(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
      CUDA_TRY(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
      slots_.resize(config_.slots);
      for (Slot& s : slots_) {
        CUDA_TRY(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
        CUDA_TRY(cudaEventCreateWithFlags(&s.consumed, cudaEventDisableTiming));
        CUDA_TRY(cudaHostAlloc(&s.host, config_.staging.slot_bytes, cudaHostAllocDefault));
        CUDA_TRY(cudaMalloc(&s.dev, config_.staging.slot_bytes));
      }
    } catch (...) {
      release();
      throw;
    }
  }
  ~Pipeline() { release(); }
  int device() const { return device_; }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void reduce(std::span<const backend::ChunkTask> tasks, const HistRange& range,
              std::span<Partial> out, std::span<uint64_t> slots) {
    if (tasks.empty()) return;
    CUDA_TRY(cudaSetDevice(device_));
    const HistLayout h = hist_layout(range);
    const uint32_t H = h.total();
    reserve_tiles(H);
    reserve_results(tasks.size(), H);
    StagingLimits limits = config_.staging;
    limits.max_tiles = tile_cap_;
    const std::vector<LaunchGroup> groups = plan_launches(tasks, limits);
    if (config_.copy_only) {
      CUDA_TRY(cudaMemsetAsync(d_res_, 0, tasks.size() * sizeof(Partial), compute_));
      CUDA_TRY(cudaMemsetAsync(d_res_hist_, 0, tasks.size() * H * 8, compute_));
    }
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      const LaunchGroup& g = groups[gi];
      Slot& s = slots_[next_slot_++ % slots_.size()];
      if (gi + 1 < groups.size()) prefetch(groups[gi + 1]);
      CUDA_TRY(cudaEventSynchronize(s.copied));  // the host buffer's last upload is done
      fill(g, s.host);
      CUDA_TRY(cudaStreamWaitEvent(copy_, s.consumed, 0));  // its last kernels are done
      CUDA_TRY(cudaMemcpyAsync(s.dev, s.host, g.bytes, cudaMemcpyHostToDevice, copy_));
      CUDA_TRY(cudaEventRecord(s.copied, copy_));
      CUDA_TRY(cudaStreamWaitEvent(compute_, s.copied, 0));
      if (!config_.copy_only) {
        LaunchArgs a{};
        a.d_slot = s.dev;
        a.d_tasks = reinterpret_cast<const TaskDesc*>(s.dev);
        a.d_tiles = reinterpret_cast<const TileDesc*>(s.dev + g.tile_table_offset);
        a.n_tasks = static_cast<uint32_t>(g.tasks.size());
        a.n_tiles = static_cast<uint32_t>(g.tile_table.size());
        a.hist = h;
        a.d_tile_partials = d_tile_partials_;
        a.d_tile_hist = d_tile_hist_;
        a.d_results = d_res_ + g.first_task;
        a.d_result_hist = d_res_hist_ + g.first_task * H;
        CUDA_TRY(launch_diff(a, compute_));
      }
      CUDA_TRY(cudaEventRecord(s.consumed, compute_));
    }
    CUDA_TRY(cudaMemcpyAsync(h_res_, d_res_, tasks.size() * sizeof(Partial),
                             cudaMemcpyDeviceToHost, compute_));
    CUDA_TRY(cudaMemcpyAsync(h_res_hist_, d_res_hist_, tasks.size() * H * 8,
                             cudaMemcpyDeviceToHost, compute_));
    CUDA_TRY(cudaStreamSynchronize(compute_));
    // The device's results are the shared accumulator: handed over as they are.
    std::copy(h_res_, h_res_ + tasks.size(), out.begin());
    const uint64_t* hist = reinterpret_cast<const uint64_t*>(h_res_hist_);
    std::copy(hist, hist + tasks.size() * H, slots.begin());
  }

 private:
  struct Slot {
    uint8_t* host = nullptr;
    uint8_t* dev = nullptr;
    cudaEvent_t copied = nullptr, consumed = nullptr;
  };

  void reserve_tiles(uint32_t H) {
    if (H == tile_H_) return;
    CUDA_TRY(cudaStreamSynchronize(compute_));
    free_device(d_tile_partials_), free_device(d_tile_hist_);
    tile_cap_ = static_cast<uint32_t>(
        std::clamp<uint64_t>(kTileBufferBytes / (sizeof(Partial) + uint64_t{4} * H), 64, 1u << 16));
    CUDA_TRY(cudaMalloc(&d_tile_partials_, tile_cap_ * sizeof(Partial)));
    CUDA_TRY(cudaMalloc(&d_tile_hist_, uint64_t{tile_cap_} * H * 4));
    tile_H_ = H;
  }

  void reserve_results(size_t n, uint32_t H) {
    if (n <= res_cap_ && H == res_H_) return;
    CUDA_TRY(cudaStreamSynchronize(compute_));
    free_device(d_res_), free_device(d_res_hist_), free_host(h_res_), free_host(h_res_hist_);
    res_cap_ = std::max(n, res_cap_);
    CUDA_TRY(cudaMalloc(&d_res_, res_cap_ * sizeof(Partial)));
    CUDA_TRY(cudaMalloc(&d_res_hist_, res_cap_ * H * 8));
    CUDA_TRY(cudaHostAlloc(&h_res_, res_cap_ * sizeof(Partial), cudaHostAllocDefault));
    CUDA_TRY(cudaHostAlloc(&h_res_hist_, res_cap_ * H * 8, cudaHostAllocDefault));
    res_H_ = H;
  }

  // Asks the kernel to read the next group's pages while this one is copied.
  static void prefetch(const LaunchGroup& g) {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    for (const CopyOp& op : g.copies) {
      const auto addr = reinterpret_cast<uintptr_t>(op.t->storage->data() + op.src_begin);
      const uintptr_t start = addr / page * page;
      ::madvise(reinterpret_cast<void*>(start), addr + op.bytes - start, MADV_WILLNEED);
    }
  }

  void fill(const LaunchGroup& g, uint8_t* slot) {
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

  template <typename T>
  static void free_device(T*& p) {
    if (p) CUDA_LOG_ONLY(cudaFree(p));
    p = nullptr;
  }
  template <typename T>
  static void free_host(T*& p) {
    if (p) CUDA_LOG_ONLY(cudaFreeHost(p));
    p = nullptr;
  }

  void release() noexcept {
    CUDA_LOG_ONLY(cudaSetDevice(device_));
    if (copy_) CUDA_LOG_ONLY(cudaStreamSynchronize(copy_));
    if (compute_) CUDA_LOG_ONLY(cudaStreamSynchronize(compute_));
    for (Slot& s : slots_) {
      free_host(s.host), free_device(s.dev);
      if (s.copied) CUDA_LOG_ONLY(cudaEventDestroy(s.copied));
      if (s.consumed) CUDA_LOG_ONLY(cudaEventDestroy(s.consumed));
      s.copied = s.consumed = nullptr;
    }
    free_device(d_tile_partials_), free_device(d_tile_hist_);
    free_device(d_res_), free_device(d_res_hist_), free_host(h_res_), free_host(h_res_hist_);
    if (copy_) CUDA_LOG_ONLY(cudaStreamDestroy(copy_));
    if (compute_) CUDA_LOG_ONLY(cudaStreamDestroy(compute_));
    copy_ = compute_ = nullptr;
  }

  int device_;
  CudaConfig config_;
  tbb::task_arena arena_;
  cudaStream_t copy_ = nullptr, compute_ = nullptr;
  std::vector<Slot> slots_;
  size_t next_slot_ = 0;
  Partial* d_tile_partials_ = nullptr;
  uint32_t* d_tile_hist_ = nullptr;
  uint32_t tile_cap_ = 0, tile_H_ = 0;
  Partial* d_res_ = nullptr;
  unsigned long long* d_res_hist_ = nullptr;
  Partial* h_res_ = nullptr;
  unsigned long long* h_res_hist_ = nullptr;
  size_t res_cap_ = 0;
  uint32_t res_H_ = 0;
};

class CudaBackend final : public backend::Backend {
 public:
  CudaBackend(const CudaConfig& config, unsigned threads) : threads_(threads) {
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
    if (pipes_.size() == 1) return pipes_[0]->reduce(tasks, hist, out, slots);
    const size_t H = hist_layout(hist).total();
    std::vector<uint64_t> bytes(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i)
      bytes[i] = tasks[i].count * (dtype_bits(tasks[i].a->dtype) + dtype_bits(tasks[i].b->dtype)) / 8;
    const std::vector<size_t> cut = split_by_bytes(bytes, pipes_.size());
    std::vector<std::exception_ptr> errors(pipes_.size());
    auto run = [&](size_t p) {
      try {
        const size_t n = cut[p + 1] - cut[p];
        pipes_[p]->reduce(tasks.subspan(cut[p], n), hist, out.subspan(cut[p], n),
                          slots.subspan(cut[p] * H, n * H));
      } catch (...) {
        errors[p] = std::current_exception();
      }
    };
    std::vector<std::thread> workers;
    try {
      for (size_t p = 1; p < pipes_.size(); ++p) workers.emplace_back(run, p);
    } catch (...) {  // a joinable std::thread must never be destroyed
      for (auto& w : workers) w.join();
      throw;
    }
    run(0);
    for (auto& w : workers) w.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
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
  const CudaConfig config = cuda_config(devices);
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
