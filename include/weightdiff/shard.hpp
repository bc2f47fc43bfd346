// --shard K/N (SPEC §8, issue 13): the K-th of N deterministic parts of a
// comparison, for Slurm job arrays and MPI ranks; `weightdiff merge` joins
// the parts' JSON into the single run's reports.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace weightdiff {

struct Shard {
  uint32_t k = 1;  // 1-based part number
  uint32_t n = 1;  // number of parts
  friend bool operator==(const Shard&, const Shard&) = default;
};

// "K/N" with 1 <= K <= N <= 65536, decimal. Throws Error(usage).
Shard parse_shard(std::string_view text);

// The part (0-based) of each compared pair, balanced by bytes: the largest
// pair first (ties: the earlier), each to the part with the fewest bytes so
// far (ties: the lower part). A pair is never split; the result depends
// only on `bytes` (the two catalogs and the options), so every part of a
// job array computes the same partition.
std::vector<uint32_t> assign_shards(const std::vector<uint64_t>& bytes, uint32_t n);

// A part's place in the whole (DiffResult::part): how many entries the
// comparison has in all, and each of this part's tensors' position among
// them. Structural entries (only in one side, shape or dtype mismatches)
// belong to part 1, every compared pair to its assign_shards part.
struct PartIndex {
  Shard shard;
  uint64_t entries = 0;
  std::vector<uint64_t> of_tensor;  // parallel to DiffResult::tensors
};

}  // namespace weightdiff
