// `weightdiff merge PART.json... [--json|--csv|--html PATH] [--fail-if ...]`
// (SPEC §8): the parts of a --shard K/N run joined into the single run's
// reports and exit code.
#pragma once

namespace weightdiff::cli {

// argv[0] is the word "merge". Returns the exit code as the single run's:
// 0 no difference, 1 differences, 2 trouble (parts that do not belong
// together, one missing or given twice: one line on stderr, no report).
int merge_command(int argc, char** argv);

}  // namespace weightdiff::cli
