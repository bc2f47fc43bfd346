// ggml's block types through the engine: chunks at block boundaries, byte
// ranges of whole blocks, NaN/Inf scales, a quantized tensor compared with
// its float32 dequantization, and wrong byte sizes malformed. (Every
// backend's values: the conformance suite's BlockQuantizedTypes.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "backend/backend.hpp"
#include "backend/element.hpp"
#include "cuda_compare.hpp"
#include "engine/chunk_plan.hpp"
#include "kernels/launch_plan.hpp"
#include "reference_quant.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff {
namespace {

TensorRef ref(DType t, uint64_t numel) {
  TensorRef r;
  r.dtype = t;
  r.numel = numel;
  r.shape = {numel};
  r.offset = 1000;
  r.nbytes = *dtype_storage_bytes(t, numel);
  return r;
}

// A chunk size that is no multiple of the block is rounded up to one, for
// the larger block of the pair; the last chunk ends at the tensor's end.
TEST(QuantChunks, ChunksStartAtBlockBoundaries) {
  const TensorRef q8 = ref(DType::q8_0, 5000), q4k = ref(DType::q4_K, 5000), f = ref(DType::f32, 5000);
  for (auto [a, b, want] : {std::tuple{&q8, &f, 320u}, std::tuple{&f, &q4k, 512u},
                            std::tuple{&q8, &q4k, 512u}, std::tuple{&f, &f, 300u}}) {
    const engine::PlannedPair pairs[] = {{a, b, 0.0, 0.0}};
    engine::ChunkPlanner planner(pairs, 300);
    engine::Batch batch;
    uint64_t next = 0;
    while (planner.next(batch))
      for (const auto& t : batch.tasks) {
        EXPECT_EQ(t.first, next);
        EXPECT_EQ(t.first % want, 0u);
        EXPECT_TRUE(t.count == want || t.first + t.count == 5000) << t.count;
        next += t.count;
      }
    EXPECT_EQ(next, 5000u);
  }
}

TEST(QuantChunks, ByteRangesAreWholeBlocks) {
  const TensorRef t = ref(DType::q4_K, 1000);
  EXPECT_EQ(t.nbytes, 4u * 144);  // 1000 elements: 4 blocks, the last partly used
  const backend::ByteRange r = backend::chunk_bytes(t, 256, 300);  // blocks 1 and 2
  EXPECT_EQ(r.begin, 1000u + 144);
  EXPECT_EQ(r.end, 1000u + 3 * 144);
  const backend::ByteRange s = backend::chunk_bytes(ref(DType::q8_0, 64), 33, 1);
  EXPECT_EQ(s.begin, 1000u + 34);
  EXPECT_EQ(s.end, 1000u + 68);
  EXPECT_EQ(dtype_storage_bytes(DType::q8_0, 0), 0u);
  EXPECT_FALSE(dtype_storage_bytes(DType::q8_0, ~uint64_t{0}).has_value());
  EXPECT_EQ(dtype_bits(DType::q6_K), 0u);
  EXPECT_TRUE(dtype_is_float(DType::q6_K));
  EXPECT_EQ(default_tolerance(DType::q4_K).rtol, default_tolerance(DType::f16).rtol);
}

// The CUDA staging of a block-type task: the whole blocks holding it, and
// the element inside its first block as the phase (0 at block boundaries).
TEST(QuantChunks, CudaStagesWholeBlocksWithTheElementPhase) {
  const wdtest::MemTensor q = wdtest::random_block_tensor(DType::q4_K, 5000, 3);
  const wdtest::MemTensor f = wdtest::random_tensor(DType::f32, 5000, 4, &q);
  const backend::ChunkTask tasks[] = {{&q.ref, &f.ref, 0, 2048, 0, 0},
                                      {&q.ref, &f.ref, 2348, 1000, 0, 0}};
  const auto groups = cuda::plan_launches(tasks, {});
  ASSERT_EQ(groups.size(), 1u);
  const auto& g = groups[0];
  EXPECT_EQ(g.tasks[0].phase_a, 0);
  EXPECT_EQ(g.copies[0].src_begin, 0u);
  EXPECT_EQ(g.copies[0].bytes, 8u * 144);
  EXPECT_EQ(g.tasks[1].phase_a, 2348 % 256);
  EXPECT_EQ(g.copies[2].src_begin, 9u * 144);                // block 9 holds element 2348
  EXPECT_EQ(g.copies[2].bytes, (14u - 9) * 144);             // ... to block 13 (element 3347)
  EXPECT_EQ(g.copies[3].src_begin, 2348u * 4);
}

// Inf and NaN scales propagate as ggml's float arithmetic does: Inf * 0 is
// NaN, Inf * q is ±Inf, NaN anything is NaN, and Q4_K's `d*sc*q - dmin*m`
// with both terms infinite is NaN.
TEST(QuantValues, InfAndNanScalesPropagate) {
  uint8_t q4[18] = {0x00, 0x7C};  // d = +Inf
  for (int j = 0; j < 16; ++j) q4[2 + j] = static_cast<uint8_t>(j | (8 << 4));
  for (int j = 0; j < 16; ++j) {
    const double lo = backend::quant_value(DType::q4_0, q4, j), hi = backend::quant_value(DType::q4_0, q4, 16 + j);
    if (j == 8) EXPECT_TRUE(std::isnan(lo));
    else EXPECT_EQ(lo, j < 8 ? -INFINITY : INFINITY);
    EXPECT_TRUE(std::isnan(hi));  // q = 8 - 8 = 0
  }
  uint8_t k[144] = {};
  k[1] = 0x7C;  // d = +Inf
  k[3] = 0x7C;  // dmin = +Inf
  k[4] = 1;     // sub-block 0: scale 1, min 0
  k[8] = 1;     // ... then min 1
  k[16] = 0x03;  // element 0: q = 3, element 32: q = 0
  EXPECT_TRUE(std::isnan(backend::quant_value(DType::q4_K, k, 0)));  // Inf - Inf
  k[8] = 0;  // min 0: dmin * 0 = Inf * 0 = NaN, as ggml's m1 = min * m
  EXPECT_TRUE(std::isnan(backend::quant_value(DType::q4_K, k, 0)));
  k[3] = 0x3C;  // dmin = 1: Inf * 3 - 0
  EXPECT_EQ(backend::quant_value(DType::q4_K, k, 0), INFINITY);
  EXPECT_TRUE(std::isnan(backend::quant_value(DType::q4_K, k, 32)));  // sub-block 1: scale 0, Inf * 0
  k[3] = 0x7E;  // dmin = NaN
  EXPECT_TRUE(std::isnan(backend::quant_value(DType::q4_K, k, 0)));
}

// The shared definition against the test's own reference decoder, block by
// block over random blocks of every type (scales NaN/Inf now and then).
TEST(QuantValues, MatchTheReferenceDecoder) {
  std::mt19937_64 rng(777);
  for (DType t : {DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1, DType::q8_0, DType::q2_K,
                  DType::q3_K, DType::q4_K, DType::q5_K, DType::q6_K}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const uint64_t n = 64 * dtype_block_elems(t);
    const auto bytes = wdtest::random_blocks(t, n, rng);
    const auto want = wdtest::reference_dequantize(t, bytes, n);
    for (uint64_t e = 0; e < n; ++e) {
      const double got = backend::block_elem_value(t, bytes.data(), e);
      if (std::isnan(want[e])) EXPECT_TRUE(std::isnan(got)) << e;
      else EXPECT_EQ(got, want[e]) << e;
    }
  }
}

// A q8_0 tensor against the float32 tensor of its values is identical (its
// values are f16 x int8: exact in float32), and compared, not unsupported;
// a changed quant makes it different. A buffer that is not whole blocks is
// malformed.
TEST(QuantDiff, QuantizedAgainstItsFloatValues) {
  std::mt19937_64 rng(4242);
  std::vector<uint8_t> q(4 * 34);
  for (auto& x : q) x = static_cast<uint8_t>(rng());
  for (int b = 0; b < 4; ++b) q[34 * b] = 0x00, q[34 * b + 1] = 0x2C;  // d = 1/16
  const auto values = wdtest::reference_dequantize(DType::q8_0, q, 128);
  std::vector<float> f(values.begin(), values.end());
  const Model mq = model_from_buffers("q", {{"w", DType::q8_0, {2, 64}, q.data(), q.size()}});
  const Model mf = model_from_buffers("f", {{"w", DType::f32, {2, 64}, f.data(), f.size() * 4}});
  DiffOptions opt;
  opt.backend = BackendKind::cpu;
  auto r = diff_models(mq, mf, opt);
  ASSERT_EQ(r.tensors.size(), 1u);
  EXPECT_EQ(r.tensors[0].status, Status::identical);
  EXPECT_EQ(r.summary.compared, 1u);
  q[40] ^= 1;
  r = diff_models(mq, mf, opt);
  EXPECT_EQ(r.tensors[0].status, Status::different);
  EXPECT_EQ(r.tensors[0].stats->max_abs, 1.0 / 16);
  try {
    (void)model_from_buffers("q", {{"w", DType::q8_0, {2, 64}, q.data(), q.size() - 1}});
    FAIL() << "a buffer one byte short of whole blocks was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::malformed);
    EXPECT_NE(std::string(e.what()).find("needs 136"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weightdiff
