// Where backends built as their own libraries plug into make_backend.
//
// The CUDA backend (kernels/, library weightdiff_cuda) links *down* to the
// core, so the core cannot name its factory without a link cycle. Instead
// the CUDA library registers a factory here during static initialization
// (kernels/cuda_backend.cpp), and weightdiff::weightdiff links that library
// as a whole archive so its registering object is always kept. A program
// linked without it (weightdiff_core alone, or a build without nvcc) has
// no CUDA backend, and compiled_backends() says so.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"

namespace weightdiff::backend {

// The backend on `devices` (ComputeOptions::devices), or nullptr with
// *reason when no device is usable. Throws Error(usage) for a bad
// configuration; when `required`, Error(backend) from a device that fails
// to start (else that failure is the reason).
using DeviceBackendFactory = std::unique_ptr<Backend> (*)(const std::vector<int>& devices,
                                                          unsigned threads, bool required,
                                                          std::string* reason);

// Called once, before main, by the CUDA library. Not thread-safe: static
// initialization only.
void register_cuda_backend(DeviceBackendFactory factory) noexcept;

}  // namespace weightdiff::backend
