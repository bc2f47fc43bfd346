// The CUDA emulation as a Backend: the CUDA backend's launch plan and
// kernels' host mirror (emulate.hpp), with the staging limits given, so
// tests can pack the same tasks into few or many launches. Registered as
// "cuda-emulation" (default limits) by the library that holds it.
#pragma once

#include <memory>

#include "backend/backend.hpp"
#include "launch_plan.hpp"

namespace weightdiff::cuda {

std::unique_ptr<backend::Backend> make_emulated_cuda_backend(const StagingLimits& limits = {});

}  // namespace weightdiff::cuda
