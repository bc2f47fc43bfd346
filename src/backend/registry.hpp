// The backend registry: every implementation of the Backend interface under
// a name, as ggml registers its backends. make_backend chooses from it, and
// the conformance suite (tests/unit/backend_conformance_test.cpp) runs every
// registered implementation against the float64 reference and the CPU
// backend.
//
// Backends built as their own libraries (kernels/: the CUDA backend and its
// host emulation) link *down* to the core, so the core cannot name their
// factories without a link cycle. Instead each registers itself here during
// static initialization, and weightdiff::weightdiff links those libraries as
// whole archives so the registering objects are always kept. A program
// linked without them (weightdiff_core alone, or a build without nvcc) has
// only the CPU backend, and compiled_backends() says so.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"

namespace weightdiff::backend {

// The backend on `devices` (ComputeOptions::devices) with `threads` host
// threads, or nullptr with *reason when it cannot run here. Throws
// Error(usage) for a bad configuration; when `required`, Error(backend) from
// a device that fails to start (else that failure is the reason).
using BackendFactory = std::unique_ptr<Backend> (*)(const std::vector<int>& devices,
                                                    unsigned threads, bool required,
                                                    std::string* reason);

struct RegisteredBackend {
  const char* name = nullptr;  // "cpu", "cuda", "cuda-emulation"
  BackendFactory make = nullptr;
  // Chosen by --backend (BackendKind); false: an implementation for tests
  // and benchmarks only (the CUDA emulation).
  bool selectable = false;
};

// Called before main by a backend library. Not thread-safe: static
// initialization only. At most 8 registrations.
void register_backend(const RegisteredBackend& backend) noexcept;

// "cpu" first, then the others in registration order.
std::vector<RegisteredBackend> registered_backends();

// The registered backend of that name, or null.
const RegisteredBackend* find_backend(const std::string& name);

}  // namespace weightdiff::backend
