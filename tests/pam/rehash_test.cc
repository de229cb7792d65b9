// A hash made with other argon2 parameters than the config is replaced at the
// next successful sign-in, and only then.
#include <gtest/gtest.h>

#include <string>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "rehash me later 9";
constexpr char kOldPrefix[] = "$argon2id$v=19$m=8,t=1,p=1$";
constexpr char kNewPrefix[] = "$argon2id$v=19$m=16,t=2,p=1$";

using RehashTest = PamTest;

std::string HashOf(const std::optional<UserRecord>& user) {
  return user.has_value() ? user->password_hash : "(no such user)";
}

TEST_F(RehashTest, SuccessfulSignInUpgradesTheHashOnce) {
  ASSERT_NO_FATAL_FAILURE(AddUser("rita", kPassword));
  ASSERT_NO_FATAL_FAILURE(AddUser("dora", kPassword));
  ASSERT_NO_FATAL_FAILURE(DisableUser("dora"));
  const std::string rita_before = HashOf(GetUser("rita"));
  const std::string dora_before = HashOf(GetUser("dora"));
  ASSERT_EQ(rita_before.rfind(kOldPrefix, 0), 0u) << rita_before;

  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"argon2_memory_kib", "16"}, {"argon2_time_cost", "2"}}));

  // A wrong password never rehashes.
  PamRun wrong =
      RunPam("sesame", "rita", {"not the password"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  EXPECT_EQ(HashOf(GetUser("rita")), rita_before);

  // Nor does the right password of a disabled account.
  PamRun disabled = RunPam("sesame", "dora", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(disabled, PAM_AUTH_ERR);
  EXPECT_EQ(HashOf(GetUser("dora")), dora_before);

  // The right password: accepted with the old hash, which is replaced.
  size_t mark = DevLog().Mark();
  PamRun ok = RunPam("sesame", "rita", {kPassword},
                     {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(ok, PAM_SUCCESS, PAM_SUCCESS);
  const std::string rita_after = HashOf(GetUser("rita"));
  EXPECT_EQ(rita_after.rfind(kNewPrefix, 0), 0u) << rita_after;
  EXPECT_NE(rita_after, rita_before);
  std::vector<LogLine> upgrade_lines = DevLog().Since(mark);

  // The new hash holds the same password and is not replaced again.
  mark = DevLog().Mark();
  PamRun again = RunPam("sesame", "rita", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(again, PAM_SUCCESS);
  EXPECT_EQ(HashOf(GetUser("rita")), rita_after);
  PamRun wrong_after =
      RunPam("sesame", "rita", {"not the password"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong_after, PAM_AUTH_ERR);
  EXPECT_EQ(HashOf(GetUser("rita")), rita_after);
  std::vector<LogLine> again_lines = DevLog().Since(mark);

  SKIP_WITHOUT_LOGS();
  EXPECT_TRUE(AnyContains(upgrade_lines,
                          "password hash of user rita (service sesame) upgraded to "
                          "the configured argon2id parameters"))
      << Dump(upgrade_lines);
  // verify with the old parameters, then hash with the new ones
  EXPECT_EQ(Matching(upgrade_lines, "pam_sesame(sesame:auth): argon2: start").size(), 2u)
      << Dump(upgrade_lines);
  EXPECT_FALSE(AnyContains(again_lines, "upgraded")) << Dump(again_lines);
}

}  // namespace
}  // namespace sesame::pam_testing
