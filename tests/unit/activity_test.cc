// Sign-in activity in core (core/flows/activity.h): TIME arguments, method
// words, the listing's filter, the "Last sign-in" line (read from a real
// store, after real sign-ins, with a fake clock) and retention.
#include "core/flows/activity.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "core/flows/sign_in.h"
#include "tests/fakes/failing_store.h"
#include "tests/fakes/fakes.h"
#include "tests/fakes/flow_test.h"

namespace sesame {
namespace {

using testing::FailingStore;

constexpr int64_t kNow = 1796169600;  // 2026-12-02T00:00:00Z

// Local time is UTC in these tests.
class ActivityTime : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    saved_ = tz != nullptr ? tz : "";
    had_ = tz != nullptr;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (had_) {
      setenv("TZ", saved_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  std::string saved_;
  bool had_ = false;
};

TEST_F(ActivityTime, ParsesSpansDatesAndTimes) {
  EXPECT_EQ(ParseActivityTime("7d", kNow).value(), kNow - 7 * 86400);
  EXPECT_EQ(ParseActivityTime("12h", kNow).value(), kNow - 12 * 3600);
  EXPECT_EQ(ParseActivityTime("2w", kNow).value(), kNow - 14 * 86400);
  EXPECT_EQ(ParseActivityTime("0d", kNow).value(), kNow);
  EXPECT_EQ(ParseActivityTime("2026-12-02", kNow).value(), kNow);
  EXPECT_EQ(ParseActivityTime("2026-12-01T09:14", kNow).value(), kNow - 86400 + 9 * 3600 + 840);
  EXPECT_EQ(ParseActivityTime("2026-12-01 09:14:05", kNow).value(), kNow - 86400 + 9 * 3600 + 845);
  EXPECT_EQ(ParseActivityTime("2026-12-02T00:00:00Z", kNow).value(), kNow);
  EXPECT_EQ(ParseActivityTime("2026-12-02T01:00+01:00", kNow).value(), kNow);
  EXPECT_EQ(ParseActivityTime("2026-12-01T19:00:00-0500", kNow).value(), kNow);
  EXPECT_EQ(ParseActivityTime("2024-02-29", kNow).value(), 1709164800);
}

TEST_F(ActivityTime, LocalZoneIsUsedWithoutASuffix) {
  setenv("TZ", "Europe/Paris", 1);  // UTC+1 in December
  tzset();
  EXPECT_EQ(ParseActivityTime("2026-12-02T01:00", kNow).value(), kNow);
  EXPECT_EQ(ParseActivityTime("2026-12-02T01:00Z", kNow).value(), kNow + 3600);
  EXPECT_EQ(LocalTimeText(kNow), "2026-12-02 01:00:00");
  EXPECT_EQ(LocalTimeIso(kNow), "2026-12-02T01:00:00+01:00");
}

TEST_F(ActivityTime, RefusesAnythingElseSayingWhatIsAccepted) {
  for (const char* bad : {"",
                          "d",
                          "7",
                          "7m",
                          "-7d",
                          "1000001d",
                          "yesterday",
                          "2026-13-01",
                          "2026-02-30",
                          "2025-02-29",
                          "2026-12-1",
                          "2026-12-01T9:14",
                          "2026-12-01T24:00",
                          "2026-12-01T09:60",
                          "2026-12-01T09:14:",
                          "2026-12-01T09:14+1",
                          "2026-12-01T09:14Zx",
                          "1969-12-31",
                          "2026-12-01\n",
                          "2026-12-01T09:14:05.5"}) {
    Result<int64_t> parsed = ParseActivityTime(bad, kNow);
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << bad;
    if (!parsed.ok()) {
      EXPECT_NE(parsed.status().message().find("accepted: Nd"), std::string::npos) << bad;
    }
  }
  // What the caller typed is shown without control characters.
  EXPECT_EQ(ParseActivityTime("x\x1b[2J", kNow).status().message().find('\x1b'), std::string::npos);
}

TEST_F(ActivityTime, FormatsLocalTimes) {
  EXPECT_EQ(LocalTimeText(kNow + 33245), "2026-12-02 09:14:05");
  EXPECT_EQ(LocalTimeIso(kNow + 33245), "2026-12-02T09:14:05+00:00");
}

TEST(ActivityWords, MethodsInWords) {
  EXPECT_EQ(MethodWords("password"), "password");
  EXPECT_EQ(MethodWords("password+totp"), "password+code");
  EXPECT_EQ(MethodWords("password+recovery-code"), "password+recovery code");
  EXPECT_EQ(MethodWords("totp"), "code");
  EXPECT_EQ(MethodWords("recovery-code"), "recovery code");
  EXPECT_EQ(MethodWords("app-password:thunderbird"), "app password thunderbird");
  EXPECT_EQ(MethodWords("app-password"), "app password");
  EXPECT_EQ(MethodWords("admin"), "admin action");
  EXPECT_EQ(MethodWords("reset-started"), "reset");
  EXPECT_EQ(MethodWords("reset"), "reset");
  EXPECT_EQ(MethodWords("lockout"), "lockout");
  EXPECT_EQ(MethodWords("something-new"), "something-new");
}

TEST(ActivityWords, QueryOptions) {
  EXPECT_TRUE(CheckOutcomeWord("failure").ok());
  EXPECT_TRUE(CheckOutcomeWord("success").ok());
  EXPECT_FALSE(CheckOutcomeWord("failed").ok());
  EXPECT_EQ(ParseLimit("20").value(), 20u);
  EXPECT_EQ(ParseLimit("100000").value(), 100000u);
  for (const char* bad : {"", "0", "-1", "100001", "1e3", "12x", "9999999999"})
    EXPECT_FALSE(ParseLimit(bad).ok()) << bad;

  ActivityQuery query;
  query.user = "alice";
  query.since = 100;
  query.until = 200;
  query.service = "sshd";
  query.outcome = "failure";
  query.limit = 5;
  EventFilter filter = ActivityFilter(query);
  EXPECT_EQ(filter.user, "alice");
  EXPECT_EQ(filter.since, 100);
  EXPECT_EQ(filter.until, 200);
  EXPECT_EQ(filter.service, "sshd");
  EXPECT_EQ(filter.outcomes, FailureOutcomes());
  EXPECT_EQ(filter.limit, 5u);
  EXPECT_TRUE(filter.newest_first);
  EXPECT_TRUE(filter.mark_new_hosts);
  query.outcome = "success";
  EXPECT_EQ(ActivityFilter(query).outcomes, std::vector<std::string>{"success"});
  query.outcome = "";
  EXPECT_TRUE(ActivityFilter(query).outcomes.empty());
}

// The line after real sign-ins through PasswordSignIn.
class LastSignInTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("activity", false, nullptr));
    clock_.Set(kNow);
    AddUser("alice", "correct horse battery staple");
  }
  void TearDown() override {
    unsetenv("TZ");
    tzset();
    testing::FlowTest::TearDown();
  }
  Decision SignIn(const std::string& password, const std::string& host,
                  const std::string& service = "sshd") {
    prompter_ = testing::ScriptedPrompter();
    prompter_.answers = std::deque<std::string>{password};
    return PasswordSignIn(*services_, prompter_, RequestInfo{"alice", service, host}).decision;
  }
};

TEST_F(LastSignInTest, FirstSignInSaysNothing) {
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  EXPECT_TRUE(prompter_.infos.empty());
}

TEST_F(LastSignInTest, TellsThePreviousSignInNotThisOne) {
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  clock_.Advance(9 * 3600 + 14 * 60);
  EXPECT_EQ(SignIn("correct horse battery staple", "198.51.100.4", "login"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0], "Last sign-in: 2026-12-02 00:00 from 203.0.113.7 (sshd).");
  clock_.Advance(60);
  EXPECT_EQ(SignIn("correct horse battery staple", ""), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0], "Last sign-in: 2026-12-02 09:14 from 198.51.100.4 (login).");
  clock_.Advance(60);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0], "Last sign-in: 2026-12-02 09:15 (sshd).");  // local: no host
}

TEST_F(LastSignInTest, CountsTheFailedAttemptsSince) {
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  clock_.Advance(3600);
  EXPECT_EQ(SignIn("wrong one", "192.0.2.66"), Decision::kFailure);
  clock_.Advance(10);
  EXPECT_EQ(SignIn("wrong two", "192.0.2.66"), Decision::kFailure);
  clock_.Advance(10);
  EXPECT_EQ(SignIn("wrong three", "192.0.2.66", "imap"), Decision::kFailure);
  clock_.Advance(10);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0],
            "Last sign-in: 2026-12-02 00:00 from 203.0.113.7 (sshd). 3 failed attempts since.");
  // Counted since the last one: none now.
  clock_.Advance(10);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0], "Last sign-in: 2026-12-02 01:00 from 203.0.113.7 (sshd).");
}

TEST_F(LastSignInTest, OneFailureAndFailuresBeforeTheFirstSignIn) {
  EXPECT_EQ(SignIn("wrong", "192.0.2.66"), Decision::kFailure);
  clock_.Advance(10);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0], "No earlier sign-in on record. 1 failed attempt before this one.");
  clock_.Advance(10);
  EXPECT_EQ(SignIn("wrong", "192.0.2.66"), Decision::kFailure);
  clock_.Advance(10);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0],
            "Last sign-in: 2026-12-02 00:00 from 203.0.113.7 (sshd). 1 failed attempt since.");
}

TEST_F(LastSignInTest, AppPasswordSignInsAreNotTheLastSignIn) {
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  // A mail client's sign-ins and failures, as mode=app_password records them.
  SignInEvent mail;
  mail.time = kNow + 100;
  mail.user = "alice";
  mail.service = "imap";
  mail.remote_host = "198.51.100.4";
  mail.method = "app-password:phone";
  mail.outcome = "success";
  ASSERT_TRUE(store_->RecordEvent(mail).ok());
  mail.method = "app-password";
  mail.outcome = "failure";
  ASSERT_TRUE(store_->RecordEvent(mail).ok());
  clock_.Advance(200);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  ASSERT_EQ(prompter_.infos.size(), 1u);
  EXPECT_EQ(prompter_.infos[0], "Last sign-in: 2026-12-02 00:00 from 203.0.113.7 (sshd).");
}

TEST_F(LastSignInTest, ShowLastSignInNoSaysNothing) {
  config_.show_last_sign_in = false;
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  EXPECT_EQ(SignIn("wrong", "203.0.113.7"), Decision::kFailure);
  clock_.Advance(10);
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  EXPECT_TRUE(prompter_.infos.empty());
}

// A store that cannot be read for the line leaves the success a success.
TEST_F(LastSignInTest, AStoreFailureIsLoggedAndTheSignInStaysASuccess) {
  EXPECT_EQ(SignIn("correct horse battery staple", "203.0.113.7"), Decision::kSuccess);
  FailingStore failing(*store_);
  Services services{config_, failing, *hasher_, clock_, random_, logger_, nullptr};
  const char* kMethod = "ReadLastSignIn";
  failing.Fail(kMethod, Code::kUnavailable);
  logger_.Clear();
  clock_.Advance(10);
  prompter_ = testing::ScriptedPrompter();
  prompter_.answers = std::deque<std::string>{"correct horse battery staple"};
  EXPECT_EQ(
      PasswordSignIn(services, prompter_, RequestInfo{"alice", "sshd", "203.0.113.7"}).decision,
      Decision::kSuccess);
  EXPECT_GT(failing.Failed(kMethod), 0);
  EXPECT_TRUE(prompter_.infos.empty());
  EXPECT_TRUE(logger_.Contains("cannot read the last sign-in"));
}

// Retention: every write that records a sign-in's event deletes at most
// kPruneInPassingBatch due events in its own transaction (no PruneEvents
// call, no transaction of its own); everything at once for the admin.
class RetentionTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("retention", false, nullptr));
    clock_.Set(kNow);
    config_.activity_retention_days = 90;
  }
  void Record(int64_t time, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      SignInEvent e;
      e.time = time + i;
      e.user = "bob";
      e.service = "sshd";
      e.method = "password";
      e.outcome = "success";
      ASSERT_TRUE(store_->RecordEvent(e).ok());
    }
  }
  size_t Count() { return store_->ListEvents(EventFilter{}).value().size(); }
  // Events older than the retention.
  size_t Due() {
    EventFilter due;
    due.until = clock_.Now() - 90 * 86400;
    return store_->ListEvents(due).value().size();
  }
  Decision SignIn(Services& services, const std::string& user, const std::string& password) {
    clock_.Advance(10);
    prompter_ = testing::ScriptedPrompter();
    prompter_.answers = std::deque<std::string>{password};
    return PasswordSignIn(services, prompter_, RequestInfo{user, "sshd", "203.0.113.7"}).decision;
  }
};

TEST_F(RetentionTest, CutoffFollowsTheConfig) {
  EXPECT_EQ(RetentionCutoff(config_, kNow), kNow - 90 * 86400);
  EXPECT_EQ(PruneInPassingBefore(config_, kNow), kNow - 90 * 86400);
  EXPECT_EQ(PruneInPassingBefore(config_, 90 * 86400), 0);  // not after the epoch: none
  config_.activity_retention_days = 0;
  EXPECT_FALSE(RetentionCutoff(config_, kNow).has_value());
  EXPECT_EQ(PruneInPassingBefore(config_, kNow), 0);
}

TEST_F(RetentionTest, EachSignInDeletesAFewDueEventsInItsOwnWrite) {
  AddUser("alice", "correct horse battery staple");
  const int64_t limit = kNow - 90 * 86400;
  Record(limit - 1000, 2 * kPruneInPassingBatch + 1);
  Record(limit + 1000, 3);  // newer than the limit (for the whole test): kept
  FailingStore counting(*store_);
  Services services{config_, counting, *hasher_, clock_, random_, logger_, nullptr};
  size_t count = Count();
  size_t due = Due();

  // A success: recorded by its settlement, which deletes a batch too.
  EXPECT_EQ(SignIn(services, "alice", "correct horse battery staple"), Decision::kSuccess);
  EXPECT_EQ(counting.Calls("SettleAttempt"), 1);
  EXPECT_EQ(counting.Calls("RecordEvent"), 0);
  EXPECT_EQ(counting.Calls("PruneEvents"), 0);
  due -= kPruneInPassingBatch;
  count = count + 1 - kPruneInPassingBatch;
  EXPECT_EQ(Due(), due);
  EXPECT_EQ(Count(), count);

  // A wrong password: recorded after its settlement, with the batch.
  EXPECT_EQ(SignIn(services, "alice", "wrong"), Decision::kFailure);
  EXPECT_EQ(counting.Calls("RecordEvent"), 1);
  due -= kPruneInPassingBatch;
  count = count + 1 - kPruneInPassingBatch;
  EXPECT_EQ(Due(), due);
  EXPECT_EQ(Count(), count);

  // An unknown user (no settlement): the last due one.
  ASSERT_EQ(due, 1u);
  EXPECT_EQ(SignIn(services, "nobody", "whatever"), Decision::kUnknownUser);
  EXPECT_EQ(Due(), 0u);
  EXPECT_EQ(Count(), count);  // one deleted, one added

  // Nothing due: nothing deleted; the newer ones stay.
  EXPECT_EQ(SignIn(services, "alice", "correct horse battery staple"), Decision::kSuccess);
  EXPECT_EQ(Count(), count + 1);
  EXPECT_EQ(counting.Calls("PruneEvents"), 0);
  EventFilter at_limit;
  at_limit.user = "bob";
  EXPECT_EQ(store_->ListEvents(at_limit).value().size(), 3u);
}

TEST_F(RetentionTest, RetentionZeroKeepsEverything) {
  AddUser("alice", "correct horse battery staple");
  config_.activity_retention_days = 0;
  Record(1, 5);
  EXPECT_EQ(SignIn(*services_, "alice", "correct horse battery staple"), Decision::kSuccess);
  EXPECT_EQ(SignIn(*services_, "alice", "wrong"), Decision::kFailure);
  EXPECT_EQ(SignIn(*services_, "nobody", "whatever"), Decision::kUnknownUser);
  EXPECT_EQ(Count(), 8u);
  EXPECT_EQ(PruneAllEvents(*store_, config_, kNow).value(), 0);
  EXPECT_EQ(Count(), 8u);
}

TEST_F(RetentionTest, PruneAllDeletesExactlyTheOlderOnesInBatches) {
  Record(kNow - 100 * 86400, 25);
  Record(kNow - 10 * 86400, 4);
  FailingStore counting(*store_);
  Result<int64_t> pruned = PruneAllEvents(counting, config_, kNow, 10);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(*pruned, 25);
  EXPECT_EQ(counting.Calls("PruneEvents"), 3);  // 10, 10, 5
  EXPECT_EQ(Count(), 4u);
  config_.activity_retention_days = 0;
  EXPECT_EQ(PruneAllEvents(*store_, config_, kNow).value(), 0);
  EXPECT_EQ(Count(), 4u);
}

}  // namespace
}  // namespace sesame
