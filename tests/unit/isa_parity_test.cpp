// The CPU pass gives the same bits on every SIMD target Highway dispatches to
// (AVX-512, AVX2, SSE4 and the portable fallback): accumulation happens in 8
// fixed lanes whatever the vector width. Each target this CPU supports is
// forced in turn and compared with the first, field by field, bit for bit.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include "backend/cpu/fused_kernel.hpp"
#include "backend/partial_stats.hpp"
#include "reference.hpp"

namespace weightdiff::cpu {
namespace {

// Random f32 pairs with a sprinkle of NaN, ±Inf, ±0 and exact ties; a length
// that is not a multiple of 8 or of the 1024-element block.
std::vector<float> make_side(std::mt19937_64& rng, size_t n, const std::vector<float>* base) {
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = base ? (*base)[i] + 1e-3f * normal(rng) : normal(rng);
  for (size_t i = 7; i < n; i += 997) v[i] = NAN;
  for (size_t i = 11; i < n; i += 1231) v[i] = (i % 2) ? INFINITY : -INFINITY;
  for (size_t i = 13; i < n; i += 331) v[i] = (i % 2) ? 0.0f : -0.0f;
  return v;
}

PairStats run(const std::vector<float>& a, const std::vector<float>& b) {
  const ChunkInput in{DType::f32, DType::f32, reinterpret_cast<const std::byte*>(a.data()),
                      reinterpret_cast<const std::byte*>(b.data()), 0, a.size(), 1e-5, 1.3e-6,
                      HistRange{}};
  std::vector<uint64_t> slots(backend::hist_layout(in.hist).total());
  const backend::Partial p = reduce_chunk(in, slots.data());
  return backend::pair_stats_of(p, slots.data(), in.hist, in.count);
}

TEST(IsaParity, EverySupportedTargetGivesTheSameBits) {
  std::mt19937_64 rng(20261128);
  const size_t n = 3 * 1024 + 517;
  const auto a = make_side(rng, n, nullptr);
  const auto b = make_side(rng, n, &a);

  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  hwy::SetSupportedTargetsForTest(targets.front());
  const PairStats first = run(a, b);
  ASSERT_GT(first.n_finite, 0u);
  ASSERT_GT(first.nan_a, 0u);
  std::cout << "[ targets  ] " << hwy::TargetName(targets.front());
  for (size_t t = 1; t < targets.size(); ++t) {
    std::cout << ' ' << hwy::TargetName(targets[t]);
    hwy::SetSupportedTargetsForTest(targets[t]);
    SCOPED_TRACE(hwy::TargetName(targets[t]));
    wdtest::expect_same_bits(first, run(a, b));
  }
  std::cout << '\n';
  hwy::SetSupportedTargetsForTest(0);
  if (targets.size() < 2) GTEST_SKIP() << "this CPU supports only one SIMD target";
}

}  // namespace
}  // namespace weightdiff::cpu
