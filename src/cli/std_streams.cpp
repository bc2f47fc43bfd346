#include "cli/std_streams.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace weightdiff::cli {
namespace {
bool g_stdout_closed = false;
}

void reserve_closed_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) continue;
    if (fd == STDOUT_FILENO) g_stdout_closed = true;
    // open() returns the lowest free number: this one.
    const int got = ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
    if (got != fd && got >= 0) ::close(got);
  }
}

bool stdout_was_closed() { return g_stdout_closed; }

}  // namespace weightdiff::cli
