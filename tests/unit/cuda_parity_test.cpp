// What is particular to the CUDA backend on a device: staging-slot sizes and
// several pipelines on one device give the same bits, devices reported one
// per pipeline, selection. (CPU-vs-CUDA parity over every dtype pair, sizes
// and indices is the conformance suite's CudaDevice instantiation.) Skipped,
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
  return wdtest::reduce_stats(b, tasks, hist);
}

using wdtest::kAll;

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

// --backend hybrid needs a usable device: without one it is Error(backend)
// naming the reason (never a silent CPU run); with one, both the device and
// the CPU are its workers.
TEST(CudaSelection, HybridNeedsADevice) {
  std::string why;
  auto gpu = cuda_backend("", &why);
  if (gpu) {
    auto h = backend::make_backend(BackendKind::hybrid, 2, {}, nullptr);
    EXPECT_EQ(h->name(), "hybrid");
    EXPECT_EQ(h->devices(), gpu->devices());
    return;
  }
  try {
    backend::make_backend(BackendKind::hybrid, 2, {}, nullptr);
    ADD_FAILURE() << "hybrid without a device";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::backend);
    EXPECT_NE(std::string(e.what()).find("--backend hybrid"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weightdiff
