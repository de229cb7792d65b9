#include "tests/pam/watchdog.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/pam/dev_log.h"

namespace sesame::pam_testing {
namespace {

pid_t g_main_pid = 0;
int g_per_test_seconds = 0;
int g_total_seconds = 0;
int64_t g_binary_start_ms = 0;
// Written by the main thread, read by the watchdog only when it fires (the
// main thread is stuck then); fixed buffers, so reading allocates nothing.
std::atomic<int64_t> g_test_start_ms{0};  // 0: no test running
char g_test_name[256] = {0};
std::atomic<int64_t> g_wait_since_ms{0};
char g_waiting[256] = {0};

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  for (char& c : s)
    if (c == '\0') c = ' ';
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<pid_t> Children() {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::string stat = Slurp(std::string("/proc/") + e->d_name + "/stat");
    size_t close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == getpid()) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return out;
}

[[noreturn]] void Fire(const std::string& why) {
  const int64_t now = NowMs();
  std::string r = "\nsesame_pam_tests: WATCHDOG: " + why + "\n";
  const int64_t test_start = g_test_start_ms.load();
  r += std::string("  test running: ") + (test_start != 0 ? g_test_name : "(none)");
  if (test_start != 0) r += " (for " + std::to_string((now - test_start) / 1000) + " s)";
  r += "\n  the test process waits for: ";
  const int64_t wait_since = g_wait_since_ms.load();
  if (wait_since != 0 && g_waiting[0] != '\0') {
    r += std::string(g_waiting) + " (for " + std::to_string((now - wait_since) / 1000) + " s)";
  } else {
    r += "nothing the harness knows of: it is inside libpam, the module or a test's own "
         "call (a syslog(3) blocked on a /dev/log nobody reads would look like this)";
  }
  r += "\n  main thread: " + ProcessState(getpid()) + ", syscall " +
       Slurp("/proc/" + std::to_string(getpid()) + "/syscall");
  r += "\n  /dev/log receiver: ";
  r += DevLog().available() ? "working" : "not available (" + DevLog().reason() + ")";
  r += "; foreign datagrams dropped: " + std::to_string(DevLog().foreign_messages());
  std::vector<pid_t> children = Children();
  if (children.empty()) r += "\n  no child processes";
  for (pid_t c : children) {
    std::string dir = "/proc/" + std::to_string(c);
    r += "\n  child " + std::to_string(c) + ": " + ProcessState(c) + ", " + Slurp(dir + "/cmdline");
  }
  r += "\n  killing the children and aborting, before ctest's TIMEOUT kills this without a word\n";
  ssize_t ignored = write(2, r.data(), r.size());
  (void)ignored;
  for (pid_t c : children) kill(c, SIGKILL);
  std::abort();  // removes our /dev/log (its SIGABRT handler) on the way
}

void WatchdogMain() {
  for (;;) {
    timespec second{1, 0};
    nanosleep(&second, nullptr);
    const int64_t now = NowMs();
    const int64_t test_start = g_test_start_ms.load();
    if (g_per_test_seconds > 0 && test_start != 0 &&
        now - test_start > int64_t{g_per_test_seconds} * 1000) {
      Fire("a test has run for more than " + std::to_string(g_per_test_seconds) +
           " s (alone, the whole binary takes about 25 s)");
    }
    if (g_total_seconds > 0 && now - g_binary_start_ms > int64_t{g_total_seconds} * 1000) {
      Fire("the tests have run for more than " + std::to_string(g_total_seconds) +
           " s, close to ctest's TIMEOUT");
    }
  }
}

class Listener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& info) override {
    std::snprintf(g_test_name, sizeof g_test_name, "%s.%s", info.test_suite_name(), info.name());
    g_test_start_ms.store(NowMs());
  }
  void OnTestEnd(const ::testing::TestInfo&) override { g_test_start_ms.store(0); }
};

}  // namespace

std::string ProcessState(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::string stat = Slurp(dir + "/stat");
  size_t close_paren = stat.rfind(')');
  std::string state = close_paren != std::string::npos && close_paren + 2 < stat.size()
                          ? stat.substr(close_paren + 2, 1)
                          : "?";
  std::string wchan = Slurp(dir + "/wchan");
  std::string out = "state " + state + ", wchan " + (wchan.empty() || wchan == "0" ? "-" : wchan);
  if (wchan == "unix_wait_for_peer") {
    out += " (sending a datagram to a full receiver: syslog(3) to a /dev/log nobody reads?)";
  } else if (wchan.find("futex") != std::string::npos) {
    out += " (waiting for a lock: in a forked child, one held at fork() by another thread?)";
  }
  return out;
}

void StartWatchdog(int per_test_seconds, int total_seconds) {
  g_main_pid = getpid();
  g_per_test_seconds = per_test_seconds;
  g_total_seconds = total_seconds;
  g_binary_start_ms = NowMs();
  ::testing::UnitTest::GetInstance()->listeners().Append(new Listener);
  std::thread(WatchdogMain).detach();
}

WaitingFor::WaitingFor(const std::string& what) {
  if (g_main_pid == 0 || getpid() != g_main_pid) return;
  active_ = true;
  std::memcpy(previous_, g_waiting, sizeof previous_);
  std::snprintf(g_waiting, sizeof g_waiting, "%s", what.c_str());
  g_wait_since_ms.store(NowMs());
}

WaitingFor::~WaitingFor() {
  if (!active_) return;
  std::memcpy(g_waiting, previous_, sizeof g_waiting);
  if (g_waiting[0] == '\0') g_wait_since_ms.store(0);
}

}  // namespace sesame::pam_testing
