// The staging floor for bench/device_check.sh: the CUDA backend's staging
// path (kernels/staging_ring) over two model files with a consumer that
// launches nothing. The bytes travel as a diff moves them (page cache ->
// pinned slots on host threads -> device on the copy stream, the same chunks
// and batches as the engine's), and nothing is computed: the backend's
// "no kernels" floor. The product backend has no such mode; this bench
// drives the ring itself. Needs a GPU; built only with the CUDA backend.
//
// Prints one JSON line: {"row":"staging","pairs":P,"bytes":N,"s":S,"gbps":G}
// (bytes: both sides' tensor bytes; s: from opening the files to the last
// upload done).
// Usage: weightdiff_cuda_staging A B [--slot-mib 32] [--slots 3] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/chunk_plan.hpp"
#include "kernels/cuda_try.hpp"
#include "kernels/launch_plan.hpp"
#include "kernels/staging_ring.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/storage.hpp"

namespace wd = weightdiff;
namespace wc = weightdiff::cuda;

namespace {

// Same name, same element count, both decodable: what a diff would read.
std::vector<wd::engine::PlannedPair> pairs_of(const wd::Model& a, const wd::Model& b) {
  std::vector<wd::engine::PlannedPair> pairs;
  size_t j = 0;
  for (const wd::TensorRef& t : a.tensors) {  // both sorted by name
    while (j < b.tensors.size() && b.tensors[j].name < t.name) ++j;
    if (j == b.tensors.size()) break;
    const wd::TensorRef& u = b.tensors[j];
    if (u.name == t.name && u.numel == t.numel && t.numel > 0 && t.unsupported_dtype.empty() &&
        u.unsupported_dtype.empty())
      pairs.push_back({&t, &u, 0.0, 0.0});
  }
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: weightdiff_cuda_staging A B [--slot-mib N] [--slots N] [--threads N]\n");
    return 2;
  }
  wc::CudaConfig config;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  try {
    for (int i = 3; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--slot-mib")) config.staging.slot_bytes = std::stoull(argv[i + 1]) << 20;
      else if (!std::strcmp(argv[i], "--slots")) config.slots = static_cast<unsigned>(std::stoul(argv[i + 1]));
      else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::stoul(argv[i + 1]));
      else throw wd::Error(wd::Errc::usage, std::string("unknown option ") + argv[i]);
    }
    wc::validate(config);
    const auto t0 = std::chrono::steady_clock::now();
    const wd::Model a = wd::open_model(argv[1]), b = wd::open_model(argv[2]);
    const std::vector<wd::engine::PlannedPair> pairs = pairs_of(a, b);
    CUDA_TRY(cudaSetDevice(0));
    wc::StagingRing ring(config.staging.slot_bytes, config.slots, threads);
    wd::engine::ChunkPlanner planner(pairs);
    wd::engine::Batch batch;
    uint64_t bytes = 0;
    while (planner.next(batch)) {
      std::unordered_set<const wd::Storage*> storages;
      for (const auto& t : batch.tasks) {
        storages.insert(t.a->storage.get()), storages.insert(t.b->storage.get());
        for (const wd::TensorRef* side : {t.a, t.b}) {
          const wd::backend::ByteRange r = wd::backend::chunk_bytes(*side, t.first, t.count);
          bytes += r.end - r.begin;
        }
      }
      std::vector<wd::StoragePin> pins;
      for (const wd::Storage* s : storages) pins.emplace_back(s);
      const std::vector<wc::LaunchGroup> groups = wc::plan_launches(batch.tasks, config.staging);
      ring.run(groups, [](const wc::LaunchGroup&, const uint8_t*) {});  // no kernels
      CUDA_TRY(cudaStreamSynchronize(ring.compute()));  // the uploads, before the pins go
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"row\":\"staging\",\"pairs\":%zu,\"bytes\":%llu,\"s\":%.3f,\"gbps\":%.2f}\n",
                pairs.size(), static_cast<unsigned long long>(bytes), s, bytes / s / 1e9);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weightdiff_cuda_staging: %s\n", e.what());
    return 2;
  }
}
