// Host side of the CUDA backend that needs no device: how a batch of chunk
// tasks is packed into staging slots (one launch per slot fill) and how a
// slot's bytes are laid out. Plain C++, unit-tested on machines without a
// GPU. (A task's result is the shared backend::Partial and its slots.)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/partial_stats.hpp"
#include "tile_agent.hpp"

namespace weightdiff::cuda {

inline constexpr uint64_t kSlotAlign = 64;  // every region of a slot starts so aligned

struct StagingLimits {
  uint64_t slot_bytes = uint64_t{32} << 20;  // one staging buffer (host pinned + device)
  uint32_t max_tiles = 1u << 16;             // tile partials per launch
};

// One side of a task: bytes [src_begin, src_begin + bytes) of t's file go to
// slot offset dst. A dequantized side writes its values instead. A gathered side (a reordered b: backend::BOrder) instead
// writes the `bytes` of its elements for a's [first, first + count) in a's
// order (backend::gather_b), reading [src_begin, src_end) of the file.
struct CopyOp {
  const TensorRef* t;
  uint64_t src_begin, bytes, dst;
  backend::BOrder order = {};      // any(): gathered, and how
  uint64_t first = 0, count = 0;   // gathered: a's elements
  uint64_t src_end = 0;            // gathered: the end of the bytes it reads
  bool gathered() const noexcept { return order.any(); }
  // A dequantized side (TensorRef::dequant): the `bytes` are the float64
  // values of its elements [first, first + count), computed on the host
  // (backend/dequant.hpp), so the kernels see an ordinary f64 tensor.
  bool dequantized() const noexcept { return t->dequant != nullptr; }
};

// One fill of a staging slot and the launch that consumes it:
//   [TaskDesc x n_tasks][TileDesc x tiles] (aligned) then each task's a and b bytes.
struct LaunchGroup {
  size_t first_task = 0;  // into the batch
  std::vector<TaskDesc> tasks;
  std::vector<TileDesc> tile_table;
  std::vector<CopyOp> copies;  // a then b for each task (a only: one-sided), in task order
  uint64_t tile_table_offset = 0;
  uint64_t bytes = 0;  // used bytes of the slot (metadata + data)
};

// Cuts the batch into consecutive groups that each fit one slot. Throws
// Error(backend) when one task alone does not fit.
std::vector<LaunchGroup> plan_launches(std::span<const backend::ChunkTask> tasks,
                                       const StagingLimits& limits);

// Writes the group's TaskDesc and TileDesc tables at the start of slot.
void write_metadata(const LaunchGroup& g, uint8_t* slot);

// Copies one CopyOp's bytes (or the part [from, from + len) of them; whole
// elements of a transposed b) from the mapping into the slot. The caller guards
// against SIGBUS.
void copy_bytes(const CopyOp& op, uint8_t* slot, uint64_t from, uint64_t len);

// The CUDA backend's configuration: plain fields with defaults, set by
// whoever builds the backend (the bench tools and tests set the staging
// size; nothing reads the environment).
struct CudaConfig {
  std::vector<int> devices;  // one pipeline per entry (repeats allowed); empty = all visible
  StagingLimits staging;     // per slot: 32 MiB by default
  unsigned slots = 3;        // staging ring length per pipeline
};

// The bounds validate() enforces. At least 17 MiB a slot: one engine chunk
// (1 Mi elements) of an f64 pair is 16 MiB plus alignment, and a task
// never spans launches. At least two slots: one fills while one uploads.
inline constexpr uint64_t kMinSlotBytes = uint64_t{17} << 20;
inline constexpr uint64_t kMaxSlotBytes = uint64_t{4096} << 20;
inline constexpr unsigned kMinSlots = 2, kMaxSlots = 64;

// Throws Error(usage) when a field is out of its bounds.
void validate(const CudaConfig& config);

// Splits n tasks with the given byte sizes into `parts` consecutive ranges
// of similar total bytes: the boundaries (part i is [cut[i], cut[i+1])).
std::vector<size_t> split_by_bytes(std::span<const uint64_t> bytes, size_t parts);

}  // namespace weightdiff::cuda
