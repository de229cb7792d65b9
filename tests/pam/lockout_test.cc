// Lockout through the real libpam, as pam_faillock: `deny` wrong passwords
// within `fail_interval` lock the account for `unlock_time` seconds (0: until
// `sesame-admin unlock`); a locked account is refused before its password is
// checked; failures from many processes at once are all counted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";

size_t Count(const std::vector<LogLine>& lines, const std::string& needle) {
  return Matching(lines, needle).size();
}

struct EventKey {
  std::string method;
  std::string outcome;
  std::string detail;
  bool operator==(const EventKey& o) const {
    return method == o.method && outcome == o.outcome && detail == o.detail;
  }
};

std::ostream& operator<<(std::ostream& os, const EventKey& e) {
  return os << "{" << e.method << ", " << e.outcome << ", \"" << e.detail << "\"}";
}

class LockoutTest : public PamTest {
 protected:
  // One authenticate as `user` on the debug service; checks the code and
  // that only "Password: " was asked.
  PamRun Auth(const std::string& user, const std::string& answer, int expected) {
    PamRun run = RunPam("sesame", user, {answer}, {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected);
    EXPECT_EQ(run.conv.Prompts(), std::vector<std::string>{"Password: "});
    return run;
  }

  // The events of `user`, as (method, outcome, detail).
  std::vector<EventKey> EventsOf(const std::string& user) {
    std::vector<EventKey> out;
    for (const SignInEvent& e : Events())
      if (e.user == user) out.push_back({e.method, e.outcome, e.detail});
    return out;
  }

  std::string ShowJson(const std::string& name) {
    CommandResult r = RunAdmin({"user", "show", name, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  void ExpectJsonHas(const std::string& name, const std::string& fragment) {
    std::string json = ShowJson(name);
    EXPECT_NE(json.find(fragment), std::string::npos) << "no " << fragment << " in " << json;
  }
};

// ---- 9. deny 3, unlock_time 2 ----

TEST_F(LockoutTest, ThirdFailureLocksTheRightPasswordIsNotCheckedUntilUnlockTime) {
  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"deny", "3"}, {"fail_interval", "900"}, {"unlock_time", "2"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));

  size_t mark = DevLog().Mark();
  for (int i = 1; i <= 3; ++i) {
    PamRun wrong = Auth("alice", "wrong password " + std::to_string(i), PAM_AUTH_ERR);
    EXPECT_TRUE(wrong.conv.Errors().empty()) << "attempt " << i;
  }
  std::vector<LogLine> failing_lines = DevLog().Since(mark);
  EXPECT_EQ(EventsOf("alice"),
            (std::vector<EventKey>{{"password", "failure", "wrong password (1 of 3 failures)"},
                                   {"password", "failure", "wrong password (2 of 3 failures)"},
                                   {"password", "failure", "wrong password (3 of 3 failures)"},
                                   {"lockout", "locked", "3 failures; locked for 2 s"}}));
  std::optional<UserRecord> locked = GetUser("alice");
  ASSERT_TRUE(locked.has_value());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_EQ(locked->failures, 3);
  EXPECT_GT(locked->locked_until, now);
  EXPECT_LE(locked->locked_until, now + 2);
  ExpectJsonHas("alice", "\"locked\":true");
  ExpectJsonHas("alice", "\"failures\":3");

  // The right password: refused and said so, without an argon2 computation.
  mark = DevLog().Mark();
  PamRun right = Auth("alice", kPassword, PAM_AUTH_ERR);
  std::vector<LogLine> locked_lines = DevLog().Since(mark);
  ASSERT_EQ(right.conv.Errors().size(), 1u);
  EXPECT_NE(right.conv.Errors()[0].find("locked"), std::string::npos) << right.conv.Errors()[0];
  // How long, in words a person reads (the exact sentence is the module's).
  EXPECT_NE(right.conv.Errors()[0].find("1 minute"), std::string::npos) << right.conv.Errors()[0];
  EXPECT_EQ(EventsOf("alice").back(), (EventKey{"password", "locked",
                                                "account is locked for 1 minute more; password not "
                                                "checked"}));
  EXPECT_EQ(GetUser("alice")->failures, 3) << "a refused attempt while locked is not counted";

  // Past unlock_time the right password works; the lock is lifted and
  // recorded, and the count starts again.
  while (static_cast<int64_t>(std::time(nullptr)) < locked->locked_until) usleep(50 * 1000);
  mark = DevLog().Mark();
  Auth("alice", kPassword, PAM_SUCCESS);
  std::vector<LogLine> unlocked_lines = DevLog().Since(mark);
  std::vector<EventKey> events = EventsOf("alice");
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2], (EventKey{"lockout", "unlocked", "lock expired"}));
  EXPECT_EQ(events.back(),
            (EventKey{"password", "success",
                      "password accepted; no second factor enrolled (not required)"}));
  std::optional<UserRecord> after = GetUser("alice");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->failures, 0);
  EXPECT_EQ(after->locked_until, 0);
  EXPECT_EQ(after->first_failure, 0);
  ExpectJsonHas("alice", "\"locked\":false");

  if (DevLog().available()) {
    EXPECT_EQ(Count(failing_lines, "pam_sesame(sesame:auth): argon2: start"), 3u)
        << Dump(failing_lines);
    EXPECT_EQ(Count(failing_lines,
                    "account of user alice (service sesame) locked after 3 failures for 2 s"),
              1u)
        << Dump(failing_lines);
    EXPECT_EQ(Count(locked_lines, "argon2: start"), 0u) << Dump(locked_lines);
    EXPECT_EQ(Count(locked_lines,
                    "pam_sesame(sesame:auth): password sign-in locked for user alice (service "
                    "sesame): account is locked for 1 minute more; password not checked"),
              1u)
        << Dump(locked_lines);
    EXPECT_EQ(Count(unlocked_lines, "lock of user alice (service sesame) expired; lifted"), 1u)
        << Dump(unlocked_lines);
    EXPECT_EQ(Count(unlocked_lines, "argon2: start"), 1u) << Dump(unlocked_lines);
  }

  // A success resets the count: two wrong, the right one, two wrong again
  // do not lock (four failures, never three in a row).
  for (const char* answer : {"nope 1", "nope 2"}) Auth("alice", answer, PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->failures, 2);
  Auth("alice", kPassword, PAM_SUCCESS);
  EXPECT_EQ(GetUser("alice")->failures, 0);
  for (const char* answer : {"nope 3", "nope 4"}) Auth("alice", answer, PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->failures, 2);
  EXPECT_EQ(GetUser("alice")->locked_until, 0);
  ExpectJsonHas("alice", "\"failures\":2");
  Auth("alice", kPassword, PAM_SUCCESS);
  SKIP_WITHOUT_LOGS();
}

TEST_F(LockoutTest, FailuresOlderThanFailIntervalStartANewWindow) {
  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"deny", "3"}, {"fail_interval", "900"}, {"unlock_time", "600"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  // Two earlier failures each, counted through the store as the module
  // counts them: alice's 1000 s ago (outside the window), bob's 100 s ago.
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    const LockoutPolicy policy{3, 900, 600};
    for (int i = 0; i < 2; ++i) {
      for (const char* name : {"alice", "bob"}) {
        const int64_t when = name[0] == 'a' ? now - 1000 : now - 100;
        auto r = store->ReserveAttempt(name, when, policy, "");
        ASSERT_TRUE(r.ok() && r->verdict == Reservation::Verdict::kReserved);
        Settlement wrong;
        wrong.reservation = *r;
        wrong.now = when;
        wrong.policy = policy;
        ASSERT_TRUE(store->SettleAttempt(name, wrong, nullptr).ok());
      }
    }
  }
  Auth("alice", "wrong again", PAM_AUTH_ERR);
  EXPECT_EQ(EventsOf("alice"),
            (std::vector<EventKey>{{"password", "failure", "wrong password (1 of 3 failures)"}}));
  EXPECT_EQ(GetUser("alice")->failures, 1);
  Auth("alice", kPassword, PAM_SUCCESS);

  Auth("bob", "wrong again", PAM_AUTH_ERR);
  EXPECT_EQ(EventsOf("bob"),
            (std::vector<EventKey>{{"password", "failure", "wrong password (3 of 3 failures)"},
                                   {"lockout", "locked", "3 failures; locked for 600 s"}}));
  Auth("bob", kPassword, PAM_AUTH_ERR);
}

// ---- 9b. the same wrong password again counts once ----

// The whole of a file, "" when it cannot be read.
std::string Slurp(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

TEST_F(LockoutTest, TheSameWrongPasswordAgainCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"deny", "3"}, {"fail_interval", "900"}, {"unlock_time", "600"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  const std::string saved = "the old password a mail client saved";
  const std::string repeated =
      "wrong password (the same as an earlier wrong attempt: not counted again; 1 of 3 failures)";

  // A client retrying what it has saved, five times: one failure, no lock.
  for (int i = 0; i < 5; ++i) Auth("alice", saved, PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->failures, 1);
  EXPECT_EQ(GetUser("alice")->locked_until, 0);
  std::vector<EventKey> events = EventsOf("alice");
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0], (EventKey{"password", "failure", "wrong password (1 of 3 failures)"}));
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(events[i], (EventKey{"password", "failure", repeated}));

  // Only digests are kept: the wrong password is nowhere in the store's files.
  std::string files = Slurp(store_path_) + Slurp(store_path_ + "-wal");
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.find(saved), std::string::npos) << "the wrong password was stored";

  Auth("alice", kPassword, PAM_SUCCESS);
  EXPECT_EQ(GetUser("alice")->failures, 0);

  // After a success it is forgotten, and repeats never hide new guesses:
  // saved (1), guess (2), saved again (not counted), another guess (3: locked).
  Auth("alice", saved, PAM_AUTH_ERR);
  Auth("alice", "guess one", PAM_AUTH_ERR);
  Auth("alice", saved, PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->failures, 2);
  EXPECT_EQ(GetUser("alice")->locked_until, 0);
  Auth("alice", "guess two", PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->failures, 3);
  EXPECT_NE(GetUser("alice")->locked_until, 0);
  events = EventsOf("alice");
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[events.size() - 3],
            (EventKey{"password", "failure",
                      "wrong password (the same as an earlier wrong attempt: not counted again; 2 "
                      "of 3 failures)"}));
  EXPECT_EQ(events[events.size() - 2],
            (EventKey{"password", "failure", "wrong password (3 of 3 failures)"}));
  EXPECT_EQ(events.back(), (EventKey{"lockout", "locked", "3 failures; locked for 600 s"}));
}

// ---- 10. unlock_time 0: until an administrator unlocks ----

TEST_F(LockoutTest, UnlockTimeZeroLocksUntilAnAdministratorUnlocks) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "3"}, {"unlock_time", "0"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  for (int i = 1; i <= 3; ++i) Auth("alice", "wrong " + std::to_string(i), PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->locked_until, kLockedUntilUnlocked);
  ExpectJsonHas("alice", "\"locked_until\":\"until-unlocked\"");
  std::vector<EventKey> events = EventsOf("alice");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3], (EventKey{"lockout", "locked",
                                 "3 failures; locked until an administrator unlocks it"}));

  PamRun right = Auth("alice", kPassword, PAM_AUTH_ERR);
  ASSERT_EQ(right.conv.Errors().size(), 1u);
  EXPECT_NE(right.conv.Errors()[0].find("locked"), std::string::npos) << right.conv.Errors()[0];
  EXPECT_NE(right.conv.Errors()[0].find("administrator"), std::string::npos)
      << right.conv.Errors()[0];
  EXPECT_EQ(right.conv.Errors()[0].find("minute"), std::string::npos)
      << "no time limit to tell: " << right.conv.Errors()[0];

  CommandResult unlock = RunAdmin({"unlock", "alice"});
  EXPECT_EQ(unlock.exit_code, 0) << unlock.err;
  EXPECT_EQ(unlock.out, "unlocked alice\n");
  EXPECT_EQ(EventsOf("alice").back(),
            (EventKey{"admin", "unlocked", "unlocked by an administrator"}));
  ExpectJsonHas("alice", "\"locked\":false");
  ExpectJsonHas("alice", "\"failures\":0");

  Auth("alice", kPassword, PAM_SUCCESS);
  // Unlocking an account that is not locked says so.
  CommandResult again = RunAdmin({"unlock", "alice"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "alice was not locked; failure count reset (was 0)\n");
}

// ---- 11. lockout_exempt_root ----

TEST_F(LockoutTest, LockoutExemptRootSparesOnlyAUserNamedRoot) {
  // exempt_users = none: root is a Sesame user here (by default pam_sesame
  // leaves root to pam_unix, see exempt_users_test.cc).
  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"deny", "3"}, {"lockout_exempt_root", "yes"}, {"exempt_users", "none"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("root", kPassword));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  for (int i = 1; i <= 5; ++i) {
    PamRun wrong = Auth("root", "wrong " + std::to_string(i), PAM_AUTH_ERR);
    EXPECT_TRUE(wrong.conv.Errors().empty());
  }
  std::optional<UserRecord> root = GetUser("root");
  ASSERT_TRUE(root.has_value());
  // Counted (as pam_faillock keeps a tally for an exempt root), never locked.
  EXPECT_EQ(root->failures, 5);
  EXPECT_EQ(root->locked_until, 0);
  for (const EventKey& e : EventsOf("root")) {
    EXPECT_EQ(e.method, "password");
    EXPECT_EQ(e.outcome, "failure");
    EXPECT_EQ(e.detail, "wrong password") << "no count for an exempt account";
  }
  Auth("root", kPassword, PAM_SUCCESS);
  // Everyone else is still locked out.
  for (int i = 1; i <= 3; ++i) Auth("alice", "wrong " + std::to_string(i), PAM_AUTH_ERR);
  Auth("alice", kPassword, PAM_AUTH_ERR);

  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"deny", "3"}, {"lockout_exempt_root", "no"}, {"exempt_users", "none"}}));
  CommandResult unlocked = RunAdmin({"unlock", "root"});  // a fresh count
  EXPECT_EQ(unlocked.exit_code, 0) << unlocked.err;
  for (int i = 1; i <= 3; ++i) Auth("root", "wrong " + std::to_string(i), PAM_AUTH_ERR);
  PamRun locked = Auth("root", kPassword, PAM_AUTH_ERR);
  ASSERT_EQ(locked.conv.Errors().size(), 1u);
  EXPECT_NE(locked.conv.Errors()[0].find("locked"), std::string::npos);
  ExpectJsonHas("root", "\"locked\":true");
  std::vector<EventKey> events = EventsOf("root");
  int locks = 0;
  for (const EventKey& e : events) locks += e.method == "lockout" && e.outcome == "locked";
  EXPECT_EQ(locks, 1);
}

// ---- 12. many processes failing at once ----

// WaitAtGate and ForkWarmPamChild (bounded) are in pam_harness.h.

constexpr int kProcesses = 8;
constexpr int kTriesEach = 5;

// kProcesses children each make kTriesEach wrong sign-ins as alice through
// libpam, all starting at once. Returns how many children saw anything but
// PAM_AUTH_ERR (or died).
int FailAtOnce() {
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return kProcesses;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ForkWarmPamChild("child " + std::to_string(p) + " failing as alice");
    if (pid == 0) {
      close(gate[1]);
      WaitAtGate(gate[0]);
      int odd = 0;
      for (int t = 0; t < kTriesEach; ++t) {
        DirectRun d = DirectSignIn("sesame-quiet", "alice",
                                   "wrong " + std::to_string(p) + "/" + std::to_string(t), nullptr,
                                   /*account=*/false);
        if (d.start != PAM_SUCCESS || d.auth != PAM_AUTH_ERR || d.end != PAM_SUCCESS ||
            d.prompts != 1)
          ++odd;
      }
      ExitChild(odd == 0 ? 0 : 1);
    }
    if (pid > 0) pids.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // go
  int bad = kProcesses - static_cast<int>(pids.size());
  for (pid_t pid : pids) {
    int status = WaitChild(pid, "a child failing as alice");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++bad;
  }
  return bad;
}

TEST_F(LockoutTest, FailuresFromEightProcessesAtOnceAreAllCounted) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "1000"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  EXPECT_EQ(FailAtOnce(), 0);
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->failures, kProcesses * kTriesEach);
  EXPECT_EQ(alice->locked_until, 0);
  ExpectJsonHas("alice", "\"failures\":40");
  std::map<std::string, int> outcomes;
  for (const EventKey& e : EventsOf("alice")) ++outcomes[e.method + "/" + e.outcome];
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"password/failure", 40}}));
}

TEST_F(LockoutTest, EightProcessesFailingAtOnceLockExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "5"}}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  EXPECT_EQ(FailAtOnce(), 0);
  std::map<std::string, int> outcomes;
  // Refusals of a locked account cost nothing and are coalesced: a row
  // stands for `count` of them.
  for (const SignInEvent& e : Events())
    if (e.user == "alice") outcomes[e.method + "/" + e.outcome] += static_cast<int>(e.count);
  EXPECT_EQ(outcomes["lockout/locked"], 1);
  // No more than deny passwords were checked, however many came at once.
  EXPECT_EQ(outcomes["password/failure"], 5);
  // Every attempt is either a counted failure or refused as locked.
  EXPECT_EQ(outcomes["password/failure"] + outcomes["password/locked"], 40);
  EXPECT_GE(outcomes["password/failure"], 5);
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->failures, outcomes["password/failure"]);
  EXPECT_GT(alice->locked_until, static_cast<int64_t>(std::time(nullptr)));
  ExpectJsonHas("alice", "\"locked\":true");
  // Locked means locked: the right password is refused.
  PamRun right = Auth("alice", kPassword, PAM_AUTH_ERR);
  EXPECT_EQ(right.conv.Errors().size(), 1u);
}

}  // namespace
}  // namespace sesame::pam_testing
