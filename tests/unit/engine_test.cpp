// diff_models against the float64 reference, typed over dtype pairs: random
// data (fixed seeds, never all zeros) at sizes around the block (1024) and
// chunk (1 << 20) boundaries, written as real safetensors files.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <memory>

#include "encode.hpp"
#include "reference.hpp"
#include "test_files.hpp"
#include "weightdiff/diff.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;

template <DType A, DType B>
struct DTypePair {
  static constexpr DType a = A;
  static constexpr DType b = B;
};

using Pairs = ::testing::Types<
    DTypePair<DType::f32, DType::f32>, DTypePair<DType::bf16, DType::bf16>,
    DTypePair<DType::f16, DType::f16>, DTypePair<DType::bf16, DType::f32>,
    DTypePair<DType::f8e4m3fn, DType::bf16>, DTypePair<DType::f8e5m2, DType::f16>,
    DTypePair<DType::i8, DType::i8>, DTypePair<DType::f64, DType::f32>>;

struct PairNames {
  template <typename T>
  static std::string GetName(int) {
    return std::string(weightdiff::dtype_name(T::a)) + "_" + std::string(weightdiff::dtype_name(T::b));
  }
};

constexpr uint64_t kBlock = 1024, kChunk = uint64_t{1} << 20;

struct Case {
  std::string name;
  std::vector<uint64_t> shape;
};

// Sizes on both sides of the block and chunk boundaries, odd tails included.
const std::vector<Case>& cases() {
  static const std::vector<Case> c{
      {"s00_one", {1}},
      {"s01_seven", {7}},
      {"s02_block_minus_1", {3, 341}},
      {"s03_block", {2, 16, 32}},
      {"s04_block_plus_1", {5, 205}},
      {"s05_blocks_8_plus_3", {8 * kBlock + 3}},
      {"s06_chunk_minus_1", {kChunk - 1}},
      {"s07_chunk", {1024, 1024}},
      {"s08_chunk_plus_1", {17, 61681}},
      {"s09_two_chunks_plus_13", {3, 5, 139811}},
  };
  return c;
}

uint64_t numel_of(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

// A small, fast, seeded generator (splitmix64); normal() is Irwin–Hall
// (four uniforms), plenty for test data and much cheaper than the <random> one.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }
  double normal() { return (uniform() + uniform() + uniform() + uniform() - 2.0) * 1.7320508075688772; }

 private:
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

// Reference-side values before encoding: a mostly N(0, 1) with some zeros and
// tiny values (histogram `under`); b equal, slightly or clearly perturbed.
void generate(DType ta, DType tb, uint64_t n, uint64_t seed, std::vector<double>& a,
              std::vector<double>& b) {
  Rng rng(seed);
  const bool ints = !weightdiff::dtype_is_float(ta) || !weightdiff::dtype_is_float(tb);
  a.resize(n);
  b.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    const double u = rng.uniform(), v = rng.uniform();
    double x = rng.normal();
    if (ints) {
      x = std::nearbyint(30 * x);
      b[i] = v < 0.6 ? x : x + std::nearbyint(4 * rng.normal());
    } else {
      if (u < 0.02) x = 0;
      else if (u < 0.03) x *= 1e-13;
      b[i] = v < 0.2 ? x : v < 0.8 ? x * (1 + 1e-3 * rng.normal()) : x + 0.1 * rng.normal();
    }
    a[i] = x;
  }
  if (a[0] == 0) a[0] = 1.5;  // never all zeros, even for one element
}

template <typename P>
class EngineReference : public ::testing::Test {
 protected:
  struct Data {
    TempDir dir;
    std::vector<std::vector<double>> a, b;  // decoded, per case
  };

  // The files are written once per dtype pair and shared by its tests.
  static void SetUpTestSuite() {
    data_ = std::make_unique<Data>();
    StFile fa, fb;
    uint64_t seed = 1000 + static_cast<uint64_t>(P::a) * 32 + static_cast<uint64_t>(P::b);
    for (const auto& c : cases()) {
      const uint64_t n = numel_of(c.shape);
      std::vector<double> va, vb;
      generate(P::a, P::b, n, seed++, va, vb);
      auto bytes_a = encode_values(P::a, va);
      auto bytes_b = encode_values(P::b, vb);
      data_->a.push_back(decode_values(P::a, bytes_a, n));
      data_->b.push_back(decode_values(P::b, bytes_b, n));
      fa.tensors.push_back(st_tensor(c.name, P::a, c.shape, std::move(bytes_a)));
      fb.tensors.push_back(st_tensor(c.name, P::b, c.shape, std::move(bytes_b)));
    }
    write_safetensors(data_->dir / "a.safetensors", fa);
    write_safetensors(data_->dir / "b.safetensors", fb);
  }
  static void TearDownTestSuite() { data_.reset(); }

  static DiffRun run(unsigned threads) {
    weightdiff::DiffOptions opt;
    opt.threads = threads;
    return diff_files(data_->dir / "a.safetensors", data_->dir / "b.safetensors", opt);
  }

  static inline std::unique_ptr<Data> data_;
};

TYPED_TEST_SUITE(EngineReference, Pairs, PairNames);

TYPED_TEST(EngineReference, EveryMetricAndTheSummaryMatchReference) {
  const DiffRun r = this->run(2);
  const auto ta = weightdiff::default_tolerance(TypeParam::a);
  const auto tb = weightdiff::default_tolerance(TypeParam::b);
  ASSERT_EQ(r.result.tensors.size(), cases().size());
  struct Total {
    long double sum = 0, abs = 0;
    void add(const RefSum& s) { sum += s.value(), abs += s.abs; }
  } dot, ssa, ssb, ssd;
  uint64_t elements = 0, mismatched = 0;
  double max_abs = -1;
  std::string max_tensor;
  for (size_t i = 0; i < cases().size(); ++i) {
    const auto& c = cases()[i];
    SCOPED_TRACE(c.name);
    const auto& t = r.tensor(c.name);
    // A pair takes the larger atol and the larger rtol of its two dtypes.
    EXPECT_EQ(t.atol, std::max(ta.atol, tb.atol));
    EXPECT_EQ(t.rtol, std::max(ta.rtol, tb.rtol));
    EXPECT_EQ(t.shape_a, c.shape);
    const RefStats ref = reference_stats(this->data_->a[i], this->data_->b[i], t.atol, t.rtol);
    expect_matches_reference(t, ref);
    elements += ref.numel;
    mismatched += ref.mismatched;
    dot.add(ref.dot), ssa.add(ref.sum_sq_a), ssb.add(ref.sum_sq_b), ssd.add(ref.sum_sq_diff);
    if (ref.n_finite > 0 && ref.max_abs > max_abs) max_abs = ref.max_abs, max_tensor = t.name;
  }
  // Summary: over all compared pairs taken as one vector.
  const auto& s = r.result.summary;
  EXPECT_EQ(s.compared, cases().size());
  EXPECT_EQ(s.identical + s.close + s.different, s.compared);
  EXPECT_EQ(s.elements, elements);
  EXPECT_EQ(s.mismatched, mismatched);
  ASSERT_TRUE(s.max_abs.has_value());
  EXPECT_EQ(*s.max_abs, max_abs);
  EXPECT_EQ(s.max_abs_tensor, max_tensor);
  // The global cosine and rel_l2 pool floating-point pairs only: an
  // integer pair is counted as an exact match instead (issue 18).
  const bool floating = weightdiff::dtype_is_float(TypeParam::a) || weightdiff::dtype_is_float(TypeParam::b);
  EXPECT_EQ(s.float_tensors, floating ? s.compared : 0u);
  EXPECT_EQ(s.float_elements, floating ? elements : 0u);
  EXPECT_EQ(s.int_tensors, floating ? 0u : s.compared);
  EXPECT_EQ(s.int_elements, floating ? 0u : elements);
  if (!floating) {
    EXPECT_EQ(s.int_tensors_changed, s.close + s.different);
    EXPECT_FALSE(s.cosine.has_value());
    EXPECT_FALSE(s.rel_l2.has_value());
    EXPECT_EQ(s.dot, 0.0);
    EXPECT_EQ(s.sum_sq_a, 0.0);
    return;
  }
  ASSERT_TRUE(s.cosine && s.rel_l2);
  EXPECT_LE(std::fabs(s.dot - dot.sum), 1e-9 * dot.abs);
  EXPECT_LE(std::fabs(s.sum_sq_a - ssa.sum), 1e-9 * ssa.abs);
  EXPECT_LE(std::fabs(s.sum_sq_b - ssb.sum), 1e-9 * ssb.abs);
  EXPECT_LE(std::fabs(s.sum_sq_diff - ssd.sum), 1e-9 * ssd.abs);
  const long double cosine = dot.sum / std::sqrt(ssa.sum * ssb.sum);
  EXPECT_LE(std::fabs(*s.cosine - cosine), 1e-12);
  const long double rel_l2 = std::sqrt(ssd.sum / ssa.sum);
  EXPECT_LE(std::fabs(*s.rel_l2 - rel_l2), 1e-9 * rel_l2);
}

// SPEC §2: the metric fields are bit-identical whatever the thread count.
TYPED_TEST(EngineReference, SameBitsForOneTwoAndThreeThreads) {
  const DiffRun r1 = this->run(1), r2 = this->run(2), r3 = this->run(3);
  EXPECT_EQ(r1.result.threads, 1u);
  EXPECT_EQ(r3.result.threads, 3u);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto& t1 = r1.tensor(c.name);
    expect_same_bits(*t1.stats, *r2.tensor(c.name).stats);
    expect_same_bits(*t1.stats, *r3.tensor(c.name).stats);
  }
  auto bits = [](const std::optional<double>& v) { return v ? std::bit_cast<uint64_t>(*v) : 0; };
  EXPECT_EQ(r1.result.summary.cosine.has_value(), r3.result.summary.cosine.has_value());
  EXPECT_EQ(bits(r1.result.summary.cosine), bits(r3.result.summary.cosine));
  EXPECT_EQ(bits(r1.result.summary.rel_l2), bits(r3.result.summary.rel_l2));
  EXPECT_EQ(bits(r1.result.summary.dot), bits(r2.result.summary.dot));
}

// Unmatched and incomparable tensors carry their status, dtypes and shapes.
TEST(EngineStatus, StructuralDifferencesAreReportedNotCompared) {
  TempDir dir;
  StFile fa, fb;
  fa.tensors = {st_f32("same", {2}, {1, 2}), st_f32("only_a", {1}, {1}), st_f32("shape", {2, 2}, {1, 2, 3, 4}),
                StTensor{"odd", "F8_E8M0", {2}, {1, 2}, {}, {}, {}}};
  fb.tensors = {st_f32("same", {2}, {1, 2}), st_f32("only_b", {1}, {1}), st_f32("shape", {4}, {1, 2, 3, 4}),
                st_f32("odd", {2}, {1, 2})};
  write_safetensors(dir / "a.safetensors", fa);
  write_safetensors(dir / "b.safetensors", fb);
  const DiffRun r = diff_files(dir / "a.safetensors", dir / "b.safetensors");
  ASSERT_EQ(r.result.tensors.size(), 5u);
  const auto& odd = r.tensor("odd");
  EXPECT_EQ(odd.status, weightdiff::Status::unsupported_dtype);
  EXPECT_EQ(odd.dtype_a, "F8_E8M0");
  EXPECT_EQ(odd.dtype_b, "f32");
  EXPECT_FALSE(odd.stats.has_value());
  EXPECT_EQ(r.tensor("only_a").status, weightdiff::Status::only_in_a);
  EXPECT_EQ(r.tensor("only_a").dtype_b, "");
  EXPECT_EQ(r.tensor("only_b").status, weightdiff::Status::only_in_b);
  EXPECT_EQ(r.tensor("only_b").name_b, "only_b");
  const auto& shape = r.tensor("shape");
  EXPECT_EQ(shape.status, weightdiff::Status::shape_mismatch);
  EXPECT_EQ(shape.shape_a, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(shape.shape_b, (std::vector<uint64_t>{4}));
  EXPECT_FALSE(shape.stats.has_value());
  EXPECT_EQ(r.tensor("same").status, weightdiff::Status::identical);
  const auto& s = r.result.summary;
  EXPECT_EQ(s.compared, 1u);
  EXPECT_EQ(s.identical, 1u);
  EXPECT_EQ(s.only_in_a, 1u);
  EXPECT_EQ(s.only_in_b, 1u);
  EXPECT_EQ(s.shape_mismatch, 1u);
  EXPECT_EQ(s.unsupported_dtype, 1u);
  EXPECT_EQ(s.elements, 2u);
}

// Overriding one tolerance leaves the other at its per-dtype default.
TEST(EngineTolerance, OverrideReplacesOnlyItsOwnDefault) {
  TempDir dir;
  const std::vector<double> va{1.0, 2.0, 3.0}, vb{1.0, 2.5, 3.0};
  write_safetensors(dir / "a.safetensors",
                    st_file({st_tensor("t", DType::bf16, {3}, encode_values(DType::bf16, va))}));
  write_safetensors(dir / "b.safetensors",
                    st_file({st_tensor("t", DType::f32, {3}, encode_values(DType::f32, vb))}));
  weightdiff::DiffOptions opt;
  opt.rtol = 0.5;
  DiffRun r = diff_files(dir / "a.safetensors", dir / "b.safetensors", opt);
  EXPECT_EQ(r.tensor("t").atol, 1e-5);
  EXPECT_EQ(r.tensor("t").rtol, 0.5);
  EXPECT_EQ(r.tensor("t").status, weightdiff::Status::close);
  opt = {};
  opt.atol = 0.25;
  r = diff_files(dir / "a.safetensors", dir / "b.safetensors", opt);
  EXPECT_EQ(r.tensor("t").atol, 0.25);
  EXPECT_EQ(r.tensor("t").rtol, 1.6e-2);
  EXPECT_EQ(r.tensor("t").status, weightdiff::Status::different);  // 0.5 > 0.25 + 0.016 * 2
}

}  // namespace
}  // namespace wdtest
