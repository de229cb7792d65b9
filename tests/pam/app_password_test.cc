// App passwords through the real libpam (PAM mode=app_password): the
// services a mail server runs (imap, submission), one hidden prompt, an app
// password found by its digest, each refusal (another service, revoked,
// expired, another user's), the main password under each
// app_password_main_password rule, odd input, the app-password lockout
// bucket apart from the interactive one, and no pam_fail_delay.
//
// App passwords are made here as the tools make them: NewAppPassword, its
// digest under the test's host key (core/crypto/app_password.h), then
// Store::AddAppPassword on the test's real SQLite store.
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "core/base/secret.h"
#include "core/crypto/app_password.h"
#include "core/crypto/key_file.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";
constexpr char kSecret[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const std::vector<std::string> kOnePrompt = {"Password: "};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

class AppPasswordTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
    ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  }

  void EnrollMfa(const std::string& name) {
    CommandResult r =
        RunAdmin({"mfa", "enroll", name, "--secret-stdin"}, std::string(kSecret) + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // A new app password of `user` as shown ("abcd efgh ..."), stored with
  // `services` and `expires` (0: never). Its record id in `id`.
  std::string Make(const std::string& user, const std::string& name,
                   std::vector<std::string> services = {}, int64_t expires = 0,
                   int64_t* id = nullptr) {
    SystemRandom random;
    Result<SecretBuffer> letters = NewAppPassword(random);
    EXPECT_TRUE(letters.ok());
    if (!letters.ok()) return "";
    Result<SecretBuffer> key = LoadHostKey(key_path_);
    EXPECT_TRUE(key.ok()) << key.status().message();
    if (!key.ok()) return "";
    AppPasswordRecord record;
    record.user = user;
    record.name = name;
    record.digest = AppPasswordDigest(key.value(), letters.value().view());
    record.services = std::move(services);
    record.created = Now();
    record.expires = expires;
    std::unique_ptr<Store> store = OpenStore();
    EXPECT_NE(store, nullptr);
    if (store == nullptr) return "";
    Status added = store->AddAppPassword(record, 25, Now());
    EXPECT_TRUE(added.ok()) << added.message();
    if (id != nullptr) *id = record.id;
    SecretBuffer shown = GroupAppPassword(letters.value().view());
    return std::string(shown.view());
  }

  std::vector<AppPasswordRecord> AppPasswordsOf(const std::string& user) {
    std::unique_ptr<Store> store = OpenStore();
    if (store == nullptr) return {};
    Result<std::vector<AppPasswordRecord>> list = store->ListAppPasswords(user);
    EXPECT_TRUE(list.ok()) << list.status().message();
    return list.ok() ? list.value() : std::vector<AppPasswordRecord>{};
  }

  LockoutRecord AppBucket(const std::string& user) {
    std::unique_ptr<Store> store = OpenStore();
    if (store == nullptr) return {};
    Result<LockoutRecord> bucket = store->AppPasswordLockout(user);
    EXPECT_TRUE(bucket.ok()) << bucket.status().message();
    return bucket.ok() ? bucket.value() : LockoutRecord{};
  }

  // The newest event of `user` (events are listed oldest first; the test
  // does not rely on it: it takes the highest id).
  std::optional<SignInEvent> LastEvent(const std::string& user) {
    std::optional<SignInEvent> last;
    for (const SignInEvent& e : Events()) {
      if (e.user == user && (!last.has_value() || e.id > last->id)) last = e;
    }
    return last;
  }

  // One sign-in to `service` answering `answer`: auth then account.
  PamRun SignIn(const std::string& service, const std::string& user, const std::string& answer,
                int auth_expected, int account_expected = PAM_SUCCESS) {
    std::vector<PamStep> steps = {{PAMTEST_AUTHENTICATE, auth_expected}};
    if (auth_expected == PAM_SUCCESS) steps.push_back({PAMTEST_ACCOUNT, account_expected});
    PamRun run = RunPam(service, user, {answer}, steps);
    return run;
  }

  // Expects exactly one prompt, "Password: ", and the auth result.
  void ExpectSignIn(const std::string& service, const std::string& user, const std::string& answer,
                    int expected) {
    PamRun run = SignIn(service, user, answer, expected);
    if (expected == PAM_SUCCESS) {
      EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
    } else {
      EXPECT_PAM_CODES(run, expected);
    }
    EXPECT_EQ(run.conv.Prompts(), kOnePrompt);
  }
};

// ---- the app password itself ----

TEST_F(AppPasswordTest, ARightAppPasswordSignsInWithOnePromptAndIsMarkedUsed) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "Thunderbird");
  ASSERT_EQ(app.size(), 29u) << app;
  PamRun run = SignIn("imap", "alice", app, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kOnePrompt);
  EXPECT_TRUE(run.conv.Errors().empty());

  std::optional<SignInEvent> event = LastEvent("alice");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->method, "app-password:Thunderbird");
  EXPECT_EQ(event->outcome, "success");
  EXPECT_EQ(event->service, "imap");
  EXPECT_EQ(event->detail.find(app), std::string::npos) << "never the secret";

  std::vector<AppPasswordRecord> list = AppPasswordsOf("alice");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_GE(list[0].last_used, Now() - 60);
  // The interactive bucket is untouched.
  EXPECT_EQ(GetUser("alice")->failures, 0);
}

TEST_F(AppPasswordTest, LastUsedFromIsTheRemoteHostOfTheSignIn) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "phone");
  DirectRun run = DirectSignIn("imap", "alice", app, "198.51.100.7", true);
  EXPECT_EQ(run.auth, PAM_SUCCESS);
  EXPECT_EQ(run.account, PAM_SUCCESS);
  EXPECT_EQ(run.prompts, 1);
  std::vector<AppPasswordRecord> list = AppPasswordsOf("alice");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].last_used_from, "198.51.100.7");
  std::optional<SignInEvent> event = LastEvent("alice");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->remote_host, "198.51.100.7");
}

TEST_F(AppPasswordTest, SpacesDashesAndCaseAreIgnored) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "laptop");
  std::string letters;
  for (char c : app)
    if (c != ' ') letters += c;
  std::string upper = app;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string dashed = app;
  std::replace(dashed.begin(), dashed.end(), ' ', '-');
  for (const std::string& typed : {letters, upper, dashed, "  " + app + "  "}) {
    SCOPED_TRACE(typed);
    ExpectSignIn("imap", "alice", typed, PAM_SUCCESS);
  }
}

TEST_F(AppPasswordTest, AnAppPasswordForOtherServicesIsRefusedHere) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "reader", {"imap"});
  ExpectSignIn("imap", "alice", app, PAM_SUCCESS);
  PamRun run = SignIn("submission", "alice", app, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(run.conv.Prompts(), kOnePrompt);
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_EQ(run.conv.Errors()[0].rfind("This app password is not for this service.", 0), 0u)
      << run.conv.Errors()[0];
  std::optional<SignInEvent> event = LastEvent("alice");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->method, "app-password:reader");
  EXPECT_EQ(event->outcome, "failure");
  EXPECT_NE(event->detail.find("not for service submission"), std::string::npos) << event->detail;
  EXPECT_EQ(AppBucket("alice").failures, 1);
  EXPECT_EQ(GetUser("alice")->failures, 0) << "never the interactive bucket";
}

TEST_F(AppPasswordTest, ARevokedAppPasswordIsRefusedAtOnce) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "old phone");
  ExpectSignIn("imap", "alice", app, PAM_SUCCESS);
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    Result<int> revoked = store->RevokeAppPasswords("alice", "old phone", Now());
    ASSERT_TRUE(revoked.ok()) << revoked.status().message();
    EXPECT_EQ(revoked.value(), 1);
  }
  PamRun run = SignIn("imap", "alice", app, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_EQ(run.conv.Errors()[0].rfind("This app password was revoked.", 0), 0u)
      << run.conv.Errors()[0];
  EXPECT_EQ(LastEvent("alice")->outcome, "failure");
}

TEST_F(AppPasswordTest, AnExpiredAppPasswordIsRefused) {
  EnrollMfa("alice");
  const std::string expired = Make("alice", "expired", {}, Now() - 1);
  const std::string live = Make("alice", "live", {}, Now() + 3600);
  ExpectSignIn("imap", "alice", live, PAM_SUCCESS);
  PamRun run = SignIn("imap", "alice", expired, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_EQ(run.conv.Errors()[0].rfind("This app password has expired.", 0), 0u)
      << run.conv.Errors()[0];
}

TEST_F(AppPasswordTest, AnotherUsersAppPasswordDoesNotSignIn) {
  EnrollMfa("alice");
  EnrollMfa("bob");
  const std::string bobs = Make("bob", "bob's phone");
  PamRun run = SignIn("imap", "alice", bobs, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  std::optional<SignInEvent> event = LastEvent("alice");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->outcome, "app-password-required");
  EXPECT_NE(event->detail.find("not an app password of this user"), std::string::npos)
      << event->detail;
  EXPECT_EQ(event->detail.find("bob"), std::string::npos) << "nothing about whose it is";
  // Without MFA and with the main password allowed, it is a wrong password.
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"app_password_main_password", "allow"}}));
  run = SignIn("imap", "alice", bobs, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent("alice")->outcome, "failure");
  EXPECT_TRUE(AppPasswordsOf("bob")[0].last_used == 0) << "bob's was not used";
}

// ---- the main password ----

TEST_F(AppPasswordTest, AnMfaUsersMainPasswordIsRefusedSayingWhy) {
  SKIP_WITHOUT_LOGS();
  EnrollMfa("alice");
  const size_t mark = DevLog().Mark();
  PamRun run = SignIn("imap", "alice", kPassword, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(run.conv.Prompts(), kOnePrompt) << "never a second question";
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_EQ(run.conv.Errors()[0],
            "This service needs an app password; your account's main password is not accepted "
            "here. Make one with: sesame app-password create NAME");
  std::optional<SignInEvent> event = LastEvent("alice");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->outcome, "app-password-required");
  EXPECT_EQ(event->service, "imap");
  EXPECT_NE(event->detail.find("app_password_main_password = deny_if_mfa"), std::string::npos)
      << event->detail;
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines, "an app password is required")) << Dump(lines);
  EXPECT_FALSE(AnyContains(lines, kPassword)) << Dump(lines);
  // Not checked, but one argon2 computation all the same (a dummy verify):
  // what an unknown name costs under this rule, so the time taken does not
  // tell MFA users from names that are not accounts.
  EXPECT_EQ(Matching(lines, "argon2: start").size(), 1u) << Dump(lines);
  EXPECT_EQ(AppBucket("alice").failures, 1);
  EXPECT_EQ(GetUser("alice")->failures, 0);

  const size_t unknown_mark = DevLog().Mark();
  ExpectSignIn("imap", "nobody-here", kPassword, PAM_USER_UNKNOWN);
  EXPECT_EQ(Matching(DevLog().Since(unknown_mark), "argon2: start").size(), 1u)
      << Dump(DevLog().Since(unknown_mark));
}

TEST_F(AppPasswordTest, AUserWhoMustUseMfaButHasNotEnrolledIsRefusedToo) {
  ASSERT_NO_FATAL_FAILURE(Admin({"mfa", "require", "alice"}));
  ExpectSignIn("imap", "alice", kPassword, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent("alice")->outcome, "app-password-required");
}

TEST_F(AppPasswordTest, TheMainPasswordUnderEachRule) {
  EnrollMfa("alice");  // alice uses MFA, bob does not
  struct Case {
    const char* rule;
    int alice;
    int bob;
  };
  for (const Case& c :
       {Case{"allow", PAM_SUCCESS, PAM_SUCCESS}, Case{"deny_if_mfa", PAM_AUTH_ERR, PAM_SUCCESS},
        Case{"deny", PAM_AUTH_ERR, PAM_AUTH_ERR}}) {
    SCOPED_TRACE(c.rule);
    ASSERT_NO_FATAL_FAILURE(WriteConfig({{"app_password_main_password", c.rule}}));
    ExpectSignIn("imap", "alice", kPassword, c.alice);
    ExpectSignIn("imap", "bob", kPassword, c.bob);
    if (c.bob == PAM_SUCCESS) {
      EXPECT_EQ(LastEvent("bob")->method, "password");
      EXPECT_EQ(LastEvent("bob")->outcome, "success");
    } else {
      EXPECT_EQ(LastEvent("bob")->outcome, "app-password-required");
    }
    // A wrong main password, where it is checked, is a failure.
    if (c.bob == PAM_SUCCESS) {
      ExpectSignIn("imap", "bob", "not the password", PAM_AUTH_ERR);
      EXPECT_EQ(LastEvent("bob")->outcome, "failure");
    }
  }
}

TEST_F(AppPasswordTest, UseFirstPassTakesTheTokenOfAnEarlierModule) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "stacked");
  // pam_exec asks the one question and checks its own passdb; ours takes
  // what it stored.
  ASSERT_TRUE(WriteFile(kExecPassdb, "alice:" + app + "\n", 0600));
  PamRun run = SignIn("imap-stacked", "alice", app, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kOnePrompt);
  EXPECT_EQ(LastEvent("alice")->method, "app-password:stacked");
}

// ---- odd input ----

TEST_F(AppPasswordTest, OddAnswersAreRefusedWithoutACrash) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "mail");
  const std::string with_nul = app.substr(0, 4) + std::string(1, '\0') + app.substr(4);
  for (const std::string& typed :
       {std::string(), std::string(1 << 20, 'a'), with_nul, std::string("\xff\xfe\x80 abcd"),
        std::string("abcd\x1b[2J efgh"), std::string(" - - - ")}) {
    SCOPED_TRACE(typed.size());
    PamRun run = SignIn("imap", "alice", typed, PAM_AUTH_ERR);
    EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  }
  EXPECT_EQ(AppPasswordsOf("alice")[0].last_used, 0);
  ExpectSignIn("imap", "alice", app, PAM_SUCCESS);
}

TEST_F(AppPasswordTest, AnUnknownUserIsUserUnknownAfterTheSameQuestion) {
  const std::string app = Make("alice", "mail");
  for (const char* user : {"nobody-here", "-bad", "a b"}) {
    SCOPED_TRACE(user);
    PamRun run = SignIn("imap", user, app, PAM_USER_UNKNOWN);
    EXPECT_PAM_CODES(run, PAM_USER_UNKNOWN);
    EXPECT_EQ(run.conv.Prompts(), kOnePrompt);
  }
  EXPECT_EQ(AppPasswordsOf("alice")[0].last_used, 0);
}

TEST_F(AppPasswordTest, ADisabledAccountIsRefusedWithItsRightAppPassword) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "mail");
  ASSERT_NO_FATAL_FAILURE(DisableUser("alice"));
  ExpectSignIn("imap", "alice", app, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent("alice")->outcome, "disabled");
}

TEST_F(AppPasswordTest, AForcedChangeRefusesTheAccountStep) {
  // Dovecot calls pam_acct_mgmt after auth; PAM_NEW_AUTHTOK_REQD is its
  // "password expired" path.
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"app_passwords_for", "all"}}));
  const std::string app = Make("bob", "mail");
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  Result<std::optional<UserRecord>> bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob.value().has_value());
  // An administrator's reset with a forced change, without revoking (as
  // revoke_app_passwords_on_password_change = no would).
  ASSERT_TRUE(store->SetPassword("bob", bob.value()->password_hash, Now(), true, 0, false).ok());
  store.reset();
  PamRun run = SignIn("imap", "bob", app, PAM_SUCCESS, PAM_NEW_AUTHTOK_REQD);
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_NEW_AUTHTOK_REQD);
}

// ---- the app-password lockout bucket ----

TEST_F(AppPasswordTest, TwentyWrongLockOnlyTheAppPasswordBucket) {
  SKIP_WITHOUT_LOGS();
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"app_password_main_password", "allow"}}));
  EnrollMfa("alice");
  const std::string app = Make("alice", "mail");
  const size_t mark = DevLog().Mark();
  for (int i = 0; i < 20; ++i) {
    PamRun run = SignIn("imap", "alice", "wrong guess number " + std::to_string(i), PAM_AUTH_ERR);
    EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  }
  LockoutRecord bucket = AppBucket("alice");
  EXPECT_GT(bucket.locked_until, Now()) << "app-password bucket locked";
  EXPECT_LE(bucket.failures, 5) << "no more than deny secrets checked in the window";
  EXPECT_EQ(GetUser("alice")->failures, 0);
  EXPECT_EQ(GetUser("alice")->locked_until, 0);
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines, "app-password")) << Dump(lines);

  // The main password is refused there now, saying why.
  PamRun main = SignIn("imap", "alice", kPassword, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(main, PAM_AUTH_ERR);
  ASSERT_EQ(main.conv.Errors().size(), 1u);
  EXPECT_NE(main.conv.Errors()[0].find("App passwords still work."), std::string::npos)
      << main.conv.Errors()[0];
  // A right app password still signs in.
  ExpectSignIn("imap", "alice", app, PAM_SUCCESS);
  // And ssh (mode=interactive) is not locked: password, then the code.
  PamRun ssh =
      RunPam("sesame", "alice", {kPassword, "000000"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_EQ(ssh.conv.Prompts(), (std::vector<std::string>{"Password: ", "Verification code: "}))
      << "the password was accepted; the code was asked";
}

TEST_F(AppPasswordTest, ARevokedAppPasswordRetriedCountsOnce) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "old phone");
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->RevokeAppPasswords("alice", "", Now()).ok());
  }
  for (int i = 0; i < 30; ++i) {
    PamRun run = SignIn("imap", "alice", app, PAM_AUTH_ERR);
    EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  }
  LockoutRecord bucket = AppBucket("alice");
  EXPECT_EQ(bucket.failures, 1);
  EXPECT_EQ(bucket.locked_until, 0);
  // Nor does a phone retrying all day grow the store: the repeats are one
  // coalesced event after the first.
  std::vector<SignInEvent> mine;
  for (const SignInEvent& e : Events())
    if (e.user == "alice" && e.method == "app-password:old phone") mine.push_back(e);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].count + mine[1].count, 30);
}

TEST_F(AppPasswordTest, AnInteractiveLockDoesNotStopAppPasswords) {
  EnrollMfa("alice");
  const std::string app = Make("alice", "mail");
  for (int i = 0; i < 5; ++i) {
    RunPam("sesame", "alice", {"wrong " + std::to_string(i)},
           {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  }
  ASSERT_GT(GetUser("alice")->locked_until, Now());
  ExpectSignIn("imap", "alice", app, PAM_SUCCESS);
}

// ---- a password change ----

TEST_F(AppPasswordTest, APasswordChangeRevokesThemAll) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"app_passwords_for", "all"}}));
  const std::string one = Make("bob", "one");
  const std::string two = Make("bob", "two");
  ExpectSignIn("imap", "bob", one, PAM_SUCCESS);
  const std::string next = "Violet tractor sings 42 loud";
  // As root (this test), libpam's caller is not asked for the current one.
  PamRun change = RunPam("sesame-passwd", "bob", {next, next}, {{PAMTEST_CHAUTHTOK, PAM_SUCCESS}});
  EXPECT_PAM_CODES(change, PAM_SUCCESS);
  EXPECT_TRUE(change.conv.Errors().empty()) << change.conv.Errors()[0];
  ASSERT_EQ(change.conv.Infos().size(), 1u);
  EXPECT_NE(change.conv.Infos()[0].find("2"), std::string::npos) << change.conv.Infos()[0];
  for (const std::string& app : {one, two}) ExpectSignIn("imap", "bob", app, PAM_AUTH_ERR);
  for (const AppPasswordRecord& r : AppPasswordsOf("bob")) EXPECT_NE(r.revoked, 0) << r.name;

  // With the key off, a change leaves them live.
  ASSERT_NO_FATAL_FAILURE(WriteConfig(
      {{"app_passwords_for", "all"}, {"revoke_app_passwords_on_password_change", "no"}}));
  const std::string three = Make("bob", "three");
  const std::string last = "Orange piano dances 17 slow";
  change = RunPam("sesame-passwd", "bob", {last, last}, {{PAMTEST_CHAUTHTOK, PAM_SUCCESS}});
  EXPECT_PAM_CODES(change, PAM_SUCCESS);
  ExpectSignIn("imap", "bob", three, PAM_SUCCESS);
}

// on_revoke_command runs from inside the module after a change revoked
// them (here: a script that records its argument), and its failure does not
// undo the change.
TEST_F(AppPasswordTest, APasswordChangeRunsTheRevokeCommand) {
  const std::string script = state_dir_ + "/on-revoke.sh";
  const std::string record = state_dir_ + "/revoked-users";
  ASSERT_TRUE(WriteFile(
      script,
      "#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$(env | tr '\\n' ' ')\" >>" + record + "\nexit 3\n",
      0755));
  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"app_passwords_for", "all"}, {"on_revoke_command", script + " %u"}}));
  Make("bob", "one");
  const std::string next = "Violet tractor sings 42 loud";
  PamRun change = RunPam("sesame-passwd", "bob", {next, next}, {{PAMTEST_CHAUTHTOK, PAM_SUCCESS}});
  EXPECT_PAM_CODES(change, PAM_SUCCESS);
  FILE* f = fopen(record.c_str(), "r");
  ASSERT_NE(f, nullptr) << "on_revoke_command did not run";
  char line[512] = {};
  ASSERT_NE(fgets(line, sizeof(line), f), nullptr);
  fclose(f);
  const std::string got = line;
  EXPECT_EQ(got.rfind("bob|", 0), 0u) << got;
  EXPECT_NE(got.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), std::string::npos) << got;
  EXPECT_EQ(got.find("PAM_WRAPPER"), std::string::npos) << "only PATH in its environment: " << got;
  // It failed (exit 3); the change stands and the app password is revoked.
  EXPECT_NE(AppPasswordsOf("bob")[0].revoked, 0);
  PamRun signin = RunPam("sesame", "bob", {next}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(signin, PAM_SUCCESS);
}

// ---- no fail delay (RecordingDelays, pam_harness.h) ----

TEST_F(AppPasswordTest, AFailureNeverAsksLibpamForADelay) {
  EnrollMfa("alice");
  Make("alice", "mail");
  // The control: where pam_faildelay asks for 1 ms, the callback sees it.
  DelaysSeen control;
  EXPECT_EQ(AuthenticateRecordingDelays("imap-faildelay", "alice", "wrong", &control),
            PAM_AUTH_ERR);
  EXPECT_EQ(control.calls, 1);
  EXPECT_GT(control.longest, 0u) << "the control stack's delay did not reach the callback";

  DelaysSeen seen;
  for (const std::string& answer : {std::string("wrong"), std::string(kPassword), std::string()}) {
    EXPECT_EQ(AuthenticateRecordingDelays("imap", "alice", answer, &seen), PAM_AUTH_ERR);
  }
  EXPECT_EQ(AuthenticateRecordingDelays("imap", "nobody-here", "x", &seen), PAM_USER_UNKNOWN);
  EXPECT_EQ(seen.calls, 4);
  EXPECT_EQ(seen.longest, 0u) << "pam_sesame asked for a fail delay in mode=app_password";
}

}  // namespace
}  // namespace sesame::pam_testing
