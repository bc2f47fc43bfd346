// inspect reads and decodes each byte once (one-sided pairs through the
// engine core), where a diff reads both sides once each: checked with a
// Storage that counts the bytes the backend hands back after reading them,
// and how often a backend asked for the bytes (once per chunk and side it
// decodes).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/inspect.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::Model;
using weightdiff::TensorRef;

// Caller memory that counts, per chunk, the bytes the backend says it is
// done with (Storage::release is called once per chunk and side read).
class CountingStorage final : public weightdiff::Storage {
 public:
  explicit CountingStorage(std::vector<float> values) : values_(std::move(values)) {}
  const std::byte* data() const noexcept override {
    ++reads_;
    return reinterpret_cast<const std::byte*>(values_.data());
  }
  uint64_t size() const noexcept override { return values_.size() * sizeof(float); }
  const std::string& display_path() const noexcept override { return path_; }
  void release(uint64_t, uint64_t length) const noexcept override { released_ += length; }
  uint64_t released() const noexcept { return released_.load(); }
  uint64_t reads() const noexcept { return reads_.load(); }

 private:
  std::vector<float> values_;
  std::string path_ = "memory";
  mutable std::atomic<uint64_t> released_{0};
  mutable std::atomic<uint64_t> reads_{0};
};

struct CountedModel {
  Model model;
  std::vector<std::shared_ptr<CountingStorage>> storages;
  uint64_t bytes = 0;
};

// Tensors over 2.5 engine chunks, one of a single block, and an empty one.
CountedModel counted_model(uint32_t seed) {
  CountedModel c;
  c.model.path = "memory";
  c.model.format = "memory";
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::pair<const char*, uint64_t> tensors[] = {
      {"big", (uint64_t{5} << 20) / 2}, {"empty", 0}, {"small", 1000}};
  for (const auto& [name, n] : tensors) {
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    auto s = std::make_shared<CountingStorage>(std::move(v));
    TensorRef t;
    t.name = name;
    t.dtype = DType::f32;
    t.shape = {n};
    t.numel = n;
    t.nbytes = n * sizeof(float);
    if (n > 0) t.storage = s;
    c.bytes += t.nbytes;
    c.model.bytes += t.nbytes;
    c.model.tensors.push_back(t);
    c.storages.push_back(s);
  }
  return c;
}

// Chunks of the engine's size (1 Mi elements) over the model's tensors.
uint64_t chunks(const CountedModel& c) {
  uint64_t n = 0;
  for (const auto& t : c.model.tensors) n += (t.numel + (uint64_t{1} << 20) - 1) >> 20;
  return n;
}

uint64_t reads(const CountedModel& c) {
  uint64_t sum = 0;
  for (const auto& s : c.storages) sum += s->reads();
  return sum;
}

uint64_t released(const CountedModel& c) {
  uint64_t sum = 0;
  for (const auto& s : c.storages) sum += s->released();
  return sum;
}

TEST(ReadOnce, InspectReadsEachByteOnce) {
  const CountedModel c = counted_model(7);
  weightdiff::InspectOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  opt.threads = 2;
  uint64_t last_done = 0, last_total = 0;
  opt.on_progress = [&](const weightdiff::Progress& p) {
    last_done = p.bytes_done;
    last_total = p.bytes_total;
  };
  const auto r = weightdiff::inspect_model(c.model, opt);
  EXPECT_EQ(released(c), c.bytes);  // a self-diff hands every byte back twice
  EXPECT_EQ(reads(c), chunks(c));   // and decodes every chunk twice
  EXPECT_EQ(r.summary.bytes_read, c.bytes);
  EXPECT_EQ(last_total, c.bytes);
  EXPECT_EQ(last_done, c.bytes);
  ASSERT_EQ(r.tensors.size(), 3u);
  EXPECT_EQ(r.tensors[0].stats->n_finite, c.model.tensors[0].numel);
}

TEST(ReadOnce, DiffReadsEachSideOnce) {
  const CountedModel a = counted_model(7), b = counted_model(8);
  weightdiff::DiffOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  opt.threads = 2;
  const auto r = weightdiff::diff_models(a.model, b.model, opt);
  EXPECT_EQ(released(a), a.bytes);
  EXPECT_EQ(released(b), b.bytes);
  EXPECT_EQ(reads(a), chunks(a));
  EXPECT_EQ(reads(b), chunks(b));
  EXPECT_EQ(r.summary.bytes_read, a.bytes + b.bytes);
}

// A model diffed against itself through the library is an ordinary
// two-sided diff (only inspect asks for one-sided pairs): both sides read.
TEST(ReadOnce, DiffOfAModelWithItselfIsTwoSided) {
  const CountedModel a = counted_model(7);
  weightdiff::DiffOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  const auto r = weightdiff::diff_models(a.model, a.model, opt);
  EXPECT_EQ(r.summary.bytes_read, 2 * a.bytes);
  EXPECT_EQ(reads(a), 2 * chunks(a));
  EXPECT_EQ(r.summary.identical, 3u);
}

// One-sided and two-sided reductions agree on the a-side statistics: the
// same model inspected and diffed against a copy of itself.
TEST(ReadOnce, InspectMatchesTheDiffsASide) {
  const CountedModel a = counted_model(11), b = counted_model(11);
  weightdiff::InspectOptions iopt;
  iopt.backend = weightdiff::BackendKind::cpu;
  const auto ins = weightdiff::inspect_model(a.model, iopt);
  weightdiff::DiffOptions dopt;
  dopt.backend = weightdiff::BackendKind::cpu;
  const auto dif = weightdiff::diff_models(a.model, b.model, dopt);
  ASSERT_EQ(ins.tensors.size(), dif.tensors.size());
  for (size_t i = 0; i < ins.tensors.size(); ++i) {
    const auto& v = *ins.tensors[i].stats;
    const auto& p = *dif.tensors[i].stats;
    EXPECT_EQ(v.n_finite, p.n_finite);
    if (v.n_finite == 0) continue;
    EXPECT_EQ(std::memcmp(&*v.min, &p.min_a, sizeof(double)), 0);
    EXPECT_EQ(std::memcmp(&*v.max, &p.max_a, sizeof(double)), 0);
    EXPECT_EQ(*v.mean, p.mom_a.mean);
    EXPECT_EQ(v.hist.pos, p.hist_a.pos);
    EXPECT_EQ(v.hist.neg, p.hist_a.neg);
  }
}

}  // namespace
}  // namespace wdtest
