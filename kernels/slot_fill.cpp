#include "slot_fill.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <unordered_map>

#include "backend/dequant.hpp"
#include "io/sigbus_guard.hpp"

namespace weightdiff::cuda {
namespace {

constexpr uint64_t kCopyPiece = uint64_t{1} << 20;  // host copy work unit

struct Slice {
  const CopyOp* op;
  uint64_t from, len;
};

// A work unit: consecutive slices of one run, about kCopyPiece bytes.
struct Piece {
  const Storage* storage;
  size_t first, count;  // into the slices
};

}  // namespace

std::vector<CopyRun> copy_runs(const LaunchGroup& g) {
  std::vector<CopyRun> runs;
  std::unordered_map<const Storage*, size_t> open;  // a storage's latest run
  for (size_t i = 0; i < g.copies.size(); ++i) {
    const CopyOp& op = g.copies[i];
    if (op.bytes != 0 && op.dequantized()) {  // its own run over its weight's bytes, kept for the batch
      const TensorRef& w = op.t->dequant->weight;
      const backend::ByteRange r = backend::part_bytes_touched(*op.t, w, op.first, op.count);
      if (w.storage) runs.push_back({w.storage.get(), r.begin, r.end, {i}, true, 0});
      continue;
    }
    if (op.bytes == 0 || !op.t->storage) continue;
    const Storage* s = op.t->storage.get();
    if (op.gathered()) {
      runs.push_back({s, op.src_begin, op.src_end, {i}, true, op.first});
      continue;
    }
    const uint64_t begin = op.src_begin, end = op.src_begin + op.bytes;
    const auto it = open.find(s);
    if (it != open.end()) {
      CopyRun& r = runs[it->second];
      if (begin >= r.src_begin && begin <= r.src_end + kRunGap) {
        r.src_end = std::max(r.src_end, end);
        r.ops.push_back(i);
        continue;
      }
    }
    open[s] = runs.size();
    runs.push_back({s, begin, end, {i}});
  }
  return runs;
}

void prefetch_runs(const std::vector<CopyRun>& runs) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  for (const CopyRun& r : runs) {
    const std::byte* base = r.storage->data();
    if (!base) continue;
    // Every chunk of a transposed b spans the tensor: advise it once.
    if (r.gathered && r.gathered_first != 0) continue;
    const auto addr = reinterpret_cast<uintptr_t>(base + r.src_begin);
    const uintptr_t start = addr / page * page;
    ::madvise(reinterpret_cast<void*>(start), addr + (r.src_end - r.src_begin) - start,
              MADV_WILLNEED);
  }
}

void fill_slot(const LaunchGroup& g, const std::vector<CopyRun>& runs, uint8_t* slot,
               tbb::task_arena* arena) {
  write_metadata(g, slot);
  std::vector<Slice> slices;
  std::vector<Piece> pieces;
  for (const CopyRun& r : runs) {
    Piece p{r.storage, slices.size(), 0};
    uint64_t bytes = 0;
    for (const size_t i : r.ops) {
      const CopyOp& op = g.copies[i];
      for (uint64_t f = 0; f < op.bytes; f += kCopyPiece) {
        const uint64_t len = std::min(kCopyPiece, op.bytes - f);
        slices.push_back({&op, f, len});
        ++p.count, bytes += len;
        if (bytes >= kCopyPiece) {
          pieces.push_back(p);
          p = {r.storage, slices.size(), 0};
          bytes = 0;
        }
      }
    }
    if (p.count) pieces.push_back(p);
  }
  const auto copy = [&](const tbb::blocked_range<size_t>& range) {
    for (size_t k = range.begin(); k != range.end(); ++k) {
      const Piece& p = pieces[k];
      // A file truncated under us: Error(changed), not a SIGBUS.
      io::read_guarded(p.storage, nullptr, [&] {
        for (size_t s = p.first; s < p.first + p.count; ++s)
          copy_bytes(*slices[s].op, slot, slices[s].from, slices[s].len);
      });
    }
  };
  const tbb::blocked_range<size_t> all(0, pieces.size());
  if (arena)
    arena->execute([&] { tbb::parallel_for(all, copy); });
  else
    copy(all);
  // Copied: keep the resident set bounded (whole pages only; the engine
  // drops shared edge pages after the batch).
  for (const CopyRun& r : runs)
    if (!r.gathered) r.storage->release(r.src_begin, r.src_end - r.src_begin);
}

}  // namespace weightdiff::cuda
