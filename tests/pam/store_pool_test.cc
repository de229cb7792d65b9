// What a process keeps between PAM handles: the store connection
// (pam_module/store_pool.h) and the config and key (pam_module/file_cache.h).
// One connection serves handle after handle; a forked child never uses its
// parent's, and the parent's still works after the child is gone; an idle
// connection whose file became unsafe or was removed is not used; a config
// changed between two sign-ins applies to the second. (The UnsafeFilesTest
// cases run after a successful sign-in, so they also cover a config, key or
// store that became unsafe after it was kept.)
#include <dirent.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

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

TEST_F(StorePoolTest, ForkedChildOpensItsOwnAndLeavesTheParentsAlone) {
  ASSERT_EQ(SignIn(kPassword), PAM_SUCCESS);  // the parent's connection is idle now
  std::fflush(nullptr);
  pid_t child = fork();
  ASSERT_GE(child, 0) << strerror(errno);
  if (child == 0) {
    // The parent's connection is open here too (a copy of the descriptor):
    // the child must not use it; its sign-in opens another.
    DirectRun run = DirectSignIn("sesame", "alice", kPassword, nullptr, true);
    const int descriptors = OpenDescriptorsOn(store_path_);
    ExitChild(run.auth == PAM_SUCCESS && run.account == PAM_SUCCESS && descriptors == 2 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child's sign-in failed or did not open its own connection";
  // The parent's idle connection still works, and is still the only one.
  EXPECT_EQ(SignIn(kPassword), PAM_SUCCESS);
  EXPECT_EQ(OpenDescriptorsOn(store_path_), 1);
  EXPECT_EQ(Events().size(), 3u);
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
