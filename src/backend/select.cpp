// Backend selection: the CPU backend is part of this library; a device
// backend is reached through the factory it registered (backend/registry.hpp),
// so this file names no CUDA symbol and the core links nothing above it.
#include "backend/backend.hpp"
#include "backend/registry.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff::backend {
namespace {

// Constant-initialized (before any dynamic initializer runs, so before the
// CUDA library registers), written only during static initialization.
constinit DeviceBackendFactory g_cuda_factory = nullptr;

}  // namespace

void register_cuda_backend(DeviceBackendFactory factory) noexcept { g_cuda_factory = factory; }

std::unique_ptr<Backend> make_backend(BackendKind kind, unsigned threads,
                                      const std::vector<int>& devices, std::string* notice) {
  if (kind == BackendKind::cpu) return make_cpu_backend(threads);
  const bool required = kind == BackendKind::cuda;
  if (g_cuda_factory) {
    std::string reason;
    if (auto b = g_cuda_factory(devices, threads, required, &reason)) return b;
    if (required) throw Error(Errc::backend, "--backend cuda: no usable CUDA device (" + reason + ")");
    if (notice) *notice = "no usable CUDA device (" + reason + "); using the CPU backend";
    return make_cpu_backend(threads);
  }
  if (!required) {
    if (notice) *notice = "CUDA backend not built; using the CPU backend";
    return make_cpu_backend(threads);
  }
  throw Error(Errc::backend, "--backend cuda: this build has no CUDA backend (built: " +
                                 compiled_backends() + ")");
}

}  // namespace weightdiff::backend

namespace weightdiff {

std::string compiled_backends() {
  // What this program can run, not what was configured: a registered factory.
  return backend::g_cuda_factory ? "cpu, cuda" : "cpu";
}

}  // namespace weightdiff
