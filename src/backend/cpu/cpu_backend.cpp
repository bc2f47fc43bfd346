// The CPU backend: one task per chunk on a TBB arena of `threads` workers.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/fused_kernel.hpp"
#include "backend/partial_stats.hpp"
#include "backend/transpose.hpp"
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
    // A transposed b: its chunk gathered in a's order first (one chunk's
    // bytes per thread, reused).
    thread_local std::vector<std::byte> gathered;
    Partial p;
    // A file truncated under us: Error(changed), not a SIGBUS.
    io::read_guarded(t.a->storage.get(), t.b->storage.get(), [&] {
      if (t.b_transposed) {
        const size_t es = dtype_bits(t.b->dtype) / 8;
        gathered.resize(static_cast<size_t>(t.count) * es);
        const TransposedShape s = transposed_shape(*t.b);
        gather_transposed(t.b->data(), es, s.rows, s.cols, t.first, t.count, gathered.data());
        in.gathered_b = gathered.data();
      }
      p = cpu::reduce_chunk(in, slots);
    });
    // The chunk's pages are done with: keep the resident set bounded. A
    // transposed b's chunk spans the whole tensor, read again by the next
    // chunk: it goes with the batch (engine::reduce_pairs).
    release(*t.a, t.first, t.count);
    if (!one_sided && !t.b_transposed) release(*t.b, t.first, t.count);
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
