// The backend registry and selection: the CPU backend is part of this
// library; the others reach it through the factories they registered
// (backend/registry.hpp), so this file names no CUDA symbol and the core
// links nothing above it.
#include <array>

#include "backend/hybrid_backend.hpp"
#include "backend/registry.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff::backend {
namespace {

std::unique_ptr<Backend> make_cpu(const std::vector<int>&, unsigned threads, bool, std::string*) {
  return make_cpu_backend(threads);
}

// Constant-initialized (before any dynamic initializer runs, so before a
// backend library registers), written only during static initialization.
constinit std::array<RegisteredBackend, 8> g_registered{};
constinit size_t g_count = 0;

}  // namespace

void register_backend(const RegisteredBackend& backend) noexcept {
  if (g_count < g_registered.size()) g_registered[g_count++] = backend;
}

std::vector<RegisteredBackend> registered_backends() {
  std::vector<RegisteredBackend> out{*find_backend("cpu")};
  out.insert(out.end(), g_registered.begin(), g_registered.begin() + g_count);
  return out;
}

const RegisteredBackend* find_backend(const std::string& name) {
  static constexpr RegisteredBackend kCpu{"cpu", &make_cpu, true};
  if (name == kCpu.name) return &kCpu;
  for (size_t i = 0; i < g_count; ++i)
    if (name == g_registered[i].name) return &g_registered[i];
  return nullptr;
}

namespace {

// The CUDA backend that `option` (--backend cuda, --backend hybrid) asks
// for, or Error(backend) saying why there is none.
std::unique_ptr<Backend> required_cuda(const char* option, const std::vector<int>& devices,
                                       unsigned threads) {
  const RegisteredBackend* cuda = find_backend("cuda");
  if (!cuda)
    throw Error(Errc::backend, std::string(option) + ": this build has no CUDA backend (built: " +
                                   compiled_backends() + ")");
  std::string reason;
  auto gpu = cuda->make(devices, threads, true, &reason);
  if (!gpu) throw Error(Errc::backend, std::string(option) + ": no usable CUDA device (" + reason + ")");
  return gpu;
}

}  // namespace

std::unique_ptr<Backend> make_backend(BackendKind kind, unsigned threads,
                                      const std::vector<int>& devices, std::string* notice) {
  switch (kind) {
    case BackendKind::cpu: return make_cpu_backend(threads);
    case BackendKind::cuda: return required_cuda("--backend cuda", devices, threads);
    case BackendKind::hybrid: {
      // Shares: a placeholder until a lent device measures both sides (issue
      // 16); a GPU streams several times the CPU's bytes.
      std::vector<HybridWorker> workers;
      workers.push_back({required_cuda("--backend hybrid", devices, threads), 4.0});
      workers.push_back({make_cpu_backend(threads), 1.0});
      return make_hybrid_backend(std::move(workers));
    }
    case BackendKind::automatic: break;
  }
  const RegisteredBackend* cuda = find_backend("cuda");
  if (!cuda) {
    if (notice) *notice = "CUDA backend not built; using the CPU backend";
    return make_cpu_backend(threads);
  }
  std::string reason;
  if (auto b = cuda->make(devices, threads, false, &reason)) return b;
  if (notice) *notice = "no usable CUDA device (" + reason + "); using the CPU backend";
  return make_cpu_backend(threads);
}

}  // namespace weightdiff::backend

namespace weightdiff {

std::string compiled_backends() {
  // What this program can run, not what was configured: the selectable
  // backends that registered.
  std::string out;
  for (const auto& b : backend::registered_backends()) {
    if (!b.selectable) continue;
    if (!out.empty()) out += ", ";
    out += b.name;
  }
  return out;
}

}  // namespace weightdiff
