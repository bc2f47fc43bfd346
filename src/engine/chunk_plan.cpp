#include "engine/chunk_plan.hpp"

#include <algorithm>

namespace weightdiff::engine {

ChunkPlanner::ChunkPlanner(const std::vector<PlannedPair>& pairs, uint64_t chunk_elements,
                           uint64_t batch_elements, size_t batch_tasks)
    : pairs_(pairs), chunk_(chunk_elements), batch_elems_(batch_elements),
      batch_tasks_(batch_tasks) {}

bool ChunkPlanner::next(Batch& batch) {
  batch.tasks.clear();
  batch.pair_of_task.clear();
  uint64_t elems = 0;
  while (pair_ < pairs_.size() && batch.tasks.size() < batch_tasks_ && elems < batch_elems_) {
    const PlannedPair& p = pairs_[pair_];
    const uint64_t numel = p.a->numel;
    if (offset_ >= numel) {  // done, or empty (an empty pair has no chunk)
      ++pair_;
      offset_ = 0;
      continue;
    }
    const uint64_t count = std::min(chunk_, numel - offset_);
    batch.tasks.push_back({p.a, p.b, offset_, count, p.atol, p.rtol});
    batch.pair_of_task.push_back(pair_);
    elems += count;
    offset_ += count;
  }
  return !batch.tasks.empty();
}

}  // namespace weightdiff::engine
