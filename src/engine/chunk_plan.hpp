// Chunk planning: fixed boundaries (independent of threads and devices), so
// that merging partial stats in chunk order gives the same bits every run.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.hpp"

namespace weightdiff::engine {

inline constexpr uint64_t kChunkElements = uint64_t{1} << 20;

struct PlannedPair {
  const TensorRef* a;
  const TensorRef* b;
  double atol, rtol;
};

// Consecutive runs of chunk tasks, each bounded in elements and task count
// (bounds memory for partial results and in-flight pages).
struct Batch {
  std::vector<backend::ChunkTask> tasks;
  std::vector<size_t> pair_of_task;  // index into the planned pairs
};

class ChunkPlanner {
 public:
  ChunkPlanner(const std::vector<PlannedPair>& pairs, uint64_t chunk_elements = kChunkElements,
               uint64_t batch_elements = uint64_t{64} << 20, size_t batch_tasks = 4096);
  // Fills the next batch; false when every chunk has been handed out.
  bool next(Batch& batch);

 private:
  const std::vector<PlannedPair>& pairs_;
  uint64_t chunk_, batch_elems_;
  size_t batch_tasks_;
  size_t pair_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace weightdiff::engine
