// The hybrid backend's scheduling: every task computed exactly once, by the
// worker that owns it (a function of the task alone, weighted by the
// shares), results the bits of the owners (here CPU backends: the CPU's
// bits), an error in one worker reaches the caller, and the cancel flag
// reaches every worker.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <thread>

#include "backend/hybrid_backend.hpp"
#include "cuda_compare.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::backend {
namespace {

using wdtest::MemTensor;

// A CPU backend that counts the tasks it was given, optionally slow, or
// failing on its n-th call; records the cancel flag it was handed.
class CountingBackend final : public Backend {
 public:
  explicit CountingBackend(std::chrono::milliseconds delay = {}, int fail_on_call = -1)
      : inner_(make_cpu_backend(1)), delay_(delay), fail_on_call_(fail_on_call) {}
  std::string name() const override { return "counting"; }
  unsigned threads() const override { return 1; }
  void set_cancel(const CancelFlag* c) noexcept override {
    Backend::set_cancel(c);
    seen_cancel = c;
  }
  void reduce(std::span<const ChunkTask> tasks, const HistRange& hist, std::span<Partial> out,
              std::span<uint64_t> slots) override {
    if (calls++ == fail_on_call_) throw Error(Errc::backend, "worker failed");
    std::this_thread::sleep_for(delay_);
    inner_->reduce(tasks, hist, out, slots);
    tasks_done += tasks.size();
  }
  std::atomic<size_t> tasks_done{0};
  std::atomic<int> calls{0};
  const CancelFlag* seen_cancel = nullptr;

 private:
  std::unique_ptr<Backend> inner_;
  std::chrono::milliseconds delay_;
  int fail_on_call_;
};

struct Pair {
  MemTensor a, b;
};

Pair pair(uint64_t n) {
  MemTensor a = wdtest::random_tensor(DType::bf16, n, 11);
  MemTensor b = wdtest::random_tensor(DType::f32, n, 12, &a);
  return {std::move(a), std::move(b)};
}

std::vector<HybridWorker> two(CountingBackend* x, double sx, CountingBackend* y, double sy) {
  std::vector<HybridWorker> w;
  w.push_back({std::unique_ptr<Backend>(x), sx});
  w.push_back({std::unique_ptr<Backend>(y), sy});
  return w;
}

TEST(Hybrid, EveryTaskOnceByItsOwnerAndTheCpuBits) {
  const Pair p = pair(400 * 1000 + 17);
  const auto tasks = wdtest::chunk_tasks(p.a, p.b, 1000);  // 401 tasks
  auto* x = new CountingBackend();
  auto* y = new CountingBackend();
  auto hybrid = make_hybrid_backend(two(x, 3.0, y, 1.0));
  EXPECT_EQ(hybrid->name(), "hybrid");
  EXPECT_EQ(hybrid->threads(), 2u);
  const HistRange hist;
  const auto got = wdtest::reduce_stats(*hybrid, tasks, hist);
  const auto cpu = wdtest::cpu_stats(tasks, hist);
  ASSERT_EQ(got.size(), tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) wdtest::expect_same_bits(got[i], cpu[i]);
  EXPECT_EQ(x->tasks_done + y->tasks_done, tasks.size());
  size_t owned_by_x = 0;
  for (const auto& t : tasks) owned_by_x += hybrid_owner(t, {3.0, 1.0}) == 0;
  EXPECT_EQ(x->tasks_done, owned_by_x);
  // About 3:1 (401 tasks: 300 expected, far outside these bounds by chance).
  EXPECT_GT(x->tasks_done, 240u);
  EXPECT_LT(x->tasks_done, 360u);
}

TEST(Hybrid, OwnershipIsAFunctionOfTheTaskAlone) {
  const Pair p = pair(64 * 1000);
  const auto tasks = wdtest::chunk_tasks(p.a, p.b, 1000);
  const std::vector<double> shares{1.0, 1.0};
  std::vector<size_t> owners;
  for (const auto& t : tasks) owners.push_back(hybrid_owner(t, shares));
  // The same tasks in another batch (a copy, reversed): the same owners.
  std::vector<ChunkTask> reversed(tasks.rbegin(), tasks.rend());
  for (size_t i = 0; i < reversed.size(); ++i)
    EXPECT_EQ(hybrid_owner(reversed[i], shares), owners[owners.size() - 1 - i]);
  EXPECT_NE(std::count(owners.begin(), owners.end(), 0u), 0);
  EXPECT_NE(std::count(owners.begin(), owners.end(), 1u), 0);
  for (const auto& t : tasks) EXPECT_EQ(hybrid_owner(t, {2.5}), 0u);
}

TEST(Hybrid, AWorkerErrorStopsTheOthersAndReachesTheCaller) {
  const Pair p = pair(100 * 1000);
  const auto tasks = wdtest::chunk_tasks(p.a, p.b, 1000);
  auto* failing = new CountingBackend({}, 0);
  auto* other = new CountingBackend();
  auto hybrid = make_hybrid_backend(two(failing, 1.0, other, 1.0));
  const HistRange hist;
  try {
    (void)wdtest::reduce_stats(*hybrid, tasks, hist);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::backend);
    EXPECT_NE(std::string(e.what()).find("worker failed"), std::string::npos);
  }
  EXPECT_EQ(failing->tasks_done, 0u);
}

TEST(Hybrid, TheCancelFlagReachesEveryWorker) {
  auto* a = new CountingBackend();
  auto* b = new CountingBackend();
  auto hybrid = make_hybrid_backend(two(a, 1.0, b, 1.0));
  CancelFlag cancel{true};
  hybrid->set_cancel(&cancel);
  EXPECT_EQ(a->seen_cancel, &cancel);
  EXPECT_EQ(b->seen_cancel, &cancel);
  const Pair p = pair(50 * 1000);
  const auto tasks = wdtest::chunk_tasks(p.a, p.b, 1000);
  const HistRange hist;
  (void)wdtest::reduce_stats(*hybrid, tasks, hist);
  EXPECT_EQ(a->tasks_done + b->tasks_done, 0u);  // cancelled before the first task
}

TEST(Hybrid, NeedsWorkersWithPositiveShares) {
  for (double share : std::initializer_list<double>{0.0, -1.0, NAN}) {
    std::vector<HybridWorker> w;
    w.push_back({make_cpu_backend(1), share});
    try {
      make_hybrid_backend(std::move(w));
      ADD_FAILURE() << "share " << share;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::usage);
    }
  }
  try {
    make_hybrid_backend({});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::usage);
  }
}

}  // namespace
}  // namespace weightdiff::backend
