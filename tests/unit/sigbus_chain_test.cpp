// The SIGBUS guard keeps the handler a host program had: a SIGBUS outside a
// guarded read reaches it (an embedding runtime keeps its own crash handling).
#include <gtest/gtest.h>

#include <csignal>
#include <unistd.h>

#include "io/sigbus_guard.hpp"

namespace wdtest {
namespace {

void host_handler(int) { ::_exit(42); }

TEST(SigbusGuardDeathTest, AnUnguardedSigbusReachesThePreviousHandler) {
  // threadsafe: the child is a fresh process, so the guard installs there
  // after the host's handler, as in an embedding program.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::signal(SIGBUS, host_handler);
        weightdiff::io::read_guarded(nullptr, nullptr, [] {});  // installs the guard
        std::raise(SIGBUS);
        ::_exit(0);  // the host handler never ran
      },
      testing::ExitedWithCode(42), "");
}

}  // namespace
}  // namespace wdtest
