// Device-side floors for bench/device_check.sh (needs a GPU; built only with
// the CUDA backend). Prints one JSON object per line:
//   {"row":"h2d", ...}        pinned host-to-device bandwidth (slot-sized copies)
//   {"row":"read_only", ...}  a read-only streaming kernel over the device bytes
//   {"row":"kernel", ...}     the diff kernels alone (no PCIe) over the same bytes
// Usage: weightdiff_cuda_floors [--mib-per-side 1024] [--dtype bf16] [--repeat 5]
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "io/mapped_file.hpp"
#include "kernels/cuda_buffer.hpp"
#include "kernels/cuda_handles.hpp"
#include "kernels/cuda_try.hpp"
#include "kernels/kernels.hpp"
#include "kernels/launch_plan.hpp"
#include "read_only_kernel.hpp"

namespace wd = weightdiff;
namespace wc = weightdiff::cuda;

namespace {

float time_ms(cudaStream_t s, int repeat, const std::function<void()>& body) {
  const wc::Event t0(cudaEventDefault), t1(cudaEventDefault);  // timing events
  body();  // warm-up
  CUDA_TRY(cudaStreamSynchronize(s));
  CUDA_TRY(cudaEventRecord(t0.get(), s));
  for (int i = 0; i < repeat; ++i) body();
  CUDA_TRY(cudaEventRecord(t1.get(), s));
  CUDA_TRY(cudaEventSynchronize(t1.get()));
  float ms = 0;
  CUDA_TRY(cudaEventElapsedTime(&ms, t0.get(), t1.get()));
  return ms / static_cast<float>(repeat);
}

wd::TensorRef random_tensor(wd::DType t, uint64_t n, uint64_t seed) {
  const uint64_t bytes = n * wd::dtype_bits(t) / 8;
  std::vector<std::byte> raw(bytes);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (uint64_t i = 0; i + 2 <= bytes; i += 2) {  // plausible bf16/f16 weights
    float f = normal(rng);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint16_t h = static_cast<uint16_t>(u >> 16);
    std::memcpy(raw.data() + i, &h, 2);
  }
  wd::TensorRef r;
  char name[32];
  std::snprintf(name, sizeof name, "t%llu", static_cast<unsigned long long>(seed));
  r.name = name;
  r.dtype = t;
  r.numel = n;
  r.shape = {n};
  r.nbytes = bytes;
  r.storage = wd::MappedFile::from_bytes(std::move(raw), r.name);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mib = 1024;
  int repeat = 5;
  std::string dtype = "bf16";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mib-per-side")) mib = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dtype")) dtype = argv[i + 1];
  }
  // The synthetic tensors are random bytes of a per-element dtype; a block
  // type's bytes are blocks (no per-element size: dtype_bits is 0).
  const auto parsed = wd::dtype_from_name(dtype);
  if (!parsed || wd::dtype_is_block(*parsed)) {
    std::fprintf(stderr, "weightdiff_cuda_floors: --dtype %s: not an element dtype\n", dtype.c_str());
    return 2;
  }
  try {
    const wc::Stream stream;
    const cudaStream_t s = stream.get();
    {  // 1. Pinned H2D, in copies of the default staging slot's size.
      const uint64_t slot = wc::CudaConfig{}.staging.slot_bytes, total = uint64_t{1} << 30;
      const wc::PinnedBuffer<uint8_t> h(slot);
      std::memset(h.data(), 1, slot);
      const wc::DeviceBuffer<uint8_t> d(total);
      const float h2d = time_ms(s, repeat, [&] {
        for (uint64_t at = 0; at < total; at += slot)
          CUDA_TRY(cudaMemcpyAsync(d.data() + at, h.data(), slot, cudaMemcpyHostToDevice, s));
      });
      std::printf("{\"row\":\"h2d\",\"bytes\":%llu,\"ms\":%.3f,\"gbps\":%.2f}\n",
                  static_cast<unsigned long long>(total), h2d, total / (h2d * 1e6));
    }

    // 2 and 3. One launch group holding a whole synthetic pair on the device.
    const wd::DType t = *parsed;
    const uint64_t n = (mib << 20) * 8 / wd::dtype_bits(t);
    const wd::TensorRef a = random_tensor(t, n, 1), b = random_tensor(t, n, 2);
    std::vector<wd::backend::ChunkTask> tasks;
    for (uint64_t f = 0; f < n; f += uint64_t{1} << 20)
      tasks.push_back({&a, &b, f, std::min<uint64_t>(uint64_t{1} << 20, n - f), 1e-5, 1.6e-2});
    const wd::HistRange range;
    const wc::HistLayout hl = wc::hist_layout(range);
    const uint32_t H = hl.total();
    wc::StagingLimits lim;
    lim.slot_bytes = (mib << 21) + (uint64_t{64} << 20);
    lim.max_tiles = 1u << 30;
    const auto groups = wc::plan_launches(tasks, lim);
    const wc::LaunchGroup& g = groups.at(0);
    std::vector<uint8_t> host(g.bytes);
    wc::write_metadata(g, host.data());
    for (const auto& op : g.copies) wc::copy_bytes(op, host.data(), 0, op.bytes);
    const wc::DeviceBuffer<uint8_t> slot(g.bytes);
    const wc::DeviceBuffer<wc::Partial> tiles(g.tile_table.size()), res(g.tasks.size());
    const wc::DeviceBuffer<uint32_t> tile_hist(g.tile_table.size() * H);
    const wc::DeviceBuffer<unsigned long long> res_hist(g.tasks.size() * H), sink(1);
    uint8_t* const d_slot = slot.data();
    CUDA_TRY(cudaMemcpy(d_slot, host.data(), g.bytes, cudaMemcpyHostToDevice));
    const uint64_t data_bytes = 2 * n * wd::dtype_bits(t) / 8;
    const float ro = time_ms(s, repeat, [&] { CUDA_TRY(wd::bench::launch_read_only(d_slot, g.bytes, sink.data(), s)); });
    std::printf("{\"row\":\"read_only\",\"bytes\":%llu,\"ms\":%.3f,\"gbps\":%.2f}\n",
                static_cast<unsigned long long>(g.bytes), ro, g.bytes / (ro * 1e6));
    wc::LaunchArgs args{};
    args.d_slot = d_slot;
    args.d_tasks = reinterpret_cast<const wc::TaskDesc*>(d_slot);
    args.d_tiles = reinterpret_cast<const wc::TileDesc*>(d_slot + g.tile_table_offset);
    args.n_tasks = static_cast<uint32_t>(g.tasks.size());
    args.n_tiles = static_cast<uint32_t>(g.tile_table.size());
    args.hist = hl;
    args.d_tile_partials = tiles.data();
    args.d_tile_hist = tile_hist.data();
    args.d_results = res.data();
    args.d_result_hist = res_hist.data();
    const float k = time_ms(s, repeat, [&] { CUDA_TRY(wc::launch_diff(args, s)); });
    std::printf("{\"row\":\"kernel\",\"dtype\":\"%s\",\"elements\":%llu,\"bytes\":%llu,\"ms\":%.3f,"
                "\"gbps\":%.2f,\"pct_of_read_only\":%.1f}\n",
                dtype.c_str(), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(data_bytes), k, data_bytes / (k * 1e6),
                100.0 * (data_bytes / (k * 1e6)) / (g.bytes / (ro * 1e6)));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weightdiff_cuda_floors: %s\n", e.what());
    return 2;
  }
}
