// Many processes at once, as sshd children or Dovecot auth workers: every
// sign-in gets the right answer and exactly one event while an administrator
// changes other accounts, and the host-wide argon2 cap holds across
// processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/crypto/password_hash.h"
#include "core/store/sqlite/sqlite_store.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

// A child's report: one line through a pipe (atomic below PIPE_BUF).
void Report(int fd, const std::string& text) {
  std::string line = text.substr(0, 400) + "\n";
  ssize_t ignored = write(fd, line.data(), line.size());
  (void)ignored;
}

std::string ReadAllFrom(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// WaitAtGate and ForkWarmPamChild (bounded) are in pam_harness.h.

struct ChildStatus {
  pid_t pid;
  int status;
};

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// At most kChildTimeoutSeconds; then the child is killed and the test fails
// naming `what` (WaitChild).
ChildStatus Wait(pid_t pid, const std::string& what = "a forked child") {
  return {pid, WaitChild(pid, what)};
}

constexpr char kAlicePassword[] = "alice stopped writer password 4";

std::string WorkerPassword(int i) { return "load worker password " + std::to_string(i * 7 + 3); }

using ConcurrencyTest = PamTest;

TEST_F(ConcurrencyTest, ParallelSignInsWhileAnAdministratorChangesOtherAccounts) {
  constexpr int kWorkers = 4;
  constexpr int kRounds = 200;
  auto is_wrong_round = [](int worker, int round) { return (round + worker) % 4 == 3; };
  for (int i = 0; i < kWorkers; ++i)
    ASSERT_NO_FATAL_FAILURE(AddUser("load" + std::to_string(i), WorkerPassword(i)));

  size_t mark = DevLog().Mark();
  int gate[2], stop[2], reports[2];
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(stop, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(reports, O_CLOEXEC), 0);
  std::vector<pid_t> workers;
  for (int w = 0; w < kWorkers; ++w) {
    pid_t pid = ForkWarmPamChild();
    ASSERT_GE(pid, 0) << strerror(errno);
    if (pid == 0) {
      close(gate[1]);
      close(stop[1]);
      close(reports[0]);
      WaitAtGate(gate[0]);
      const std::string user = "load" + std::to_string(w);
      const std::string right = WorkerPassword(w);
      int mismatches = 0;
      std::string first;
      for (int r = 0; r < kRounds; ++r) {
        bool wrong = is_wrong_round(w, r);
        DirectRun d = DirectSignIn("sesame-quiet", user.c_str(), wrong ? right + "x" : right,
                                   nullptr, /*account=*/true);
        int want_auth = wrong ? PAM_AUTH_ERR : PAM_SUCCESS;
        if (d.start != PAM_SUCCESS || d.auth != want_auth || d.account != PAM_SUCCESS ||
            d.end != PAM_SUCCESS || d.prompts != 1) {
          if (mismatches++ == 0) {
            first = "round " + std::to_string(r) + ": start " + PamCodeName(d.start) + ", auth " +
                    PamCodeName(d.auth) + " (want " + PamCodeName(want_auth) + "), account " +
                    PamCodeName(d.account) + ", end " + PamCodeName(d.end) + ", prompts " +
                    std::to_string(d.prompts);
          }
        }
      }
      Report(reports[1], "worker " + user + ": " + std::to_string(mismatches) + " mismatches" +
                             (first.empty() ? "" : "; first: " + first));
      ExitChild(mismatches == 0 ? 0 : 1);
    }
    workers.push_back(pid);
  }

  // The administrator: adds and disables other accounts through the core
  // store API until the workers are done.
  std::fflush(nullptr);
  pid_t admin = fork();
  ASSERT_GE(admin, 0) << strerror(errno);
  if (admin == 0) {
    close(gate[1]);
    close(stop[1]);
    close(reports[0]);
    NullLogger logger;
    SystemRandom random;
    PasswordHasher hasher(Argon2Params{1, 8, 1}, nullptr, logger);
    Result<std::string> hash = hasher.Hash("churn password 0", random);
    SqliteOptions options;
    options.busy_timeout_ms = 5000;
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(store_path_, options);
    if (!hash.ok() || !store.ok()) {
      Report(reports[1], "admin: cannot start: " +
                             (hash.ok() ? store.status().message() : hash.status().message()));
      ExitChild(1);
    }
    WaitAtGate(gate[0]);
    int changes = 0, errors = 0;
    std::string first_error;
    pollfd done = {stop[0], POLLIN, 0};
    for (int n = 0; poll(&done, 1, 0) == 0; ++n) {
      UserRecord user;
      user.name = "churn" + std::to_string(n);
      user.password_hash = hash.value();
      user.created = user.password_changed = 1700000000 + n;
      for (Status st : {(*store)->AddUser(user), (*store)->SetDisabled(user.name, true)}) {
        ++changes;
        if (!st.ok() && errors++ == 0) first_error = st.message();
      }
    }
    Report(reports[1], "admin: " + std::to_string(changes) + " changes, " + std::to_string(errors) +
                           " errors" + (first_error.empty() ? "" : "; first: " + first_error));
    ExitChild(errors == 0 && changes > 0 ? 0 : 1);
  }

  close(gate[0]);
  close(stop[0]);
  close(reports[1]);
  const auto started = std::chrono::steady_clock::now();
  close(gate[1]);  // go
  std::vector<ChildStatus> worker_status;
  for (size_t w = 0; w < workers.size(); ++w)
    worker_status.push_back(Wait(workers[w], "worker signing in as load" + std::to_string(w)));
  close(stop[1]);  // the administrator stops
  ChildStatus admin_status = Wait(admin, "administrator child changing other accounts");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string report = ReadAllFrom(reports[0]);
  close(reports[0]);
  std::printf("%d x %d sign-ins with a concurrent administrator took %.1f s\n%s", kWorkers, kRounds,
              seconds, report.c_str());

  for (const ChildStatus& c : worker_status)
    EXPECT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)
        << "worker " << c.pid << ": " << Describe(c.status) << "\n"
        << report;
  EXPECT_TRUE(WIFEXITED(admin_status.status) && WEXITSTATUS(admin_status.status) == 0)
      << "administrator: " << Describe(admin_status.status) << "\n"
      << report;

  // Exactly one event per sign-in, with the right outcome.
  std::map<std::string, std::map<std::string, int>> outcomes;
  for (const SignInEvent& e : Events()) ++outcomes[e.user][e.outcome];
  for (int w = 0; w < kWorkers; ++w) {
    int wrong = 0;
    for (int r = 0; r < kRounds; ++r) wrong += is_wrong_round(w, r) ? 1 : 0;
    std::map<std::string, int> want = {{"success", kRounds - wrong}, {"failure", wrong}};
    EXPECT_EQ(outcomes["load" + std::to_string(w)], want) << "load" << w;
    outcomes.erase("load" + std::to_string(w));
  }
  EXPECT_TRUE(outcomes.empty()) << "events for other users: " << outcomes.begin()->first;

  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  for (const LogLine& l : lines) {
    std::string lower = l.text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    EXPECT_EQ(lower.find("database is locked"), std::string::npos) << l.text;
    EXPECT_EQ(lower.find("busy"), std::string::npos) << l.text;
  }
  EXPECT_EQ(Matching(lines, "password sign-in success for user load").size(), 600u);
  EXPECT_EQ(Matching(lines, "password sign-in failure for user load").size(), 200u);
  EXPECT_EQ(Matching(lines, "account check success for user load").size(), 800u);
}

// ---- the host-wide argon2 cap ----

constexpr int kBurst = 8;
constexpr char kCapPassword[] = "expensive password 64";

class Argon2CapTest : public PamTest {
 protected:
  // ~100 ms per argon2 computation here; at most 2 at once. The lockout
  // window is made large enough for the burst: with deny 5 the sixth of
  // eight sign-ins at once waits for the first five to settle
  // (Store::ReserveAttempt), which is not what this test is about.
  std::map<std::string, std::string> CapConfig(const std::string& max_wait_ms) {
    return {{"deny", "100"},
            {"argon2_memory_kib", "65536"},
            {"argon2_time_cost", "2"},
            {"argon2_max_concurrent", "2"},
            {"argon2_max_wait_ms", max_wait_ms}};
  }

  // kBurst processes sign in as capuser at the same moment (debug service);
  // returns each one's authenticate result (or 1000 + signal / 2000 + exit).
  std::vector<int> Burst() {
    int gate[2];
    EXPECT_EQ(pipe2(gate, O_CLOEXEC), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kBurst; ++i) {
      pid_t pid = ForkWarmPamChild();
      if (pid == 0) {
        close(gate[1]);
        WaitAtGate(gate[0]);
        DirectRun d = DirectSignIn("sesame", "capuser", kCapPassword, nullptr, false);
        if (d.start != PAM_SUCCESS || d.end != PAM_SUCCESS) ExitChild(200);
        ExitChild(d.auth);
      }
      if (pid > 0) pids.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);
    std::vector<int> results;
    for (pid_t pid : pids) {
      ChildStatus c = Wait(pid, "burst child signing in as capuser");
      if (WIFSIGNALED(c.status)) {
        results.push_back(1000 + WTERMSIG(c.status));
      } else {
        int code = WEXITSTATUS(c.status);
        results.push_back(code == 200 ? 2000 + code : code);
      }
    }
    return results;
  }
};

TEST_F(Argon2CapTest, NeverMoreThanTheCapAcrossProcesses) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig(CapConfig("10000")));
  ASSERT_NO_FATAL_FAILURE(AddUser("capuser", kCapPassword));
  size_t mark = DevLog().Mark();
  std::vector<int> results = Burst();
  EXPECT_EQ(PamCodeNames(results), PamCodeNames(std::vector<int>(kBurst, PAM_SUCCESS)));

  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  // Running count over the ordered log: "start" is logged with the slot
  // held, "end" before it is released.
  int running = 0, max_running = 0, starts = 0, ends = 0;
  std::map<pid_t, int> open_by_pid;
  std::map<pid_t, int> computations_by_pid;
  for (const LogLine& l : lines) {
    if (l.text.find("pam_sesame(sesame:auth): argon2: start") != std::string::npos) {
      ++starts;
      EXPECT_EQ(open_by_pid[l.pid]++, 0) << "pid " << l.pid << " started twice";
      ++computations_by_pid[l.pid];
      max_running = std::max(max_running, ++running);
    } else if (l.text.find("pam_sesame(sesame:auth): argon2: end") != std::string::npos) {
      ++ends;
      EXPECT_EQ(open_by_pid[l.pid]--, 1) << "pid " << l.pid << " ended without a start";
      --running;
    }
  }
  EXPECT_EQ(starts, kBurst) << Dump(lines);
  EXPECT_EQ(ends, kBurst) << Dump(lines);
  EXPECT_EQ(computations_by_pid.size(), static_cast<size_t>(kBurst))
      << "expected one computation in each of " << kBurst << " processes\n"
      << Dump(lines);
  EXPECT_EQ(computations_by_pid.count(-1), 0u) << "log lines without a pid\n" << Dump(lines);
  EXPECT_EQ(max_running, 2) << Dump(lines);
}

TEST_F(Argon2CapTest, ShortWaitFailsCleanlyWithAuthinfoUnavail) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig(CapConfig("10000")));
  ASSERT_NO_FATAL_FAILURE(AddUser("capuser", kCapPassword));
  ASSERT_NO_FATAL_FAILURE(WriteConfig(CapConfig("50")));
  size_t mark = DevLog().Mark();
  std::vector<int> results = Burst();
  int ok = 0, unavailable = 0;
  for (int r : results) {
    EXPECT_TRUE(r == PAM_SUCCESS || r == PAM_AUTHINFO_UNAVAIL)
        << PamCodeName(r) << " (>= 1000: killed by signal or pam_start/pam_end failed)";
    ok += r == PAM_SUCCESS ? 1 : 0;
    unavailable += r == PAM_AUTHINFO_UNAVAIL ? 1 : 0;
  }
  EXPECT_GE(unavailable, 1) << PamCodeNames(results);
  EXPECT_GE(ok, 2) << "the first two to try always find a free slot\n" << PamCodeNames(results);

  std::map<std::string, int> outcomes;
  for (const SignInEvent& e : Events()) {
    ++outcomes[e.outcome];
    if (e.outcome == "error") {
      EXPECT_NE(e.detail.find("argon2_max_concurrent = 2"), std::string::npos) << e.detail;
    }
  }
  std::map<std::string, int> want;
  if (ok > 0) want["success"] = ok;
  if (unavailable > 0) want["error"] = unavailable;
  EXPECT_EQ(outcomes, want);

  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_EQ(Matching(Matching(lines, "password sign-in error for user capuser (service sesame): "),
                     "no argon2 slot came free within 50 ms (argon2_max_concurrent = 2)")
                .size(),
            static_cast<size_t>(unavailable))
      << Dump(lines);
}

// su and sudo run PAM with their caller as real uid, so the caller may
// SIGSTOP them, and a user may freeze even the setuid tool with a cgroup
// systemd delegated to them. One halted inside a write transaction kept
// the store's write lock, and every sign-in on the host waited out the busy
// timeout and failed, for as long as that user liked. Here a sqlite3
// process holds the lock and is stopped, standing in for such a su (the
// lock and the stop are the same; the moment is not worth racing for): a
// sign-in through libpam ends it after about two seconds and succeeds, the
// stopped writer's change is rolled back, and syslog says what was ended.
TEST_F(ConcurrencyTest, AWriterStoppedHoldingTheStoreDoesNotLockEveryoneOut) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kAlicePassword));
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(pipe2(to_child, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(from_child, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (dup2(to_child[0], 0) != 0 || dup2(from_child[1], 1) != 1) _exit(126);
    std::string path = store_path_;
    char arg0[] = "sqlite3";
    char* argv[] = {arg0, path.data(), nullptr};
    char env0[] = "PATH=/usr/bin:/bin";
    char* envp[] = {env0, nullptr};
    execve("/usr/bin/sqlite3", argv, envp);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  const std::string hold =
      "BEGIN IMMEDIATE;\nUPDATE users SET disabled = 1 WHERE name = 'alice';\nSELECT 'held';\n";
  ASSERT_EQ(write(to_child[1], hold.data(), hold.size()), static_cast<ssize_t>(hold.size()));
  ASSERT_TRUE(WaitReadable(from_child[0], 10000)) << "sqlite3 did not take the lock";
  char said[16] = {0};
  ASSERT_GT(read(from_child[0], said, sizeof said - 1), 0);
  ASSERT_STREQ(said, "held\n");
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status)) << Describe(status);

  size_t mark = DevLog().Mark();
  const auto start = std::chrono::steady_clock::now();
  PamRun run =
      RunPam("sesame-quiet", "alice", {kAlicePassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  EXPECT_LT(took, 4500) << "the sign-in waited out the busy timeout";
  ChildStatus c = Wait(pid, "the stopped sqlite3");
  reaper.pid = 0;
  ASSERT_TRUE(WIFSIGNALED(c.status)) << Describe(c.status);
  EXPECT_EQ(WTERMSIG(c.status), SIGKILL);
  close(to_child[1]);
  close(from_child[0]);
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_FALSE(alice->disabled) << "the stopped writer's change was not rolled back";
  if (DevLog().available()) {
    std::vector<LogLine> lines = DevLog().Since(mark);
    EXPECT_TRUE(AnyContains(lines, "ended process " + std::to_string(pid) +
                                       " (sqlite3), which was stopped while it held a lock "
                                       "of store " +
                                       store_path_))
        << Dump(lines);
  }
}

// The issue: a local user can stop su or sudo (they run PAM with the user
// as real uid) in the middle of a hash, and stopped processes held every
// argon2 slot, so root's right password was refused after
// argon2_max_wait_ms. Children with real uid 65534 (effective 0, as a
// setuid su) sign in with a slow hash and are stopped mid-way; root's
// sign-in then succeeds.
TEST_F(Argon2CapTest, StoppedSignInsOfAUserDoNotLockRootOut) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "100"},
                                       {"argon2_memory_kib", "65536"},
                                       {"argon2_time_cost", "16"},
                                       {"argon2_max_concurrent", "1"},
                                       {"argon2_max_wait_ms", "3000"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("capuser", kCapPassword));
  std::vector<pid_t> stopped;
  // However the test ends, no child is left stopped (it would hold the
  // test's output pipe open forever).
  struct Reaper {
    std::vector<pid_t>& pids;
    ~Reaper() {
      for (pid_t pid : pids) {
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
      }
    }
  } reaper{stopped};
  for (int i = 0; i < 3; ++i) {
    pid_t pid = ForkWarmPamChild();
    if (pid == 0) {
      if (setresuid(65534, 0, 0) != 0) ExitChild(200);
      DirectRun d = DirectSignIn("sesame-quiet", "capuser", kCapPassword, nullptr, false);
      ExitChild(d.auth);
    }
    ASSERT_GT(pid, 0);
    stopped.push_back(pid);
  }
  usleep(300 * 1000);  // well into the first one's hash; the others wait their turn
  for (pid_t pid : stopped) kill(pid, SIGSTOP);
  for (pid_t pid : stopped) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
    ASSERT_TRUE(WIFSTOPPED(status)) << Describe(status);
  }
  const auto start = std::chrono::steady_clock::now();
  PamRun root =
      RunPam("sesame-quiet", "capuser", {kCapPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  EXPECT_PAM_CODES(root, PAM_SUCCESS);
  EXPECT_LT(took, 3000) << "root waited for the stopped holders";
  for (pid_t pid : stopped) kill(pid, SIGCONT);
  for (pid_t pid : stopped) {
    ChildStatus c = Wait(pid);
    EXPECT_TRUE(WIFEXITED(c.status)) << Describe(c.status);
  }
  stopped.clear();
}

}  // namespace
}  // namespace sesame::pam_testing
