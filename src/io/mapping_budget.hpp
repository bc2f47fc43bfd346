// How many files this process keeps mapped at once.
//
// The kernel allows vm.max_map_count mappings per process (65,530 by
// default): an ONNX model with tens of thousands of external-data files
// cannot have them all mapped. So a file is mapped while something reads it
// (pinned: MappedFile::pin) and stays mapped afterwards only while fewer
// than the limit are: when a file must be mapped and the limit is reached,
// the least recently used files that no one pins are unmapped first. Small
// models never reach the limit, so they are mapped once, as before.
//
// The limit is soft: pinned files are never unmapped, so it is exceeded
// only when more files than the limit are pinned at once. The engine plans
// batches that read at most mapping_limit() files (engine/chunk_plan).
#pragma once

#include <cstddef>
#include <list>
#include <mutex>

namespace weightdiff {
class MappedFile;
}

namespace weightdiff::io {

inline constexpr size_t kDefaultMappingLimit = 256;

class MappingBudget {
 public:
  static MappingBudget& instance();
  using Idle = std::list<const MappedFile*>::iterator;

  // Everything below is called with mutex() held.
  std::mutex& mutex() noexcept { return mutex_; }
  // Unmaps idle files, least recently used first, until one more mapping
  // fits (or none is idle).
  void make_room() noexcept;
  void add_mapped() noexcept { ++mapped_; }
  void remove_mapped() noexcept { --mapped_; }
  // A mapped file no one pins: unmapped when room is needed.
  Idle park(const MappedFile* f) { return idle_.insert(idle_.end(), f); }
  void unpark(Idle it) noexcept { idle_.erase(it); }

  size_t limit() noexcept;
  size_t mapped() noexcept;
  // Sets the limit (at least 1) and returns the former one. For tests, which
  // lower it to see many files work with few mappings.
  size_t set_limit(size_t n) noexcept;

 private:
  std::mutex mutex_;
  std::list<const MappedFile*> idle_;  // least recently used first
  size_t mapped_ = 0, limit_ = kDefaultMappingLimit;
};

// Shorthands for the engine and tests.
inline size_t mapping_limit() noexcept { return MappingBudget::instance().limit(); }
inline size_t mappings_now() noexcept { return MappingBudget::instance().mapped(); }

}  // namespace weightdiff::io
