// Chunk planning: fixed boundaries (independent of threads and devices), so
// that merging partial stats in chunk order gives the same bits every run.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "backend/backend.hpp"

namespace weightdiff::engine {

inline constexpr uint64_t kChunkElements = uint64_t{1} << 20;
static_assert(kChunkElements % 256 == 0, "chunks start at block boundaries of every block type");

struct PlannedPair {
  const TensorRef* a;
  const TensorRef* b;
  double atol, rtol;
  bool one_sided = false;  // inspect: b is a, read once (backend::ChunkTask)
  bool b_transposed = false;  // b stored as a's transpose (backend::ChunkTask)
};

// Consecutive runs of chunk tasks, each bounded in elements and task count
// (bounds memory for partial results and in-flight pages) and in the files
// it reads (all of a batch's files are mapped at once: io/mapping_budget).
struct Batch {
  std::vector<backend::ChunkTask> tasks;
  std::vector<size_t> pair_of_task;  // index into the planned pairs
};

class ChunkPlanner {
 public:
  ChunkPlanner(std::span<const PlannedPair> pairs, uint64_t chunk_elements = kChunkElements,
               uint64_t batch_elements = uint64_t{64} << 20, size_t batch_tasks = 4096,
               size_t batch_files = SIZE_MAX);
  // Fills the next batch; false when every chunk has been handed out.
  bool next(Batch& batch);

 private:
  std::span<const PlannedPair> pairs_;
  uint64_t chunk_, batch_elems_;
  size_t batch_tasks_, batch_files_;
  size_t pair_ = 0;
  uint64_t offset_ = 0;
  std::unordered_set<const Storage*> files_;  // of the batch being filled
};

}  // namespace weightdiff::engine
