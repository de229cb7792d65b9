// The "Last sign-in" line through the real libpam (core/flows/activity.h):
// a PAM_TEXT_INFO after a successful sign-in in mode=interactive, naming the
// previous sign-in (not this one), its remote host and service, and the
// failed attempts since when there were any; nothing at the first sign-in,
// nothing with show_last_sign_in = no, nothing in mode=app_password (mail
// servers drop it) nor in mode=mfa_only. And retention in passing: each
// sign-in's own write deletes at most kPruneInPassingBatch events older
// than activity_retention_days, and none with 0.
#include <gtest/gtest.h>
#include <regex.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "the last sign-in 42";
// "Last sign-in: 2026-12-02 09:14 from 203.0.113.7 (sshd)." and what follows.
const char kWhen[] = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}";

using LastSignInTest = PamTest;

std::vector<std::string> LastSignInLines(const PamRun& run) {
  std::vector<std::string> lines;
  for (const std::string& info : run.conv.Infos())
    if (info.find("sign-in") != std::string::npos) lines.push_back(info);
  return lines;
}

std::vector<std::string> LastSignInLines(const Conversation& conv) {
  std::vector<std::string> lines;
  for (const std::string& info : conv.Infos())
    if (info.find("sign-in") != std::string::npos) lines.push_back(info);
  return lines;
}

// The whole of `text` matches the POSIX extended `pattern`. (POSIX regex,
// not std::regex: GCC 12 warns inside <regex> under the sanitizer build.)
bool Matches(const std::string& text, const std::string& pattern) {
  regex_t re;
  if (regcomp(&re, ("^(" + pattern + ")$").c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
    ADD_FAILURE() << "bad pattern " << pattern;
    return false;
  }
  const bool matched = regexec(&re, text.c_str(), 0, nullptr, 0) == 0;
  regfree(&re);
  return matched;
}

TEST_F(LastSignInTest, TellsThePreviousSignInWithAndWithoutFailures) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  // The first sign-in: nothing to tell.
  DirectRun first = DirectSignIn("sesame-quiet", "alice", kPassword, "203.0.113.7", false);
  EXPECT_EQ(PamCodeName(first.auth), PamCodeName(PAM_SUCCESS));
  PamRun second =
      RunPam("sesame-quiet", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(second, PAM_SUCCESS);
  std::vector<std::string> lines = LastSignInLines(second);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(second.conv.Infos());
  EXPECT_TRUE(Matches(lines[0], std::string("Last sign-in: ") + kWhen +
                                    " from 203\\.0\\.113\\.7 \\(sesame-quiet\\)\\."))
      << lines[0];

  // Two wrong passwords (one from the terminal, one remote), then a success.
  PamRun wrong =
      RunPam("sesame-quiet", "alice", {"not it"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  EXPECT_TRUE(LastSignInLines(wrong).empty());
  DirectRun remote_wrong = DirectSignIn("sesame-quiet", "alice", "guess", "192.0.2.66", false);
  EXPECT_EQ(PamCodeName(remote_wrong.auth), PamCodeName(PAM_AUTH_ERR));
  PamRun third = RunPam("sesame", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(third, PAM_SUCCESS);
  lines = LastSignInLines(third);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(third.conv.Infos());
  // The previous one was local (no remote host): no "from".
  EXPECT_TRUE(Matches(lines[0], std::string("Last sign-in: ") + kWhen +
                                    " \\(sesame-quiet\\)\\. 2 failed attempts since\\."))
      << lines[0];

  // Counted since the last one: none now.
  PamRun fourth =
      RunPam("sesame-quiet", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  lines = LastSignInLines(fourth);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(fourth.conv.Infos());
  EXPECT_TRUE(Matches(lines[0], std::string("Last sign-in: ") + kWhen + " \\(sesame\\)\\."))
      << lines[0];
}

TEST_F(LastSignInTest, ShowLastSignInNoSaysNothing) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"show_last_sign_in", "no"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  for (const std::string answer : {kPassword, "wrong", kPassword}) {
    PamRun run = RunPam("sesame-quiet", "alice", {answer},
                        {{PAMTEST_AUTHENTICATE, answer == kPassword ? PAM_SUCCESS : PAM_AUTH_ERR}});
    EXPECT_TRUE(LastSignInLines(run).empty()) << ::testing::PrintToString(run.conv.Infos());
  }
}

// A mail server drops text messages: mode=app_password never sends one,
// even where the main password is taken there (a user without MFA).
TEST_F(LastSignInTest, NotInAppPasswordMode) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  PamRun first =
      RunPam("sesame-quiet", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(first, PAM_SUCCESS);
  PamRun wrong = RunPam("imap", "alice", {"wrong"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  PamRun mail = RunPam("imap", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(mail, PAM_SUCCESS);
  EXPECT_TRUE(mail.conv.Infos().empty()) << ::testing::PrintToString(mail.conv.Infos());
  // The next interactive sign-in names that one: the main password was
  // used there (an app password's sign-in would not be named).
  PamRun again =
      RunPam("sesame-quiet", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  std::vector<std::string> lines = LastSignInLines(again.conv);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(again.conv.Infos());
  EXPECT_TRUE(Matches(lines[0], std::string("Last sign-in: ") + kWhen + " \\(imap\\)\\."))
      << lines[0];
}

using RetentionTest = PamTest;

// Events of "old-user" `days` days old, one second apart.
void RecordOld(Store& store, int64_t days, int64_t n) {
  const int64_t start = static_cast<int64_t>(std::time(nullptr)) - days * 86400;
  for (int64_t i = 0; i < n; ++i) {
    SignInEvent e;
    e.time = start + i;
    e.user = "old-user";
    e.service = "sshd";
    e.method = "password";
    e.outcome = "failure";
    ASSERT_TRUE(store.RecordEvent(e).ok());
  }
}

size_t OldUserEvents(Store& store) {
  EventFilter filter;
  filter.user = "old-user";
  return store.ListEvents(filter).value().size();
}

TEST_F(RetentionTest, EachSignInDeletesAFewDueEvents) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"activity_retention_days", "30"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(RecordOld(*store, 40, 2 * kPruneInPassingBatch + 1));
  ASSERT_NO_FATAL_FAILURE(RecordOld(*store, 20, 3));  // newer than 30 days: kept
  size_t left = OldUserEvents(*store);

  PamRun ok = RunPam("sesame-quiet", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(ok, PAM_SUCCESS);
  left -= kPruneInPassingBatch;
  EXPECT_EQ(OldUserEvents(*store), left);
  PamRun wrong =
      RunPam("sesame-quiet", "alice", {"not it"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  left -= kPruneInPassingBatch;
  EXPECT_EQ(OldUserEvents(*store), left);
  // An unknown user's refusal prunes too: the last due one goes.
  PamRun unknown =
      RunPam("sesame-quiet", "nobody", {"whatever"}, {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(unknown, PAM_USER_UNKNOWN);
  EXPECT_EQ(OldUserEvents(*store), 3u);
  PamRun again =
      RunPam("sesame-quiet", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(again, PAM_SUCCESS);
  EXPECT_EQ(OldUserEvents(*store), 3u);
}

TEST_F(RetentionTest, RetentionZeroKeepsEverything) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"activity_retention_days", "0"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(RecordOld(*store, 400, 5));
  for (const std::string answer : {kPassword, "wrong"}) {
    PamRun run = RunPam("sesame-quiet", "alice", {answer},
                        {{PAMTEST_AUTHENTICATE, answer == kPassword ? PAM_SUCCESS : PAM_AUTH_ERR}});
    EXPECT_PAM_CODES(run, answer == kPassword ? PAM_SUCCESS : PAM_AUTH_ERR);
  }
  EXPECT_EQ(OldUserEvents(*store), 5u);
}

}  // namespace
}  // namespace sesame::pam_testing
