// Cooperative cancellation (DiffOptions::cancel): a set flag stops diff and
// inspect with Error(cancelled), also from inside a batch, and a clear one
// changes nothing.
#include <gtest/gtest.h>

#include "backend/backend.hpp"
#include "backend/partial_stats.hpp"
#include "test_files.hpp"
#include "weightdiff/inspect.hpp"

namespace wdtest {
namespace {

class CancelTest : public FileTest {
 protected:
  void SetUp() override {
    FileTest::SetUp();
    std::vector<float> a(3 << 20), b(3 << 20);  // three engine chunks
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 97) - 48.5f, b[i] = a[i] * 1.001f;
    write_safetensors(file("a.safetensors"), st_file({st_f32("w", {a.size()}, a)}));
    write_safetensors(file("b.safetensors"), st_file({st_f32("w", {b.size()}, b)}));
  }
};

TEST_F(CancelTest, SetFlagStopsDiffWithCancelled) {
  weightdiff::CancelFlag cancel{true};
  weightdiff::DiffOptions opt;
  opt.cancel = &cancel;
  expect_error([&] { diff_files(file("a.safetensors"), file("b.safetensors"), opt); },
               weightdiff::Errc::cancelled, {});
}

// Inside a batch: the CPU backend stops taking chunks once the flag is set,
// so a cancelled run does not wait for a whole batch (seconds when loaded).
TEST_F(CancelTest, CpuBackendStopsTakingChunksOnceCancelled) {
  const weightdiff::Model a = weightdiff::open_model(path("a.safetensors"));
  const weightdiff::Model b = weightdiff::open_model(path("b.safetensors"));
  const weightdiff::TensorRef& ta = a.tensors.at(0);
  const weightdiff::TensorRef& tb = b.tensors.at(0);
  std::vector<weightdiff::backend::ChunkTask> tasks;
  for (uint64_t first = 0; first < ta.numel; first += 1 << 20)
    tasks.push_back({&ta, &tb, first, 1 << 20, 1e-5, 1e-5});
  const weightdiff::HistRange hist;
  auto backend = weightdiff::backend::make_cpu_backend(1);
  weightdiff::CancelFlag cancel{false};
  backend->set_cancel(&cancel);
  namespace be = weightdiff::backend;
  std::vector<be::Partial> out(tasks.size(), be::empty_partial());
  std::vector<uint64_t> slots(tasks.size() * be::hist_layout(hist).total());
  backend->reduce(tasks, hist, out, slots);
  for (const auto& s : out) EXPECT_GT(s.n_fin, 0u);  // not cancelled: all done
  cancel = true;
  out.assign(tasks.size(), be::empty_partial());
  backend->reduce(tasks, hist, out, slots);
  for (const auto& s : out)
    EXPECT_EQ(s.n_fin + s.n_eq + s.n_mis, 0u) << "a chunk was computed after the flag was set";
}

TEST_F(CancelTest, ClearFlagChangesNothing) {
  weightdiff::CancelFlag cancel{false};
  weightdiff::DiffOptions opt;
  opt.cancel = &cancel;
  const auto with = diff_files(file("a.safetensors"), file("b.safetensors"), opt);
  const auto without = diff_files(file("a.safetensors"), file("b.safetensors"));
  EXPECT_EQ(with.tensor("w").stats->dot, without.tensor("w").stats->dot);
  EXPECT_EQ(with.tensor("w").stats->mismatched, without.tensor("w").stats->mismatched);
}

TEST_F(CancelTest, SetFlagStopsInspect) {
  weightdiff::CancelFlag cancel{true};
  weightdiff::InspectOptions opt;
  opt.cancel = &cancel;
  const weightdiff::Model m = weightdiff::open_model(path("a.safetensors"));
  expect_error([&] { weightdiff::inspect_model(m, opt); }, weightdiff::Errc::cancelled, {});
}

}  // namespace
}  // namespace wdtest
