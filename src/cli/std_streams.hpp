// The standard streams of the command line.
//
// A process started with stdout (or stdin/stderr) closed would hand that
// descriptor number to the next file it opens — a model, a temporary report
// — and whatever is printed to "stdout" would land there. At start-up each
// closed one is filled with /dev/null, and remembered as closed so that
// writing to it is still an error.
#pragma once

namespace weightdiff::cli {

// Call first thing in main().
void reserve_closed_std_fds();

// True when the process started with that stream closed.
bool stdout_was_closed();

}  // namespace weightdiff::cli
