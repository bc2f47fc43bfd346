#include "io/sigbus_guard.hpp"

#include <csignal>
#include <mutex>

namespace weightdiff::io::detail {
namespace {

void on_sigbus(int sig, siginfo_t* info, void*) {
  SigbusScope* scope = active_sigbus_scope();
  if (scope != nullptr) {
    scope->fault_address = info->si_addr;
    siglongjmp(scope->env, 1);
  }
  // Not a guarded read: the default action (terminate), as without us.
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
    sigaction(SIGBUS, &sa, nullptr);
  });
}

}  // namespace weightdiff::io::detail
