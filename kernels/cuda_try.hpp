// RMM-style error checking for host code that calls the CUDA runtime.
//
//   CUDA_TRY(call)  on failure clears the runtime's last-error state (so the
//                   next check does not report this error again) and throws
//                   weightdiff::Error(backend) naming the call, the CUDA
//                   error and where.
//   CUDA_LOG(call)  for destructors and other release paths, which must not
//                   throw: the same text, one line on stderr, then go on.
//
// Host pipeline only (it includes cuda_runtime.h): the host/device headers
// of this folder never include it.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "weightdiff/error.hpp"

namespace weightdiff::cuda::detail {

inline std::string cuda_error_text(cudaError_t err, const char* call, const char* file, int line) {
  std::string s = "CUDA error: ";
  s += cudaGetErrorString(err);
  s += " (";
  s += cudaGetErrorName(err);
  s += ") in ";
  s += call;
  s += " at ";
  s += file;
  s += ":";
  s += std::to_string(line);
  return s;
}

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file,
                                          int line) {
  static_cast<void>(cudaGetLastError());  // reset the last error: it is reported here
  throw Error(Errc::backend, cuda_error_text(err, call, file, line));
}

inline void log_cuda_error(cudaError_t err, const char* call, const char* file,
                           int line) noexcept {
  static_cast<void>(cudaGetLastError());
  try {
    const std::string s = cuda_error_text(err, call, file, line);
    std::fprintf(stderr, "weightdiff: %s (while releasing CUDA resources; continuing)\n", s.c_str());
  } catch (...) {  // no memory for the text: still one line
    std::fprintf(stderr, "weightdiff: CUDA error %d in %s (continuing)\n", static_cast<int>(err), call);
  }
}

}  // namespace weightdiff::cuda::detail

#define CUDA_TRY(call)                                                                       \
  do {                                                                                       \
    const cudaError_t wd_cuda_err_ = static_cast<cudaError_t>(call);                         \
    if (wd_cuda_err_ != cudaSuccess)                                                         \
      ::weightdiff::cuda::detail::throw_cuda_error(wd_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define CUDA_LOG(call)                                                                     \
  do {                                                                                     \
    const cudaError_t wd_cuda_err_ = static_cast<cudaError_t>(call);                       \
    if (wd_cuda_err_ != cudaSuccess)                                                       \
      ::weightdiff::cuda::detail::log_cuda_error(wd_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)
