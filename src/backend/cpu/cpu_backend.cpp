// The CPU backend: one task per chunk on a TBB arena of `threads` workers.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/fused_kernel.hpp"
#include "backend/partial_stats.hpp"
#include "backend/b_order.hpp"
#include "backend/dequant.hpp"
#include "io/mapped_file.hpp"
#include "io/sigbus_guard.hpp"

namespace weightdiff::backend {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(unsigned threads)
      // At most the CPU count of workers unless the process lifted TBB's
      // cap (the CLI does for --threads; a library sets nothing process-wide).
      : threads_(threads), arena_(static_cast<int>(threads)) {}

  std::string name() const override { return "cpu"; }
  unsigned threads() const override { return threads_; }

  void reduce(std::span<const ChunkTask> tasks, const HistRange& hist, std::span<Partial> out,
              std::span<uint64_t> slots) override {
    const size_t H = hist_layout(hist).total();
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, tasks.size(), 1),
                        [&](const tbb::blocked_range<size_t>& r) {
                          for (size_t i = r.begin(); i != r.end(); ++i)
                            if (!cancelled()) out[i] = run(tasks[i], hist, slots.data() + i * H);
                        });
    });
  }

 private:
  static Partial run(const ChunkTask& t, const HistRange& hist, uint64_t* slots) {
    const bool one_sided = t.one_sided;  // inspect: read and decode once
    cpu::ChunkInput in{t.a->dtype, t.b->dtype, t.a->data(), one_sided ? nullptr : t.b->data(),
                       t.first,    t.count,    t.atol,      t.rtol, hist, one_sided};
    // A reordered b (transposed, permuted rows): its chunk gathered in a's
    // order first; a dequantized side: its chunk's float64 values. One
    // chunk per thread and side, reused.
    thread_local std::vector<std::byte> gathered;
    thread_local std::vector<double> values_a, values_b;
    const auto dequantized = [&](const TensorRef& side, std::vector<double>& values) {
      values.resize(static_cast<size_t>(t.count));
      dequantize(*side.dequant, t.first, t.count, values.data());
      return reinterpret_cast<const std::byte*>(values.data());
    };
    Partial p;
    // A file truncated under us: Error(changed), not a SIGBUS.
    io::read_guarded(stored_file(*t.a), stored_file(*t.b), [&] {
      if (t.a->dequant) in.gathered_a = dequantized(*t.a, values_a);
      if (!one_sided && t.b->dequant) {
        in.gathered_b = dequantized(*t.b, values_b);
      } else if (t.b_order.any()) {
        const ByteRange r = chunk_bytes(*t.b, t.first, t.count);
        gathered.resize(static_cast<size_t>(r.end - r.begin));
        gather_b(*t.b, t.b_order, t.first, t.count, 0, gathered.size(), gathered.data());
        in.gathered_b = gathered.data();
      }
      p = cpu::reduce_chunk(in, slots);
    });
    // The chunk's pages are done with: keep the resident set bounded. A
    // reordered b's chunk spans rows the next chunk reads again: its pages
    // go with the batch (engine::reduce_pairs), as do a dequantized side's
    // (it has no storage of its own).
    release(*t.a, t.first, t.count);
    if (!one_sided && !t.b_order.any()) release(*t.b, t.first, t.count);
    return p;
  }

  static void release(const TensorRef& t, uint64_t first, uint64_t count) {
    if (!t.storage) return;
    const ByteRange r = chunk_bytes(t, first, count);
    t.storage->release(r.begin, r.end - r.begin);  // whole pages only: neighbours may share the edges
  }

  unsigned threads_;
  tbb::task_arena arena_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(unsigned threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace weightdiff::backend
