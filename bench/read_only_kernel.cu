#include "read_only_kernel.hpp"

namespace weightdiff::bench {
namespace {

__global__ void read_only_kernel(const uint4* d, uint64_t n, unsigned long long* d_sink) {
  uint32_t acc = 0;
  for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    const uint4 v = d[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9E3779B9u) atomicAdd(d_sink, 1ull);  // practically never: keeps the loads
}

}  // namespace

cudaError_t launch_read_only(const void* d_data, uint64_t bytes, unsigned long long* d_sink,
                             cudaStream_t stream) {
  int device = 0, sms = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess) return err;
  read_only_kernel<<<sms * 8, 256, 0, stream>>>(static_cast<const uint4*>(d_data), bytes / 16, d_sink);
  return cudaGetLastError();
}

}  // namespace weightdiff::bench
