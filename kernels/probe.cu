#include <cuda_runtime.h>

#include "probe.hpp"

namespace weightdiff::cuda {
namespace {

__global__ void add_one(int* d_value) { *d_value += 1; }

}  // namespace

ProbeResult probe_device() noexcept {
  ProbeResult r;
  // Without a GPU this returns an error ("driver version is insufficient"
  // on these machines), not zero devices: any error means not usable.
  cudaError_t err = cudaGetDeviceCount(&r.devices);
  if (err != cudaSuccess || r.devices == 0) {
    r.devices = 0;
    r.reason = err != cudaSuccess ? cudaGetErrorString(err) : "no CUDA device";
    return r;
  }
  int* d_value = nullptr;
  int value = 41;
  if ((err = cudaMalloc(&d_value, sizeof(int))) == cudaSuccess &&
      (err = cudaMemcpy(d_value, &value, sizeof(int), cudaMemcpyHostToDevice)) == cudaSuccess) {
    add_one<<<1, 1>>>(d_value);
    err = cudaGetLastError();
    if (err == cudaSuccess)
      err = cudaMemcpy(&value, d_value, sizeof(int), cudaMemcpyDeviceToHost);
  }
  if (d_value) cudaFree(d_value);
  if (err != cudaSuccess || value != 42) {
    r.reason = err != cudaSuccess ? cudaGetErrorString(err) : "probe kernel gave a wrong result";
    return r;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  r.usable = true;
  r.reason = prop.name;
  return r;
}

}  // namespace weightdiff::cuda
