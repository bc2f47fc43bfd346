// diff_models on the corners of SPEC §2: non-finite values, signed zeros,
// empty and scalar tensors, max |d| ties across lanes, blocks and chunks,
// the tolerance test without FMA, and bit-identical results across threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "encode.hpp"
#include "reference.hpp"
#include "test_files.hpp"
#include "weightdiff/report.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::Status;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint64_t kChunk = uint64_t{1} << 20;

struct Side {
  DType dtype;
  std::vector<double> values;
};

class EdgeTest : public FileTest {
 protected:
  // Writes tensor "t" on each side, diffs, and checks it against the reference.
  DiffRun diff_one(const Side& a, const Side& b, const std::vector<uint64_t>& shape,
                   weightdiff::DiffOptions opt = {}) {
    const auto bytes_a = encode_values(a.dtype, a.values);
    const auto bytes_b = encode_values(b.dtype, b.values);
    write_safetensors(file("a.safetensors"), st_file({st_tensor("t", a.dtype, shape, bytes_a)}));
    write_safetensors(file("b.safetensors"), st_file({st_tensor("t", b.dtype, shape, bytes_b)}));
    DiffRun r = diff_files(file("a.safetensors"), file("b.safetensors"), opt);
    const auto& t = r.tensor("t");
    const uint64_t n = a.values.size();
    expect_matches_reference(
        t, reference_stats(decode_values(a.dtype, bytes_a, n), decode_values(b.dtype, bytes_b, n),
                           t.atol, t.rtol, opt.hist.lo, opt.hist.hi));
    return r;
  }
};

const weightdiff::Field* field(const std::vector<weightdiff::Field>& fields, const char* name) {
  for (const auto& f : fields)
    if (std::string(f.name) == name) return &f;
  return nullptr;
}

TEST_F(EdgeTest, NanAndInfOnOneOrBothSides) {
  const std::vector<double> a{kNaN, 1, kInf, -kInf, kInf, kNaN, 2, 3, kInf, 5, -kInf, 0};
  const std::vector<double> b{kNaN, kNaN, kInf, kInf, 1, 1, 2, 3.5, -kInf, 5, -kInf, -0.0};
  const DiffRun r = diff_one({DType::f32, a}, {DType::f32, b}, {3, 4});
  const auto& s = *r.tensor("t").stats;
  EXPECT_EQ(s.nan_a, 2u);
  EXPECT_EQ(s.nan_b, 2u);
  EXPECT_EQ(s.inf_a, 5u);
  EXPECT_EQ(s.inf_b, 4u);
  EXPECT_EQ(s.n_finite, 4u);  // indices 6, 7, 9, 11
  EXPECT_EQ(s.equal, 6u);     // NaN/NaN, inf/inf, 2/2, 5/5, -inf/-inf, 0/-0
  EXPECT_EQ(s.mismatched, 6u);  // five non-finite pairs that differ, and 3 vs 3.5
  EXPECT_EQ(s.max_abs, 0.5);
  EXPECT_EQ(s.max_abs_index, 7u);
  EXPECT_EQ(weightdiff::unravel_index(s.max_abs_index, {3, 4}), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(r.tensor("t").status, Status::different);

  // A huge tolerance forgives finite pairs only.
  weightdiff::DiffOptions loose;
  loose.atol = 1e30;
  const DiffRun l = diff_one({DType::f32, a}, {DType::f32, b}, {3, 4}, loose);
  EXPECT_EQ(l.tensor("t").stats->mismatched, 5u);
}

TEST_F(EdgeTest, BothNanAndSameInfinityAreEqual) {
  const DiffRun r = diff_one({DType::f32, {kNaN, kInf, -kInf, 1}},
                             {DType::bf16, {kNaN, kInf, -kInf, 1}}, {4});
  EXPECT_EQ(r.tensor("t").status, Status::identical);
  EXPECT_EQ(r.tensor("t").stats->n_finite, 1u);
  EXPECT_EQ(r.tensor("t").stats->mismatched, 0u);
}

TEST_F(EdgeTest, SignedZerosAreEqual) {
  const DiffRun r = diff_one({DType::f32, {0.0, -0.0, 0.0, 2.0}},
                             {DType::bf16, {-0.0, 0.0, 0.0, 2.0}}, {2, 2});
  const auto& t = r.tensor("t");
  EXPECT_EQ(t.status, Status::identical);
  EXPECT_EQ(t.stats->equal, 4u);
  EXPECT_EQ(t.stats->max_abs, 0.0);
  EXPECT_EQ(t.stats->max_abs_index, 0u);
  EXPECT_EQ(t.stats->hist_abs_diff.zero, 4u);
  EXPECT_EQ(t.stats->hist_a.zero, 3u);
  EXPECT_EQ(weightdiff::derive_metrics(*t.stats).snr_db, kInf);
}

// A min or max that is a zero is reported as +0 whatever the order in which
// -0 and +0 met (lanes, threads, GPU trees): the same bits on every backend.
TEST_F(EdgeTest, ZeroMinAndMaxAreReportedAsPlusZero) {
  std::vector<double> a(3000, -0.0), b(3000, 0.0);
  for (size_t i = 0; i < a.size(); i += 7) a[i] = 0.0;
  for (size_t i = 0; i < b.size(); i += 5) b[i] = -0.0;
  const DiffRun r = diff_one({DType::f32, a}, {DType::f32, b}, {a.size()});
  const auto& s = *r.tensor("t").stats;
  for (const double v : {s.min_a, s.max_a, s.min_b, s.max_b}) {
    EXPECT_EQ(v, 0.0);
    EXPECT_FALSE(std::signbit(v));
  }
}

TEST_F(EdgeTest, MaxRelSkipsZerosOfA) {
  const DiffRun r = diff_one({DType::f32, {0, 2, 0}}, {DType::f32, {5, 3, 0}}, {3});
  const auto m = weightdiff::derive_metrics(*r.tensor("t").stats);
  ASSERT_TRUE(m.max_rel.has_value());
  EXPECT_EQ(*m.max_rel, 0.5);
  EXPECT_EQ(*m.max_abs, 5.0);
  // No nonzero a at all: max_rel is null.
  const DiffRun z = diff_one({DType::f32, {0, 0}}, {DType::f32, {1, 0}}, {2});
  EXPECT_FALSE(weightdiff::derive_metrics(*z.tensor("t").stats).max_rel.has_value());
}

TEST_F(EdgeTest, EmptyTensorIsIdenticalWithNullMetrics) {
  const DiffRun r = diff_one({DType::f32, {}}, {DType::bf16, {}}, {0, 4});
  const auto& t = r.tensor("t");
  EXPECT_EQ(t.status, Status::identical);
  EXPECT_EQ(t.stats->numel, 0u);
  EXPECT_EQ(t.stats->n_finite, 0u);
  const auto m = weightdiff::derive_metrics(*t.stats);
  EXPECT_FALSE(m.max_abs || m.mean_abs || m.rmse || m.max_rel || m.mean_a || m.std_b || m.min_a);
  EXPECT_EQ(m.cosine, 1.0);
  EXPECT_EQ(m.rel_l2, 0.0);
  EXPECT_EQ(m.snr_db, kInf);
  const auto fields = weightdiff::tensor_fields(t);
  ASSERT_NE(field(fields, "max_abs_index"), nullptr);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(field(fields, "max_abs_index")->value));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(field(fields, "max_abs")->value));
  EXPECT_EQ(r.result.summary.elements, 0u);
  EXPECT_FALSE(r.result.summary.max_abs.has_value());
  EXPECT_EQ(r.result.summary.cosine, 1.0);
}

TEST_F(EdgeTest, ScalarHasEmptyIndex) {
  const DiffRun r = diff_one({DType::f32, {1.5}}, {DType::f16, {2.0}}, {});
  const auto& t = r.tensor("t");
  EXPECT_TRUE(t.shape_a.empty());
  EXPECT_EQ(t.stats->numel, 1u);
  EXPECT_EQ(t.stats->max_abs, 0.5);
  const auto fields = weightdiff::tensor_fields(t);
  const auto* idx = std::get_if<std::vector<uint64_t>>(&field(fields, "max_abs_index")->value);
  ASSERT_NE(idx, nullptr) << "a scalar's max_abs_index is [], not null";
  EXPECT_TRUE(idx->empty());
}

TEST_F(EdgeTest, AllNanTensor) {
  const std::vector<double> nans(1500, kNaN);  // crosses a block boundary
  const DiffRun same = diff_one({DType::f32, nans}, {DType::f16, nans}, {1500});
  EXPECT_EQ(same.tensor("t").status, Status::identical);
  EXPECT_EQ(same.tensor("t").stats->n_finite, 0u);

  std::vector<double> finite(1500);
  for (size_t i = 0; i < finite.size(); ++i) finite[i] = 0.25 * static_cast<double>(i % 9) - 1;
  const DiffRun r = diff_one({DType::f32, nans}, {DType::f32, finite}, {1500});
  const auto& t = r.tensor("t");
  EXPECT_EQ(t.status, Status::different);
  EXPECT_EQ(t.stats->mismatched, 1500u);
  EXPECT_EQ(t.stats->nan_a, 1500u);
  const auto m = weightdiff::derive_metrics(*t.stats);
  EXPECT_FALSE(m.max_abs.has_value());
  EXPECT_EQ(m.cosine, 1.0);  // sums over an empty F are 0
  // b's own finite values still fill its histogram (SPEC §4).
  uint64_t hist_b = t.stats->hist_b.zero + t.stats->hist_b.under + t.stats->hist_b.over;
  for (size_t j = 0; j < t.stats->hist_b.pos.size(); ++j)
    hist_b += t.stats->hist_b.pos[j] + t.stats->hist_b.neg[j];
  EXPECT_EQ(hist_b, 1500u);
}

TEST_F(EdgeTest, OverflowingDifferenceIsInfAndCountsAsOver) {
  const double big = std::numeric_limits<double>::max();
  const std::vector<double> a{-big, 1}, b{big, 1};
  write_safetensors(file("a.safetensors"),
                    st_file({st_tensor("t", DType::f64, {2}, encode_values(DType::f64, a))}));
  write_safetensors(file("b.safetensors"),
                    st_file({st_tensor("t", DType::f64, {2}, encode_values(DType::f64, b))}));
  const DiffRun r = diff_files(file("a.safetensors"), file("b.safetensors"));
  const auto& s = *r.tensor("t").stats;
  EXPECT_EQ(s.n_finite, 2u);
  EXPECT_EQ(s.max_abs, kInf);
  EXPECT_EQ(s.max_abs_index, 0u);
  EXPECT_EQ(s.hist_abs_diff.over, 1u);
  EXPECT_EQ(s.hist_abs_diff.zero, 1u);
  EXPECT_EQ(s.mismatched, 1u);
}

// Magnitudes from subnormal to 1e150 (squares stay finite): histograms'
// under/over, max_rel with tiny |a|, exact extremes.
TEST_F(EdgeTest, ExtremeMagnitudesMatchReference) {
  const double mags[] = {5e-324, 1e-310, 1e-200, 1e-20, 0.75, 3, 1e20, 1e150};
  std::vector<double> a, b;
  uint64_t x = 99;
  for (int i = 0; i < 5000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const double ma = mags[(x >> 20) % 8], mb = mags[(x >> 30) % 8];
    const double sa = (x >> 40) & 1 ? -1 : 1, sb = (x >> 41) & 1 ? -1 : 1;
    a.push_back(sa * ma * (1 + static_cast<double>((x >> 50) % 7) / 8));
    b.push_back((x >> 44) % 3 == 0 ? a.back() : sb * mb);
  }
  diff_one({DType::f64, a}, {DType::f64, b}, {50, 100});
  // Mixed with f32 (values outside its range become inf or 0 there).
  diff_one({DType::f64, a}, {DType::f32, b}, {5000});
}

// A narrow --hist-range puts most values in `under` and `over`.
TEST_F(EdgeTest, CustomHistogramRangeMatchesReference) {
  std::vector<double> a(3000), b(3000);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = std::ldexp(1.0 + static_cast<double>(i % 17) / 16, static_cast<int>(i % 23) - 11);
    b[i] = i % 4 == 0 ? a[i] : -a[i] * 1.5;
  }
  weightdiff::DiffOptions opt;
  opt.hist = {-3, 2};
  const DiffRun r = diff_one({DType::f32, a}, {DType::f32, b}, {3000}, opt);
  const auto& s = *r.tensor("t").stats;
  EXPECT_EQ(s.hist_abs_diff.counts.size(), 5u);
  EXPECT_GT(s.hist_a.under, 0u);
  EXPECT_GT(s.hist_a.over, 0u);
  EXPECT_GT(s.hist_abs_diff.over, 0u);
}

TEST_F(EdgeTest, BadHistogramRangeIsAUsageError) {
  const auto bytes = encode_values(DType::f32, {1, 2});
  write_safetensors(file("a.safetensors"), st_file({st_tensor("t", DType::f32, {2}, bytes)}));
  for (const weightdiff::HistRange h : {weightdiff::HistRange{3, 3}, weightdiff::HistRange{4, 2},
                                        weightdiff::HistRange{-1023, 0}, weightdiff::HistRange{0, 1025}}) {
    weightdiff::DiffOptions opt;
    opt.hist = h;
    expect_error([&] { diff_files(file("a.safetensors"), file("a.safetensors"), opt); },
                 weightdiff::Errc::usage, {});
  }
}

// SPEC §2: the tolerance test is two separately rounded operations. Find a
// pair where an FMA would decide differently and check the separate answer.
TEST_F(EdgeTest, ToleranceIsNotContractedIntoAnFma) {
  const double atol = 1e-5, rtol = 0.1;
  std::vector<double> a, b;
  for (int i = 1; i < 200000 && a.size() < 16; ++i) {
    const double x = 1 + i * 0x1p-17;
    const double product = rtol * x;
    const double separate = atol + product;  // -ffp-contract=off on this target
    const double fused = std::fma(rtol, x, atol);
    if (separate == fused) continue;
    const double y = x + separate;
    const double d = y - x;
    if ((d <= separate) != (d <= fused)) a.push_back(x), b.push_back(y);
  }
  ASSERT_FALSE(a.empty()) << "no FMA-sensitive pair found";
  uint64_t want = 0;
  for (size_t i = 0; i < a.size(); ++i) want += !(std::fabs(b[i] - a[i]) <= atol + rtol * std::fabs(a[i]));
  weightdiff::DiffOptions opt;
  opt.atol = atol;
  opt.rtol = rtol;
  const DiffRun r = diff_one({DType::f64, a}, {DType::f64, b}, {a.size()}, opt);
  EXPECT_EQ(r.tensor("t").stats->mismatched, want);
}

// Differences of exactly 1 at `at` (sign alternating), 1/4 or 0 elsewhere.
std::pair<std::vector<double>, std::vector<double>> ties(uint64_t n, const std::vector<uint64_t>& at) {
  std::vector<double> a(n), b(n);
  for (uint64_t i = 0; i < n; ++i) {
    a[i] = 0.5 * static_cast<double>(i % 13) - 3;
    b[i] = a[i] + (i % 5 == 0 ? 0.25 : 0);
  }
  for (size_t k = 0; k < at.size(); ++k) b[at[k]] = a[at[k]] + (k % 2 ? -1 : 1);
  return {a, b};
}

struct TieCase {
  const char* name;
  uint64_t n;
  std::vector<uint64_t> at;  // indices of |d| = max, in no particular order
};

TEST_F(EdgeTest, MaxAbsTiesKeepTheSmallestIndex) {
  const std::vector<TieCase> cases{
      {"t0_one_block", 1000, {900, 17, 500}},
      {"t1_same_lane", 100, {16, 8, 24}},
      {"t2_lower_lane_later", 100, {10, 17, 9}},
      {"t3_block_edge", 3000, {1024, 1023}},
      {"t4_later_block_lower_lane", 3000, {2049, 1030}},
      {"t5_chunk_edge", kChunk + 2048, {kChunk, kChunk - 1}},
      {"t6_chunk_edge_lanes", kChunk + 2048, {kChunk + 8, kChunk, kChunk - 7}},
      {"t7_last_element", kChunk + 3, {kChunk + 2, kChunk + 1}},
  };
  StFile fa, fb;
  for (const auto& c : cases) {
    const auto [a, b] = ties(c.n, c.at);
    fa.tensors.push_back(st_tensor(c.name, DType::f32, {c.n}, encode_values(DType::f32, a)));
    fb.tensors.push_back(st_tensor(c.name, DType::f32, {c.n}, encode_values(DType::f32, b)));
  }
  write_safetensors(file("a.safetensors"), fa);
  write_safetensors(file("b.safetensors"), fb);
  for (const unsigned threads : {1u, 2u, 3u}) {
    weightdiff::DiffOptions opt;
    opt.threads = threads;
    const DiffRun r = diff_files(file("a.safetensors"), file("b.safetensors"), opt);
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", threads " + std::to_string(threads));
      const uint64_t want = *std::min_element(c.at.begin(), c.at.end());
      const auto& s = *r.tensor(c.name).stats;
      EXPECT_EQ(s.max_abs, 1.0);
      EXPECT_EQ(s.max_abs_index, want);
      const double a_want = 0.5 * static_cast<double>(want % 13) - 3;
      EXPECT_EQ(s.a_at_max_abs, a_want);
      EXPECT_EQ(std::fabs(s.b_at_max_abs - a_want), 1.0);
    }
  }
}

TEST_F(EdgeTest, NonFiniteDataGivesTheSameBitsOnAnyThreadCount) {
  const uint64_t n = 3 * kChunk + 777;
  std::vector<double> a(n), b(n);
  uint64_t x = 12345;
  for (uint64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const double u = static_cast<double>(x >> 11) * 0x1p-53;
    a[i] = (u - 0.5) * 8;
    b[i] = a[i] * (1 + (u - 0.5) * 1e-3);
    if (i % 9973 == 0) b[i] = kNaN;
    if (i % 10007 == 0) a[i] = -kInf;
  }
  write_safetensors(file("a.safetensors"),
                    st_file({st_tensor("t", DType::f32, {n}, encode_values(DType::f32, a))}));
  write_safetensors(file("b.safetensors"),
                    st_file({st_tensor("t", DType::bf16, {n}, encode_values(DType::bf16, b))}));
  std::vector<weightdiff::PairStats> runs;
  for (const unsigned threads : {1u, 2u, 3u}) {
    weightdiff::DiffOptions opt;
    opt.threads = threads;
    runs.push_back(*diff_files(file("a.safetensors"), file("b.safetensors"), opt).tensor("t").stats);
  }
  expect_same_bits(runs[0], runs[1]);
  expect_same_bits(runs[0], runs[2]);
  EXPECT_GT(runs[0].nan_b, 0u);
  EXPECT_GT(runs[0].inf_a, 0u);
}

}  // namespace
}  // namespace wdtest
