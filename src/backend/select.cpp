#include "backend/backend.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::backend {

std::string compiled_backends() { return "cpu"; }

std::unique_ptr<Backend> make_backend(const std::string& name, unsigned threads,
                                      std::string* notice) {
  if (name == "cpu") return make_cpu_backend(threads);
  if (name == "auto") {
    if (notice) *notice = "CUDA backend not built; using the CPU backend";
    return make_cpu_backend(threads);
  }
  if (name == "cuda")
    throw Error(Errc::backend, "--backend cuda: this build has no CUDA backend (built: " +
                                   compiled_backends() + ")");
  throw Error(Errc::usage, "--backend '" + name + "': expected auto, cpu or cuda");
}

}  // namespace weightdiff::backend
