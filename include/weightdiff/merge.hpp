// `weightdiff merge` (SPEC §8, issue 13): the JSON reports of the N parts
// of a --shard K/N run joined into the result the single run would have
// given, for every report writer and the exit code.
#pragma once

#include <string>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff {

struct MergedRun {
  // The models as the reports describe them (path, format, tensor count,
  // bytes, metadata); their tensors have no storage: nothing is read.
  Model a, b;
  // Tensors, statuses, summary, metadata differences and options of the
  // single run (settings.shard unset). Backend, devices, threads and notices
  // are part 1's; bytes_read the parts' sum, seconds the longest part's.
  // No gate is applied yet: apply_gates with the parts' fail_if (or others).
  DiffResult result;
  std::vector<std::string> fail_if;  // the gates the parts were run with
};

// Reads the parts' JSON reports (any order). Throws Error:
//   io        a part cannot be read;
//   malformed a file is not the JSON report of a --shard run, or a field
//             of it is missing or of the wrong kind;
//   conflict  the parts do not belong together: other inputs (path, size,
//             mtime), models, options or N; a part given twice;
//   usage     no part given, or a part of 1..N missing.
MergedRun merge_parts(const std::vector<std::string>& paths);

// The same from the parts' text (MPI ranks hand theirs to rank 0): `name`
// is how errors name the part.
struct PartText {
  std::string name;
  std::string json;
};
MergedRun merge_part_texts(std::vector<PartText> parts);

}  // namespace weightdiff
