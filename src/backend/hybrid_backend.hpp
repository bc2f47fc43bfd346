// The hybrid backend: several backends (a GPU and the CPU) computing one
// batch at once, so the host's cores add to the device's throughput
// (issue 16).
//
// Which worker computes a task is a function of the task alone (its
// tensor's name and first element, weighted by the workers' shares), never
// of timing: the CPU and CUDA backends agree on every exact field but may
// differ in the last bits of sums (SPEC §2's bound), so a first-come queue
// would make the bits depend on the run. This way a task's result, and so
// every report, is the same on every run, and each task's bits are those of
// the worker that owns it. (A dynamic queue pays off once both backends
// give the same sum bits; measuring the shares needs a lent device.)
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.hpp"

namespace weightdiff::backend {

struct HybridWorker {
  std::unique_ptr<Backend> backend;
  double share = 1;  // relative part of the tasks it owns; > 0
};

// At least one worker, every share finite and > 0: else Error(usage).
std::unique_ptr<Backend> make_hybrid_backend(std::vector<HybridWorker> workers);

// The worker (index into the shares) that owns a task: deterministic, from
// the task alone. Exposed for tests.
size_t hybrid_owner(const ChunkTask& task, const std::vector<double>& shares) noexcept;

}  // namespace weightdiff::backend
