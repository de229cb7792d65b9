// exempt_users: a broken Sesame setup must not lock root out of the host.
//
// The stack under test is the shape of Debian's (and of the pam-auth-update
// profile): pam_sesame first with [success=done user_unknown=ignore
// default=die], then a second password module standing in for pam_unix
// (pam_exec with a passdb, see tests/pam/CMakeLists.txt). With the store,
// the key or the config unusable, root still signs in through the second
// module (auth, account and password groups) and a Sesame user is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kAlicePassword[] = "alice at sesame 11";
constexpr char kRootUnixPassword[] = "root at pam_unix 12";
constexpr char kBackupUnixPassword[] = "backup at pam_unix 13";

class ExemptUsersTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUserAndUnixPasswords());
  }

  // alice in the store; root, backup and alice in the stand-in for
  // /etc/shadow (pam_exec's passdb).
  void AddUserAndUnixPasswords() {
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kAlicePassword));
    ASSERT_TRUE(WriteFile(kExecPassdb,
                          std::string("root:") + kRootUnixPassword + "\nbackup:" +
                              kBackupUnixPassword + "\nalice:unix password of alice\n",
                          0600));
  }

  // auth + account through the Debian-shaped stack; `typed` answers the
  // one "Password: " prompt (a second one would get "SECOND PROMPT").
  PamRun SignIn(const std::string& user, const std::string& typed, int auth, int account) {
    std::vector<PamStep> steps = {{PAMTEST_AUTHENTICATE, auth}};
    if (account != kNotRun) steps.push_back({PAMTEST_ACCOUNT, account});
    return RunPam("exempt-stack", user, {typed, "SECOND PROMPT"}, steps);
  }

  // The store, key or config broken in one way; each must leave root to
  // the next module and deny alice.
  struct Breakage {
    std::string name;
    std::function<void()> apply;
    bool account_denied = true;  // the account group needs no key
  };

  std::vector<Breakage> Breakages() {
    auto drop_store = [this] {
      for (const char* suffix : {"", "-wal", "-shm"}) unlink((store_path_ + suffix).c_str());
    };
    return {
        {"store unreadable (mode 000, owned by uid 65534)",
         [this] {
           ASSERT_EQ(chmod(store_path_.c_str(), 0), 0) << strerror(errno);
           ASSERT_EQ(chown(store_path_.c_str(), 65534, 65534), 0) << strerror(errno);
         }},
        {"store missing", drop_store},
        {"store garbage",
         [this, drop_store] {
           drop_store();
           ASSERT_TRUE(WriteFile(store_path_, std::string(8192, '\x5a'), 0600));
         }},
        {"key missing", [this] { ASSERT_EQ(unlink(key_path_.c_str()), 0); }, false},
        {"config with a bad line",
         [] { ASSERT_TRUE(WriteFile(kConfigPath, "argon2_memory_kb = 16\n", 0644)); }},
        {"config missing", [] { ASSERT_EQ(unlink(kConfigPath.c_str()), 0); }},
        {"config writable by others",
         [] { ASSERT_EQ(chmod(kConfigPath.c_str(), 0666), 0) << strerror(errno); }},
    };
  }

  // Undoes any breakage: a fresh state dir, config and store, alice again.
  void Restore() {
    RemoveTree(state_dir_);
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUserAndUnixPasswords());
  }
};

TEST_F(ExemptUsersTest, RootIsLeftToTheNextModuleWithoutPromptOrStore) {
  // Working setup: alice signs in with Sesame's password, root with the
  // other module's; pam_sesame asks root nothing (one prompt, pam_exec's).
  PamRun alice = SignIn("alice", kAlicePassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(alice, PAM_SUCCESS, PAM_SUCCESS);
  size_t mark = DevLog().Mark();
  PamRun root = SignIn("root", kRootUnixPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(root, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(root.conv.Prompts(), std::vector<std::string>{"Password: "});
  // The module's own answer, in every group: PAM_USER_UNKNOWN.
  PamRun direct = RunPam("sesame", "root", {}, {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(direct, PAM_USER_UNKNOWN);
  EXPECT_TRUE(direct.conv.Prompts().empty());
  PamRun account = RunPam("sesame", "root", {}, {{PAMTEST_ACCOUNT, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(account, PAM_USER_UNKNOWN);
  PamRun passwd = RunPam("sesame-passwd", "root", {}, {{PAMTEST_CHAUTHTOK, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(passwd, PAM_USER_UNKNOWN);
  // No sign-in event: the store was not touched for root.
  for (const SignInEvent& e : Events()) EXPECT_NE(e.user, "root");
  SKIP_WITHOUT_LOGS();
  EXPECT_TRUE(AnyContains(DevLog().Since(mark),
                          "user root is in exempt_users: left to the next "
                          "module (PAM_USER_UNKNOWN)"))
      << Dump(DevLog().Since(mark));
}

TEST_F(ExemptUsersTest, BrokenSetupDeniesSesameUsersButNotRoot) {
  for (const Breakage& b : Breakages()) {
    SCOPED_TRACE(b.name);
    ASSERT_NO_FATAL_FAILURE(b.apply());
    // root: auth and account pass through the other module; a wrong Unix
    // password is still refused there.
    PamRun root = SignIn("root", kRootUnixPassword, PAM_SUCCESS, PAM_SUCCESS);
    EXPECT_PAM_CODES(root, PAM_SUCCESS, PAM_SUCCESS);
    // (pam_exec reports a checker's "no" as PAM_SYSTEM_ERR.)
    PamRun wrong = SignIn("root", "not root's password", PAM_SYSTEM_ERR, kNotRun);
    EXPECT_PAM_CODES(wrong, PAM_SYSTEM_ERR);
    // An ssh key login runs the account group alone.
    PamRun key_login = RunPam("exempt-stack", "root", {}, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    EXPECT_PAM_CODES(key_login, PAM_SUCCESS);
    PamRun passwd = RunPam("exempt-stack", "root", {}, {{PAMTEST_CHAUTHTOK, PAM_SUCCESS}});
    EXPECT_PAM_CODES(passwd, PAM_SUCCESS);
    // alice: refused in every group, her Sesame password and her Unix one.
    PamRun alice = SignIn("alice", kAlicePassword, PAM_AUTH_ERR, kNotRun);
    EXPECT_NE(alice.codes.at(0), PAM_SUCCESS);
    EXPECT_EQ(alice.err, PAMTEST_ERR_CASE) << PamCodeNames(alice.codes);
    PamRun alice_unix = SignIn("alice", "unix password of alice", PAM_AUTH_ERR, kNotRun);
    EXPECT_NE(alice_unix.codes.at(0), PAM_SUCCESS);
    if (b.account_denied) {
      PamRun alice_key = RunPam("exempt-stack", "alice", {}, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
      EXPECT_NE(alice_key.codes.at(0), PAM_SUCCESS);
    }
    ASSERT_NO_FATAL_FAILURE(Restore());
  }
}

TEST_F(ExemptUsersTest, BrokenConfigLogsTheFixedRuleForRoot) {
  ASSERT_TRUE(WriteFile(kConfigPath, "argon2_memory_kb = 16\n", 0644));
  size_t mark = DevLog().Mark();
  PamRun root = RunPam("sesame", "root", {}, {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(root, PAM_USER_UNKNOWN);
  PamRun alice =
      RunPam("sesame", "alice", {kAlicePassword}, {{PAMTEST_AUTHENTICATE, PAM_SERVICE_ERR}});
  EXPECT_PAM_CODES(alice, PAM_SERVICE_ERR);
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines, "unknown key 'argon2_memory_kb'")) << Dump(lines);
  EXPECT_TRUE(AnyContains(lines,
                          "; user root is left to the next module (PAM_USER_UNKNOWN) by the "
                          "fixed rule for an unusable configuration"))
      << Dump(lines);
}

TEST_F(ExemptUsersTest, BadModuleArgumentsLeaveRootToTheNextModule) {
  PamRun root = RunPam("sesame-bad-arg", "root", {}, {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(root, PAM_USER_UNKNOWN);
  PamRun account = RunPam("sesame-bad-arg", "root", {}, {{PAMTEST_ACCOUNT, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(account, PAM_USER_UNKNOWN);
  PamRun alice = RunPam("sesame-bad-arg", "alice", {kAlicePassword},
                        {{PAMTEST_AUTHENTICATE, PAM_SERVICE_ERR}});
  EXPECT_PAM_CODES(alice, PAM_SERVICE_ERR);
}

TEST_F(ExemptUsersTest, ListedAccountsAreExemptAndOnlyThey) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"exempt_users", "root, backup"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("backup", "backup at sesame 14"));
  // Listed: the Sesame record is not used, the other module decides.
  ASSERT_EQ(chmod(store_path_.c_str(), 0666), 0);  // the store is refused now
  PamRun backup = SignIn("backup", kBackupUnixPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(backup, PAM_SUCCESS, PAM_SUCCESS);
  PamRun root = SignIn("root", kRootUnixPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(root, PAM_SUCCESS, PAM_SUCCESS);
  PamRun alice =
      RunPam("sesame", "alice", {kAlicePassword}, {{PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL}});
  EXPECT_PAM_CODES(alice, PAM_AUTHINFO_UNAVAIL);
}

TEST_F(ExemptUsersTest, NoneMakesRootASesameUserAgain) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"exempt_users", "none"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("root", "root at sesame 15"));
  PamRun sesame = RunPam("sesame", "root", {"root at sesame 15"},
                         {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(sesame, PAM_SUCCESS, PAM_SUCCESS);
  // A Sesame user like any other: a broken store denies root too.
  ASSERT_EQ(chmod(store_path_.c_str(), 0666), 0);
  PamRun root = SignIn("root", kRootUnixPassword, PAM_AUTH_ERR, kNotRun);
  EXPECT_NE(root.codes.at(0), PAM_SUCCESS);
  // But a config that cannot be read falls back to the fixed rule.
  ASSERT_TRUE(WriteFile(kConfigPath, "exempt_users = none\nbogus = 1\n", 0644));
  PamRun fallback = SignIn("root", kRootUnixPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(fallback, PAM_SUCCESS, PAM_SUCCESS);
}

}  // namespace
}  // namespace sesame::pam_testing
