// What is particular to the CUDA backend's host-testable code (kernels/*.hpp,
// compiled here by the host compiler: the same source nvcc compiles for the
// device): the vector group loads, the histogram slots, and that packing
// tasks into launches changes no bit. The backend-level checks (every dtype
// pair, sizes, ranges, indices past 2^32, one-sided tasks) run over the
// emulation in the conformance suite (backend_conformance_test.cpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "backend/cpu/decode.hpp"
#include "cuda_compare.hpp"
#include "io/mapped_file.hpp"
#include "kernels/emulate.hpp"
#include "kernels/emulated_backend.hpp"
#include "test_files.hpp"

namespace weightdiff::cuda {
namespace {

using wdtest::MemTensor;

// The CUDA path on the host, packed into launches as `limits` allow: the
// registered emulation's code (kernels/emulated_backend.cpp).
std::vector<PairStats> emulated_stats(std::span<const backend::ChunkTask> tasks, const HistRange& hist,
                                      StagingLimits limits = {}) {
  for (const LaunchGroup& g : plan_launches(tasks, limits)) EXPECT_LE(g.bytes, limits.slot_bytes);
  const auto out = wdtest::reduce_stats(*make_emulated_cuda_backend(limits), tasks, hist);
  EXPECT_EQ(out.size(), tasks.size());
  return out;
}

using wdtest::kAll;

bool same_value(double x, double y) {
  return std::bit_cast<uint64_t>(x) == std::bit_cast<uint64_t>(y) || (std::isnan(x) && std::isnan(y));
}

TEST(CudaDecode, GroupLoadsMatchElementLoadsForEveryDtypeAndPhase) {
  std::mt19937_64 rng(7);
  alignas(64) uint8_t buf[256];
  for (auto& x : buf) x = static_cast<uint8_t>(rng());
  for (DType t : kAll) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    for (uint64_t e0 : {0, 8, 16}) {
      double fast[kGroup], slow[kGroup];
      load_group(t, buf, e0, 0, kGroup, fast);  // aligned: the vector path
      for (int i = 0; i < kGroup; ++i) slow[i] = value_of(t, load_elem_bits(t, buf, e0 + i));
      for (int i = 0; i < kGroup; ++i) EXPECT_TRUE(same_value(fast[i], slow[i])) << e0 << "+" << i;
      std::vector<double> cpu(kGroup);
      cpu::decode_to_f64(t, reinterpret_cast<const std::byte*>(buf), e0, kGroup, cpu.data());
      for (int i = 0; i < kGroup; ++i) EXPECT_TRUE(same_value(fast[i], cpu[i])) << e0 << "+" << i;
    }
  }
  // i4 at an odd first element: the nibble phase.
  double got[kGroup];
  load_group(DType::i4, buf, 0, 1, 5, got);
  for (int i = 0; i < 5; ++i) {
    const unsigned nib = (buf[(1 + i) / 2] >> (4 * ((1 + i) % 2))) & 0xF;
    EXPECT_EQ(got[i], static_cast<double>(static_cast<int>(nib ^ 8) - 8));
  }
  for (int i = 5; i < kGroup; ++i) EXPECT_EQ(got[i], 0.0);
}

TEST(CudaHist, SlotsFollowTheBinaryExponentBins) {
  const HistLayout h{-40, 56};
  EXPECT_EQ(h.abs_slot(0.0), 0u);
  EXPECT_EQ(h.abs_slot(0x1p-41), 1u);           // under
  EXPECT_EQ(h.abs_slot(0x1p-40), 2u);           // counts[0]
  EXPECT_EQ(h.abs_slot(0x1.fffp-40), 2u);
  EXPECT_EQ(h.abs_slot(1.0), 2u + 40);          // [2^0, 2^1)
  EXPECT_EQ(h.abs_slot(0x1p16), 56u + 2);       // over
  EXPECT_EQ(h.abs_slot(INFINITY), 56u + 2);     // |d| of finite f64 values overflowing
  EXPECT_EQ(h.abs_slot(4.9e-324), 1u);          // subnormal
  EXPECT_EQ(h.value_slot(-0.0), 0u);
  EXPECT_EQ(h.value_slot(-1.5), 3u + 40 + 56);  // neg[40]
  EXPECT_EQ(h.value_slot(1.5), 3u + 40);
  EXPECT_EQ(h.value_slot(-1e300), 2u);
  EXPECT_EQ(h.value_slot(-1e-300), 1u);
  EXPECT_EQ(h.total(), 5u * 56 + 9);
}

// A task's result depends only on the task: packing many small tasks into
// few launches or one per launch gives the same bits.
TEST(CudaEmulation, ResultsDoNotDependOnHowTasksArePacked) {
  std::vector<MemTensor> as, bs;
  for (int i = 0; i < 40; ++i) {
    const DType t = kAll[i % std::size(kAll)];
    as.push_back(wdtest::random_tensor(t, 100 + 997 * static_cast<uint64_t>(i % 7), 900 + i));
  }
  // The block types too (chunks of 3001: block phases of every kind).
  for (int k = 0; k < 10; ++k)
    as.push_back(wdtest::random_block_tensor(wdtest::kBlockTypes[k], 700 + 1531 * static_cast<uint64_t>(k), 950 + k));
  for (int i = 0; i < 50; ++i)
    bs.push_back(wdtest::random_tensor(DType::bf16, as[i].ref.numel, 2000 + i, &as[i]));
  std::vector<backend::ChunkTask> tasks;
  for (int i = 0; i < 50; ++i)
    for (const auto& t : wdtest::chunk_tasks(as[i], bs[i], 3001)) tasks.push_back(t);
  const HistRange hist;
  const auto packed = emulated_stats(tasks, hist);
  EXPECT_EQ(plan_launches(tasks, {}).size(), 1u);
  const StagingLimits tiny{64 << 10, 4};
  EXPECT_GT(plan_launches(tasks, tiny).size(), 10u);
  const auto spread = emulated_stats(tasks, hist, tiny);
  ASSERT_EQ(packed.size(), spread.size());
  const auto cpu = wdtest::cpu_stats(tasks, hist);
  for (size_t i = 0; i < tasks.size(); ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    wdtest::expect_same_bits(packed[i], spread[i]);
    const size_t pair = std::find_if(as.begin(), as.end(), [&](const MemTensor& m) {
                          return &m.ref == tasks[i].a;
                        }) - as.begin();
    wdtest::expect_matches_cpu(packed[i], cpu[i], as[pair], bs[pair], tasks[i], hist);
  }
}

}  // namespace
}  // namespace weightdiff::cuda
