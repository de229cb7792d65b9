// Sign-in events recorded in the store by the module: exactly one per
// decision, with user, service, remote host (PAM_RHOST), method and outcome.
#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "events are kept 42";

struct Expected {
  std::string user;
  std::string service;
  std::string remote_host;
  std::string outcome;
  std::string detail;
};

using SignInEventsTest = PamTest;

TEST_F(SignInEventsTest, EachDecisionIsRecordedOnce) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  size_t mark = DevLog().Mark();

  PamRun ok = RunPam("sesame", "alice", {kPassword},
                     {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(ok, PAM_SUCCESS, PAM_SUCCESS);
  PamRun wrong =
      RunPam("sesame", "alice", {"not the password"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  PamRun unknown =
      RunPam("sesame-quiet", "ghost", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(unknown, PAM_USER_UNKNOWN);

  // What sshd and Dovecot do: PAM_RHOST set by the application.
  DirectRun remote = DirectSignIn("sesame-quiet", "alice", kPassword, "203.0.113.7", true);
  EXPECT_EQ(PamCodeName(remote.start), PamCodeName(PAM_SUCCESS));
  EXPECT_EQ(PamCodeName(remote.auth), PamCodeName(PAM_SUCCESS));
  EXPECT_EQ(PamCodeName(remote.account), PamCodeName(PAM_SUCCESS));
  EXPECT_EQ(remote.prompts, 1);
  DirectRun remote_wrong =
      DirectSignIn("sesame-quiet", "alice", "guess", "2001:db8::1", /*account=*/false);
  EXPECT_EQ(PamCodeName(remote_wrong.auth), PamCodeName(PAM_AUTH_ERR));
  // A remote host that tries to forge a log line.
  DirectRun forged = DirectSignIn("sesame-quiet", "alice", "guess 2", "198.51.100.1\nforged line",
                                  /*account=*/false);
  EXPECT_EQ(PamCodeName(forged.auth), PamCodeName(PAM_AUTH_ERR));
  const int64_t after = static_cast<int64_t>(std::time(nullptr));

  const std::vector<Expected> expected = {
      {"alice", "sesame", "", "success",
       "password accepted; no second factor enrolled (not required)"},
      {"alice", "sesame", "", "failure", "wrong password (1 of 5 failures)"},
      {"ghost", "sesame-quiet", "", "unknown-user", "no such user in the store"},
      {"alice", "sesame-quiet", "203.0.113.7", "success",
       "password accepted; no second factor enrolled (not required)"},
      // The success before reset the count.
      {"alice", "sesame-quiet", "2001:db8::1", "failure", "wrong password (1 of 5 failures)"},
      {"alice", "sesame-quiet", "198.51.100.1\nforged line", "failure",
       "wrong password (2 of 5 failures)"},
  };
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    EXPECT_EQ(events[i].user, expected[i].user);
    EXPECT_EQ(events[i].service, expected[i].service);
    EXPECT_EQ(events[i].remote_host, expected[i].remote_host);
    EXPECT_EQ(events[i].method, "password");
    EXPECT_EQ(events[i].outcome, expected[i].outcome);
    EXPECT_EQ(events[i].detail, expected[i].detail);
    EXPECT_GE(events[i].time, before);
    EXPECT_LE(events[i].time, after);
  }

  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines,
                          "password sign-in success for user alice (service sesame-quiet, "
                          "from 203.0.113.7): password accepted"))
      << Dump(lines);
  EXPECT_TRUE(AnyContains(lines, "(service sesame-quiet, from 198.51.100.1\\x0aforged line)"))
      << Dump(lines);
  EXPECT_FALSE(AnyContains(lines, "\nforged line")) << Dump(lines);
}

TEST_F(SignInEventsTest, AccountChecksOfUsableAccountsAreNotEvents) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  ASSERT_NO_FATAL_FAILURE(AddUser("dora", kPassword));
  ASSERT_NO_FATAL_FAILURE(DisableUser("dora"));
  PamRun usable = RunPam("sesame", "alice", {}, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(usable, PAM_SUCCESS);
  PamRun disabled = RunPam("sesame", "dora", {}, {{PAMTEST_ACCOUNT, PAM_ACCT_EXPIRED}});
  EXPECT_PAM_CODES(disabled, PAM_ACCT_EXPIRED);
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].user, "dora");
  EXPECT_EQ(events[0].method, "account");
  EXPECT_EQ(events[0].outcome, "disabled");
}

// Refusals that cost the refuser nothing (no hash): empty and overlong
// passwords, names that cannot be accounts, unknown names with such input.
// An unauthenticated client could grow the store by one row per connection;
// they are coalesced: one row per kind and minute, with a count. A real
// guess (it costs a hash) still gets its own row.
TEST_F(SignInEventsTest, RefusalsThatCostNothingAreCoalesced) {
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  const std::string overlong(1 << 20, 'x');
  for (int i = 0; i < 20; ++i) {
    RunPam("sesame-quiet", "alice", {""}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
    RunPam("sesame-quiet", "alice", {overlong}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
    RunPam("sesame-quiet", "no such name " + std::to_string(i), {"x"},
           {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
    RunPam("sesame-quiet", "ghost" + std::to_string(i), {""},
           {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  }
  RunPam("sesame-quiet", "alice", {"a real guess"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 5u);
  int64_t total = 0;
  for (const SignInEvent& e : events) total += e.count;
  EXPECT_EQ(total, 81);
  EXPECT_EQ(events[0].detail, "empty password");
  EXPECT_EQ(events[0].count, 20);
  EXPECT_EQ(events[1].detail, "password longer than 1024 bytes");
  EXPECT_EQ(events[1].count, 20);
  EXPECT_EQ(events[2].user, "(invalid name)");
  EXPECT_EQ(events[2].count, 20);
  EXPECT_EQ(events[3].user, "(unknown user)");
  EXPECT_EQ(events[3].count, 20);
  EXPECT_EQ(events[4].detail, "wrong password (1 of 5 failures)");
  EXPECT_EQ(events[4].count, 1);
}

}  // namespace
}  // namespace sesame::pam_testing
