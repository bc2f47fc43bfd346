// SIGINT/SIGTERM for the command line: the first one asks the library to
// stop (Error(cancelled) at the next batch, exit 2 with one line, temporary
// report files removed by the writer that owns them); a second one ends the
// process at once, after removing the temporary file being written, if any.
#pragma once

#include <string>

#include "weightdiff/cancel.hpp"

namespace weightdiff::cli {

// Installs the handlers (idempotent) and returns the flag they set.
const CancelFlag* install_interrupt_handlers();

// The signal that set the flag ("SIGINT", "SIGTERM"), or "" when none did.
const char* interrupt_signal_name();

// The temporary report file being written, removed by a second signal.
// One at a time (reports are written one after the other); "" clears it.
void set_pending_temp_file(const std::string& path);

}  // namespace weightdiff::cli
