// The narrow fast path (src/backend/cpu/narrow_block.hpp) against the
// float64 path it replaces: the same chunk reduced both ways must give the
// same bits in every Partial field and every histogram slot, on every SIMD
// target compiled in. Inputs aim at what the float32 shortcuts could get
// wrong: ±0 extremes, ties of max |d|, exponent gaps between a and b, values
// at powers of two, tiny and huge magnitudes, the 1024-element block and
// 8-lane group edges, blocks the path must decline (NaN, Inf, subnormals)
// next to blocks it takes, narrow and wide histogram ranges.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <bit>
#include <cstring>
#include <cmath>
#include <random>
#include <vector>

#include "backend/cpu/fused_block.hpp"
#include "backend/cpu/fused_kernel.hpp"
#include "backend/cpu/narrow_block.hpp"
#include "backend/partial_stats.hpp"
#include "encode.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::HistRange;
namespace cpu = weightdiff::cpu;
namespace backend = weightdiff::backend;

// The values stored as dtype t (f32 as is; bf16/f16 rounded to nearest even).
std::vector<uint8_t> encode(DType t, const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * (t == DType::f32 ? 4 : 2));
  for (size_t i = 0; i < v.size(); ++i) {
    if (t == DType::f32) {
      std::memcpy(out.data() + 4 * i, &v[i], 4);
    } else {
      const auto code = static_cast<uint16_t>(encode_small_float(t, v[i]));
      std::memcpy(out.data() + 2 * i, &code, 2);
    }
  }
  return out;
}

struct Reduced {
  backend::Partial p;
  std::vector<uint64_t> slots;
};

Reduced reduce(DType ta, DType tb, const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
               uint64_t first, uint64_t count, const HistRange& hist, bool narrow,
               double atol = 1e-5, double rtol = 1.6e-2) {
  cpu::ChunkInput in{ta, tb, reinterpret_cast<const std::byte*>(a.data()),
                     reinterpret_cast<const std::byte*>(b.data()), first, count, atol, rtol, hist};
  in.narrow = narrow;
  Reduced r;
  r.slots.resize(backend::hist_layout(hist).total());
  r.p = cpu::reduce_chunk(in, r.slots.data());
  return r;
}

uint64_t bits(double x) { return std::bit_cast<uint64_t>(x); }

void expect_same(const Reduced& got, const Reduced& want) {
  const backend::Partial &x = got.p, &y = want.p;
  EXPECT_EQ(x.n_fin, y.n_fin);
  EXPECT_EQ(x.n_eq, y.n_eq);
  EXPECT_EQ(x.n_mis, y.n_mis);
  EXPECT_EQ(x.nan_a + x.nan_b + x.inf_a + x.inf_b, y.nan_a + y.nan_b + y.inf_a + y.inf_b);
  for (auto [f, name] : {std::pair{&backend::Partial::s_abs, "s_abs"}, {&backend::Partial::s_sq_d, "s_sq_d"},
                         {&backend::Partial::s_dot, "s_dot"}, {&backend::Partial::s_sq_a, "s_sq_a"},
                         {&backend::Partial::s_sq_b, "s_sq_b"}, {&backend::Partial::mean_a, "mean_a"},
                         {&backend::Partial::m2_a, "m2_a"}, {&backend::Partial::mean_b, "mean_b"},
                         {&backend::Partial::m2_b, "m2_b"}, {&backend::Partial::min_a, "min_a"},
                         {&backend::Partial::max_a, "max_a"}, {&backend::Partial::min_b, "min_b"},
                         {&backend::Partial::max_b, "max_b"}, {&backend::Partial::mx, "mx"},
                         {&backend::Partial::a_mx, "a_mx"}, {&backend::Partial::b_mx, "b_mx"},
                         {&backend::Partial::mrel, "mrel"}})
    EXPECT_EQ(bits(x.*f), bits(y.*f)) << name << ": " << x.*f << " vs " << y.*f;
  EXPECT_EQ(x.mx_i, y.mx_i);
  EXPECT_EQ(got.slots, want.slots);
}

// Each generator writes n float values of a pair (before rounding to the
// dtypes): weights, a perturbed copy, and the edge cases mixed in.
struct Case {
  const char* name;
  void (*make)(std::mt19937_64&, size_t, std::vector<float>&, std::vector<float>&);
};

void weights(std::mt19937_64& rng, size_t n, std::vector<float>& a, std::vector<float>& b) {
  std::normal_distribution<float> w(0.0f, 0.02f), noise(0.0f, 2e-4f);
  for (size_t i = 0; i < n; ++i) {
    a[i] = w(rng);
    b[i] = (i / 3000) % 2 ? a[i] : a[i] + noise(rng);  // runs of unchanged weights
  }
}

// ±0 on both sides, equal pairs, ties of max |d| in several lanes and
// blocks. Blocks of three kinds: no negative values (the minimum is a zero:
// its sign tells the tie rule), no positive ones (the maximum is), both.
void zeros_and_ties(std::mt19937_64& rng, size_t n, std::vector<float>& a, std::vector<float>& b) {
  std::uniform_int_distribution<int> pick(0, 5);
  for (size_t i = 0; i < n; ++i) {
    switch (pick(rng)) {
      case 0: a[i] = 0.0f, b[i] = -0.0f; break;
      case 1: a[i] = -0.0f, b[i] = 0.0f; break;
      case 2: a[i] = 0.5f, b[i] = 0.75f; break;  // |d| = 0.25: the tie
      case 3: a[i] = 0.25f, b[i] = 0.0f; break;  // |d| = 0.25 again
      case 4: a[i] = b[i] = 0.125f; break;
      default: a[i] = -0.0f, b[i] = -0.0f; break;
    }
    const size_t kind = i / 1024 % 3;
    if (kind == 1) a[i] = -a[i], b[i] = -b[i];
    if (kind == 2 && i % 5 == 0) a[i] = -a[i];
  }
}

// Extremes that are zeros: one side's values all >= 0 (its minimum is a
// zero), the other's all <= 0 (its maximum is); each lane's first zero has
// one sign and its last zero the other, so only the float64 path's tie rule
// (the first one stays) gives its bits. kSign: which side is which.
template <int kSign>
void signed_zero_extremes(std::mt19937_64& rng, size_t n, std::vector<float>& a, std::vector<float>& b) {
  std::uniform_int_distribution<int> pick(0, 3);
  for (size_t i = 0; i < n; ++i) {
    const size_t in_block = i % 1024;
    if (in_block < 8 || in_block >= 1016) {
      const float first = in_block < 8 ? 0.0f : -0.0f;
      a[i] = first, b[i] = -first;
      continue;
    }
    const int k = pick(rng);
    a[i] = k == 0 ? 0.0f : k == 1 ? -0.0f : kSign * static_cast<float>(k);
    b[i] = k == 1 ? 0.0f : k == 0 ? -0.0f : -kSign * 0.5f * static_cast<float>(k);
  }
}

// Exponent gaps between a and b from 0 to 40 binades, signs mixed, and
// magnitudes from 2^-100 to 2^120 (bf16 keeps them; f16 overflows or
// flushes them, which the path must decline or handle like the float64 one).
void exponent_gaps(std::mt19937_64& rng, size_t n, std::vector<float>& a, std::vector<float>& b) {
  std::uniform_int_distribution<int> gap(0, 40), base(-100, 80), sign(0, 1);
  std::uniform_real_distribution<float> m(1.0f, 2.0f);
  for (size_t i = 0; i < n; ++i) {
    const int e = base(rng), g = gap(rng);
    a[i] = std::ldexp(m(rng), e) * (sign(rng) ? -1.0f : 1.0f);
    b[i] = std::ldexp(m(rng), e + g) * (sign(rng) ? -1.0f : 1.0f);
    if (i % 7 == 0) std::swap(a[i], b[i]);
  }
}

// Values on and next to powers of two (bin edges of every histogram), and
// pairs one ulp apart.
void powers_of_two(std::mt19937_64& rng, size_t n, std::vector<float>& a, std::vector<float>& b) {
  std::uniform_int_distribution<int> e(-20, 10), step(-1, 1);
  for (size_t i = 0; i < n; ++i) {
    a[i] = std::ldexp(1.0f, e(rng));
    b[i] = a[i] * (1.0f + static_cast<float>(step(rng)) * 0x1p-7f);
  }
}

// Small integers and halves: many exactly equal |d| and |d|/|a| ties, and
// a == 0 with b != 0 (no relative error for those).
void small_integers(std::mt19937_64& rng, size_t n, std::vector<float>& a, std::vector<float>& b) {
  std::uniform_int_distribution<int> v(-6, 6);
  for (size_t i = 0; i < n; ++i) a[i] = static_cast<float>(v(rng)) * 0.5f, b[i] = static_cast<float>(v(rng));
}

const Case kCases[] = {{"weights", weights},
                       {"zeros_and_ties", zeros_and_ties},
                       {"signed_zero_extremes+", signed_zero_extremes<1>},
                       {"signed_zero_extremes-", signed_zero_extremes<-1>},
                       {"exponent_gaps", exponent_gaps},
                       {"powers_of_two", powers_of_two},
                       {"small_integers", small_integers}};

const DType kNarrow[] = {DType::bf16, DType::f16, DType::f32};

std::vector<int64_t> compiled_targets() {
  std::vector<int64_t> out;
  for (const int64_t t : hwy::SupportedAndGeneratedTargets())
    if (t & cpu::compiled_simd_targets()) out.push_back(t);
  return out;
}

class NarrowPath : public testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override { hwy::SetSupportedTargetsForTest(GetParam()); }
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }

  // Every narrow dtype pair of one case; several chunks: whole blocks, a
  // tail block of whole groups, a partial group, an odd start.
  void check_case(const Case& c, size_t n, const HistRange& hist, double atol = 1e-5, double rtol = 1.6e-2) {
    std::mt19937_64 rng(std::hash<std::string>{}(c.name) + n);
    std::vector<float> fa(n), fb(n);
    c.make(rng, n, fa, fb);
    for (DType ta : kNarrow)
      for (DType tb : kNarrow) {
        SCOPED_TRACE(std::string(c.name) + ": " + std::string(weightdiff::dtype_name(ta)) + " vs " +
                     std::string(weightdiff::dtype_name(tb)) + ", n=" + std::to_string(n));
        const auto a = encode(ta, fa), b = encode(tb, fb);
        for (auto [first, count] : {std::pair<uint64_t, uint64_t>{0, n}, {0, n - n % 8 - 8}, {3, n - 3},
                                    {1024, n - 1024 - 5}}) {
          SCOPED_TRACE("first " + std::to_string(first) + ", count " + std::to_string(count));
          expect_same(reduce(ta, tb, a, b, first, count, hist, true, atol, rtol),
                      reduce(ta, tb, a, b, first, count, hist, false, atol, rtol));
        }
      }
  }
};

TEST_P(NarrowPath, SameBitsAsTheFloat64Path) {
  for (const Case& c : kCases)
    for (size_t n : {size_t{1024} * 3 + 8, size_t{8193} + 2048}) check_case(c, n, {});
}

TEST_P(NarrowPath, SameBitsWithNarrowAndWideHistogramRanges) {
  for (const Case& c : kCases) {
    check_case(c, 4096, HistRange{-3, 2});
    check_case(c, 4096, HistRange{-1021, 1023});
    check_case(c, 4096, HistRange{-130, -90});
  }
}

TEST_P(NarrowPath, SameBitsWithZeroAndHugeTolerances) {
  for (const Case& c : kCases) {
    check_case(c, 2048, {}, 0.0, 0.0);
    check_case(c, 2048, {}, 1e30, 1e30);
    check_case(c, 2048, {}, 1e-40, 0.5);
  }
}

// One bad element in a block: that block goes to the float64 path (and is
// declined by narrow_block, counting nothing), its neighbours stay narrow;
// the whole chunk still gives the float64 path's bits.
TEST_P(NarrowPath, DeclinesBlocksWithNanInfOrSubnormalsOnly) {
  std::mt19937_64 rng(7);
  const size_t n = 4096;
  std::vector<float> fa(n), fb(n);
  weights(rng, n, fa, fb);
  const float bad[] = {NAN, INFINITY, -INFINITY, 0x1p-130f, -0x1p-127f, 0x1p-149f};
  for (DType t : {DType::bf16, DType::f32})  // both keep float32's subnormals
    for (float x : bad)
      for (bool on_a : {true, false}) {
        if (x == 0x1p-149f && !(on_a && t == DType::f32)) continue;  // below bf16's subnormals
        SCOPED_TRACE(std::string(weightdiff::dtype_name(t)) + ": " + std::to_string(x) + (on_a ? " in a" : " in b"));
        std::vector<float> ga = fa, gb = fb;
        (on_a ? ga : gb)[1024 + 517] = x;  // in the second block only
        const auto a = encode(t, ga), b = encode(DType::bf16, gb);
        expect_same(reduce(t, DType::bf16, a, b, 0, n, {}, true), reduce(t, DType::bf16, a, b, 0, n, {}, false));
        // The block holding it is declined, the first block taken.
        cpu::NarrowValues v;
        cpu::BlockLanes lanes;
        std::vector<uint32_t> counters(cpu::NarrowCounts::kWords);
        const cpu::NarrowCounts counts = cpu::NarrowCounts::at(counters.data());
        const auto at = [](const std::vector<uint8_t>& s, size_t e, DType type) {
          return reinterpret_cast<const std::byte*>(s.data() + e * (weightdiff::dtype_bits(type) / 8));
        };
        EXPECT_TRUE(cpu::narrow_block(
            {t, DType::bf16, at(a, 0, t), at(b, 0, DType::bf16), 1024, 1e-5, 0.016, -1.0, counts}, v, lanes));
        const std::vector<uint32_t> before = counters;
        EXPECT_FALSE(cpu::narrow_block(
            {t, DType::bf16, at(a, 1024, t), at(b, 1024, DType::bf16), 1024, 1e-5, 0.016, -1.0, counts}, v, lanes));
        EXPECT_EQ(counters, before) << "a declined block counted something";
      }
}

// f16 subnormals are normal float32 values: the path takes them, with the
// bins of their float64 exponents.
TEST_P(NarrowPath, F16SubnormalsAreTakenWithTheirOwnBins) {
  std::vector<float> fa(2048), fb(2048);
  for (size_t i = 0; i < fa.size(); ++i) {
    fa[i] = std::ldexp(static_cast<float>(i % 1023 + 1), -24);  // every f16 subnormal
    fb[i] = std::ldexp(static_cast<float>((i * 7) % 1023 + 1), -24) * (i % 2 ? -1.0f : 1.0f);
  }
  const auto a = encode(DType::f16, fa), b = encode(DType::f16, fb);
  for (const HistRange& h : {HistRange{}, HistRange{-30, -10}}) {
    const Reduced fast = reduce(DType::f16, DType::f16, a, b, 0, 2048, h, true);
    expect_same(fast, reduce(DType::f16, DType::f16, a, b, 0, 2048, h, false));
    EXPECT_EQ(fast.p.n_fin, 2048u);
  }
}

std::string target_name(const testing::TestParamInfo<int64_t>& info) {
  std::string s = hwy::TargetName(info.param);
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Targets, NarrowPath, testing::ValuesIn(compiled_targets()), target_name);

}  // namespace
}  // namespace wdtest
