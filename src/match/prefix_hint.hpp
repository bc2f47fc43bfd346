// Name-matching help: when a consistent prefix explains why tensors are
// unmatched (`model.` vs none, `transformer.` vs `model.`), the --map rule
// that would pair them. Pure: two name lists in, a suggestion out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace weightdiff::match {

struct PrefixHint {
  std::string from, to;  // B's prefix and what it becomes (either may be empty)
  // Components right after `from` whose names are left alone: those that
  // match as they are (`lm_head` when only the other names lack `model.`).
  std::vector<std::string> except;
  std::string map_rule;  // the --map argument, e.g. ^transformer\.=model.
  size_t newly_matched = 0;  // B-only names that then match an A-only name
  size_t unmatched_b = 0;    // B-only names before the rename
  size_t broken = 0;         // pairs matched now that the rename would undo
};

// a_names: A's names; b_names: B's names as matched (after the user's --map).
// A suggestion only when the rename, applied by --map to every B name, pairs
// at least 3 and at least half of the smaller side's unmatched names, gains
// more pairs than it breaks and sends no two B names to one name. Prefixes and excepted
// components are whole components ('.' or '/' separated) made of
// [A-Za-z0-9_-], so the rule needs no shell quoting and no regex escape but
// the dots' (exceptions spell out, without lookahead, "any other component").
std::optional<PrefixHint> suggest_prefix_map(const std::vector<std::string>& a_names,
                                             const std::vector<std::string>& b_names);

// One line for stderr, e.g. "240 of 243 tensors only in B match a tensor of A
// after renaming B's prefix 'transformer.' to 'model.': try --map '...'".
std::string hint_text(const PrefixHint& hint, bool after_other_maps);

}  // namespace weightdiff::match
