// A host mirror of kernels/kernels.cu: the same per-thread passes, tile
// and task combines, run sequentially on the CPU over a filled staging slot.
// The tests compare it with the CPU backend (tests/unit/cuda_emulation_test).
// It combines a tile's thread partials in thread order, where the device's
// cub::BlockReduce uses its own fixed tree: sums may differ in their last
// bits (within SPEC §2's bound); every exact field is the same.
#pragma once

#include <vector>

#include "launch_plan.hpp"

namespace weightdiff::cuda {

struct HostSink {
  uint32_t* bins;
  void add(uint32_t slot) { ++bins[slot]; }
};

// Results of one launch: per task a Partial and HistLayout::total() bins.
struct LaunchResults {
  std::vector<Partial> partials;
  std::vector<uint64_t> hist;
};

inline LaunchResults emulate_launch(const uint8_t* slot, const LaunchGroup& g, const HistLayout& h) {
  const uint32_t H = h.total();
  const size_t tiles = g.tile_table.size();
  std::vector<Partial> tile_partials(tiles);
  std::vector<uint32_t> tile_hist(tiles * H, 0);
  for (size_t ti = 0; ti < tiles; ++ti) {  // tile_kernel, one block per tile
    const TileDesc td = g.tile_table[ti];
    const TaskDesc& t = g.tasks[td.task];
    HostSink sink{tile_hist.data() + ti * H};
    Partial block = empty_partial();
    for (uint32_t tid = 0; tid < static_cast<uint32_t>(kThreads); ++tid) {
      Partial p = empty_partial();
      thread_pass(slot, t, td.tile, tid, h, p, sink);
      combine(block, p);
    }
    tile_partials[ti] = block;
  }
  LaunchResults r;  // task_kernel, one block per task
  r.partials.resize(g.tasks.size());
  r.hist.assign(g.tasks.size() * H, 0);
  for (size_t k = 0; k < g.tasks.size(); ++k) {
    const TaskDesc& t = g.tasks[k];
    r.partials[k] = combine_tiles(tile_partials.data() + t.first_tile, t.tiles);
    for (uint32_t i = 0; i < t.tiles; ++i)
      for (uint32_t s = 0; s < H; ++s) r.hist[k * H + s] += tile_hist[(t.first_tile + i) * H + s];
  }
  return r;
}

}  // namespace weightdiff::cuda
