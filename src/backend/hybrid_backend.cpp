// The hybrid backend: tasks split by owner, one host thread per worker,
// results scattered back in task order.
#include "backend/hybrid_backend.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include "backend/on_each_thread.hpp"
#include "backend/partial_stats.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::backend {
namespace {

// FNV-1a then a 64-bit finalizer: stable across builds and platforms
// (std::hash is not), well spread for names that differ in a digit.
uint64_t task_hash(const ChunkTask& t) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : t.a->name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  h ^= t.first + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

class HybridBackend final : public Backend {
 public:
  explicit HybridBackend(std::vector<HybridWorker> workers) : workers_(std::move(workers)) {
    for (const auto& w : workers_) shares_.push_back(w.share);
  }

  std::string name() const override { return "hybrid"; }
  unsigned threads() const override {
    unsigned t = 0;
    for (const auto& w : workers_) t += w.backend->threads();
    return t;
  }
  std::vector<std::string> devices() const override {
    std::vector<std::string> out;
    for (const auto& w : workers_)
      for (auto& d : w.backend->devices()) out.push_back(std::move(d));
    return out;
  }
  void set_cancel(const CancelFlag* cancel) noexcept override {
    Backend::set_cancel(cancel);
    for (auto& w : workers_) w.backend->set_cancel(cancel);
  }

  void reduce(std::span<const ChunkTask> tasks, const HistRange& hist, std::span<Partial> out,
              std::span<uint64_t> slots) override {
    submit(tasks, hist, out, slots);
    collect();
  }

  // As deep as the deepest worker: a CUDA worker's queue stays full while
  // the CPU worker computes its share of the next batch.
  size_t max_in_flight() const noexcept override {
    size_t depth = 1;
    for (const auto& w : workers_) depth = std::max(depth, w.backend->max_in_flight());
    return depth;
  }

  void submit(std::span<const ChunkTask> tasks, const HistRange& hist, std::span<Partial> out,
              std::span<uint64_t> slots) override {
    const size_t n = workers_.size();
    Outstanding& o = outstanding_.emplace_back();
    o.out = out, o.slots = slots, o.H = hist_layout(hist).total();
    o.parts.resize(n);
    for (size_t i = 0; i < tasks.size(); ++i) {
      Part& part = o.parts[hybrid_owner(tasks[i], shares_)];
      part.index.push_back(i);
      part.tasks.push_back(tasks[i]);
    }
    on_each_thread(workers_.size(), [&](size_t w) {
      Part& part = o.parts[w];
      if (part.tasks.empty() || cancelled()) return;
      make_room(w);
      part.out.assign(part.tasks.size(), empty_partial());
      part.slots.assign(part.tasks.size() * o.H, 0);
      workers_[w].backend->submit(part.tasks, hist, part.out, part.slots);
      part.state = Part::submitted;
    });
  }

  void collect() override {
    Outstanding& o = outstanding_.front();
    on_each_thread(workers_.size(), [&](size_t w) {
      Part& part = o.parts[w];
      if (part.state == Part::submitted) workers_[w].backend->collect();
      part.state = Part::collected;
    });
    for (const Part& part : o.parts)
      for (size_t k = 0; k < part.index.size() && !part.out.empty(); ++k) {
        o.out[part.index[k]] = part.out[k];
        std::copy(part.slots.begin() + k * o.H, part.slots.begin() + (k + 1) * o.H,
                  o.slots.begin() + part.index[k] * o.H);
      }
    outstanding_.pop_front();
  }

 private:
  // One worker's share of a batch, kept until the batch is collected.
  struct Part {
    std::vector<size_t> index;  // into the batch
    std::vector<ChunkTask> tasks;
    std::vector<Partial> out;
    std::vector<uint64_t> slots;
    enum { idle, submitted, collected } state = idle;
  };
  struct Outstanding {
    std::span<Partial> out;
    std::span<uint64_t> slots;
    size_t H = 0;
    std::vector<Part> parts;  // one per worker
  };

  // A worker shallower than this backend (the CPU: one batch) collects its
  // oldest share early; its results wait in that Part until collect().
  void make_room(size_t w) {
    size_t outstanding = 0;
    for (const Outstanding& o : outstanding_) outstanding += o.parts[w].state == Part::submitted;
    if (outstanding < workers_[w].backend->max_in_flight()) return;
    for (Outstanding& o : outstanding_)
      if (o.parts[w].state == Part::submitted) {
        workers_[w].backend->collect();
        o.parts[w].state = Part::collected;
        return;
      }
  }

  std::vector<HybridWorker> workers_;
  std::vector<double> shares_;
  std::deque<Outstanding> outstanding_;
};

}  // namespace

size_t hybrid_owner(const ChunkTask& task, const std::vector<double>& shares) noexcept {
  double total = 0;
  for (const double s : shares) total += s;
  // A uniform number in [0, 1) from the task, then the cumulative shares.
  const double u = static_cast<double>(task_hash(task) >> 11) * 0x1p-53 * total;
  double acc = 0;
  for (size_t w = 0; w + 1 < shares.size(); ++w) {
    acc += shares[w];
    if (u < acc) return w;
  }
  return shares.size() - 1;
}

std::unique_ptr<Backend> make_hybrid_backend(std::vector<HybridWorker> workers) {
  if (workers.empty()) throw Error(Errc::usage, "a hybrid backend needs at least one worker");
  for (const auto& w : workers)
    if (!w.backend || !(std::isfinite(w.share) && w.share > 0))
      throw Error(Errc::usage, "a hybrid worker needs a backend and a share > 0");
  return std::make_unique<HybridBackend>(std::move(workers));
}

}  // namespace weightdiff::backend
