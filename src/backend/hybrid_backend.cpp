// The hybrid backend: tasks split by owner, one host thread per worker,
// results scattered back in task order.
#include "backend/hybrid_backend.hpp"

#include <cmath>
#include <exception>
#include <thread>

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
    const size_t H = hist_layout(hist).total();
    const size_t n = workers_.size();
    std::vector<std::vector<size_t>> owned(n);
    for (size_t i = 0; i < tasks.size(); ++i) owned[hybrid_owner(tasks[i], shares_)].push_back(i);
    std::vector<std::exception_ptr> errors(n);
    auto work = [&](size_t w) {
      try {
        const std::vector<size_t>& mine = owned[w];
        if (mine.empty() || cancelled()) return;
        std::vector<ChunkTask> my_tasks;
        my_tasks.reserve(mine.size());
        for (const size_t i : mine) my_tasks.push_back(tasks[i]);
        std::vector<Partial> my_out(mine.size(), empty_partial());
        std::vector<uint64_t> my_slots(mine.size() * H, 0);
        workers_[w].backend->reduce(my_tasks, hist, my_out, my_slots);
        for (size_t k = 0; k < mine.size(); ++k) {
          out[mine[k]] = my_out[k];
          std::copy(my_slots.begin() + k * H, my_slots.begin() + (k + 1) * H,
                    slots.begin() + mine[k] * H);
        }
      } catch (...) {
        errors[w] = std::current_exception();
      }
    };
    std::vector<std::thread> threads;
    try {
      for (size_t w = 1; w < n; ++w) threads.emplace_back(work, w);
    } catch (...) {  // a joinable std::thread must never be destroyed
      for (auto& t : threads) t.join();
      throw;
    }
    work(0);
    for (auto& t : threads) t.join();
    for (auto& e : errors)  // the first worker's error first: one deterministic message
      if (e) std::rethrow_exception(e);
  }

 private:
  std::vector<HybridWorker> workers_;
  std::vector<double> shares_;
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
