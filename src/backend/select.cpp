#include "backend/backend.hpp"
#include "backend/cuda/launch_plan.hpp"
#include "weightdiff/version.hpp"
#include "weightdiff/error.hpp"

#ifdef WEIGHTDIFF_WITH_CUDA
#include "backend/cuda/cuda_backend.hpp"
#endif

namespace weightdiff::backend {


void validate_devices(const std::string& devices) { (void)cuda::parse_device_list(devices); }

std::unique_ptr<Backend> make_backend(const std::string& name, unsigned threads,
                                      const std::string& devices, std::string* notice) {
  validate_devices(devices);
  if (name == "cpu") return make_cpu_backend(threads);
  if (name != "auto" && name != "cuda")
    throw Error(Errc::usage, "--backend '" + name + "': expected auto, cpu or cuda");
#ifdef WEIGHTDIFF_WITH_CUDA
  const cuda::CudaConfig config = cuda::cuda_config(devices);
  std::string reason;
  if (cuda::cuda_usable(&reason)) {
    if (name == "cuda") return cuda::make_cuda_backend(config, threads);
    try {
      return cuda::make_cuda_backend(config, threads);
    } catch (const Error& e) {
      reason = e.detail();
    }
  }
  if (name == "cuda")
    throw Error(Errc::backend, "--backend cuda: no usable CUDA device (" + reason + ")");
  if (notice) *notice = "no usable CUDA device (" + reason + "); using the CPU backend";
  return make_cpu_backend(threads);
#else
  if (name == "auto") {
    if (notice) *notice = "CUDA backend not built; using the CPU backend";
    return make_cpu_backend(threads);
  }
  throw Error(Errc::backend, "--backend cuda: this build has no CUDA backend (built: " +
                                 compiled_backends() + ")");
#endif
}

std::unique_ptr<Backend> make_backend(const std::string& name, unsigned threads,
                                      std::string* notice) {
  return make_backend(name, threads, std::string(), notice);
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
