// RMM-style error checking for host code that calls the CUDA runtime:
// CUDA_TRY(call) throws weightdiff::Error(backend) naming the call and the
// CUDA error. Destructors use CUDA_LOG_ONLY: they must not throw.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "weightdiff/error.hpp"

namespace weightdiff::cuda::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file,
                                          int line) {
  throw Error(Errc::backend, std::string("CUDA error: ") + cudaGetErrorString(err) + " (" +
                                 cudaGetErrorName(err) + ") in " + call + " at " + file + ":" +
                                 std::to_string(line));
}

}  // namespace weightdiff::cuda::detail

#define CUDA_TRY(call)                                                                 \
  do {                                                                                 \
    const cudaError_t wd_cuda_err_ = static_cast<cudaError_t>(call);                   \
    if (wd_cuda_err_ != cudaSuccess)                                                   \
      ::weightdiff::cuda::detail::throw_cuda_error(wd_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define CUDA_LOG_ONLY(call) static_cast<void>(call)
