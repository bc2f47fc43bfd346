#include "backend/backend.hpp"
#include "backend/cuda/launch_plan.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/version.hpp"

#ifdef WEIGHTDIFF_WITH_CUDA
#include "backend/cuda/cuda_backend.hpp"
#endif

namespace weightdiff::backend {

std::unique_ptr<Backend> make_backend(BackendKind kind, unsigned threads,
                                      const std::vector<int>& devices, std::string* notice) {
  if (kind == BackendKind::cpu) return make_cpu_backend(threads);
  const bool required = kind == BackendKind::cuda;
#ifdef WEIGHTDIFF_WITH_CUDA
  const cuda::CudaConfig config = cuda::cuda_config(devices);
  std::string reason;
  if (cuda::cuda_usable(&reason)) {
    if (required) return cuda::make_cuda_backend(config, threads);
    try {
      return cuda::make_cuda_backend(config, threads);
    } catch (const Error& e) {
      reason = e.detail();
    }
  }
  if (required) throw Error(Errc::backend, "--backend cuda: no usable CUDA device (" + reason + ")");
  if (notice) *notice = "no usable CUDA device (" + reason + "); using the CPU backend";
  return make_cpu_backend(threads);
#else
  (void)devices;
  if (!required) {
    if (notice) *notice = "CUDA backend not built; using the CPU backend";
    return make_cpu_backend(threads);
  }
  throw Error(Errc::backend, "--backend cuda: this build has no CUDA backend (built: " +
                                 compiled_backends() + ")");
#endif
}

}  // namespace weightdiff::backend

namespace weightdiff {

std::string compiled_backends() {
#ifdef WEIGHTDIFF_WITH_CUDA
  return "cpu, cuda";
#else
  return "cpu";
#endif
}

}  // namespace weightdiff
