// Lockout, forced change, expiry and password change in core, with a real
// SQLite store, real argon2 (minimum cost) and a fake clock.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "core/flows/sign_in.h"
#include "core/policy/password_policy.h"
#include "core/store/sqlite/sqlite_store.h"
#include "tests/fakes/fakes.h"
#include "tests/fakes/flow_test.h"
#include "tests/fakes/scripted_prompter.h"

namespace sesame {
namespace {

using testing::FakeClock;
using testing::FakeRandom;
using testing::RecordingLogger;
using testing::ScriptedPrompter;

constexpr char kPw[] = "correct horse battery staple";

class LifecycleTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("life", true, nullptr));
    config_.deny = 3;
    config_.fail_interval = 900;
    config_.unlock_time = 600;
    config_.password_min_length = 12;
    config_.password_history = 2;
    config_.password_quality = false;
    AddUser("alice", kPw);
    AddUser("root", kPw);
    logger_.Clear();
  }
  Decision SignIn(const std::string& user, const std::string& pw) {
    prompter_ = ScriptedPrompter();
    prompter_.answers = {pw};
    return PasswordSignIn(*services_, prompter_, RequestInfo{user, "sshd", ""}).decision;
  }
  UserRecord Get(const std::string& user) {
    auto u = store_->GetUser(user);
    EXPECT_TRUE(u.ok() && u->has_value());
    return u.ok() && u->has_value() ? **u : UserRecord{};
  }
  int CountEvents(const std::string& outcome) {
    auto ev = store_->ListEvents(EventFilter{});
    int n = 0;
    for (const auto& e : ev.value()) n += e.outcome == outcome;
    return n;
  }
};

TEST_F(LifecycleTest, LocksAfterDenyFailuresAndRefusesBeforeChecking) {
  EXPECT_EQ(SignIn("alice", "wrong1"), Decision::kFailure);
  EXPECT_EQ(SignIn("alice", "wrong2"), Decision::kFailure);
  EXPECT_EQ(Get("alice").failures, 2);
  EXPECT_EQ(SignIn("alice", "wrong3"), Decision::kFailure);  // this one locks
  EXPECT_EQ(Get("alice").locked_until, clock_.Now() + 600);
  EXPECT_EQ(CountEvents("failure"), 3);  // each wrong password is a failed sign-in
  EXPECT_EQ(CountEvents("locked"), 1);   // and the lock itself is one event
}

TEST_F(LifecycleTest, LockedAccountRefusesTheRightPasswordWithTimeLeft) {
  for (int i = 0; i < 3; ++i) SignIn("alice", "wrong");
  logger_.Clear();
  clock_.Advance(60);
  EXPECT_EQ(SignIn("alice", kPw), Decision::kLocked);
  EXPECT_FALSE(logger_.Contains("argon2: start"));  // refused before any password check
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("locked"), std::string::npos);
  EXPECT_NE(prompter_.errors[0].find("Try again in 9 minutes"), std::string::npos)
      << prompter_.errors[0];
}

TEST_F(LifecycleTest, LockRunsOutAndSuccessResetsTheCount) {
  for (int i = 0; i < 3; ++i) SignIn("alice", "wrong");
  clock_.Advance(601);
  EXPECT_EQ(SignIn("alice", kPw), Decision::kSuccess);
  UserRecord u = Get("alice");
  EXPECT_EQ(u.failures, 0);
  EXPECT_EQ(u.locked_until, 0);
  EXPECT_EQ(CountEvents("unlocked"), 1);
  SignIn("alice", "wrong");
  EXPECT_EQ(SignIn("alice", kPw), Decision::kSuccess);
  EXPECT_EQ(Get("alice").failures, 0);
}

TEST_F(LifecycleTest, FailuresOutsideTheWindowDoNotAddUp) {
  SignIn("alice", "wrong");
  SignIn("alice", "wrong");
  clock_.Advance(901);
  SignIn("alice", "wrong");
  EXPECT_EQ(Get("alice").failures, 1);
  EXPECT_EQ(Get("alice").locked_until, 0);
}

TEST_F(LifecycleTest, UnlockTimeZeroMeansUntilAnAdministratorUnlocks) {
  config_.unlock_time = 0;
  for (int i = 0; i < 3; ++i) SignIn("alice", "wrong");
  clock_.Advance(365 * 86400);
  EXPECT_EQ(SignIn("alice", kPw), Decision::kLocked);
  EXPECT_TRUE(prompter_.ErrorContains("Ask your administrator to unlock it."));
  ASSERT_TRUE(store_->ClearFailures("alice").ok());
  EXPECT_EQ(SignIn("alice", kPw), Decision::kSuccess);
}

TEST_F(LifecycleTest, RootIsLockedUnlessExempt) {
  for (int i = 0; i < 3; ++i) SignIn("root", "wrong");
  EXPECT_EQ(SignIn("root", kPw), Decision::kLocked);
  config_.lockout_exempt_root = true;
  EXPECT_EQ(SignIn("root", kPw), Decision::kSuccess);
}

TEST_F(LifecycleTest, DenyZeroNeverLocks) {
  config_.deny = 0;
  for (int i = 0; i < 10; ++i) SignIn("alice", "wrong " + std::to_string(i));
  // Counted (every attempt is reserved before it is checked, so a store
  // that cannot record it refuses before hashing), but never a lock.
  EXPECT_EQ(Get("alice").failures, 10);
  EXPECT_EQ(Get("alice").locked_until, 0);
  EXPECT_EQ(SignIn("alice", kPw), Decision::kSuccess);
  EXPECT_EQ(Get("alice").failures, 0);
}

TEST_F(LifecycleTest, EmptyInputIsNotCountedAsAGuess) {
  SignIn("alice", "");
  EXPECT_EQ(Get("alice").failures, 0);
}

TEST_F(LifecycleTest, AccountRequiresAChangeAfterResetOrExpiry) {
  ScriptedPrompter p;
  EXPECT_EQ(CheckAccount(*services_, p, {"alice", "sshd", ""}).decision, Decision::kSuccess);
  ASSERT_TRUE(store_->SetMustChange("alice", true).ok());
  EXPECT_EQ(CheckAccount(*services_, p, {"alice", "sshd", ""}).decision,
            Decision::kNewPasswordRequired);
  EXPECT_TRUE(p.ErrorContains("administrator enforced"));
  ASSERT_TRUE(store_->SetMustChange("alice", false).ok());
  config_.password_max_days = 30;
  clock_.Advance(29 * 86400);
  EXPECT_EQ(CheckAccount(*services_, p, {"alice", "sshd", ""}).decision, Decision::kSuccess);
  clock_.Advance(2 * 86400);
  p = ScriptedPrompter();
  EXPECT_EQ(CheckAccount(*services_, p, {"alice", "sshd", ""}).decision,
            Decision::kNewPasswordRequired);
  EXPECT_TRUE(p.ErrorContains("older than 30 days"));
}

TEST_F(LifecycleTest, ChangePasswordStoresKeepsHistoryAndClearsMustChange) {
  ASSERT_TRUE(store_->SetMustChange("alice", true).ok());
  SecretBuffer current;
  prompter_.answers = {kPw};
  ASSERT_EQ(
      VerifyCurrentPassword(*services_, prompter_, {"alice", "passwd", ""}, &current).decision,
      Decision::kSuccess);
  EXPECT_EQ(current.view(), kPw);
  clock_.Advance(100);
  prompter_.answers = {"a brand new passphrase", "a brand new passphrase"};
  EXPECT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, &current, 3).decision,
            Decision::kSuccess);
  UserRecord u = Get("alice");
  EXPECT_FALSE(u.must_change);
  EXPECT_EQ(u.password_changed, clock_.Now());
  EXPECT_EQ(SignIn("alice", "a brand new passphrase"), Decision::kSuccess);
  EXPECT_EQ(SignIn("alice", kPw), Decision::kFailure);
  auto history = store_->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  // One event for the change (method password-change), one for the sign-in.
  auto events = store_->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  int changes = 0;
  for (const auto& e : events.value())
    changes += e.method == "password-change" && e.outcome == "success";
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(CountEvents("success"), 2);
}

TEST_F(LifecycleTest, PolicyRefusalsNameTheRuleAndRetry) {
  SecretBuffer current(kPw);
  prompter_.answers = {"short",
                       "short",  // too short
                       kPw,
                       kPw,  // same as current
                       "mismatch one here",
                       "mismatch two here",  // entries differ
                       "finally a good one",
                       "finally a good one"};
  FlowResult r = ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, &current, 4);
  EXPECT_EQ(r.decision, Decision::kSuccess) << r.reason;
  EXPECT_TRUE(
      prompter_.ErrorContains("BAD PASSWORD: it is shorter than 12 characters "
                              "(password_min_length)"));
  EXPECT_TRUE(prompter_.ErrorContains("BAD PASSWORD: it is the same as the current password"));
  EXPECT_TRUE(prompter_.ErrorContains("Sorry, passwords do not match."));
}

TEST_F(LifecycleTest, TooManyRefusalsChangeNothing) {
  UserRecord before = Get("alice");
  SecretBuffer current(kPw);
  prompter_.answers = {"short", "short", "tiny", "tiny", "nope", "nope"};
  EXPECT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, &current, 3).decision,
            Decision::kFailure);
  EXPECT_EQ(Get("alice").password_hash, before.password_hash);
}

TEST_F(LifecycleTest, HistoryRefusesRecentPasswordsEvenForRoot) {
  // Root changes without the current password (nullptr): the current hash
  // and the history are checked by verifying against them.
  const char* pws[] = {"second password here", "third password here!"};
  for (const char* pw : pws) {
    prompter_.answers = {pw, pw};
    ASSERT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, nullptr, 1).decision,
              Decision::kSuccess);
  }
  prompter_ = ScriptedPrompter();
  prompter_.answers = {"third password here!", "third password here!"};
  EXPECT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, nullptr, 1).decision,
            Decision::kFailure);
  EXPECT_TRUE(prompter_.ErrorContains("same as the current password"));
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPw, kPw};  // two changes ago: in a history of 2
  EXPECT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, nullptr, 1).decision,
            Decision::kFailure);
  EXPECT_TRUE(prompter_.ErrorContains("used before"));
}

TEST_F(LifecycleTest, AbortedChangeChangesNothing) {
  UserRecord before = Get("alice");
  SecretBuffer current(kPw);
  prompter_.answers = {"only the first entry"};  // then Ctrl-D
  EXPECT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, &current, 3).decision,
            Decision::kAborted);
  EXPECT_EQ(Get("alice").password_hash, before.password_hash);
}

TEST_F(LifecycleTest, WrongCurrentPasswordCountsTowardTheLock) {
  SecretBuffer current;
  for (int i = 0; i < 3; ++i) {
    prompter_.answers = {"not it"};
    EXPECT_EQ(
        VerifyCurrentPassword(*services_, prompter_, {"alice", "passwd", ""}, &current).decision,
        Decision::kFailure);
  }
  EXPECT_EQ(SignIn("alice", kPw), Decision::kLocked);
}

class PolicyTest : public ::testing::Test {
 protected:
  Status Check(const std::string& pw, const std::string& user = "alice") {
    return CheckPasswordPolicy(config_, hasher_, PolicySubject{user, pw, nullptr, "", nullptr});
  }
  Config config_;
  RecordingLogger logger_;
  PasswordHasher hasher_{Argon2Params{1, 8, 1}, nullptr, logger_};
};

TEST_F(PolicyTest, InputRules) {
  config_.password_quality = false;
  EXPECT_TRUE(Check("twelve chars").ok());
  EXPECT_NE(Check("").message().find("BAD PASSWORD"), std::string::npos);
  EXPECT_NE(Check(std::string(2000, 'a')).message().find("1024"), std::string::npos);
  EXPECT_NE(Check("twelve\x01chars").message().find("control"), std::string::npos);
  EXPECT_NE(Check("\xff\xfe twelve chars").message().find("UTF-8"), std::string::npos);
  // Length counts characters, not bytes: 11 characters of 2 bytes each.
  EXPECT_NE(Check("\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
                  "\xc3\xa4")
                .message()
                .find("shorter than 12"),
            std::string::npos);
}

TEST_F(PolicyTest, BannedWordsAreMatchedCaseInsensitively) {
  config_.password_quality = false;
  const char* base = getenv("SESAME_TEST_TMPDIR");
  std::string dir = std::string(base && *base ? base : "/tmp") + "/sesame-banned.XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string file = dir + "/banned";
  std::ofstream(file) << "# company words\nAcmeCorp\nqwe\n";
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  config_.banned_passwords_file = file;
  EXPECT_NE(Check("I love ACMECORP 2026!").message().find("banned word (banned_passwords_file)"),
            std::string::npos);
  EXPECT_TRUE(Check("qwe is a short word here").ok());  // short words only match exactly
  config_.password_min_length = 3;
  EXPECT_FALSE(Check("QWE").ok());
  EXPECT_TRUE(Check("something else entirely").ok());
  chmod(file.c_str(), 0666);  // an unsafe list refuses, it does not pass
  EXPECT_EQ(Check("something else entirely").code(), Code::kPermissionDenied);
  ASSERT_EQ(system(("rm -rf '" + dir + "'").c_str()), 0);
}

TEST_F(PolicyTest, PwqualityDictionaryAndUserName) {
  config_.password_quality = true;
  config_.password_min_length = 8;
  Status s = Check("dictionary");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("dictionary check"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(password_quality)"), std::string::npos) << s.message();
  s = Check("xX-alice-longname-Xx", "alice");
  EXPECT_FALSE(s.ok()) << "user name inside the password must be refused";
  EXPECT_TRUE(Check("Tangerine-Quokka-Voltage-47").ok())
      << Check("Tangerine-Quokka-Voltage-47").message();
}

}  // namespace
}  // namespace sesame
