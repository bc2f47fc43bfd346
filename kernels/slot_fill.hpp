// Filling a staging slot from the mappings (host C++, no CUDA): the staging
// ring (staging_ring.cpp) and the CUDA emulation fill slots with it.
//
// A launch group's copies are merged into runs: consecutive copies from one
// file whose source bytes follow each other. The SIGBUS guard is entered
// once per ~1 MiB piece of a run, and madvise and the page release are
// called once per run: a batch of 100k small tensors is a few runs, not
// 200k separate 4 KiB ranges.
#pragma once

#include <tbb/task_arena.h>

#include <vector>

#include "launch_plan.hpp"

namespace weightdiff::cuda {

struct CopyRun {
  const Storage* storage;
  uint64_t src_begin, src_end;  // the bytes the run's copies read, in that storage
  std::vector<size_t> ops;      // into LaunchGroup::copies, in order
  // One gathered copy (a transposed b) or dequantized one (its weight's
  // bytes): its own run, its pages kept for the tensor's next chunk (the
  // engine drops them with the batch).
  bool gathered = false;
  uint64_t gathered_first = 0;  // its a-order index of the first element
};

// Copies follow each other when the next starts at most a page past the
// previous end (the gap is guarded and prefetched, never copied).
inline constexpr uint64_t kRunGap = 4096;

// The group's non-empty copies as runs, each storage's in copy order; a
// gathered copy is a run of its own.
std::vector<CopyRun> copy_runs(const LaunchGroup& g);

// Asks the kernel to read every run's pages (MADV_WILLNEED); a gathered
// run's whole span once, with its tensor's first chunk.
void prefetch_runs(const std::vector<CopyRun>& runs);

// Writes g's metadata and copies its bytes into `slot` on `arena`'s threads
// (this thread when null), a file truncated meanwhile being Error(changed),
// then drops the whole pages of each run from the resident set.
void fill_slot(const LaunchGroup& g, const std::vector<CopyRun>& runs, uint8_t* slot,
               tbb::task_arena* arena);

}  // namespace weightdiff::cuda
