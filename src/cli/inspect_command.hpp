// `weightdiff inspect [OPTIONS] A` (SPEC §1): one model's per-tensor stats.
#pragma once

namespace weightdiff::cli {

// argv[0] is the word "inspect". Returns the exit code: 0 healthy, 1 when a
// tensor holds NaN or Inf, 2 for trouble (one line on stderr, no partial report).
int inspect_command(int argc, char** argv);

}  // namespace weightdiff::cli
