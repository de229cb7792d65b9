// Required MFA through the real libpam: a user who must use MFA (config
// mfa_required = all | group:NAME, sesame-admin mfa require NAME | @GROUP)
// and has no authenticator is enrolled in the sign-in session while the grace
// period lasts (QR code and key through PAM_TEXT_INFO, then a first code),
// may put it off within the grace, and is refused after it with a message
// saying whom to ask; an administrator's reset gives new days. Also under
// mode=mfa_only stacked after another module.
//
// The code that confirms an enrollment is computed from the key the module
// showed (core/crypto/totp.h), so the test reads the conversation like a person
// with a phone would. Group membership is the system's own (NSS): Debian's
// base accounts "daemon" and "bin" have primary groups of the same name.
// Grace periods that ended in the past are set up through the store API
// (SetMfaRequired / BeginMfaGrace with an earlier time).
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/base32.h"
#include "core/base/secret.h"
#include "core/crypto/otpauth.h"
#include "core/crypto/totp.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";
constexpr char kService[] = "sesame";
constexpr char kMfaOnly[] = "sesame-mfa-only";
constexpr int64_t kDay = 86400;
const char kEnrollPrompt[] = "Verification code (empty to do this later): ";
const char kSavedPrompt[] = "Press Enter once you have saved the recovery codes: ";

// The base32 key (spaces removed) the module showed in its last
// PAM_TEXT_INFO holding "key:\n    ..."; "" when there is none.
std::string ShownKey(const std::vector<ConvMessage>& seen) {
  for (auto m = seen.rbegin(); m != seen.rend(); ++m) {
    if (m->style != PAM_TEXT_INFO) continue;
    size_t at = m->text.find("key:\n    ");
    if (at == std::string::npos) continue;
    size_t start = at + 9;
    size_t end = m->text.find('\n', start);
    std::string key;
    for (char c : m->text.substr(start, end - start))
      if (c != ' ') key += c;
    return key;
  }
  return "";
}

std::string CodeAt(const std::string& key_b32, int64_t unix_time) {
  Result<SecretBuffer> key = Base32Decode(key_b32);
  if (!key.ok()) return "bad key";
  return TotpAt(key.value(), unix_time, TotpParams{});
}

// Now, with at least `margin` seconds left in the current 30 s step.
int64_t SafeNow(int margin = 4) {
  for (;;) {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    const int64_t left = 30 - now % 30;
    if (left >= margin) return now;
    sleep(static_cast<unsigned>(left));
  }
}

// The recovery codes listed in an info message ("    xxxxx-xxxxx" lines).
std::vector<std::string> ShownRecoveryCodes(const std::vector<std::string>& infos) {
  std::vector<std::string> codes;
  for (const std::string& info : infos) {
    if (info.rfind("Recovery codes:", 0) != 0) continue;
    size_t pos = 0;
    while ((pos = info.find("\n    ", pos)) != std::string::npos) {
      pos += 5;
      codes.push_back(info.substr(pos, info.find('\n', pos) - pos));
    }
  }
  return codes;
}

bool HasSystemUserWithOwnGroup(const char* name) {
  struct passwd* pw = getpwnam(name);
  struct group* gr = getgrnam(name);
  return pw != nullptr && gr != nullptr && pw->pw_gid == gr->gr_gid;
}

class MfaRequiredTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  }

  void Configure(const std::map<std::string, std::string>& overrides) {
    ASSERT_NO_FATAL_FAILURE(WriteConfig(overrides));
  }

  // A sign-in answering the password, then at the enrollment prompt the
  // code for the shown key at `now` (or `code` when given).
  PamRun SignInEnrolling(const std::string& user, int expected, int64_t now,
                         const std::string& service = kService, bool password = true) {
    std::vector<std::string> answers;
    if (password) answers.push_back(kPassword);
    const size_t code_index = answers.size();
    answers.push_back("");
    answers.push_back("");  // "Press Enter once you have saved ..."
    Conversation conv(answers, {{code_index, [now](const std::vector<ConvMessage>& seen) {
                                   return CodeAt(ShownKey(seen), now);
                                 }}});
    PamRun run = RunPamWith(service, user, std::move(conv), {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected);
    return run;
  }

  PamRun SignIn(const std::string& user, std::vector<std::string> answers, int expected,
                const std::string& service = kService) {
    PamRun run = RunPam(service, user, std::move(answers), {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected);
    return run;
  }

  std::vector<SignInEvent> EventsOf(const std::string& user) {
    std::vector<SignInEvent> out;
    for (const SignInEvent& e : Events())
      if (e.user == user && e.method != "admin") out.push_back(e);
    return out;
  }

  SignInEvent LastEvent(const std::string& user) {
    std::vector<SignInEvent> events = EventsOf(user);
    return events.empty() ? SignInEvent{} : events.back();
  }
};

// ---- within the grace period: enrolled in the session ----

TEST_F(MfaRequiredTest, RequiredUserIsEnrolledInTheSessionAndThenNeedsACode) {
  Configure({{"mfa_required", "all"}});
  const int64_t now = SafeNow();
  size_t mark = DevLog().Mark();
  PamRun run = SignInEnrolling("alice", PAM_SUCCESS, now);
  std::vector<LogLine> lines = DevLog().Since(mark);

  EXPECT_EQ(run.conv.Prompts(),
            (std::vector<std::string>{"Password: ", kEnrollPrompt, kSavedPrompt}));
  for (const ConvMessage& m : run.conv.messages()) {
    if (m.text == kEnrollPrompt) {
      EXPECT_EQ(m.style, PAM_PROMPT_ECHO_OFF);
    }
    if (m.text == kSavedPrompt) {
      EXPECT_EQ(m.style, PAM_PROMPT_ECHO_ON);
    }
  }
  // The recovery codes come before that last prompt.
  size_t codes_at = 0, saved_at = 0;
  for (size_t i = 0; i < run.conv.messages().size(); ++i) {
    if (run.conv.messages()[i].text.rfind("Recovery codes:", 0) == 0) codes_at = i;
    if (run.conv.messages()[i].text == kSavedPrompt) saved_at = i;
  }
  EXPECT_GT(codes_at, 0u);
  EXPECT_LT(codes_at, saved_at);
  std::vector<std::string> infos = run.conv.Infos();
  ASSERT_GE(infos.size(), 3u) << "offer, done, recovery codes";
  // The offer: why, how long, a QR code in half blocks, the key.
  const std::string& offer = infos[0];
  EXPECT_NE(offer.find("must now use a verification code"), std::string::npos) << offer;
  EXPECT_NE(offer.find("within 7 days"), std::string::npos) << offer;
  EXPECT_NE(offer.find("\xe2\x96\x80"), std::string::npos) << "upper half block in the QR code";
  EXPECT_NE(offer.find("\xe2\x96\x88"), std::string::npos) << "full block in the QR code";
  const std::string key = ShownKey(run.conv.messages());
  Result<SecretBuffer> decoded = Base32Decode(key);
  ASSERT_TRUE(decoded.ok()) << "'" << key << "'";
  EXPECT_EQ(decoded->size(), kTotpSecretBytes);
  EXPECT_TRUE(run.conv.Errors().empty());
  std::vector<std::string> recovery = ShownRecoveryCodes(infos);
  EXPECT_EQ(recovery.size(), 10u);

  // Stored: sealed (the key is not in the store), the confirming step used.
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_FALSE(alice->totp_sealed.empty());
  EXPECT_EQ(alice->totp_sealed.find(key), std::string::npos);
  EXPECT_EQ(alice->totp_last_step, TotpStep(now, 30));
  EXPECT_NE(alice->mfa_required_since, 0) << "the grace period began at this sign-in";

  std::vector<SignInEvent> events = EventsOf("alice");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].method, "mfa-enroll");
  EXPECT_EQ(events[0].outcome, "success");
  EXPECT_EQ(events[1].method, "password+totp");
  EXPECT_EQ(events[1].outcome, "success");
  EXPECT_EQ(events[1].detail,
            "password accepted; authenticator enrolled in the session (MFA required: "
            "mfa_required = all in the config)");
  if (DevLog().available()) {
    EXPECT_TRUE(AnyContains(lines, "authenticator enrolled in the session")) << Dump(lines);
    for (const LogLine& l : lines) {
      EXPECT_EQ(l.text.find(key), std::string::npos) << "the key is never logged";
      for (const std::string& c : recovery)
        EXPECT_EQ(l.text.find(c), std::string::npos) << "no recovery code in the log";
    }
  }

  // From now on: password, then "Verification code: "; the confirming code
  // is used up, the next step's code works, and so does a recovery code.
  PamRun replay = SignIn("alice", {kPassword, CodeAt(key, now)}, PAM_AUTH_ERR);
  EXPECT_EQ(replay.conv.Prompts(), (std::vector<std::string>{"Password: ", "Verification code: "}));
  EXPECT_EQ(LastEvent("alice").detail, "verification code already used (replay) (1 of 5 failures)");
  SignIn("alice", {kPassword, CodeAt(key, now + 30)}, PAM_SUCCESS);
  ASSERT_FALSE(recovery.empty());
  SignIn("alice", {kPassword, recovery[0]}, PAM_SUCCESS);
  SignIn("alice", {kPassword, recovery[0]}, PAM_AUTH_ERR);
}

TEST_F(MfaRequiredTest, PuttingItOffWithinTheGraceSignsInWithoutEnrolling) {
  Configure({{"mfa_required", "all"}, {"mfa_grace_days", "3"}});
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  PamRun later = SignIn("alice", {kPassword, ""}, PAM_SUCCESS);
  EXPECT_EQ(later.conv.Prompts(), (std::vector<std::string>{"Password: ", kEnrollPrompt}));
  ASSERT_EQ(later.conv.Infos().size(), 2u);
  EXPECT_NE(later.conv.Infos()[0].find("within 3 days"), std::string::npos);
  EXPECT_NE(later.conv.Infos()[1].find("Not set up now."), std::string::npos)
      << later.conv.Infos()[1];
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_TRUE(alice->totp_sealed.empty());
  EXPECT_GE(alice->mfa_required_since, before);
  const int64_t since = alice->mfa_required_since;
  SignInEvent put_off = LastEvent("alice");
  EXPECT_EQ(put_off.outcome, "success");
  EXPECT_NE(put_off.detail.find("enrollment put off, grace left: "), std::string::npos)
      << put_off.detail;

  // Three wrong codes: not enrolled, still signed in (the password was
  // right and the grace lasts), no failure counted.
  PamRun wrong = SignIn("alice", {kPassword, "000000", "111111", "x"}, PAM_SUCCESS);
  EXPECT_EQ(wrong.conv.Prompts(),
            (std::vector<std::string>{"Password: ", kEnrollPrompt, kEnrollPrompt, kEnrollPrompt}));
  EXPECT_EQ(wrong.conv.Errors().size(), 3u);
  alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_TRUE(alice->totp_sealed.empty());
  EXPECT_EQ(alice->failures, 0);
  EXPECT_EQ(alice->mfa_required_since, since) << "the grace began once";
  EXPECT_NE(LastEvent("alice").detail.find("enrollment not confirmed (codes did not match)"),
            std::string::npos);

  // Hanging up at the code prompt is not a sign-in.
  SignIn("alice", {kPassword}, PAM_CONV_ERR);
  EXPECT_EQ(LastEvent("alice").outcome, "aborted");
  EXPECT_TRUE(GetUser("alice")->totp_sealed.empty());
}

TEST_F(MfaRequiredTest, WrongPasswordRevealsNothingAboutMfa) {
  Configure({{"mfa_required", "all"}});
  PamRun wrong = SignIn("alice", {"not the password"}, PAM_AUTH_ERR);
  EXPECT_EQ(wrong.conv.Prompts(), (std::vector<std::string>{"Password: "}));
  EXPECT_TRUE(wrong.conv.Infos().empty());
  EXPECT_TRUE(wrong.conv.Errors().empty());
  EXPECT_EQ(GetUser("alice")->mfa_required_since, 0) << "no grace begins without the password";
}

// ---- after the grace period: refused, with whom to ask ----

TEST_F(MfaRequiredTest, AfterTheGraceSignInIsRefusedAndAResetGivesNewDays) {
  Configure({});
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_TRUE(store->SetMfaRequired("alice", true, now - 8 * kDay).ok());
  }
  size_t mark = DevLog().Mark();
  PamRun refused = SignIn("alice", {kPassword}, PAM_AUTH_ERR);
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_EQ(refused.conv.Prompts(), (std::vector<std::string>{"Password: "}));
  ASSERT_EQ(refused.conv.Errors().size(), 1u);
  const std::string message = refused.conv.Errors()[0];
  EXPECT_NE(message.find("the 7 days to set one up have passed"), std::string::npos) << message;
  EXPECT_NE(message.find("sesame-admin mfa enroll alice"), std::string::npos) << message;
  EXPECT_NE(message.find("sesame-admin mfa reset alice"), std::string::npos) << message;
  SignInEvent event = LastEvent("alice");
  EXPECT_EQ(event.outcome, "mfa-required");
  EXPECT_EQ(event.detail,
            "MFA required (an administrator requires it (sesame-admin mfa require)) but not "
            "enrolled, and the grace period (7 days) is over");
  EXPECT_EQ(GetUser("alice")->failures, 0) << "the password was right: not a failure";
  if (DevLog().available()) {
    EXPECT_TRUE(AnyContains(lines, "password sign-in mfa-required for user alice")) << Dump(lines);
  }
  // sesame-admin user show says so.
  CommandResult show = RunAdmin({"user", "show", "alice"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("grace period is over: sign-in is refused"), std::string::npos)
      << show.out;

  // The administrator's reset gives new days: enrolled at the next sign-in.
  Admin({"mfa", "reset", "alice"});
  EXPECT_EQ(GetUser("alice")->mfa_required_since, 0);
  const int64_t safe = SafeNow();
  PamRun enrolled = SignInEnrolling("alice", PAM_SUCCESS, safe);
  EXPECT_FALSE(GetUser("alice")->totp_sealed.empty());
}

TEST_F(MfaRequiredTest, NoGraceDaysMeansNoInSessionEnrollment) {
  Configure({{"mfa_required", "all"}, {"mfa_grace_days", "0"}});
  PamRun refused = SignIn("alice", {kPassword}, PAM_AUTH_ERR);
  ASSERT_EQ(refused.conv.Errors().size(), 1u);
  EXPECT_NE(refused.conv.Errors()[0].find("none is set up"), std::string::npos)
      << refused.conv.Errors()[0];
  EXPECT_NE(refused.conv.Errors()[0].find("sesame-admin mfa enroll alice"), std::string::npos);
  EXPECT_TRUE(refused.conv.Infos().empty());
  EXPECT_EQ(LastEvent("alice").outcome, "mfa-required");
  // An administrator's enrollment lets the user in with a code.
  Admin({"mfa", "enroll", "alice", "--secret-stdin"}, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n");
  const int64_t now = SafeNow();
  SignIn("alice", {kPassword, CodeAt("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", now)}, PAM_SUCCESS);
}

TEST_F(MfaRequiredTest, ConfigGraceBeganAtAnEarlierSignInRunsOut) {
  Configure({{"mfa_required", "all"}, {"mfa_grace_days", "2"}});
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  {
    std::unique_ptr<Store> store = OpenStore();
    Result<int64_t> since = store->BeginMfaGrace("alice", now - 2 * kDay + 60);
    ASSERT_TRUE(since.ok());
  }
  // A minute of grace left: still offered ("less than a day").
  PamRun offered = SignIn("alice", {kPassword, ""}, PAM_SUCCESS);
  ASSERT_FALSE(offered.conv.Infos().empty());
  EXPECT_NE(offered.conv.Infos()[0].find("within less than a day"), std::string::npos)
      << offered.conv.Infos()[0];
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_TRUE(store->ClearMfa("alice").ok());  // since = 0
    ASSERT_TRUE(store->BeginMfaGrace("alice", now - 2 * kDay).ok());
  }
  SignIn("alice", {kPassword}, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent("alice").outcome, "mfa-required");
}

// ---- who is required ----

TEST_F(MfaRequiredTest, NotRequiredPassesWithThePasswordAndIsLogged) {
  Configure({{"mfa_required", "no"}});
  PamRun run = SignIn("alice", {kPassword}, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), (std::vector<std::string>{"Password: "}));
  EXPECT_TRUE(run.conv.Infos().empty());
  EXPECT_EQ(LastEvent("alice").detail,
            "password accepted; no second factor enrolled (not required)");
  EXPECT_EQ(GetUser("alice")->mfa_required_since, 0);
}

TEST_F(MfaRequiredTest, AdministratorRequiresAndUnrequiresOneUser) {
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  Configure({});
  CommandResult required = RunAdmin({"mfa", "require", "alice"});
  EXPECT_EQ(required.exit_code, 0) << required.err;
  EXPECT_NE(required.out.find("alice must use MFA (not enrolled yet: within 7 day(s))"),
            std::string::npos)
      << required.out;
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_TRUE(alice->mfa_required);
  EXPECT_NE(alice->mfa_required_since, 0) << "requiring begins the grace";

  PamRun offered = SignIn("alice", {kPassword, ""}, PAM_SUCCESS);
  EXPECT_EQ(offered.conv.Prompts(), (std::vector<std::string>{"Password: ", kEnrollPrompt}));
  PamRun bob = SignIn("bob", {kPassword}, PAM_SUCCESS);
  EXPECT_EQ(bob.conv.Prompts(), (std::vector<std::string>{"Password: "}));

  CommandResult unrequired = RunAdmin({"mfa", "unrequire", "alice"});
  EXPECT_EQ(unrequired.exit_code, 0) << unrequired.err;
  EXPECT_NE(unrequired.out.find("alice no longer has to use MFA"), std::string::npos)
      << unrequired.out;
  PamRun free = SignIn("alice", {kPassword}, PAM_SUCCESS);
  EXPECT_EQ(free.conv.Prompts(), (std::vector<std::string>{"Password: "}));

  // Bad operands change nothing: one unknown user among good ones.
  CommandResult partly = RunAdmin({"mfa", "require", "bob", "nobody"});
  EXPECT_EQ(partly.exit_code, 3) << partly.out << partly.err;
  EXPECT_NE(partly.err.find("nothing was changed"), std::string::npos) << partly.err;
  EXPECT_FALSE(GetUser("bob")->mfa_required);
  CommandResult bad = RunAdmin({"mfa", "require", std::string("bo\x01") + "b"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  CommandResult no_group = RunAdmin({"mfa", "require", "@no-such-group-sesame"});
  EXPECT_EQ(no_group.exit_code, 3) << no_group.err;
  EXPECT_NE(no_group.err.find("no system group no-such-group-sesame"), std::string::npos)
      << no_group.err;

  // user add --require-mfa
  CommandResult added = RunAdmin({"user", "add", "carol", "--password-stdin", "--require-mfa"},
                                 kPassword + std::string("\n"));
  EXPECT_EQ(added.exit_code, 0) << added.err;
  std::optional<UserRecord> carol = GetUser("carol");
  ASSERT_TRUE(carol.has_value());
  EXPECT_TRUE(carol->mfa_required);
  EXPECT_EQ(carol->mfa_required_since, carol->created);
}

TEST_F(MfaRequiredTest, GroupMembersAreRequiredThroughTheSystemGroupDatabase) {
  if (!HasSystemUserWithOwnGroup("daemon") || !HasSystemUserWithOwnGroup("bin"))
    GTEST_SKIP() << "needs the base accounts daemon and bin with their own primary groups";
  ASSERT_NO_FATAL_FAILURE(AddUser("daemon", kPassword));
  ASSERT_NO_FATAL_FAILURE(AddUser("bin", kPassword));

  // mfa_required = group:daemon: daemon (primary group) is required, alice
  // (not a system user) and bin are not.
  Configure({{"mfa_required", "group:daemon"}});
  PamRun daemon = SignIn("daemon", {kPassword, ""}, PAM_SUCCESS);
  EXPECT_EQ(daemon.conv.Prompts(), (std::vector<std::string>{"Password: ", kEnrollPrompt}));
  EXPECT_NE(LastEvent("daemon").detail.find(
                "member of group daemon (mfa_required = group:daemon in the config)"),
            std::string::npos)
      << LastEvent("daemon").detail;
  EXPECT_EQ(SignIn("bin", {kPassword}, PAM_SUCCESS).conv.Prompts(),
            (std::vector<std::string>{"Password: "}));
  EXPECT_EQ(SignIn("alice", {kPassword}, PAM_SUCCESS).conv.Prompts(),
            (std::vector<std::string>{"Password: "}));

  // A group required with sesame-admin: bin now too.
  Configure({});
  CommandResult required = RunAdmin({"mfa", "require", "@bin"});
  EXPECT_EQ(required.exit_code, 0) << required.err;
  PamRun bin = SignIn("bin", {kPassword, ""}, PAM_SUCCESS);
  EXPECT_EQ(bin.conv.Prompts(), (std::vector<std::string>{"Password: ", kEnrollPrompt}));
  EXPECT_NE(LastEvent("bin").detail.find("member of group bin (sesame-admin mfa require @bin)"),
            std::string::npos);
  EXPECT_EQ(SignIn("daemon", {kPassword}, PAM_SUCCESS).conv.Prompts(),
            (std::vector<std::string>{"Password: "}));
  ASSERT_EQ(RunAdmin({"mfa", "unrequire", "@bin"}).exit_code, 0);
  EXPECT_EQ(SignIn("bin", {kPassword}, PAM_SUCCESS).conv.Prompts(),
            (std::vector<std::string>{"Password: "}));

  // A group that does not exist cannot tell whom it requires MFA of: a
  // user without an authenticator is refused (fail closed), and the log
  // says why and what to do. (It used to require MFA of no one.)
  Configure({{"mfa_required", "group:no-such-group-sesame"}});
  size_t mark = DevLog().Mark();
  SignIn("alice", {kPassword}, PAM_AUTHINFO_UNAVAIL);
  std::vector<LogLine> lines = DevLog().Since(mark);
  if (DevLog().available()) {
    EXPECT_TRUE(AnyContains(lines,
                            "group no-such-group-sesame (mfa_required = "
                            "group:no-such-group-sesame in the config) does not exist"))
        << Dump(lines);
    EXPECT_TRUE(AnyContains(lines, "correct mfa_required in sesame.conf")) << Dump(lines);
  }
}

// ---- mode=mfa_only: after another module, the enrollment alone ----

TEST_F(MfaRequiredTest, MfaOnlyEnrollsInTheSessionAndRefusesAfterTheGrace) {
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  Configure({{"mfa_required", "all"}});
  const int64_t now = SafeNow();
  PamRun run = SignInEnrolling("alice", PAM_SUCCESS, now, kMfaOnly, false);
  EXPECT_EQ(run.conv.Prompts(), (std::vector<std::string>{kEnrollPrompt, kSavedPrompt}));
  EXPECT_FALSE(GetUser("alice")->totp_sealed.empty());
  SignInEvent event = LastEvent("alice");
  EXPECT_EQ(event.method, "totp");
  EXPECT_EQ(event.detail,
            "authenticator enrolled in the session (MFA required: mfa_required = all in the "
            "config)");
  // Then the code step as usual.
  const std::string key = ShownKey(run.conv.messages());
  PamRun code = SignIn("alice", {CodeAt(key, now + 30)}, PAM_SUCCESS, kMfaOnly);
  EXPECT_EQ(code.conv.Prompts(), std::vector<std::string>{"Verification code: "});

  // bob's grace ran out: refused after the first module let him through.
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_TRUE(store->BeginMfaGrace("bob", now - 8 * kDay).ok());
  }
  PamRun bob = SignIn("bob", {}, PAM_AUTH_ERR, kMfaOnly);
  EXPECT_TRUE(bob.conv.Prompts().empty());
  EXPECT_EQ(bob.conv.Errors().size(), 1u);
  EXPECT_EQ(LastEvent("bob").outcome, "mfa-required");
}

}  // namespace
}  // namespace sesame::pam_testing
