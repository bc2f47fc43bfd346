// Shared by the CUDA emulation and parity tests: runs chunk tasks over
// in-memory tensors on the CPU backend, and checks another backend's
// PairStats of the same tasks against it and against the float64 reference.
#pragma once

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "reference.hpp"
#include "weightdiff/stats.hpp"
#include "weightdiff/tensor.hpp"

namespace wdtest {

// Every dtype the backends compare.
inline constexpr weightdiff::DType kAll[] = {
    weightdiff::DType::f64,     weightdiff::DType::f32,        weightdiff::DType::f16,
    weightdiff::DType::bf16,    weightdiff::DType::f8e4m3fn,   weightdiff::DType::f8e4m3fnuz,
    weightdiff::DType::f8e5m2,  weightdiff::DType::f8e5m2fnuz, weightdiff::DType::i64,
    weightdiff::DType::i32,     weightdiff::DType::i16,        weightdiff::DType::i8,
    weightdiff::DType::u64,     weightdiff::DType::u32,        weightdiff::DType::u16,
    weightdiff::DType::u8,      weightdiff::DType::boolean,    weightdiff::DType::i4,
    weightdiff::DType::u4};
// ggml's block-quantized types: random blocks (random_block_tensor).
inline constexpr weightdiff::DType kBlockTypes[] = {
    weightdiff::DType::q4_0, weightdiff::DType::q4_1, weightdiff::DType::q5_0, weightdiff::DType::q5_1,
    weightdiff::DType::q8_0, weightdiff::DType::q2_K, weightdiff::DType::q3_K, weightdiff::DType::q4_K,
    weightdiff::DType::q5_K, weightdiff::DType::q6_K};
static_assert(std::size(kAll) + std::size(kBlockTypes) == weightdiff::kDTypeCount);

// A tensor held in memory (MappedFile::from_bytes), with its decoded values.
struct MemTensor {
  weightdiff::TensorRef ref;
  std::vector<double> values;
};

// n random values of dtype t, stored and decoded, seeded by `seed`: normal
// weights of a dtype-suited scale, with exact ties to `like` (when given),
// ±0, and for float types NaN, ±Inf, huge and tiny magnitudes.
MemTensor random_tensor(weightdiff::DType t, uint64_t n, uint64_t seed,
                        const MemTensor* like = nullptr, const std::string& name = "t");

// n elements of the block type t: random blocks (reference_quant.hpp) with
// NaN/Inf/0/subnormal scales now and then, decoded by the test's own
// reference decoder. `like` of the same type: some blocks copied (ties).
MemTensor random_block_tensor(weightdiff::DType t, uint64_t n, uint64_t seed,
                              const MemTensor* like = nullptr, const std::string& name = "t");

// Chunk tasks over the pair, `chunk` elements each (the last one shorter).
std::vector<weightdiff::backend::ChunkTask> chunk_tasks(const MemTensor& a, const MemTensor& b,
                                                        uint64_t chunk);

// The same, one-sided (inspect: b is a, read once).
std::vector<weightdiff::backend::ChunkTask> one_sided_tasks(const MemTensor& a, uint64_t chunk);

// A backend's result of every task, as PairStats (one per task).
std::vector<weightdiff::PairStats> reduce_stats(weightdiff::backend::Backend& backend,
                                                std::span<const weightdiff::backend::ChunkTask> tasks,
                                                const weightdiff::HistRange& hist);

// The CPU backend's stats of every task.
std::vector<weightdiff::PairStats> cpu_stats(std::span<const weightdiff::backend::ChunkTask> tasks,
                                             const weightdiff::HistRange& hist);

// got vs the CPU backend's stats (cpu) of the same task and the float64
// reference over the task's values: counts, extremes, index, max_rel and
// histograms identical; sums within 1e-9 x the sum of |terms|.
void expect_matches_cpu(const weightdiff::PairStats& got, const weightdiff::PairStats& cpu,
                        const MemTensor& a, const MemTensor& b,
                        const weightdiff::backend::ChunkTask& task,
                        const weightdiff::HistRange& hist);

// Two sparse u8 files of 4 GiB + 64 KiB (in `dir`): random bytes only near
// 2^31 and 2^32, and A = 0, B = 255 at `planted` (2^32 + 777), so the
// largest |d| of a chunk around 2^32 lies at a known index past 32 bits.
struct SparsePair {
  static constexpr uint64_t kSize = (uint64_t{1} << 32) + (1 << 16);
  static constexpr uint64_t kPlanted = (uint64_t{1} << 32) + 777;
  weightdiff::TensorRef a, b;  // "big", u8, kSize elements
  // One chunk starting before 2^31 and one before 2^32, 9001 elements each.
  std::vector<weightdiff::backend::ChunkTask> tasks() const;
};
SparsePair sparse_pair_past_2to32(const std::filesystem::path& dir);

}  // namespace wdtest
