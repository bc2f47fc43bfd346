// The asynchronous backend interface (Backend::submit/collect, issue 16)
// through the engine: reduce_pairs keeps up to max_in_flight() batches with
// the backend and must give the same bits as one batch at a time. The CUDA
// emulation is deferred to the extreme (it reads and computes nothing before
// collect()), so merging, releasing or unpinning a batch before it is
// collected, or collecting out of order, shows up here.
#include <gtest/gtest.h>

#include <atomic>

#include "backend/hybrid_backend.hpp"
#include "cuda_compare.hpp"
#include "kernels/emulated_backend.hpp"
#include "engine/reduce_pairs.hpp"
#include "weightdiff/error.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::HistRange;
using weightdiff::backend::Backend;
using weightdiff::backend::ChunkTask;
using weightdiff::backend::Partial;

// Another backend one batch at a time: reduce() only, the default
// submit/collect (max_in_flight 1).
class OneAtATime final : public Backend {
 public:
  explicit OneAtATime(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  unsigned threads() const override { return inner_->threads(); }
  void reduce(std::span<const ChunkTask> tasks, const HistRange& hist, std::span<Partial> out,
              std::span<uint64_t> slots) override {
    inner_->reduce(tasks, hist, out, slots);
  }

 private:
  std::unique_ptr<Backend> inner_;
};

struct Model {
  std::vector<MemTensor> a, b;
  std::vector<weightdiff::engine::PlannedPair> pairs;
};

// 300 pairs of mixed dtypes and sizes: with a wide histogram range a batch
// holds 112 tasks, so a run is several batches.
Model model() {
  Model m;
  const DType types[] = {DType::bf16, DType::f32, DType::f16, DType::i8, DType::f8e4m3fn};
  for (uint64_t i = 0; i < 300; ++i) {
    const DType ta = types[i % 5], tb = types[(i / 5) % 5];
    const uint64_t n = 1 + (i * 7919) % 5000;
    std::string name = "t";  // += only: GCC 12's -Wrestrict misfires on "t" + s
    name += std::to_string(1000 + i);
    m.a.push_back(random_tensor(ta, n, 2 * i + 1, nullptr, name));
    m.b.push_back(random_tensor(tb, n, 2 * i + 2, &m.a.back(), name));
  }
  for (size_t i = 0; i < m.a.size(); ++i)
    m.pairs.push_back({&m.a[i].ref, &m.b[i].ref, 1e-5, 1e-3});
  return m;
}

weightdiff::ComputeOptions wide_range() {
  weightdiff::ComputeOptions opt;
  opt.hist = {-1021, 1023};
  return opt;
}

void expect_same(const weightdiff::engine::Reduced& x, const weightdiff::engine::Reduced& y) {
  ASSERT_EQ(x.stats.size(), y.stats.size());
  EXPECT_EQ(x.bytes_read, y.bytes_read);
  for (size_t i = 0; i < x.stats.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same_bits(x.stats[i], y.stats[i]);
  }
}

TEST(AsyncReduce, DeferredBackendGivesTheBitsOfOneBatchAtATime) {
  const Model m = model();
  const auto opt = wide_range();
  auto deferred = weightdiff::cuda::make_emulated_cuda_backend();
  ASSERT_EQ(deferred->max_in_flight(), 2u);
  OneAtATime sync(weightdiff::cuda::make_emulated_cuda_backend());
  int batches = 0;
  auto counted = opt;
  counted.on_progress = [&](const weightdiff::Progress&) { ++batches; };
  const auto got = weightdiff::engine::reduce_pairs(m.pairs, *deferred, counted);
  EXPECT_GE(batches, 3 + 1);  // several batches (and the final report)
  expect_same(got, weightdiff::engine::reduce_pairs(m.pairs, sync, opt));
}

TEST(AsyncReduce, HybridWithADeepAndAShallowWorker) {
  const Model m = model();
  const auto opt = wide_range();
  auto make = [] {
    std::vector<weightdiff::backend::HybridWorker> w;
    w.push_back({weightdiff::cuda::make_emulated_cuda_backend(), 1.0});  // 2 in flight
    w.push_back({weightdiff::backend::make_cpu_backend(2), 1.0});       // 1
    return weightdiff::backend::make_hybrid_backend(std::move(w));
  };
  auto hybrid = make();
  EXPECT_EQ(hybrid->max_in_flight(), 2u);
  OneAtATime sync(make());
  expect_same(weightdiff::engine::reduce_pairs(m.pairs, *hybrid, opt),
              weightdiff::engine::reduce_pairs(m.pairs, sync, opt));
}

TEST(AsyncReduce, CancelWithBatchesOutstandingStops) {
  const Model m = model();
  auto opt = wide_range();
  weightdiff::CancelFlag cancel{false};
  opt.cancel = &cancel;
  opt.on_progress = [&](const weightdiff::Progress&) { cancel = true; };
  auto deferred = weightdiff::cuda::make_emulated_cuda_backend();
  deferred->set_cancel(&cancel);
  try {
    weightdiff::engine::reduce_pairs(m.pairs, *deferred, opt);
    FAIL() << "not cancelled";
  } catch (const weightdiff::Error& e) {
    EXPECT_EQ(e.code(), weightdiff::Errc::cancelled);
  }
}

}  // namespace
}  // namespace wdtest
