// StateOf: the one account state every reader uses (PAM's account check and
// lockout refusal, `sesame-admin user show | list`, `sesame status`).
#include "core/policy/account_state.h"

#include <gtest/gtest.h>

namespace sesame {
namespace {

constexpr int64_t kNow = 1700000000;

UserRecord Locked(const std::string& name, int64_t until) {
  UserRecord u;
  u.name = name;
  u.password_changed = kNow - 10;
  u.failures = 5;
  u.first_failure = kNow - 100;
  u.locked_until = until;
  return u;
}

TEST(AccountStateTest, ALockInForce) {
  Config c;
  AccountState s = StateOf(c, Locked("alice", kNow + 60), kNow);
  EXPECT_EQ(s.lock, AccountState::Lock::kLocked);
  EXPECT_TRUE(s.locked());
  EXPECT_EQ(s.locked_until, kNow + 60);
  EXPECT_EQ(s.failures, 5);
  EXPECT_TRUE(StateOf(c, Locked("alice", kLockedUntilUnlocked), kNow).locked());
}

// The disagreement the issue found: with deny = 0, `user show` said
// "locked until ..." while PAM let the same password in.
TEST(AccountStateTest, DenyZeroIsOffWhateverTheRowSays) {
  Config c;
  c.deny = 0;
  AccountState s = StateOf(c, Locked("alice", kNow + 60), kNow);
  EXPECT_EQ(s.lock, AccountState::Lock::kOff);
  EXPECT_FALSE(s.locked());
  EXPECT_EQ(s.failures, 0);
}

TEST(AccountStateTest, LockoutExemptRootSparesOnlyRoot) {
  Config c;
  c.lockout_exempt_root = true;
  EXPECT_EQ(StateOf(c, Locked("root", kNow + 60), kNow).lock, AccountState::Lock::kOff);
  EXPECT_TRUE(StateOf(c, Locked("alice", kNow + 60), kNow).locked());
  c.lockout_exempt_root = false;
  EXPECT_TRUE(StateOf(c, Locked("root", kNow + 60), kNow).locked());
}

TEST(AccountStateTest, AnExpiredLockOrWindowCountsAsNone) {
  Config c;
  AccountState ran_out = StateOf(c, Locked("alice", kNow), kNow);  // until == now: over
  EXPECT_EQ(ran_out.lock, AccountState::Lock::kNotLocked);
  EXPECT_EQ(ran_out.failures, 0);
  UserRecord window;
  window.name = "bob";
  window.failures = 2;
  window.first_failure = kNow - c.fail_interval;  // the window has just passed
  EXPECT_EQ(StateOf(c, window, kNow).failures, 0);
  window.first_failure = kNow - c.fail_interval + 1;
  AccountState open = StateOf(c, window, kNow);
  EXPECT_EQ(open.failures, 2);
  EXPECT_EQ(open.window_ends, kNow + 1);
}

TEST(AccountStateTest, ForcedChangeAndExpiry) {
  Config c;
  UserRecord u;
  u.name = "alice";
  u.password_changed = kNow - 5 * 86400;
  EXPECT_FALSE(StateOf(c, u, kNow).change_required());
  EXPECT_EQ(StateOf(c, u, kNow).password_expires, 0) << "password_max_days = 0: never";
  EXPECT_EQ(StateOf(c, u, kNow).password_age_days, 5);
  u.must_change = true;
  EXPECT_EQ(StateOf(c, u, kNow).change, AccountState::Change::kAdminReset);
  EXPECT_EQ(StateOf(c, u, kNow).change_reason, "an administrator reset the password");
  u.must_change = false;
  c.password_max_days = 5;
  EXPECT_FALSE(StateOf(c, u, kNow).change_required()) << "exactly 5 days: not older";
  EXPECT_EQ(StateOf(c, u, kNow + 1).change, AccountState::Change::kExpired);
  EXPECT_EQ(StateOf(c, u, kNow + 1).change_reason,
            "the password is older than 5 days (password_max_days)");
  u.password_changed = 0;  // never set: expired
  EXPECT_EQ(StateOf(c, u, kNow).change, AccountState::Change::kExpired);
}

}  // namespace
}  // namespace sesame
