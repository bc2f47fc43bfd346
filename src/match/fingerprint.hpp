// Content-fingerprint pairing hint: among the tensors still unmatched after
// name matching, those of equal dtype and element count whose values are
// exactly equal, or exactly transposed (2-D), and the --map rules that would
// pair them. A hint only: it reads unmatched tensors, never changes a status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "match/match.hpp"
#include "weightdiff/cancel.hpp"
#include "weightdiff/options.hpp"

namespace weightdiff::match {

// Permutation-invariant: the element count and a wrapping sum of a 64-bit
// mix of each element's bits, so a tensor and its transpose (or any
// reordering) agree. `elem_bytes` is 1, 2, 4 or 8; `n` elements at `p`.
struct Fingerprint {
  uint64_t count = 0, sum = 0;
  void add(const std::byte* p, uint64_t n, size_t elem_bytes) noexcept;
  bool operator==(const Fingerprint&) const = default;
};

// a is rows x cols, b is cols x rows: whether a[r][c] == b[c][r] bytewise.
bool equal_transposed(const std::byte* a, const std::byte* b, uint64_t rows, uint64_t cols,
                      size_t elem_bytes) noexcept;

// Unmatched tensors' total bytes above which no fingerprint is taken.
inline constexpr uint64_t kFingerprintByteCap = uint64_t{4} << 30;

struct ContentPair {
  std::string a_key, b_key;  // the names they are matched as (B's after --map)
  bool transposed = false;
};

struct ContentHint {
  std::vector<ContentPair> pairs;  // by B's key
  std::vector<MapRule> rules;      // one per pair, in that order
};

// Reads the unmatched tensors of `entries` with a counterpart of equal dtype
// and element count on the other side (at most `byte_cap` bytes in all,
// else nothing is read), a chunk at a time, and verifies every fingerprint
// match exactly. Constant tensors (all elements alike: a fresh norm's ones)
// and values found more than once on a side are never suggested: they name
// no one tensor. nullopt when nothing pairs. Throws Error(cancelled) only;
// a file that changed gives no hint (the run reports it where it matters).
std::optional<ContentHint> suggest_content_map(const std::vector<Entry>& entries,
                                               const CancelFlag* cancel,
                                               uint64_t byte_cap = kFingerprintByteCap);

// One line for stderr: the rules when a few, else how many and where the
// list is (--json).
std::string content_hint_text(const ContentHint& hint, bool after_other_maps);

// ^NAME$ with NAME's regex metacharacters escaped, and a replacement with
// '$' doubled: a rule that renames exactly `from` to `to`.
MapRule exact_rename_rule(const std::string& from, const std::string& to);

}  // namespace weightdiff::match
