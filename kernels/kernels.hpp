// The kernel launchers of kernels/kernels.cu, callable from host C++
// built by the host compiler: no CUDA types (streams are passed as void*,
// errors come back as the cudaError_t value, 0 = success).
#pragma once

#include "tile_agent.hpp"

namespace weightdiff::cuda {

struct LaunchArgs {
  const uint8_t* d_slot;      // the staging slot on the device (TaskDesc table at 0)
  const TaskDesc* d_tasks;    // == d_slot
  const TileDesc* d_tiles;    // inside the slot
  uint32_t n_tasks, n_tiles;
  HistLayout hist;
  Partial* d_tile_partials;   // n_tiles
  uint32_t* d_tile_hist;      // n_tiles x hist.total()
  Partial* d_results;         // n_tasks: this launch's tasks
  unsigned long long* d_result_hist;  // n_tasks x hist.total()
};

// Launches the tile pass and the per-task combine on `stream`.
int launch_diff(const LaunchArgs& args, void* stream);

}  // namespace weightdiff::cuda
