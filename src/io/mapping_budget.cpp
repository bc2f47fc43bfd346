#include "io/mapping_budget.hpp"

#include <algorithm>

#include "io/mapped_file.hpp"

namespace weightdiff::io {

MappingBudget& MappingBudget::instance() {
  static MappingBudget budget;
  return budget;
}

void MappingBudget::make_room() noexcept {
  while (mapped_ >= limit_ && !idle_.empty()) {
    const MappedFile* f = idle_.front();
    idle_.pop_front();
    f->evict_locked();
    --mapped_;
  }
}

size_t MappingBudget::limit() noexcept {
  std::lock_guard lock(mutex_);
  return limit_;
}

size_t MappingBudget::mapped() noexcept {
  std::lock_guard lock(mutex_);
  return mapped_;
}

size_t MappingBudget::set_limit(size_t n) noexcept {
  std::lock_guard lock(mutex_);
  const size_t old = limit_;
  limit_ = std::max<size_t>(n, 1);
  return old;
}

}  // namespace weightdiff::io
