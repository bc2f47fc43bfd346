// One conformance suite over every backend implementation (as ggml's
// test-backend-ops and RMM's per-resource suites do): the CPU backend on
// each SIMD target Highway dispatches to, every other registered backend
// (the CUDA emulation, the hybrid backend over the emulation and the CPU),
// and the CUDA and hybrid backends when a device is usable. Each
// runs the same random inputs (fixed seeds; NaN/Inf/±0 and ties) and is
// checked against the CPU backend on its default target and the float64
// reference: counts, extremes, indices and histograms identical, sums
// within SPEC §2's bound; the CPU on any target gives the same bits.
//
// The CUDA instantiation is named CudaDevice/... (ctest label gpu) and
// skips with the reason when this build or machine cannot run it.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <algorithm>

#include "backend/cpu/fused_block.hpp"
#include "backend/registry.hpp"
#include "weightdiff/error.hpp"
#include "cuda_compare.hpp"
#include "test_files.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff {
namespace {

using wdtest::MemTensor;

struct Implementation {
  std::string label;    // the test name's suffix
  std::string backend;  // its registered name
  int64_t hwy_target = 0;  // the CPU's forced SIMD target; 0 = Highway's choice
};

std::string identifier(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::vector<Implementation> host_implementations() {
  std::vector<Implementation> out;
  // The targets this CPU supports that the CPU backend was compiled for
  // (this file's own target list may hold more).
  for (const int64_t t : hwy::SupportedAndGeneratedTargets())
    if (t & cpu::compiled_simd_targets()) out.push_back({"cpu_" + identifier(hwy::TargetName(t)), "cpu", t});
  for (const auto& b : backend::registered_backends())
    if (std::string(b.name) != "cpu" && std::string(b.name) != "cuda")
      out.push_back({identifier(b.name), b.name, 0});
  return out;
}

using wdtest::kAll;

class Conformance : public testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    const Implementation& impl = GetParam();
    if (impl.backend == "cpu") {
      backend_ = backend::make_cpu_backend(2);
    } else if (impl.backend == "hybrid") {  // the CPU and a device: make_backend builds it
      try {
        backend_ = backend::make_backend(BackendKind::hybrid, 2, {}, nullptr);
      } catch (const Error& e) {
        GTEST_SKIP() << "no hybrid backend here: " << e.what();
      }
    } else {
      const backend::RegisteredBackend* r = backend::find_backend(impl.backend);
      if (!r) GTEST_SKIP() << impl.backend << ": not in this build (built: " << compiled_backends() << ")";
      std::string why;
      backend_ = r->make({}, 2, false, &why);
      if (!backend_) GTEST_SKIP() << "no usable " << impl.backend << " backend: " << why;
    }
    force_target();
  }
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }

  void force_target() const {
    if (GetParam().hwy_target != 0) hwy::SetSupportedTargetsForTest(GetParam().hwy_target);
  }

  // The CPU backend on Highway's own target choice: the baseline.
  std::vector<PairStats> baseline(std::span<const backend::ChunkTask> tasks, const HistRange& hist) const {
    hwy::SetSupportedTargetsForTest(0);
    auto out = wdtest::cpu_stats(tasks, hist);
    force_target();
    return out;
  }

  std::vector<PairStats> run(std::span<const backend::ChunkTask> tasks, const HistRange& hist) const {
    return wdtest::reduce_stats(*backend_, tasks, hist);
  }

  // Every task of the pair against the baseline and the float64 reference;
  // the same bits run to run, and on every CPU target as on the baseline.
  void check(const MemTensor& a, const MemTensor& b, uint64_t chunk, const HistRange& hist = {}) const {
    const auto tasks = wdtest::chunk_tasks(a, b, chunk);
    const auto base = baseline(tasks, hist);
    const auto got = run(tasks, hist);
    const auto again = run(tasks, hist);
    ASSERT_EQ(got.size(), tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      SCOPED_TRACE("task " + std::to_string(i));
      wdtest::expect_matches_cpu(got[i], base[i], a, b, tasks[i], hist);
      wdtest::expect_same_bits(got[i], again[i]);
      if (GetParam().backend == "cpu") wdtest::expect_same_bits(got[i], base[i]);
    }
  }

  void check_pair(DType ta, DType tb, uint64_t n, uint64_t chunk, uint64_t seed,
                  const HistRange& hist = {}) const {
    SCOPED_TRACE(std::string(dtype_name(ta)) + " vs " + std::string(dtype_name(tb)) + ", n=" +
                 std::to_string(n) + ", chunk=" + std::to_string(chunk));
    const MemTensor a = wdtest::random_tensor(ta, n, seed);
    const MemTensor b = wdtest::random_tensor(tb, n, seed + 1, &a);
    check(a, b, chunk, hist);
  }

  std::unique_ptr<backend::Backend> backend_;
};

// Every dtype pair, two chunks each (the second starts at an odd element:
// i4/u4 nibble phase, unaligned group and block starts).
TEST_P(Conformance, EveryDtypePair) {
  uint64_t seed = 100;
  for (DType ta : kAll)
    for (DType tb : kAll) check_pair(ta, tb, 12011, 8195, seed += 2);
}

// Around the CPU's 8-lane groups and 1024-element blocks, CUDA's 8-element
// groups and 8192-element tiles, and the engine's 1 Mi chunks.
TEST_P(Conformance, SizesAroundLaneBlockTileAndChunkBoundaries) {
  uint64_t seed = 5000;
  for (uint64_t n : {1, 7, 8, 9, 255, 1023, 1024, 1025, 2047, 2048, 2049, 8191, 8192, 8193,
                     3 * 8192 + 1, (1 << 20) + 3})
    for (auto [ta, tb] : {std::pair{DType::bf16, DType::f32}, std::pair{DType::f16, DType::f16},
                          std::pair{DType::f64, DType::f8e5m2}, std::pair{DType::u4, DType::i8}})
      check_pair(ta, tb, n, 1 << 20, seed += 2);
}

// ggml's block types: random blocks whose f16 scales are now and then 0,
// -0, subnormal, NaN or ±Inf (NaN and Inf propagate as in ggml: Inf * 0 is
// NaN), decoded by the test's own reference (reference_quant.cpp). Each
// against a tied copy of itself, f32 and bf16, in tile-sized chunks (block
// boundaries, as the engine cuts them) and in chunks starting at odd
// elements (partial blocks at both ends: the backends take any start).
TEST_P(Conformance, BlockQuantizedTypes) {
  uint64_t seed = 30000;
  for (DType tq : wdtest::kBlockTypes) {
    SCOPED_TRACE(std::string(dtype_name(tq)));
    const MemTensor q = wdtest::random_block_tensor(tq, 3 * 8192 + 512, seed += 3);
    const MemTensor tied = wdtest::random_block_tensor(tq, q.ref.numel, seed + 1, &q);
    const MemTensor f = wdtest::random_tensor(DType::f32, q.ref.numel, seed + 2, &q);
    const MemTensor h = wdtest::random_tensor(DType::bf16, q.ref.numel, seed + 3, &q);
    EXPECT_GT(q.ref.nbytes, 0u);
    check(q, tied, 8192);
    check(f, q, 1 << 20);
    check(q, h, 8192);
    check(q, tied, 8195);
  }
}

// Every pair of block types, and block types against each element dtype.
TEST_P(Conformance, EveryBlockTypePair) {
  uint64_t seed = 40000;
  for (DType ta : wdtest::kBlockTypes)
    for (DType tb : wdtest::kBlockTypes) {
      SCOPED_TRACE(std::string(dtype_name(ta)) + " vs " + std::string(dtype_name(tb)));
      const MemTensor a = wdtest::random_block_tensor(ta, 2 * 256 + 32, seed += 2);
      const MemTensor b = wdtest::random_block_tensor(tb, a.ref.numel, seed + 1, &a);
      check(a, b, 256);
    }
  for (DType tq : wdtest::kBlockTypes)
    for (DType te : kAll) {
      SCOPED_TRACE(std::string(dtype_name(tq)) + " vs " + std::string(dtype_name(te)));
      const MemTensor q = wdtest::random_block_tensor(tq, 1024, seed += 2);
      check(q, wdtest::random_tensor(te, q.ref.numel, seed + 1, &q), 512);
    }
}

// Sizes around the block, group, tile and chunk boundaries: a tensor
// ending on, before and after each (the last block partly used).
TEST_P(Conformance, BlockTypesAroundTileAndChunkBoundaries) {
  uint64_t seed = 50000;
  for (uint64_t n : {1, 31, 32, 33, 255, 256, 257, 8192 - 256, 8192, 8192 + 8, 8192 + 256, (1 << 20) + 256})
    for (DType tq : {DType::q4_0, DType::q5_1, DType::q3_K, DType::q6_K}) {
      SCOPED_TRACE(std::string(dtype_name(tq)) + ", n=" + std::to_string(n));
      const MemTensor q = wdtest::random_block_tensor(tq, n, seed += 2);
      check(q, wdtest::random_tensor(DType::f16, n, seed + 1, &q), 1 << 20);
    }
}

TEST_P(Conformance, NarrowAndWideHistogramRanges) {
  check_pair(DType::f32, DType::bf16, 20000, 1 << 20, 77, HistRange{-3, 2});
  check_pair(DType::f64, DType::f32, 20000, 1 << 20, 79, HistRange{-1021, 1023});
}

// A one-sided task (b is a: inspect) gives the tensor's value statistics:
// the a-side fields of the two-sided task against an identical copy, bit
// for bit, and the b side the same as the a side.
TEST_P(Conformance, OneSidedTasksGiveTheValueStatistics) {
  for (DType t : {DType::f32, DType::bf16, DType::f8e4m3fn, DType::i4, DType::f64}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const MemTensor a = wdtest::random_tensor(t, 20011, 900 + static_cast<int>(t));
    const MemTensor copy = wdtest::random_tensor(t, 20011, 900 + static_cast<int>(t));
    const auto one = run(wdtest::one_sided_tasks(a, 8195), {});
    const auto two = run(wdtest::chunk_tasks(a, copy, 8195), {});
    ASSERT_EQ(one.size(), two.size());
    for (size_t i = 0; i < one.size(); ++i) {
      const PairStats &x = one[i], &y = two[i];
      EXPECT_GT(x.n_finite, 0u);
      EXPECT_EQ(x.n_finite, y.n_finite);
      EXPECT_EQ(x.nan_a, y.nan_a);
      EXPECT_EQ(x.inf_a, y.inf_a);
      EXPECT_EQ(x.equal, x.numel);
      EXPECT_EQ(std::bit_cast<uint64_t>(x.min_a), std::bit_cast<uint64_t>(y.min_a));
      EXPECT_EQ(std::bit_cast<uint64_t>(x.max_a), std::bit_cast<uint64_t>(y.max_a));
      EXPECT_EQ(x.mom_a.mean, y.mom_a.mean);
      EXPECT_EQ(x.mom_a.m2, y.mom_a.m2);
      EXPECT_EQ(x.sum_sq_a, y.sum_sq_a);
      EXPECT_EQ(x.hist_a.pos, y.hist_a.pos);
      EXPECT_EQ(x.hist_a.neg, y.hist_a.neg);
      EXPECT_EQ(x.hist_b.pos, x.hist_a.pos);
      EXPECT_EQ(x.mom_b.mean, x.mom_a.mean);
    }
  }
}

// A task's result depends on the task alone: a batch of many small tasks of
// mixed dtypes, reduced at once and one task at a time, gives the same bits.
TEST_P(Conformance, ATaskDoesNotDependOnItsBatch) {
  std::vector<MemTensor> as, bs;
  for (int i = 0; i < 60; ++i)
    as.push_back(wdtest::random_tensor(kAll[i % std::size(kAll)], 1 + 37 * static_cast<uint64_t>(i % 50), 10000 + i));
  for (int i = 0; i < 60; ++i)
    bs.push_back(wdtest::random_tensor(kAll[(i * 7) % std::size(kAll)], as[i].ref.numel, 20000 + i, &as[i]));
  for (int k = 0; k < 10; ++k) {  // and the block types, against each other
    as.push_back(wdtest::random_block_tensor(wdtest::kBlockTypes[k], 32 + 300 * static_cast<uint64_t>(k), 30000 + k));
    bs.push_back(wdtest::random_block_tensor(wdtest::kBlockTypes[(k * 3) % 10], as.back().ref.numel, 31000 + k));
  }
  std::vector<backend::ChunkTask> tasks;
  for (int i = 0; i < 70; ++i)
    for (const auto& t : wdtest::chunk_tasks(as[i], bs[i], 1 << 20)) tasks.push_back(t);
  const HistRange hist;
  const auto together = run(tasks, hist);
  for (size_t i = 0; i < tasks.size(); ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    const auto alone = run(std::span(tasks).subspan(i, 1), hist);
    wdtest::expect_same_bits(together[i], alone[0]);
  }
}

// Flat indices past 2^31 and 2^32: sparse u8 files of 4 GiB + 64 KiB, data
// only near the boundaries; the largest |d| planted at a known index.
TEST_P(Conformance, IndicesPast2To31And2To32) {
  wdtest::TempDir dir;
  const wdtest::SparsePair pair = wdtest::sparse_pair_past_2to32(dir.path());
  const std::vector<backend::ChunkTask> tasks = pair.tasks();
  const HistRange hist;
  const auto base = baseline(tasks, hist);
  const auto got = run(tasks, hist);
  EXPECT_EQ(got[1].max_abs_index, wdtest::SparsePair::kPlanted);
  EXPECT_EQ(got[1].max_abs, 255.0);
  EXPECT_GE(got[0].max_abs_index, (uint64_t{1} << 31) - 3000);
  for (size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(got[i].max_abs_index, base[i].max_abs_index);
    EXPECT_EQ(got[i].max_abs, base[i].max_abs);
    EXPECT_EQ(got[i].mismatched, base[i].mismatched);
    EXPECT_EQ(got[i].equal, base[i].equal);
    EXPECT_EQ(got[i].hist_abs_diff.counts, base[i].hist_abs_diff.counts);
    EXPECT_EQ(got[i].hist_b.pos, base[i].hist_b.pos);
    EXPECT_NEAR(got[i].dot, base[i].dot, 1e-9 * base[i].dot);
  }
}

std::string label(const testing::TestParamInfo<Implementation>& info) { return info.param.label; }

INSTANTIATE_TEST_SUITE_P(Host, Conformance, testing::ValuesIn(host_implementations()), label);
INSTANTIATE_TEST_SUITE_P(CudaDevice, Conformance,
                         testing::Values(Implementation{"cuda", "cuda", 0},
                                         Implementation{"hybrid", "hybrid", 0}),
                         label);

// The registry lists the CPU backend first, every name once, and only the
// selectable backends in compiled_backends().
TEST(BackendRegistry, NamesAndSelection) {
  const auto all = backend::registered_backends();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(std::string(all[0].name), "cpu");
  std::vector<std::string> names;
  std::string selectable;
  for (const auto& b : all) {
    names.push_back(b.name);
    if (b.selectable) selectable += (selectable.empty() ? "" : ", ") + std::string(b.name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_EQ(selectable, compiled_backends());
#ifdef WEIGHTDIFF_WITH_CUDA
  EXPECT_EQ(selectable, "cpu, cuda");
#else
  EXPECT_EQ(selectable, "cpu");
#endif
  EXPECT_NE(backend::find_backend("cpu"), nullptr);
  // The test binary links the CUDA emulation; programs users run do not.
  ASSERT_NE(backend::find_backend("cuda-emulation"), nullptr);
  EXPECT_FALSE(backend::find_backend("cuda-emulation")->selectable);
  EXPECT_EQ(compiled_backends().find("emulation"), std::string::npos);
}

}  // namespace
}  // namespace weightdiff
