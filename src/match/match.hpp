// Matching is pure: two catalogs and the options in, the list of entries out.
#pragma once

#include <string>
#include <vector>

#include "weightdiff/model.hpp"
#include "weightdiff/options.hpp"

namespace weightdiff::match {

struct Entry {
  std::string name;              // A's name, or B's mapped name when only in B
  std::string name_b;            // B's original name ("" when only in A)
  // The name the entry was paired by, when a side's derived name
  // (TensorRef::matched_as, after --map for B) was used; "" otherwise.
  std::string matched_as;
  const TensorRef* a = nullptr;  // null: only in B
  const TensorRef* b = nullptr;  // null: only in A
  // Nonzero: that side holds the tensor with llama.cpp's Q/K row
  // permutation for this many heads (--map-preset llama-gguf).
  uint32_t rope_heads_a = 0, rope_heads_b = 0;
};

// Applies --map-preset (a side's preset names act as its derived names),
// --map to B's names, the include/exclude filters to both sides,
// and pairs by name: a tensor's matched_as when it has one (for B: unless a
// --map rule renames its file name), else its name; --map applies to B's
// matched_as too. A filter keeps or drops a tensor when it matches either
// of its names (the file's, mapped for B, and the matched one). Sorted by
// name, then matched_as, byte-wise. Throws Error(usage) for a bad
// regex or filters that leave nothing of a side that had tensors, and
// Error(conflict) when two B tensors map to one name.
std::vector<Entry> match_tensors(const Model& a, const Model& b, const MatchOptions& opt);

// The tensors of one model that the include/exclude filters keep (--map
// does not apply), in catalog order. Throws Error(usage) for a bad regex or
// filters that leave nothing of a model that had tensors.
std::vector<const TensorRef*> select_tensors(const Model& m, const MatchOptions& opt);

}  // namespace weightdiff::match
