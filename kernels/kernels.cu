// The fused diff kernels. The per-element work lives in the host/device
// headers of this folder (tile_agent.hpp, thread_accumulate.hpp, decode.hpp;
// tested on the CPU by a host mirror, emulate.hpp); this file only maps it
// onto blocks:
//
//   tile_kernel  one block per tile of kTileElems elements: thread passes,
//                shared-memory privatized integer histogram (integer
//                atomics: deterministic), cub::BlockReduce of the thread
//                partials (a fixed tree for a fixed block size), one
//                partial and one histogram per tile.
//   task_kernel  one block per task: the task's tile partials combined in
//                tile order, its tile histograms summed.
//
// No floating-point atomics, so the bits of a task's result depend only on
// the task. One kernel for every dtype pair: decode dispatches at run time.
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include "kernels.hpp"

namespace weightdiff::cuda {
namespace {

constexpr uint32_t kHistBytesMax = 40 * 1024;  // + BlockReduce storage < 48 KiB

// Copies of the histogram per block: one per warp when they fit (less
// contention: weights crowd into a few bins), else fewer.
__host__ __device__ uint32_t hist_copies(uint32_t total) {
  uint32_t c = kThreads / 32;
  while (c > 1 && c * total * 4 > kHistBytesMax) c /= 2;
  return c;
}

struct SharedSink {
  uint32_t* bins;
  __device__ void add(uint32_t slot) { atomicAdd(bins + slot, 1u); }
};

__global__ void __launch_bounds__(kThreads) tile_kernel(LaunchArgs a) {
  extern __shared__ uint32_t s_hist[];
  using BlockReduce = cub::BlockReduce<Partial, kThreads>;
  __shared__ typename BlockReduce::TempStorage reduce_storage;

  const uint32_t H = a.hist.total();
  const uint32_t copies = hist_copies(H);
  for (uint32_t s = threadIdx.x; s < copies * H; s += kThreads) s_hist[s] = 0;
  __syncthreads();

  const TileDesc td = a.d_tiles[blockIdx.x];
  const TaskDesc t = a.d_tasks[td.task];
  Partial p = empty_partial();
  SharedSink sink{s_hist + (threadIdx.x / 32) % copies * H};
  thread_pass(a.d_slot, t, td.tile, threadIdx.x, a.hist, p, sink);

  const Partial block = BlockReduce(reduce_storage).Reduce(p, CombineOp{});
  if (threadIdx.x == 0) a.d_tile_partials[blockIdx.x] = block;
  __syncthreads();
  uint32_t* out = a.d_tile_hist + static_cast<uint64_t>(blockIdx.x) * H;
  for (uint32_t s = threadIdx.x; s < H; s += kThreads) {
    uint32_t sum = 0;
    for (uint32_t c = 0; c < copies; ++c) sum += s_hist[c * H + s];
    out[s] = sum;
  }
}

__global__ void __launch_bounds__(kThreads) task_kernel(LaunchArgs a) {
  const TaskDesc t = a.d_tasks[blockIdx.x];
  if (threadIdx.x == 0)
    a.d_results[blockIdx.x] = combine_tiles(a.d_tile_partials + t.first_tile, t.tiles);
  const uint32_t H = a.hist.total();
  for (uint32_t s = threadIdx.x; s < H; s += kThreads) {
    unsigned long long sum = 0;
    for (uint32_t i = 0; i < t.tiles; ++i)
      sum += a.d_tile_hist[static_cast<uint64_t>(t.first_tile + i) * H + s];
    a.d_result_hist[static_cast<uint64_t>(blockIdx.x) * H + s] = sum;
  }
}

}  // namespace

int launch_diff(const LaunchArgs& args, void* stream) {
  if (args.n_tasks == 0 || args.n_tiles == 0) return cudaSuccess;  // never a 0-block grid
  const auto s = static_cast<cudaStream_t>(stream);
  const size_t shared = static_cast<size_t>(hist_copies(args.hist.total())) * args.hist.total() * 4;
  tile_kernel<<<args.n_tiles, kThreads, shared, s>>>(args);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  task_kernel<<<args.n_tasks, kThreads, 0, s>>>(args);
  return cudaGetLastError();
}

}  // namespace weightdiff::cuda
