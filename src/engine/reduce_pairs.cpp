// reduce_pairs: the chunk loop of every computation (diff and inspect).
#include "engine/reduce_pairs.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "backend/b_order.hpp"
#include "backend/dequant.hpp"
#include "backend/partial_stats.hpp"
#include "io/mapping_budget.hpp"
#include "weightdiff/cancel.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/storage.hpp"

namespace weightdiff::engine {
namespace {

// Maps what a batch reads (again, where the mapping budget unmapped it) for
// the backend's threads, and keeps it mapped until the batch is done.
class BatchMappings {
 public:
  explicit BatchMappings(const Batch& batch) {
    std::vector<const Storage*> files;
    for (const auto& t : batch.tasks)
      for (const TensorRef* side : {t.a, t.b})
        for (const TensorRef* part : backend::stored_parts(*side))
          if (part->storage && part->storage->is_file()) files.push_back(part->storage.get());
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    pins_.reserve(files.size());
    for (const Storage* f : files) pins_.emplace_back(f);
  }

 private:
  std::vector<StoragePin> pins_;
};

// Between batches nothing reads the files: drop every page the batch
// touched, shared edge pages included, which the backends must keep while
// neighbouring chunks are in flight. (Without this a model of many small
// tensors would stay resident: no tensor covers a whole page.)
void release_batch(const Batch& batch) {
  std::map<const Storage*, std::pair<uint64_t, uint64_t>> hull;  // [begin, end)
  const auto add = [&](const Storage* file, const backend::ByteRange& r) {
    auto [it, fresh] = hull.emplace(file, std::pair{r.begin, r.end});
    if (!fresh) it->second = {std::min(it->second.first, r.begin), std::max(it->second.second, r.end)};
  };
  for (const auto& t : batch.tasks)
    for (const TensorRef* side : {t.a, t.b}) {
      if (side->dequant) {  // its parts' bytes, wherever they are stored
        for (const TensorRef* part : backend::stored_parts(*side))
          if (part->storage) add(part->storage.get(), backend::part_bytes_touched(*side, *part, t.first, t.count));
        continue;
      }
      if (!side->storage) continue;
      add(side->storage.get(), side == t.b ? backend::b_bytes_touched(*t.b, t.b_order, t.first, t.count)
                                           : backend::chunk_bytes(*side, t.first, t.count));
    }
  for (const auto& [file, range] : hull) file->release_touched(range.first, range.second - range.first);
}

// What the per-pair histograms may hold in all: the default range fits 1.9M
// pairs (more than the 1M tensors a model may hold), -1021:1023 about 52k.
constexpr uint64_t kHistogramBudgetBytes = uint64_t{4} << 30;

// Every pair keeps its histograms (5 arrays of --hist-range bins) until the
// reports are written. A model of many small tensors with a wide range
// would need gigabytes for them: refuse it up front with the numbers, not
// with std::bad_alloc halfway through.
void check_histogram_budget(uint64_t pairs, const HistRange& hist) {
  const uint64_t bytes = pairs * static_cast<uint64_t>(hist.bins()) * 5 * sizeof(uint64_t);
  if (bytes <= kHistogramBudgetBytes) return;
  throw Error(Errc::usage,
              "--hist-range " + std::to_string(hist.lo) + ":" + std::to_string(hist.hi) + ": " +
                  std::to_string(pairs) + " tensor pairs x " + std::to_string(hist.bins()) +
                  " bins need " + std::to_string(bytes >> 20) + " MiB of histograms (limit " +
                  std::to_string(kHistogramBudgetBytes >> 20) +
                  " MiB): narrow the range (default -40:16)");
}

// What progress counts of a task: the stored bytes it reads.
uint64_t task_stored_bytes(const backend::ChunkTask& t) {
  const uint64_t a = backend::stored_bytes_share(*t.a, t.first, t.count);
  return t.one_sided ? a : a + backend::stored_bytes_share(*t.b, t.first, t.count);
}

uint64_t pair_bytes(const PlannedPair& p) {
  return p.one_sided ? p.a->nbytes : p.a->nbytes + p.b->nbytes;
}

}  // namespace

std::unique_ptr<backend::Backend> open_backend(const ComputeOptions& opt,
                                               std::vector<std::string>& notices) {
  const unsigned threads = opt.threads ? opt.threads : default_thread_count();
  std::string notice;
  auto backend = backend::make_backend(opt.backend, threads, opt.devices, &notice);
  backend->set_cancel(opt.cancel);
  if (!notice.empty()) notices.push_back(notice);
  return backend;
}

Reduced reduce_pairs(std::span<const PlannedPair> pairs, backend::Backend& backend,
                     const ComputeOptions& opt) {
  check_histogram_budget(pairs.size(), opt.hist);
  const size_t H = backend::hist_layout(opt.hist).total();
  // A pair's Partial and histogram slots live only while its chunks are in
  // flight (pairs are planned in order): once its last chunk is merged its
  // PairStats is built, and the slots (5 x bins x 8 bytes) are gone. Kept
  // for every pair to the end, they were most of a 100k-tensor run's memory.
  struct PairMerge {
    backend::Partial partial = backend::empty_partial();
    std::vector<uint64_t> slots;
  };
  std::map<size_t, PairMerge> merging;
  Reduced out;
  out.stats.resize(pairs.size(), PairStats(opt.hist));
  const auto finish = [&](size_t p, const backend::Partial& merged, const uint64_t* slots) {
    // numel from the tensor: also right for empty tensors (no chunk).
    PairStats& s = out.stats[p];
    s = backend::pair_stats_of(merged, slots, opt.hist, pairs[p].a->numel);
    // +0 and -0 compare equal, so which one a min or max keeps depends on
    // the combine order (SIMD lanes, GPU reduction trees): report +0 always,
    // so every backend prints the same bits (SPEC §2: min/max identical).
    for (double* v : {&s.min_a, &s.max_a, &s.min_b, &s.max_b})
      if (*v == 0) *v = 0.0;
  };
  Progress progress;
  for (const auto& p : pairs) progress.bytes_total += pair_bytes(p);

  // Partial results hold every histogram bin: fewer tasks per batch when a
  // wide --hist-range makes each one large (same bits: batches only group).
  const size_t batch_tasks =
      std::clamp<size_t>(4096 * 56 / static_cast<size_t>(opt.hist.bins()), 16, 4096);
  // Up to `depth` batches are with the backend at once (a device computes
  // one while the next is staged); each keeps its files mapped, so each may
  // map only its share of the mapping budget.
  const size_t depth = std::max<size_t>(1, backend.max_in_flight());
  ChunkPlanner planner(pairs, kChunkElements, uint64_t{64} << 20, batch_tasks,
                       std::max<size_t>(1, io::mapping_limit() / depth));
  struct InFlight {
    Batch batch;
    std::optional<BatchMappings> mapped;
    // Sized, not cleared: a backend writes every task's Partial and slots
    // (the CPU zeroes its own), and a cancelled batch is discarded.
    std::vector<backend::Partial> partial;
    std::vector<uint64_t> slots;
  };
  std::deque<InFlight> in_flight;  // oldest first; elements never move
  const auto finish_oldest = [&] {
    backend.collect();
    throw_if_cancelled(opt.cancel);  // before merging: `partial` may be incomplete
    const InFlight& f = in_flight.front();
    for (size_t i = 0; i < f.batch.tasks.size(); ++i) {  // chunk order: deterministic
      const size_t p = f.batch.pair_of_task[i];
      const backend::ChunkTask& t = f.batch.tasks[i];
      const uint64_t* from = f.slots.data() + i * H;
      const bool whole = t.first == 0 && t.count == t.a->numel;
      if (whole) {  // the common case of many small tensors: nothing to merge
        backend::Partial merged = backend::empty_partial();
        backend::combine(merged, f.partial[i]);
        finish(p, merged, from);
        continue;
      }
      PairMerge& m = merging[p];
      if (m.slots.empty()) m.slots.assign(H, 0);
      backend::combine(m.partial, f.partial[i]);
      for (size_t k = 0; k < H; ++k) m.slots[k] += from[k];
      if (t.first + t.count == t.a->numel) {  // its last chunk: batches finish in order
        finish(p, m.partial, m.slots.data());
        merging.erase(p);
      }
    }
    release_batch(f.batch);
    if (opt.on_progress) {
      for (const auto& t : f.batch.tasks) progress.bytes_done += task_stored_bytes(t);
      progress.current = f.batch.tasks.back().a->name;
      opt.on_progress(progress);
    }
    in_flight.pop_front();
  };
  for (;;) {
    InFlight& f = in_flight.emplace_back();
    if (!planner.next(f.batch)) {
      in_flight.pop_back();
      break;
    }
    f.mapped.emplace(f.batch);
    f.partial.resize(f.batch.tasks.size());
    f.slots.resize(f.batch.tasks.size() * H);
    backend.submit(f.batch.tasks, opt.hist, f.partial, f.slots);
    if (in_flight.size() >= depth) finish_oldest();
  }
  while (!in_flight.empty()) finish_oldest();
  if (opt.on_progress) {
    progress.bytes_done = progress.bytes_total;
    progress.current.clear();
    opt.on_progress(progress);
  }

  // Same bytes start to end: a file replaced or rewritten during the pass
  // (caught by SIGBUS only when it shrank) makes the results meaningless.
  std::set<const Storage*> files;
  for (const auto& p : pairs)
    for (const TensorRef* side : {p.a, p.b})
      for (const TensorRef* t : backend::stored_parts(*side))
        if (t->storage) files.insert(t->storage.get());
  for (const Storage* f : files) f->check_unchanged();

  // Empty pairs have no chunk: their stats are those of no element.
  const std::vector<uint64_t> no_slots(H, 0);
  for (size_t i = 0; i < pairs.size(); ++i)
    if (pairs[i].a->numel == 0) finish(i, backend::empty_partial(), no_slots.data());
  out.bytes_read = progress.bytes_total;
  return out;
}

}  // namespace weightdiff::engine
