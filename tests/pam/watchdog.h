// A watchdog for sesame_pam_tests: the last bound, for the waits the harness
// cannot bound itself (a syslog(3) call of the module blocked on a /dev/log
// nobody reads, a deadlock inside libpam or a module in the test process).
// When one test has run for longer than its limit, or the whole binary is
// close to ctest's TIMEOUT, it writes to stderr which test runs, what the
// test process says it is waiting for (WaitingFor), the state of the /dev/log
// receiver and of every child process (/proc: state, wchan), kills the
// children and aborts, so the ctest log says what hung instead of only
// "Timeout".
//
// Fork safety: the watchdog thread only reads atomics and fixed buffers
// until it fires (no allocation, no lock), so a child forked at any moment
// inherits nothing held (see the top of tests/pam/dev_log.h).
#ifndef SESAME_TESTS_PAM_WATCHDOG_H_
#define SESAME_TESTS_PAM_WATCHDOG_H_

#include <sys/types.h>

#include <string>

namespace sesame::pam_testing {

// Starts the watchdog thread and registers a gtest listener that tells it
// which test runs. A test may run `per_test_seconds`; the whole binary
// `total_seconds` (give ctest's TIMEOUT minus a margin). 0 turns a limit off.
void StartWatchdog(int per_test_seconds, int total_seconds);

// "state S, wchan unix_wait_for_peer (...)" of a process, from /proc, with a
// hint for the waits seen when it hung: for a message about a stuck child.
std::string ProcessState(pid_t pid);

// Marks, for the watchdog's report, what the test process waits for during
// this object's lifetime ("child signing in as alice (pid 123)"). Nests: the
// innermost is reported. Does nothing in a forked child.
class WaitingFor {
 public:
  explicit WaitingFor(const std::string& what);
  ~WaitingFor();
  WaitingFor(const WaitingFor&) = delete;
  WaitingFor& operator=(const WaitingFor&) = delete;

 private:
  bool active_ = false;
  char previous_[256] = {0};
};

}  // namespace sesame::pam_testing

#endif  // SESAME_TESTS_PAM_WATCHDOG_H_
