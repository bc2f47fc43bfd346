#include "io/sigbus_guard.hpp"

#include <csignal>
#include <mutex>

namespace weightdiff::io::detail {
namespace {

// The handler that was there before ours: a program (or a runtime such as a
// JVM or Python's faulthandler) that embeds the library keeps its own.
struct sigaction g_previous {};

void on_sigbus(int sig, siginfo_t* info, void* context) {
  SigbusScope* scope = active_sigbus_scope();
  if (scope != nullptr) {
    scope->fault_address = info->si_addr;
    siglongjmp(scope->env, 1);
  }
  // Not a guarded read: whatever handled it before us, else the default
  // action (terminate), as without us.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
      g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

SigbusScope*& active_sigbus_scope() {
  thread_local SigbusScope* scope = nullptr;
  return scope;
}

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace weightdiff::io::detail
