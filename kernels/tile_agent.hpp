// How a launch's work is cut: tasks (chunk pairs) into fixed tiles of
// kTileElems elements, one thread block per tile, kGroupsPerThread groups of
// kGroup consecutive elements per thread (consecutive threads read
// consecutive groups: coalesced, naturally aligned vector loads).
//
// A tile's and a task's results depend only on the task (its bytes, dtypes,
// first index and tolerances), never on the other tasks of the launch: the
// tiling starts at the task's first element, and a task's tiles are
// combined in tile order.
#pragma once

#include "thread_accumulate.hpp"

namespace weightdiff::cuda {

inline constexpr int kThreads = 256;
inline constexpr int kGroupsPerThread = 4;
inline constexpr uint64_t kTileElems = uint64_t{kThreads} * kGroupsPerThread * kGroup;  // 8192

// One task of a launch, as the device reads it from the staging slot.
struct TaskDesc {
  uint64_t first;         // flat index of the task's element 0 in its tensor
  uint64_t count;         // elements
  uint64_t off_a, off_b;  // byte offset in the slot of the first byte of each side
  double atol, rtol;
  uint32_t first_tile;    // index of the task's tile 0 in the launch
  uint32_t tiles;
  uint8_t dtype_a, dtype_b;
  uint8_t phase_a, phase_b;  // element offset inside the first byte (i4/u4: 0 or 1) or block (< 256)
  uint32_t pad;
};
static_assert(sizeof(TaskDesc) == 64, "TaskDesc is copied as raw bytes");

struct TileDesc {
  uint32_t task;  // index into the launch's TaskDescs
  uint32_t tile;  // tile index inside the task
};

WD_HD uint32_t tiles_of(uint64_t count) {
  return static_cast<uint32_t>((count + kTileElems - 1) / kTileElems);
}

// Thread `tid`'s share of tile `tile` of task t, accumulated into p.
template <class Sink>
WD_HD void thread_pass(const uint8_t* slot, const TaskDesc& t, uint32_t tile, uint32_t tid,
                       const HistLayout& h, Partial& p, Sink& sink) {
  const uint8_t* base_a = slot + t.off_a;
  const uint8_t* base_b = slot + t.off_b;
  const DType da = static_cast<DType>(t.dtype_a), db = static_cast<DType>(t.dtype_b);
  const uint64_t tile_begin = static_cast<uint64_t>(tile) * kTileElems;
  for (int k = 0; k < kGroupsPerThread; ++k) {
    const uint64_t e0 =
        tile_begin + (static_cast<uint64_t>(k) * kThreads + tid) * static_cast<uint64_t>(kGroup);
    if (e0 >= t.count) break;
    const uint64_t left = t.count - e0;
    const int n = left < static_cast<uint64_t>(kGroup) ? static_cast<int>(left) : kGroup;
    double a[kGroup], b[kGroup];
    load_group(da, base_a, e0, t.phase_a, n, a);
    load_group(db, base_b, e0, t.phase_b, n, b);
    add_group(p, a, b, n, t.first + e0, t.atol, t.rtol, h, sink);
  }
}

// A task's tile partials, combined in tile order.
WD_HD Partial combine_tiles(const Partial* tiles, uint32_t n) {
  Partial p = tiles[0];
  for (uint32_t i = 1; i < n; ++i) combine(p, tiles[i]);
  return p;
}

}  // namespace weightdiff::cuda
