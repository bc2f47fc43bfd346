#include "launch_plan.hpp"

#include <algorithm>
#include <cstring>

#include "backend/b_order.hpp"
#include "backend/dequant.hpp"
#include "io/mapped_file.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::cuda {
namespace {

uint64_t align_up(uint64_t x) { return (x + kSlotAlign - 1) / kSlotAlign * kSlotAlign; }

uint64_t meta_bytes(size_t tasks, uint64_t tiles) {
  return align_up(align_up(tasks * sizeof(TaskDesc)) + tiles * sizeof(TileDesc));
}

struct Side {
  uint64_t begin, bytes;
  uint8_t phase;
};

Side side_of(const TensorRef& t, uint64_t first, uint64_t count) {
  const backend::ByteRange r = backend::chunk_bytes(t, first, count);
  // The phase: i4/u4, the nibble of the first byte; block types, the
  // element inside the first block (< 256; 0 for the engine's chunks,
  // which start at block boundaries).
  const unsigned bits = dtype_bits(t.dtype);
  const uint64_t phase = dtype_is_block(t.dtype) ? first % dtype_block_elems(t.dtype) : bits == 4 ? first % 2 : 0;
  static_assert(kTileElems % 256 == 0, "tiles start at block boundaries of every block type");
  return {r.begin, r.end - r.begin, static_cast<uint8_t>(phase)};
}

}  // namespace

std::vector<LaunchGroup> plan_launches(std::span<const backend::ChunkTask> tasks,
                                       const StagingLimits& limits) {
  std::vector<LaunchGroup> groups;
  size_t i = 0;
  while (i < tasks.size()) {
    // Membership first (metadata size depends on it), then offsets.
    size_t n = 0;
    uint64_t tiles = 0, data = 0;
    while (i + n < tasks.size()) {
      const backend::ChunkTask& t = tasks[i + n];
      // A one-sided task (inspect: b is a) is staged once.
      const uint64_t d = align_up(side_of(*t.a, t.first, t.count).bytes) +
                         (t.one_sided ? 0 : align_up(side_of(*t.b, t.first, t.count).bytes));
      const uint64_t nt = tiles_of(t.count);
      if (meta_bytes(n + 1, tiles + nt) + data + d > limits.slot_bytes ||
          tiles + nt > limits.max_tiles) {
        if (n == 0)
          throw Error(Errc::backend,
                      "CUDA staging buffer of " + std::to_string(limits.slot_bytes >> 10) +
                          " KiB is too small for one chunk of tensor '" + t.a->name + "'");
        break;
      }
      ++n, tiles += nt, data += d;
    }
    LaunchGroup g;
    g.first_task = i;
    g.tasks.reserve(n);
    g.tile_table.reserve(tiles);
    g.tile_table_offset = align_up(n * sizeof(TaskDesc));
    uint64_t at = meta_bytes(n, tiles);
    for (size_t k = 0; k < n; ++k) {
      const backend::ChunkTask& t = tasks[i + k];
      const Side a = side_of(*t.a, t.first, t.count), b = side_of(*t.b, t.first, t.count);
      TaskDesc d{};
      d.first = t.first;
      d.count = t.count;
      d.atol = t.atol;
      d.rtol = t.rtol;
      d.dtype_a = static_cast<uint8_t>(t.a->dtype);
      d.dtype_b = static_cast<uint8_t>(t.b->dtype);
      d.phase_a = a.phase;
      d.phase_b = b.phase;
      d.first_tile = static_cast<uint32_t>(g.tile_table.size());
      d.tiles = tiles_of(t.count);
      d.off_a = at;
      if (t.a->dequant)
        g.copies.push_back({t.a, 0, a.bytes, at, {}, t.first, t.count});
      else
        g.copies.push_back({t.a, a.begin, a.bytes, at});
      at += align_up(a.bytes);
      if (t.one_sided) {  // b reads a's bytes
        d.off_b = d.off_a;
      } else {
        d.off_b = at;
        if (t.b->dequant) {
          g.copies.push_back({t.b, 0, b.bytes, at, {}, t.first, t.count});
        } else if (t.b_order.any()) {  // gathered in a's order: the kernels see an ordinary pair
          const backend::ByteRange touched = backend::b_bytes_touched(*t.b, t.b_order, t.first, t.count);
          g.copies.push_back({t.b, touched.begin, b.bytes, at, t.b_order, t.first, t.count, touched.end});
        } else {
          g.copies.push_back({t.b, b.begin, b.bytes, at});
        }
        at += align_up(b.bytes);
      }
      for (uint32_t tile = 0; tile < d.tiles; ++tile)
        g.tile_table.push_back({static_cast<uint32_t>(k), tile});
      g.tasks.push_back(d);
    }
    g.bytes = at;
    groups.push_back(std::move(g));
    i += n;
  }
  return groups;
}

void write_metadata(const LaunchGroup& g, uint8_t* slot) {
  std::memcpy(slot, g.tasks.data(), g.tasks.size() * sizeof(TaskDesc));
  std::memcpy(slot + g.tile_table_offset, g.tile_table.data(),
              g.tile_table.size() * sizeof(TileDesc));
}

void copy_bytes(const CopyOp& op, uint8_t* slot, uint64_t from, uint64_t len) {
  if (len == 0) return;
  if (op.dequantized()) {  // whole values: slices are multiples of 8 bytes
    backend::dequantize(*op.t->dequant, op.first + from / sizeof(double), len / sizeof(double),
                        reinterpret_cast<double*>(slot + op.dst + from));
    return;
  }
  if (op.gathered()) {
    backend::gather_b(*op.t, op.order, op.first, op.count, from, len,
                      reinterpret_cast<std::byte*>(slot + op.dst + from));
    return;
  }
  std::memcpy(slot + op.dst + from, op.t->storage->data() + op.src_begin + from, len);
}

namespace {

void check_bounds(const char* field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value >= lo && value <= hi) return;
  std::string m = "CUDA config: ";
  m += field;
  m += " = ";
  m += std::to_string(value);
  m += ", expected ";
  m += std::to_string(lo);
  m += " to ";
  m += std::to_string(hi);
  throw Error(Errc::usage, m);
}

}  // namespace

void validate(const CudaConfig& config) {
  check_bounds("staging slot bytes", config.staging.slot_bytes, kMinSlotBytes, kMaxSlotBytes);
  check_bounds("staging slots", config.slots, kMinSlots, kMaxSlots);
}

std::vector<size_t> split_by_bytes(std::span<const uint64_t> bytes, size_t parts) {
  parts = std::max<size_t>(1, parts);
  uint64_t total = 0;
  for (uint64_t b : bytes) total += b;
  std::vector<size_t> cut{0};
  uint64_t acc = 0;
  size_t i = 0;
  for (size_t p = 1; p < parts; ++p) {
    const uint64_t target = total / parts * p + total % parts * p / parts;
    while (i < bytes.size() && acc + bytes[i] / 2 < target) acc += bytes[i++];
    cut.push_back(std::max(cut.back(), i));
  }
  cut.push_back(bytes.size());
  return cut;
}

}  // namespace weightdiff::cuda
