// Transposed pairs (--transpose auto, issue 15): B stored as Aᵀ is gathered
// in A's order chunk by chunk. The gather against a naive loop (every element
// size, ranges that start and end inside rows, misaligned buffers), then every
// backend's stats of A against a transposed B against the same backend's of A
// against the untransposed copy: the same bits, chunk boundaries inside rows
// included (1100 x 1000 elements > one engine chunk of 2^20).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>

#include "backend/transpose.hpp"
#include "cuda_compare.hpp"
#include "engine/reduce_pairs.hpp"
#include "io/mapped_file.hpp"
#include "kernels/emulated_backend.hpp"
#include "reference.hpp"
#include "weightdiff/error.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::backend::gather_transposed;

TEST(GatherTransposed, MatchesTheNaiveLoopForEveryElementSizeAndRange) {
  std::mt19937_64 rng(15);
  const std::pair<uint64_t, uint64_t> shapes[] = {{1, 1}, {1, 9}, {9, 1}, {3, 5}, {70, 130}, {129, 64}, {64, 200}};
  for (const size_t es : {1, 2, 4, 8}) {
    for (const auto& [rows, cols] : shapes) {
      const uint64_t n = rows * cols;
      // b is [cols, rows]; one spare byte in front to test a misaligned base.
      std::vector<std::byte> b(n * es + 1);
      for (auto& x : b) x = static_cast<std::byte>(rng());
      for (const size_t shift : {0, 1}) {
        const std::byte* base = b.data() + shift;
        for (int trial = 0; trial < 20; ++trial) {
          const uint64_t first = trial == 0 ? 0 : rng() % n;
          const uint64_t count = trial == 0 ? n : 1 + rng() % (n - first);
          std::vector<std::byte> got(count * es + 1), want(count * es);
          gather_transposed(base, es, rows, cols, first, count, got.data() + shift);
          for (uint64_t j = 0; j < count; ++j) {
            const uint64_t r = (first + j) / cols, c = (first + j) % cols;
            std::memcpy(want.data() + j * es, base + (c * rows + r) * es, es);
          }
          ASSERT_EQ(std::memcmp(got.data() + shift, want.data(), count * es), 0)
              << es << "-byte " << rows << "x" << cols << " [" << first << ", +" << count << ") shift "
              << shift;
        }
      }
    }
  }
}

TEST(GatherTransposed, OnlyWholeByteTwoDimensionalTensorsAreGathered) {
  weightdiff::TensorRef t;
  t.shape = {4, 6};
  for (DType d : {DType::f64, DType::f32, DType::bf16, DType::f8e4m3fn, DType::i8, DType::boolean}) {
    t.dtype = d;
    EXPECT_TRUE(weightdiff::backend::can_gather_transposed(t)) << dtype_name(d);
  }
  for (DType d : {DType::i4, DType::u4, DType::q4_0, DType::q8_0}) {
    t.dtype = d;
    EXPECT_FALSE(weightdiff::backend::can_gather_transposed(t)) << dtype_name(d);
  }
  t.dtype = DType::f32;
  t.shape = {4, 6, 1};
  EXPECT_FALSE(weightdiff::backend::can_gather_transposed(t));
}

// m's elements as a 2-D [rows, cols] tensor, or stored transposed ([cols, rows]).
MemTensor as_matrix(const MemTensor& m, uint64_t rows, uint64_t cols, bool transposed) {
  const size_t es = dtype_bits(m.ref.dtype) / 8;
  std::vector<std::byte> bytes(m.ref.nbytes);
  const std::byte* src = m.ref.data();
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) {
      const uint64_t from = r * cols + c, to = transposed ? c * rows + r : from;
      std::memcpy(bytes.data() + to * es, src + from * es, es);
    }
  MemTensor out;
  out.values = m.values;  // in a's order, as the pair is compared
  out.ref = m.ref;
  out.ref.shape = transposed ? std::vector<uint64_t>{cols, rows} : std::vector<uint64_t>{rows, cols};
  out.ref.storage = weightdiff::MappedFile::from_bytes(std::move(bytes), m.ref.name);
  return out;
}

struct Case {
  DType a, b;
  uint64_t rows, cols;
};

const Case kCases[] = {
    {DType::f32, DType::f32, 1100, 1000},     // chunk boundaries inside rows
    {DType::bf16, DType::bf16, 1100, 1000},   // the CPU's narrow path
    {DType::f16, DType::f32, 333, 257},
    {DType::f64, DType::bf16, 40, 3000},
    {DType::f8e4m3fn, DType::f8e4m3fn, 500, 77},
    {DType::i8, DType::i32, 1, 513},
    {DType::u16, DType::u16, 700, 1},
};

using MakeBackend = std::function<std::unique_ptr<weightdiff::backend::Backend>()>;

// For every case: `transposed`'s stats of A against a transposed B are the
// bits of `plain`'s of A against the untransposed copy, and the float64
// reference agrees.
void expect_transposed_gives_plain_bits(const MakeBackend& plain, const MakeBackend& transposed) {
  weightdiff::ComputeOptions opt;
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(dtype_name(c.a)) + " vs " + std::string(dtype_name(c.b)) + " " +
                 std::to_string(c.rows) + "x" + std::to_string(c.cols));
    const uint64_t n = c.rows * c.cols;
    const MemTensor a0 = random_tensor(c.a, n, 2 * n + 1);
    const MemTensor b0 = random_tensor(c.b, n, 2 * n + 2, &a0);
    const MemTensor a = as_matrix(a0, c.rows, c.cols, false);
    const MemTensor b = as_matrix(b0, c.rows, c.cols, false);
    const MemTensor bt = as_matrix(b0, c.rows, c.cols, true);
    const weightdiff::engine::PlannedPair plain_pair[] = {{&a.ref, &b.ref, 1e-5, 1e-3}};
    const weightdiff::engine::PlannedPair transposed_pair[] = {{&a.ref, &bt.ref, 1e-5, 1e-3, false, true}};
    const auto want = weightdiff::engine::reduce_pairs(plain_pair, *plain(), opt);
    const auto got = weightdiff::engine::reduce_pairs(transposed_pair, *transposed(), opt);
    ASSERT_EQ(got.stats.size(), 1u);
    EXPECT_EQ(got.bytes_read, want.bytes_read);
    expect_same_bits(got.stats[0], want.stats[0]);
    // Not vacuous: the pair differs, and the float64 reference agrees.
    EXPECT_LT(got.stats[0].equal, n);
    weightdiff::TensorDiff t;
    t.name = "t";
    t.stats = got.stats[0];
    t.status = got.stats[0].equal == n        ? weightdiff::Status::identical
               : got.stats[0].mismatched == 0 ? weightdiff::Status::close
                                              : weightdiff::Status::different;
    expect_matches_reference(t, reference_stats(a.values, b.values, 1e-5, 1e-3));
  }
}

TEST(TransposedPairs, CpuGivesTheBitsOfTheUntransposedCopyForAnyThreadCount) {
  for (const unsigned threads : {1u, 3u}) {
    SCOPED_TRACE(threads);
    const MakeBackend cpu = [&] { return weightdiff::backend::make_cpu_backend(threads); };
    expect_transposed_gives_plain_bits(cpu, cpu);
  }
}

// The CUDA path's host side: the staging fill gathers B into the slot.
TEST(TransposedPairs, CudaEmulationGivesTheBitsOfTheUntransposedCopy) {
  const MakeBackend emulated = [] { return weightdiff::cuda::make_emulated_cuda_backend(); };
  expect_transposed_gives_plain_bits(emulated, emulated);
}

// On a device (label gpu; skipped without one): the CPU's bits.
TEST(CudaParity, TransposedPairsGiveTheBitsOfTheCpu) {
  try {
    weightdiff::backend::make_backend(weightdiff::BackendKind::cuda, 2, {}, nullptr);
  } catch (const weightdiff::Error& e) {
    GTEST_SKIP() << "no usable CUDA backend: " << e.what();
  }
  expect_transposed_gives_plain_bits(
      [] { return weightdiff::backend::make_cpu_backend(2); },
      [] { return weightdiff::backend::make_backend(weightdiff::BackendKind::cuda, 2, {}, nullptr); });
}

}  // namespace
}  // namespace wdtest
