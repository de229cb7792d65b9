// main() of sesame_pam_tests: refuses to run where the tests would mean
// nothing (not root, pam_wrapper not preloaded), owns /dev/log for the run,
// starts the watchdog (tests/pam/watchdog.h).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/pam/dev_log.h"
#include "tests/pam/pam_harness.h"
#include "tests/pam/watchdog.h"

namespace {

using sesame::pam_testing::DevLog;
using sesame::pam_testing::kServiceDir;

// A positive number from the environment, else `fallback`.
int EnvSeconds(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  int n = std::atoi(value);
  return n > 0 ? n : fallback;
}

// Returns "" when the process is set up as CTest sets it up, else the problem.
std::string CheckEnvironment() {
  if (geteuid() != 0) {
    return "sesame_pam_tests must run as root: pam_sesame refuses config, key and store files "
           "that root does not own, and the tests bind /dev/log. Run it as root, e.g. "
           "`sudo ctest --test-dir BUILD -R pam`.";
  }
  const char* enabled = std::getenv("PAM_WRAPPER");
  const char* service_dir = std::getenv("PAM_WRAPPER_SERVICE_DIR");
  if (dlsym(RTLD_DEFAULT, "pam_wrapper_enabled") == nullptr || enabled == nullptr ||
      std::strcmp(enabled, "1") != 0 || service_dir == nullptr) {
    return "sesame_pam_tests must run under pam_wrapper (LD_PRELOAD=libpam_wrapper.so "
           "PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=" +
           kServiceDir +
           " PAM_WRAPPER_USE_SYSLOG=1); without it libpam would read /etc/pam.d. Run it "
           "through CTest, which sets these.";
  }
  if (kServiceDir != service_dir) {
    return std::string("PAM_WRAPPER_SERVICE_DIR is ") + service_dir +
           " but the service files "
           "of this build are in " +
           kServiceDir;
  }
  struct stat st {};
  if (stat((kServiceDir + "/sesame").c_str(), &st) != 0) {
    return "no service files in " + kServiceDir + " (build the project first)";
  }
  const char* use_syslog = std::getenv("PAM_WRAPPER_USE_SYSLOG");
  if (use_syslog == nullptr || std::strcmp(use_syslog, "1") != 0) {
    return "PAM_WRAPPER_USE_SYSLOG=1 is needed: without it pam_wrapper prints pam_syslog "
           "messages to stderr and the log assertions see nothing";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();

  std::string problem = CheckEnvironment();
  if (!problem.empty()) {
    std::fprintf(stderr, "sesame_pam_tests: error: %s\n", problem.c_str());
    return 1;
  }
  // A reader that went away must not kill the test binary.
  signal(SIGPIPE, SIG_IGN);
  // The preloaded libraries are in this process (and in its forked
  // children) now; programs it runs (sesame-admin, nm, pam_exec's checker)
  // must not get pam_wrapper or the ASan runtime forced on them.
  unsetenv("LD_PRELOAD");

  DevLog().Start("sesame_pam_tests");
  if (!DevLog().available()) {
    std::fprintf(stderr,
                 "sesame_pam_tests: note: log assertions will be skipped, and the module's "
                 "messages are not sent to syslog: %s\n",
                 DevLog().reason().c_str());
    sesame::pam_testing::DevLogCapture::StopModuleSyslog();
  }
  // One test takes a few seconds; the whole binary about 25 s (ASan). The
  // whole-run limit stays below ctest's TIMEOUT (tests/pam/CMakeLists.txt
  // passes it), so the watchdog's report comes before ctest's kill.
  const int ctest_timeout = EnvSeconds("SESAME_PAM_TESTS_TIMEOUT", 0);
  sesame::pam_testing::StartWatchdog(EnvSeconds("SESAME_PAM_TEST_LIMIT", 120),
                                     ctest_timeout > 30 ? ctest_timeout - 20 : 0);
  int rc = RUN_ALL_TESTS();
  if (DevLog().foreign_messages() > 0) {
    std::fprintf(stderr,
                 "sesame_pam_tests: note: %llu syslog messages of other programs arrived at our "
                 "/dev/log and were dropped\n",
                 static_cast<unsigned long long>(DevLog().foreign_messages()));
  }
  DevLog().Stop();
  return rc;
}
