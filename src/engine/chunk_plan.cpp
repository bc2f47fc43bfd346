#include "engine/chunk_plan.hpp"

#include <algorithm>

#include "backend/dequant.hpp"
#include "io/mapped_file.hpp"

namespace weightdiff::engine {

ChunkPlanner::ChunkPlanner(std::span<const PlannedPair> pairs, uint64_t chunk_elements,
                           uint64_t batch_elements, size_t batch_tasks, size_t batch_files)
    : pairs_(pairs), chunk_(chunk_elements), batch_elems_(batch_elements),
      batch_tasks_(batch_tasks), batch_files_(batch_files) {}

bool ChunkPlanner::next(Batch& batch) {
  batch.tasks.clear();
  batch.pair_of_task.clear();
  files_.clear();
  uint64_t elems = 0;
  while (pair_ < pairs_.size() && batch.tasks.size() < batch_tasks_ && elems < batch_elems_) {
    const PlannedPair& p = pairs_[pair_];
    const uint64_t numel = p.a->numel;
    if (offset_ >= numel) {  // done, or empty (an empty pair has no chunk)
      ++pair_;
      offset_ = 0;
      continue;
    }
    // Files this task adds to the batch; a batch over the bound ends here
    // (never empty: one task reads at most two files, or a dequantized
    // side's parts, at most four each).
    const Storage* add_files[8];
    size_t adding = 0;
    for (const TensorRef* side : {p.a, p.b})
      for (const TensorRef* t : backend::stored_parts(*side))
        if (t->storage && t->storage->is_file() && !files_.contains(t->storage.get()) &&
            std::find(add_files, add_files + adding, t->storage.get()) == add_files + adding)
          add_files[adding++] = t->storage.get();
    if (adding > 0 && !batch.tasks.empty() && files_.size() + adding > batch_files_) break;
    files_.insert(add_files, add_files + adding);
    // Chunks start at block boundaries of both sides (block sizes are 32 or
    // 256: the larger is a multiple of the smaller), so a backend decodes
    // whole blocks; the engine's 1 Mi already is a multiple.
    const uint64_t block = std::max(dtype_block_elems(p.a->dtype), dtype_block_elems(p.b->dtype));
    const uint64_t chunk = (chunk_ + block - 1) / block * block;
    const uint64_t count = std::min(chunk, numel - offset_);
    batch.tasks.push_back({p.a, p.b, offset_, count, p.atol, p.rtol, p.one_sided, p.b_order});
    batch.pair_of_task.push_back(pair_);
    elems += count;
    offset_ += count;
  }
  return !batch.tasks.empty();
}

}  // namespace weightdiff::engine
