// The bench's device ceiling (bench/cuda_floors.cpp): a read-only streaming
// kernel, not part of the product backend.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace weightdiff::bench {

// Reads `bytes` bytes at d_data with 16-byte loads, folded into *d_sink so
// nothing is optimized away; 8 blocks of 256 threads per SM, on `stream`.
cudaError_t launch_read_only(const void* d_data, uint64_t bytes, unsigned long long* d_sink,
                             cudaStream_t stream);

}  // namespace weightdiff::bench
