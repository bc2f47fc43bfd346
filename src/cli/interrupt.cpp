#include "cli/interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace weightdiff::cli {
namespace {

CancelFlag g_cancel{false};
volatile sig_atomic_t g_signal = 0;
// The handler may only read what it can read atomically: a fixed buffer
// whose first byte is written last (and cleared first).
char g_temp[4096];

void on_signal(int sig) {
  if (g_signal != 0) {  // a second signal: the user insists
    if (g_temp[0] != '\0') ::unlink(g_temp);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  g_signal = sig;
  g_cancel.store(true, std::memory_order_relaxed);
}

}  // namespace

const CancelFlag* install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // no EINTR in the writers: the flag is polled instead
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return &g_cancel;
}

const char* interrupt_signal_name() {
  switch (g_signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "";
  }
}

void set_pending_temp_file(const std::string& path) {
  g_temp[0] = '\0';
  if (path.empty() || path.size() >= sizeof(g_temp)) return;
  std::memcpy(g_temp + 1, path.data() + 1, path.size() - 1);
  g_temp[path.size()] = '\0';
  std::atomic_signal_fence(std::memory_order_seq_cst);
  g_temp[0] = path[0];
}

}  // namespace weightdiff::cli
