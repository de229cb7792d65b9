// What a process keeps between PAM handles: the store connection
// (pam_module/store_pool.h) and the config and key (pam_module/file_cache.h).
// One connection serves handle after handle; a forked child never uses its
// parent's, and the parent's still works after the child is gone; an idle
// connection whose file became unsafe or was removed is not used; a config
// changed between two sign-ins applies to the second. (The UnsafeFilesTest
// cases run after a successful sign-in, so they also cover a config, key or
// store that became unsafe after it was kept.)
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "one connection per process 3";

// Descriptors of this process open on `path` itself (not -wal or -shm).
int OpenDescriptorsOn(const std::string& path) {
  struct stat want;
  if (stat(path.c_str(), &want) != 0) return -1;
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::string fd_path = std::string("/proc/self/fd/") + e->d_name;
    struct stat st;
    if (stat(fd_path.c_str(), &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
      ++count;
  }
  closedir(dir);
  return count;
}

class StorePoolTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  }

  int SignIn(const std::string& password) {
    PamRun run = RunPam("sesame", "alice", {password}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    return run.codes.empty() ? -1 : run.codes[0];
  }
};

TEST_F(StorePoolTest, OneConnectionServesHandleAfterHandle) {
  ASSERT_EQ(OpenDescriptorsOn(store_path_), 0) << "no connection before the first sign-in";
  ASSERT_EQ(SignIn(kPassword), PAM_SUCCESS);
  EXPECT_EQ(OpenDescriptorsOn(store_path_), 1) << "kept open after pam_end for the next handle";
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(SignIn(i % 2 == 0 ? kPassword : "wrong"), i % 2 == 0 ? PAM_SUCCESS : PAM_AUTH_ERR);
  EXPECT_EQ(OpenDescriptorsOn(store_path_), 1) << "reused, not one per handle";
  // Every handle's decision is in the store, seen by another connection.
  EXPECT_EQ(Events().size(), 11u);
}

TEST_F(StorePoolTest, ForkedChildOpensItsOwnAndTheParentKeepsWorking) {
  ASSERT_EQ(SignIn(kPassword), PAM_SUCCESS);  // the parent's connection is idle now
  ASSERT_EQ(OpenDescriptorsOn(store_path_), 1);
  std::fflush(nullptr);
  pid_t child = fork();
  ASSERT_GE(child, 0) << strerror(errno);
  if (child == 0) {
    // The parent's idle connection was closed before fork(): the child
    // inherits none, and its sign-in opens its own.
    const int inherited = OpenDescriptorsOn(store_path_);
    DirectRun run = DirectSignIn("sesame", "alice", kPassword, nullptr, true);
    const int descriptors = OpenDescriptorsOn(store_path_);
    ExitChild(run.auth == PAM_SUCCESS && run.account == PAM_SUCCESS && inherited == 0 &&
                      descriptors == 1
                  ? 0
                  : 1);
  }
  int status = WaitChild(child, "the forked child signing in as alice");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child inherited a connection, or its sign-in failed";
  // The parent opens a new one at its next sign-in, and keeps only that.
  EXPECT_EQ(SignIn(kPassword), PAM_SUCCESS);
  EXPECT_EQ(OpenDescriptorsOn(store_path_), 1);
  EXPECT_EQ(Events().size(), 3u);
}

// The reproduction: a process signs in (its connection is pooled)
// and forks; the child signs in with a wrong password (and keeps its own
// connection, as a long-running worker does); the parent exits, closing its
// pool (a checkpoint, and the WAL removed when it believes it is the last
// connection); the child signs in wrong again and lives on. Before the fix
// the child's connection took no kernel locks (SQLite's per-file lock
// bookkeeping, copied into the child, said the parent's were held), so the
// parent's close removed the WAL under it, and the child's later writes
// went to a removed file: no other process saw them (a lockout count that
// other sign-ins do not see), and a crash of the child lost them.
TEST_F(StorePoolTest, AChildsWritesSurviveItsParentsExit) {
  int report[2], hold[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(hold), 0);
  std::fflush(nullptr);
  pid_t parent = fork();
  ASSERT_GE(parent, 0) << strerror(errno);
  if (parent == 0) {
    close(report[0]);
    close(hold[1]);
    DirectRun first = DirectSignIn("sesame", "alice", kPassword, nullptr, false);
    if (first.auth != PAM_SUCCESS) ExitChild(10);
    int step[2];
    if (pipe(step) != 0) ExitChild(11);
    std::fflush(nullptr);
    pid_t child = fork();
    if (child < 0) ExitChild(12);
    if (child == 0) {
      close(step[0]);
      DirectRun wrong = DirectSignIn("sesame", "alice", "a wrong one", nullptr, false);
      char c = wrong.auth == PAM_AUTH_ERR ? 'a' : 'x';
      ssize_t ignored = write(step[1], &c, 1);
      close(step[1]);
      // Wait until the parent is gone (it has closed its connection):
      // then this process is given another parent.
      const pid_t original = getppid();
      for (int i = 0; i < 3000 && getppid() == original; ++i) usleep(10 * 1000);
      usleep(100 * 1000);
      DirectRun again = DirectSignIn("sesame", "alice", "another wrong one", nullptr, false);
      c = c == 'a' && again.auth == PAM_AUTH_ERR ? 'b' : 'x';
      ignored = write(report[1], &c, 1);
      (void)ignored;
      // Alive, connection open, while the test reads the store; then gone
      // without closing anything, as a crash.
      WaitAtGate(hold[0]);
      _exit(0);
    }
    close(step[1]);
    char c = 0;
    if (read(step[0], &c, 1) != 1 || c != 'a') ExitChild(13);
    // exit(), not _exit(): the pool is destroyed and its connection closed
    // as at a real process's end.
    std::exit(0);
  }
  close(report[1]);
  close(hold[0]);
  int status = WaitChild(parent, "the child that signs in, forks and exits");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  pollfd done = {report[0], POLLIN, 0};
  ASSERT_EQ(poll(&done, 1, 30000), 1) << "the grandchild did not report within 30 s";
  char c = 0;
  ASSERT_EQ(read(report[0], &c, 1), 1);
  close(report[0]);
  EXPECT_EQ(c, 'b') << "the grandchild's sign-ins did not both fail as wrong passwords";
  // Seen by another connection while the child lives...
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->failures, 2) << "a failure of the child is not seen by others";
  EXPECT_EQ(Events().size(), 3u) << "an event of the child is not seen by others";
  // ... and after it is gone without closing.
  close(hold[1]);
  usleep(200 * 1000);
  alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->failures, 2) << "a failure of the child was lost";
  EXPECT_EQ(Events().size(), 3u) << "an event of the child was lost";
}

// A conversation that blocks at its first prompt until `gate` is closed
// (a person slow to type), then answers the password.
struct BlockingConv {
  int entered;  // a byte is written here when the prompt arrives
  int gate;
};

int BlockingCallback(int num_msg, const struct pam_message** msg, struct pam_response** resp,
                     void* appdata) {
  auto* self = static_cast<BlockingConv*>(appdata);
  auto* out =
      static_cast<pam_response*>(calloc(static_cast<size_t>(num_msg), sizeof(pam_response)));
  if (out == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < num_msg; ++i) {
    if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF) continue;
    char c = 'e';
    ssize_t ignored = write(self->entered, &c, 1);
    (void)ignored;
    WaitAtGate(self->gate);
    out[i].resp = strdup(kPassword);
  }
  *resp = out;
  return PAM_SUCCESS;
}

// fork() while another thread's PAM call holds a connection: that one
// cannot be closed first, so the child must not open the store at all
// (SQLite's lock bookkeeping it inherited is wrong for it). It fails closed;
// the parent's call completes normally.
TEST_F(StorePoolTest, AChildForkedDuringACallInAnotherThreadOpensNoStore) {
  int entered[2], gate[2];
  ASSERT_EQ(pipe2(entered, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  int parent_auth = -1;
  std::thread caller([&] {
    BlockingConv data{entered[1], gate[0]};
    struct pam_conv conv = {&BlockingCallback, &data};
    pam_handle_t* pamh = nullptr;
    if (pam_start("sesame-quiet", "alice", &conv, &pamh) != PAM_SUCCESS) return;
    parent_auth = pam_authenticate(pamh, 0);
    pam_end(pamh, parent_auth);
  });
  char c;
  if (!WaitReadable(entered[0], kChildTimeoutSeconds * 1000)) {
    close(gate[1]);  // lets the other thread's call end, if it ever prompts
    caller.join();
    FAIL() << "the call in the other thread did not prompt within " << kChildTimeoutSeconds << " s";
  }
  ASSERT_EQ(read(entered[0], &c, 1), 1) << "the call in the other thread never prompted";
  std::fflush(nullptr);
  pid_t child = fork();
  if (child == 0) {
    DirectRun run = DirectSignIn("sesame-quiet", "alice", kPassword, nullptr, false);
    ExitChild(run.auth == PAM_AUTHINFO_UNAVAIL ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  int status = WaitChild(child, "the forked child signing in as alice");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child used the store although it inherited a connection in use";
  close(gate[1]);
  caller.join();
  close(gate[0]);
  close(entered[0]);
  close(entered[1]);
  EXPECT_EQ(parent_auth, PAM_SUCCESS);
  EXPECT_EQ(SignIn(kPassword), PAM_SUCCESS);
}

TEST_F(StorePoolTest, AnIdleConnectionToAFileThatBecameUnsafeIsClosed) {
  ASSERT_EQ(SignIn(kPassword), PAM_SUCCESS);
  ASSERT_EQ(chmod(store_path_.c_str(), 0644), 0);
  size_t mark = DevLog().Mark();
  PamRun denied =
      RunPam("sesame", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL}});
  EXPECT_PAM_CODES(denied, PAM_AUTHINFO_UNAVAIL);
  EXPECT_EQ(OpenDescriptorsOn(store_path_), 0) << "the idle connection was closed";
  if (DevLog().available()) {
    std::vector<LogLine> lines = DevLog().Since(mark);
    EXPECT_TRUE(AnyContains(lines, store_path_ + " (store) is readable by group or others"))
        << Dump(lines);
  }
  ASSERT_EQ(chmod(store_path_.c_str(), 0600), 0);
  EXPECT_EQ(SignIn(kPassword), PAM_SUCCESS);
}

TEST_F(StorePoolTest, AConfigChangedBetweenSignInsAppliesToTheNextOne) {
  ASSERT_EQ(SignIn(kPassword), PAM_SUCCESS);  // the config is kept now
  // Rewritten at once (within the same second as the load it replaces).
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "1"}}));
  EXPECT_EQ(SignIn("wrong"), PAM_AUTH_ERR);
  // deny = 1: that one failure locked the account, so the right password is
  // refused now; with the old config (deny = 5) it would pass.
  EXPECT_EQ(SignIn(kPassword), PAM_AUTH_ERR);
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_NE(alice->locked_until, 0);
}

}  // namespace
}  // namespace sesame::pam_testing
