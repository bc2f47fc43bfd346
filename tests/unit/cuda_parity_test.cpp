// CPU vs CUDA backend on the same random inputs (faiss-style parity): every
// dtype pair, sizes around group/tile/launch boundaries, NaN/Inf/±0, flat
// indices past 2^31, several pipelines on one device. Counts, extremes,
// indices and histograms identical; sums within SPEC §2's bound. Skipped,
// with the reason, when this build has no CUDA backend or no usable device.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "backend/backend.hpp"
#include "cuda_compare.hpp"
#include "io/mapped_file.hpp"
#include "kernels/launch_plan.hpp"
#include "test_files.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/version.hpp"
#ifdef WEIGHTDIFF_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace weightdiff {
namespace {

using wdtest::MemTensor;

std::unique_ptr<backend::Backend> cuda_backend(const std::string& devices, std::string* why) {
  try {
    auto b = backend::make_backend(BackendKind::cuda, 2, parse_device_list(devices), nullptr);
    return b;
  } catch (const Error& e) {
    *why = e.what();
    return nullptr;
  }
}

// Device 0 with staging slots of `slot_bytes` (not a make_backend option:
// the product backend always uses the default CudaConfig).
std::unique_ptr<backend::Backend> cuda_backend_with_slots(uint64_t slot_bytes, std::string* why) {
#ifdef WEIGHTDIFF_WITH_CUDA
  cuda::CudaConfig config;
  config.devices = {0};
  config.staging.slot_bytes = slot_bytes;
  try {
    return cuda::make_cuda_backend(config, 2);
  } catch (const Error& e) {
    *why = e.what();
  }
#else
  (void)slot_bytes;
  *why = "this build has no CUDA backend";
#endif
  return nullptr;
}

#define CUDA_OR_SKIP(var, devices)                                 \
  std::string why_##var;                                           \
  auto var = cuda_backend(devices, &why_##var);                    \
  if (!var) GTEST_SKIP() << "no usable CUDA backend: " << why_##var

std::vector<PairStats> run(backend::Backend& b, std::span<const backend::ChunkTask> tasks,
                           const HistRange& hist) {
  std::vector<PairStats> out(tasks.size(), PairStats(hist));
  b.reduce(tasks, hist, out);
  return out;
}

constexpr DType kAll[] = {DType::f64,     DType::f32,        DType::f16,    DType::bf16,
                          DType::f8e4m3fn, DType::f8e4m3fnuz, DType::f8e5m2, DType::f8e5m2fnuz,
                          DType::i64,     DType::i32,        DType::i16,    DType::i8,
                          DType::u64,     DType::u32,        DType::u16,    DType::u8,
                          DType::boolean, DType::i4,         DType::u4};

void check_pair(backend::Backend& gpu, DType ta, DType tb, uint64_t n, uint64_t chunk,
                uint64_t seed, HistRange hist = {}) {
  SCOPED_TRACE(std::string(dtype_name(ta)) + " vs " + std::string(dtype_name(tb)) +
               ", n=" + std::to_string(n));
  const MemTensor a = wdtest::random_tensor(ta, n, seed);
  const MemTensor b = wdtest::random_tensor(tb, n, seed + 1, &a);
  const auto tasks = wdtest::chunk_tasks(a, b, chunk);
  const auto cpu = wdtest::cpu_stats(tasks, hist);
  const auto got = run(gpu, tasks, hist);
  const auto again = run(gpu, tasks, hist);
  for (size_t i = 0; i < tasks.size(); ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    wdtest::expect_matches_cpu(got[i], cpu[i], a, b, tasks[i], hist);
    wdtest::expect_same_bits(got[i], again[i]);  // run to run: the same bits
  }
}

TEST(CudaParity, EveryDtypePair) {
  CUDA_OR_SKIP(gpu, "");
  uint64_t seed = 300;
  for (DType ta : kAll)
    for (DType tb : kAll) check_pair(*gpu, ta, tb, 12011, 8195, seed += 2);
}

TEST(CudaParity, SizesAroundBoundariesAndHistogramRanges) {
  CUDA_OR_SKIP(gpu, "");
  uint64_t seed = 7000;
  for (uint64_t n : {1, 7, 8, 9, 2047, 2048, 2049, 8191, 8192, 8193, (1 << 20) + 3})
    for (auto [ta, tb] : {std::pair{DType::bf16, DType::f32}, std::pair{DType::f64, DType::f8e5m2},
                          std::pair{DType::u4, DType::i8}})
      check_pair(*gpu, ta, tb, n, 1 << 20, seed += 2);
  check_pair(*gpu, DType::f32, DType::bf16, 50000, 1 << 20, 77, HistRange{-3, 2});
  check_pair(*gpu, DType::f64, DType::f32, 50000, 1 << 20, 79, HistRange{-1021, 1023});
}

// Many small tensors in one batch (one launch), then the same batch through
// the smallest staging slots (17 MiB: other launch groups) and through two
// pipelines on one device: every task's result is the same bits.
TEST(CudaParity, SmallTensorsPacksAndPipelinesGiveTheSameBits) {
  CUDA_OR_SKIP(one, "0");
  CUDA_OR_SKIP(two, "0,0");
  std::string why;
  auto small_slots = cuda_backend_with_slots(cuda::kMinSlotBytes, &why);
  ASSERT_TRUE(small_slots) << why;
  std::vector<MemTensor> as, bs;
  for (int i = 0; i < 600; ++i)
    as.push_back(wdtest::random_tensor(kAll[i % 19], 1 + 37 * static_cast<uint64_t>(i % 50), 10000 + i));
  for (int i = 0; i < 600; ++i)
    bs.push_back(wdtest::random_tensor(kAll[(i * 7) % 19], as[i].ref.numel, 20000 + i, &as[i]));
  for (int k = 0; k < 4; ++k) {  // large chunks too: 4 x 3 f64 chunks overflow one 17 MiB slot
    as.push_back(wdtest::random_tensor(DType::f64, 3 << 20, 5 + 2 * k));
    bs.push_back(wdtest::random_tensor(DType::f64, 3 << 20, 6 + 2 * k, &as.back()));
  }
  std::vector<backend::ChunkTask> tasks;
  std::vector<size_t> pair_of;
  for (size_t i = 0; i < as.size(); ++i)
    for (const auto& t : wdtest::chunk_tasks(as[i], bs[i], 1 << 20)) {
      tasks.push_back(t);
      pair_of.push_back(i);
    }
  const HistRange hist;
  const auto cpu = wdtest::cpu_stats(tasks, hist);
  const auto x = run(*one, tasks, hist), y = run(*two, tasks, hist), z = run(*small_slots, tasks, hist);
  for (size_t i = 0; i < tasks.size(); ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    wdtest::expect_matches_cpu(x[i], cpu[i], as[pair_of[i]], bs[pair_of[i]], tasks[i], hist);
    wdtest::expect_same_bits(x[i], y[i]);
    wdtest::expect_same_bits(x[i], z[i]);
  }
}

TEST(CudaParity, DevicesAreReportedOnePerPipeline) {
  CUDA_OR_SKIP(two, "0,0");
  EXPECT_EQ(two->devices(), (std::vector<std::string>{"cuda:0", "cuda:0"}));
  EXPECT_TRUE(backend::make_cpu_backend(1)->devices().empty());
}

TEST(CudaParity, IndicesPast2To31And2To32) {
  CUDA_OR_SKIP(gpu, "");
  wdtest::TempDir dir;
  const wdtest::SparsePair pair = wdtest::sparse_pair_past_2to32(dir.path());
  const uint64_t planted = wdtest::SparsePair::kPlanted;
  const std::vector<backend::ChunkTask> tasks = pair.tasks();
  const HistRange hist;
  const auto cpu = wdtest::cpu_stats(tasks, hist);
  const auto got = run(*gpu, tasks, hist);
  EXPECT_EQ(got[1].max_abs_index, planted);
  for (size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(got[i].max_abs_index, cpu[i].max_abs_index);
    EXPECT_EQ(got[i].max_abs, cpu[i].max_abs);
    EXPECT_EQ(got[i].equal, cpu[i].equal);
    EXPECT_EQ(got[i].hist_abs_diff.counts, cpu[i].hist_abs_diff.counts);
    EXPECT_EQ(got[i].hist_a.pos, cpu[i].hist_a.pos);
    EXPECT_NEAR(got[i].dot, cpu[i].dot, 1e-9 * cpu[i].dot);
  }
}

// Selection: without a usable device, --backend cuda is Error(backend) and
// auto falls back to the CPU with a notice; with one, auto picks CUDA.
TEST(CudaSelection, AutoAndExplicit) {
  std::string notice;
  auto b = backend::make_backend(BackendKind::automatic, 2, {}, &notice);
  std::string why;
  auto gpu = cuda_backend("", &why);
  if (gpu) {
    EXPECT_EQ(b->name(), "cuda");
    EXPECT_TRUE(notice.empty());
  } else {
    EXPECT_EQ(b->name(), "cpu");
    EXPECT_FALSE(notice.empty());
    EXPECT_NE(why.find("cuda"), std::string::npos) << why;
  }
  EXPECT_EQ(weightdiff::compiled_backends().find("cuda") != std::string::npos,
#ifdef WEIGHTDIFF_WITH_CUDA
            true
#else
            false
#endif
  );
}

}  // namespace
}  // namespace weightdiff
