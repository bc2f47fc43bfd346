// The CUDA backend's construction (no CUDA types here). Programs reach it
// through backend::make_backend (default CudaConfig); tests that need
// another staging size call make_cuda_backend directly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "launch_plan.hpp"

namespace weightdiff::cuda {

// Usable = the runtime reports devices and a probe kernel runs. `reason`:
// why not, or the device name.
bool cuda_usable(std::string* reason);

// Throws Error(usage) for a config out of its bounds (validate), and
// Error(backend) when a device cannot be used.
std::unique_ptr<backend::Backend> make_cuda_backend(const CudaConfig& config, unsigned threads);

}  // namespace weightdiff::cuda
