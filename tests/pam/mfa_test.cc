// Second factor through the real libpam: a verification code from an
// authenticator app (RFC 6238) after the password, each time step accepted
// once; recovery codes that work once; wrong codes counted toward the
// lockout; mode=mfa_only stacked after another module; users without an
// authenticator; odd input at the code prompt; a broken sealed secret.
//
// Codes are computed with core/crypto/totp.h from the secret given to
// `sesame-admin mfa enroll --secret-stdin`, and once with oathtool as an
// independent check. Tests that depend on "the current step" first wait for
// a step with a few seconds left, so that the step does not change between
// computing a code and the module checking it.
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/base/base32.h"
#include "core/base/secret.h"
#include "core/crypto/totp.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";
constexpr char kSecret[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
// RFC 6238's SHA1 test key "12345678901234567890", in base32.
constexpr char kRfcSecret[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
constexpr char kService[] = "sesame";
constexpr char kMfaOnly[] = "sesame-mfa-only";
const std::vector<std::string> kBothPrompts = {"Password: ", "Verification code: "};
const std::vector<std::string> kPasswordPrompt = {"Password: "};
const std::vector<std::string> kCodePrompt = {"Verification code: "};

// The one PAM_TEXT_INFO message of `run` but the last-sign-in line
// (activity_test.cc) starts with "You have N recovery code(s) left." (what
// follows is advice whose wording may change).
void ExpectLeftMessage(const PamRun& run, int left) {
  const std::string expected = "You have " + std::to_string(left) + " recovery code(s) left.";
  std::vector<std::string> infos;
  for (const std::string& info : run.conv.Infos())
    if (info.rfind("Last sign-in: ", 0) != 0 && info.rfind("No earlier sign-in", 0) != 0)
      infos.push_back(info);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].rfind(expected, 0), 0u) << infos[0];
}

size_t Count(const std::vector<LogLine>& lines, const std::string& needle) {
  return Matching(lines, needle).size();
}

bool IsRecoveryCode(const std::string& code) {
  static const std::string kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  if (code.size() != 11 || code[5] != '-') return false;
  for (size_t i = 0; i < code.size(); ++i) {
    if (i == 5) continue;
    if (kAlphabet.find(code[i]) == std::string::npos) return false;
  }
  return true;
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

class MfaTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  }

  // `sesame-admin mfa enroll NAME --secret-stdin` with `secret`; returns the
  // recovery codes it printed (checked for their format).
  std::vector<std::string> Enroll(const std::string& name, const std::string& secret = kSecret) {
    CommandResult r = RunAdmin({"mfa", "enroll", name, "--secret-stdin"}, secret + "\n");
    EXPECT_EQ(r.exit_code, 0) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(r.out.find(secret), std::string::npos) << "the secret read from stdin is not echoed";
    std::vector<std::string> codes;
    size_t header = r.out.find("\nRecovery codes (");
    EXPECT_NE(header, std::string::npos) << r.out;
    if (header == std::string::npos) return codes;
    size_t pos = r.out.find('\n', header + 1);
    while (pos != std::string::npos && pos + 1 < r.out.size()) {
      size_t end = r.out.find('\n', pos + 1);
      std::string line = r.out.substr(pos + 1, end == std::string::npos ? end : end - pos - 1);
      if (line.rfind("  ", 0) != 0) break;
      codes.push_back(line.substr(2));
      EXPECT_TRUE(IsRecoveryCode(codes.back())) << "'" << codes.back() << "'";
      pos = end;
    }
    return codes;
  }

  static TotpParams Params() { return TotpParams{}; }  // the config's defaults: SHA1, 6, 30, 1

  static std::string CodeAt(int64_t unix_time, const std::string& secret = kSecret) {
    Result<SecretBuffer> key = Base32Decode(secret);
    EXPECT_TRUE(key.ok());
    if (!key.ok()) return "";
    std::string code = TotpAt(key.value(), unix_time, Params());
    EXPECT_EQ(code.size(), 6u);
    return code;
  }

  // Now, once at least `margin` seconds are left in the current step
  // (sleeping into the next step otherwise).
  static int64_t SafeNow(int margin = 3) {
    const int period = Params().period;
    for (;;) {
      const int64_t now = static_cast<int64_t>(std::time(nullptr));
      const int64_t left = period - now % period;
      if (left >= margin) return now;
      sleep(static_cast<unsigned>(left));
    }
  }

  // A 6-digit code that matches no step in the window around `now`;
  // `which` picks another one (the same wrong code again counts once).
  static std::string WrongCode(int64_t now, int which = 0) {
    const int period = Params().period;
    std::vector<std::string> near;
    for (int d = -2; d <= 2; ++d) near.push_back(CodeAt(now + d * period));
    std::string code = near[2];
    for (int found = 0;;) {
      code[5] = static_cast<char>('0' + (code[5] - '0' + 1) % 10);
      if (code[5] == near[2][5]) code[4] = static_cast<char>('0' + (code[4] - '0' + 1) % 10);
      bool clash = false;
      for (const std::string& n : near) clash = clash || n == code;
      if (!clash && found++ == which) return code;
    }
  }

  PamRun SignIn(const std::string& user, std::vector<std::string> answers, int expected,
                const std::string& service = kService) {
    PamRun run = RunPam(service, user, std::move(answers), {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected);
    return run;
  }

  // The events of `user`, as (method, outcome, detail), without the
  // administrator's.
  std::vector<EventKey> EventsOf(const std::string& user) {
    std::vector<EventKey> out;
    for (const SignInEvent& e : Events())
      if (e.user == user && e.method != "admin") out.push_back({e.method, e.outcome, e.detail});
    return out;
  }

  EventKey LastEvent(const std::string& user) {
    std::vector<EventKey> events = EventsOf(user);
    return events.empty() ? EventKey{} : events.back();
  }

  int Failures(const std::string& name) {
    std::optional<UserRecord> u = GetUser(name);
    EXPECT_TRUE(u.has_value());
    return u.has_value() ? u->failures : -1;
  }

  void ExpectJsonHas(const std::string& name, const std::string& fragment) {
    CommandResult r = RunAdmin({"user", "show", name, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(fragment), std::string::npos) << "no " << fragment << " in " << r.out;
  }
};

// ---- 1, 2. password then a TOTP code; the same code again is a replay ----

TEST_F(MfaTest, PasswordThenCurrentCodeSignsInAndTheSameCodeAgainIsRefused) {
  std::vector<std::string> recovery = Enroll("alice");
  EXPECT_EQ(recovery.size(), 10u) << "recovery_codes defaults to 10";
  std::optional<UserRecord> enrolled = GetUser("alice");
  ASSERT_TRUE(enrolled.has_value());
  EXPECT_FALSE(enrolled->totp_sealed.empty());
  EXPECT_EQ(enrolled->totp_sealed.find(kSecret), std::string::npos) << "stored sealed";
  EXPECT_EQ(enrolled->totp_last_step, -1);

  const int64_t now = SafeNow();
  const std::string code = CodeAt(now);
  size_t mark = DevLog().Mark();
  PamRun ok = SignIn("alice", {kPassword, code}, PAM_SUCCESS);
  std::vector<LogLine> ok_lines = DevLog().Since(mark);
  EXPECT_EQ(ok.conv.Prompts(), kBothPrompts);
  for (const ConvMessage& m : ok.conv.messages()) {
    if (m.text == "Verification code: ") {
      EXPECT_EQ(m.style, PAM_PROMPT_ECHO_OFF);
    }
  }
  EXPECT_TRUE(ok.conv.Errors().empty());
  EXPECT_TRUE(ok.conv.Infos().empty());
  EXPECT_EQ(EventsOf("alice"), (std::vector<EventKey>{{"password+totp", "success",
                                                       "password and verification code "
                                                       "accepted"}}));
  EXPECT_EQ(GetUser("alice")->totp_last_step, TotpStep(now, 30));

  // The same code, in the same step (SafeNow left at least 3 s).
  mark = DevLog().Mark();
  PamRun replay = SignIn("alice", {kPassword, code}, PAM_AUTH_ERR);
  std::vector<LogLine> replay_lines = DevLog().Since(mark);
  EXPECT_EQ(replay.conv.Prompts(), kBothPrompts);
  EXPECT_EQ(TotpStep(static_cast<int64_t>(std::time(nullptr)), 30), TotpStep(now, 30))
      << "the step changed during the test; the replay check is not meaningful";
  EventKey refused = LastEvent("alice");
  EXPECT_EQ(refused.method, "password+totp");
  EXPECT_EQ(refused.outcome, "failure");
  // The code is right but its time step was used: said as such.
  EXPECT_EQ(refused.detail, "verification code already used (replay) (1 of 5 failures)") << refused;
  EXPECT_EQ(Failures("alice"), 1) << "a replayed code counts as a failure";
  EXPECT_EQ(GetUser("alice")->totp_last_step, TotpStep(now, 30));

  if (DevLog().available()) {
    EXPECT_EQ(Count(ok_lines,
                    "pam_sesame(sesame:auth): password sign-in success for user alice (service "
                    "sesame): password and verification code accepted"),
              1u)
        << Dump(ok_lines);
    EXPECT_EQ(Count(replay_lines,
                    "pam_sesame(sesame:auth): password sign-in failure for user alice (service "
                    "sesame): verification code already used (replay)"),
              1u)
        << Dump(replay_lines);
  }
  SKIP_WITHOUT_LOGS();
}

// ---- 3. wrong codes are counted; the window ----

TEST_F(MfaTest, WrongCodeIsCountedPreviousStepIsAcceptedThreeStepsBackIsNot) {
  Enroll("alice");
  int64_t now = SafeNow();
  PamRun wrong = SignIn("alice", {kPassword, WrongCode(now)}, PAM_AUTH_ERR);
  EXPECT_EQ(wrong.conv.Prompts(), kBothPrompts);
  EXPECT_TRUE(wrong.conv.Errors().empty());
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password+totp", "failure", "wrong verification code (1 of 5 failures)"}));
  EXPECT_EQ(Failures("alice"), 1);
  ExpectJsonHas("alice", "\"failures\":1");
  EXPECT_EQ(GetUser("alice")->totp_last_step, -1) << "no step used";

  // Three steps back: outside window 1.
  now = SafeNow();
  SignIn("alice", {kPassword, CodeAt(now - 90)}, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password+totp", "failure", "wrong verification code (2 of 5 failures)"}));
  ExpectJsonHas("alice", "\"failures\":2");

  // The previous step: inside the window (a clock a little behind). It
  // clears the count.
  now = SafeNow();
  PamRun previous = SignIn("alice", {kPassword, CodeAt(now - 30)}, PAM_SUCCESS);
  EXPECT_EQ(previous.conv.Prompts(), kBothPrompts);
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password+totp", "success", "password and verification code accepted"}));
  EXPECT_EQ(GetUser("alice")->totp_last_step, TotpStep(now, 30) - 1);
  EXPECT_EQ(Failures("alice"), 0);
  ExpectJsonHas("alice", "\"failures\":0");

  // The current step is later than the one used: still accepted.
  SignIn("alice", {kPassword, CodeAt(now)}, PAM_SUCCESS);
  EXPECT_EQ(GetUser("alice")->totp_last_step, TotpStep(now, 30));

  // With totp_window = 0 only the current step counts.
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"totp_window", "0"}}));
  Enroll("alice");
  now = SafeNow();
  SignIn("alice", {kPassword, CodeAt(now - 30)}, PAM_AUTH_ERR);
  SignIn("alice", {kPassword, CodeAt(now + 30)}, PAM_AUTH_ERR);
  SignIn("alice", {kPassword, CodeAt(now)}, PAM_SUCCESS);
}

// ---- 4. an independent implementation ----

TEST_F(MfaTest, CodeFromOathtoolIsAccepted) {
  if (access("/usr/bin/oathtool", X_OK) != 0) GTEST_SKIP() << "oathtool is not installed";
  Enroll("alice", kRfcSecret);
  SafeNow();
  std::string command = std::string("/usr/bin/oathtool --totp -b ") + kRfcSecret;
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[64] = {0};
  ASSERT_NE(fgets(buf, sizeof buf, pipe), nullptr);
  ASSERT_EQ(pclose(pipe), 0);
  std::string code(buf);
  while (!code.empty() && std::isspace(static_cast<unsigned char>(code.back()))) code.pop_back();
  ASSERT_EQ(code.size(), 6u) << "'" << code << "'";
  EXPECT_EQ(code, CodeAt(before, kRfcSecret)) << "core/crypto/totp.h and oathtool disagree";

  PamRun run = SignIn("alice", {kPassword, code}, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kBothPrompts);
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password+totp", "success", "password and verification code accepted"}));

  // An otpauth:// URI on stdin is the same secret.
  CommandResult uri =
      RunAdmin({"mfa", "enroll", "alice", "--secret-stdin"},
               std::string("otpauth://totp/Test:alice?secret=") + kSecret + "&issuer=Test\n");
  ASSERT_EQ(uri.exit_code, 0) << uri.err;
  SignIn("alice", {kPassword, CodeAt(SafeNow())}, PAM_SUCCESS);
}

// totp_period other than 30, through the real libpam: the code oathtool makes
// with --time-step-size signs in, and the step recorded is floor(now /
// period). (Every other test uses 30, where making and checking codes with
// the same function would hide a fixed 30.)
TEST_F(MfaTest, TotpPeriodSixtyAndFortyFiveFollowOathtool) {
  if (access("/usr/bin/oathtool", X_OK) != 0) GTEST_SKIP() << "oathtool is not installed";
  for (int period : {60, 45}) {
    SCOPED_TRACE("totp_period = " + std::to_string(period));
    ASSERT_NO_FATAL_FAILURE(WriteConfig({{"totp_period", std::to_string(period)}}));
    Enroll("alice", kRfcSecret);
    // A moment with at least 3 s left in the step.
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    while (period - now % period < 3) {
      sleep(1);
      now = static_cast<int64_t>(std::time(nullptr));
    }
    const std::string command =
        "/usr/bin/oathtool --totp --time-step-size=" + std::to_string(period) + " --now @" +
        std::to_string(now) + " -b " + kRfcSecret;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buf[64] = {0};
    ASSERT_NE(fgets(buf, sizeof buf, pipe), nullptr);
    ASSERT_EQ(pclose(pipe), 0);
    std::string code(buf);
    while (!code.empty() && std::isspace(static_cast<unsigned char>(code.back()))) code.pop_back();
    ASSERT_EQ(code.size(), 6u) << "'" << code << "'";
    SignIn("alice", {kPassword, code}, PAM_SUCCESS);
    EXPECT_EQ(GetUser("alice")->totp_last_step, now / period);
  }
}

// A disabled account never passes mode=mfa_only's auth, even with the right
// code (nothing tested this: a mutation that let it through went unseen).
TEST_F(MfaTest, MfaOnlyRefusesADisabledAccount) {
  Enroll("alice");
  ASSERT_NO_FATAL_FAILURE(DisableUser("alice"));
  PamRun run = SignIn("alice", {CodeAt(SafeNow())}, PAM_AUTH_ERR, kMfaOnly);
  EXPECT_TRUE(run.conv.Prompts().empty()) << "nothing is asked of a disabled account";
  EXPECT_EQ(LastEvent("alice").outcome, "disabled");
  EXPECT_EQ(GetUser("alice")->totp_last_step, -1);
}

// ---- 5. recovery codes ----

TEST_F(MfaTest, RecoveryCodeWorksOnceAndFewLeftAreAnnounced) {
  std::vector<std::string> ten = Enroll("alice");
  ASSERT_EQ(ten.size(), 10u);
  PamRun first = SignIn("alice", {kPassword, ten[0]}, PAM_SUCCESS);
  EXPECT_EQ(first.conv.Prompts(), kBothPrompts);
  EXPECT_TRUE(first.conv.Infos().empty()) << "9 left: nothing to say";
  EXPECT_EQ(LastEvent("alice"), (EventKey{"password+recovery-code", "success",
                                          "password and recovery code accepted (9 left)"}));
  EXPECT_EQ(GetUser("alice")->totp_last_step, -1) << "no time step used";

  PamRun again = SignIn("alice", {kPassword, ten[0]}, PAM_AUTH_ERR);
  EXPECT_EQ(again.conv.Prompts(), kBothPrompts);
  EXPECT_TRUE(again.conv.Infos().empty());
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password+totp", "failure", "wrong verification code (1 of 5 failures)"}));
  EXPECT_EQ(Failures("alice"), 1);

  // Three codes: using one leaves two, and that is said.
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"recovery_codes", "3"}}));
  std::vector<std::string> three = Enroll("alice");
  ASSERT_EQ(three.size(), 3u);
  SignIn("alice", {kPassword, ten[1]}, PAM_AUTH_ERR);  // replaced by the new enrollment
  size_t mark = DevLog().Mark();
  PamRun used = SignIn("alice", {kPassword, three[0]}, PAM_SUCCESS);
  std::vector<LogLine> used_lines = DevLog().Since(mark);
  EXPECT_EQ(used.conv.Prompts(), kBothPrompts);
  ExpectLeftMessage(used, 2);
  EXPECT_TRUE(used.conv.Errors().empty());
  EXPECT_EQ(LastEvent("alice"), (EventKey{"password+recovery-code", "success",
                                          "password and recovery code accepted (2 left)"}));
  EXPECT_EQ(Failures("alice"), 0) << "a right recovery code clears the count";

  // Typed with spaces instead of the dash, in upper case.
  std::string shouted;
  for (char c : three[1])
    shouted += c == '-' ? std::string(" ") : std::string(1, static_cast<char>(std::toupper(c)));
  shouted = " " + shouted.substr(0, 3) + " " + shouted.substr(3) + " ";
  PamRun upper = SignIn("alice", {kPassword, shouted}, PAM_SUCCESS);
  ExpectLeftMessage(upper, 1);
  EXPECT_EQ(LastEvent("alice"), (EventKey{"password+recovery-code", "success",
                                          "password and recovery code accepted (1 left)"}));
  SignIn("alice", {kPassword, three[1]}, PAM_AUTH_ERR);

  PamRun last = SignIn("alice", {kPassword, three[2]}, PAM_SUCCESS);
  ExpectLeftMessage(last, 0);

  if (DevLog().available()) {
    EXPECT_EQ(Count(used_lines,
                    "pam_sesame(sesame:auth): password sign-in success for user alice (service "
                    "sesame): password and recovery code accepted (2 left)"),
              1u)
        << Dump(used_lines);
    for (const std::string& code : three)
      EXPECT_FALSE(AnyContains(used_lines, code)) << "a recovery code in the log";
  }
  SKIP_WITHOUT_LOGS();
}

// ---- 6. wrong codes lock the account ----

TEST_F(MfaTest, WrongCodesLockTheAccountAndTheRightCodeIsThenNotChecked) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "3"}, {"unlock_time", "600"}}));
  Enroll("alice");
  int64_t now = SafeNow();
  SignIn("alice", {kPassword, WrongCode(now)}, PAM_AUTH_ERR);
  EXPECT_EQ(Failures("alice"), 1);

  // The right password alone (hanging up at the code prompt) does not clear
  // the count.
  PamRun hung_up = SignIn("alice", {kPassword}, PAM_CONV_ERR);
  EXPECT_EQ(hung_up.conv.Prompts(), kBothPrompts);
  EXPECT_EQ(LastEvent("alice").method, "password+totp");
  EXPECT_EQ(LastEvent("alice").outcome, "aborted");
  EXPECT_EQ(Failures("alice"), 1) << "the right password alone clears nothing";

  size_t mark = DevLog().Mark();
  now = SafeNow();
  SignIn("alice", {kPassword, WrongCode(now, 1)}, PAM_AUTH_ERR);
  // The same wrong code again counts once.
  SignIn("alice", {kPassword, WrongCode(now, 1)}, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password+totp", "failure",
                      "wrong verification code (the same as an earlier wrong attempt: not counted "
                      "again; 2 of 3 failures)"}));
  SignIn("alice", {kPassword, WrongCode(now, 2)}, PAM_AUTH_ERR);
  std::vector<LogLine> locking_lines = DevLog().Since(mark);
  std::vector<EventKey> events = EventsOf("alice");
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(std::vector<EventKey>(events.end() - 4, events.end()),
            (std::vector<EventKey>{
                {"password+totp", "failure", "wrong verification code (2 of 3 failures)"},
                {"password+totp", "failure",
                 "wrong verification code (the same as an earlier wrong attempt: not counted "
                 "again; 2 of 3 failures)"},
                {"password+totp", "failure", "wrong verification code (3 of 3 failures)"},
                {"lockout", "locked", "3 failures; locked for 600 s"}}));
  ExpectJsonHas("alice", "\"locked\":true");

  // The right password and the right code: refused before either is checked.
  now = SafeNow();
  mark = DevLog().Mark();
  PamRun locked = SignIn("alice", {kPassword, CodeAt(now)}, PAM_AUTH_ERR);
  std::vector<LogLine> locked_lines = DevLog().Since(mark);
  EXPECT_EQ(locked.conv.Prompts(), kPasswordPrompt) << "no code is asked while locked";
  ASSERT_EQ(locked.conv.Errors().size(), 1u);
  EXPECT_EQ(locked.conv.Errors()[0],
            "Your account is locked after too many failed sign-ins. Try again in 10 minutes, or "
            "ask your administrator to unlock it.");
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"password", "locked",
                      "account is locked for 10 minutes more; password not checked"}));
  EXPECT_EQ(GetUser("alice")->totp_last_step, -1) << "the code was not checked";
  EXPECT_EQ(Failures("alice"), 3);

  // mode=mfa_only refuses too, without asking.
  PamRun only = SignIn("alice", {CodeAt(now)}, PAM_AUTH_ERR, kMfaOnly);
  EXPECT_TRUE(only.conv.Prompts().empty());
  EXPECT_EQ(only.conv.Errors().size(), 1u);
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"totp", "locked",
                      "account is locked for 10 minutes more; verification code not checked"}));

  // Unlocked by the administrator, the same right code works.
  ASSERT_NO_FATAL_FAILURE(Admin({"unlock", "alice"}));
  SignIn("alice", {kPassword, CodeAt(SafeNow())}, PAM_SUCCESS);

  if (DevLog().available()) {
    EXPECT_EQ(Count(locking_lines,
                    "account of user alice (service sesame) locked after 3 failures for 600 s"),
              1u)
        << Dump(locking_lines);
    EXPECT_EQ(Count(locked_lines, "argon2: start"), 0u) << Dump(locked_lines);
  }
  SKIP_WITHOUT_LOGS();
}

// ---- 7. mode=mfa_only after pam_permit ----

TEST_F(MfaTest, MfaOnlyAsksOnlyForTheCode) {
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  Enroll("alice");

  size_t mark = DevLog().Mark();
  int64_t now = SafeNow();
  PamRun wrong = SignIn("alice", {WrongCode(now)}, PAM_AUTH_ERR, kMfaOnly);
  EXPECT_EQ(wrong.conv.Prompts(), kCodePrompt);
  EXPECT_EQ(LastEvent("alice"),
            (EventKey{"totp", "failure", "wrong verification code (1 of 5 failures)"}));

  now = SafeNow();
  PamRun ok = RunPam(kMfaOnly, "alice", {CodeAt(now)},
                     {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(ok, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(ok.conv.Prompts(), kCodePrompt);
  for (const ConvMessage& m : ok.conv.messages()) EXPECT_EQ(m.style, PAM_PROMPT_ECHO_OFF);
  EventKey success = LastEvent("alice");
  EXPECT_EQ(success.method, "totp");
  EXPECT_EQ(success.outcome, "success");
  EXPECT_EQ(success.detail, "verification code accepted");  // no password was checked here
  EXPECT_EQ(Failures("alice"), 0);
  EXPECT_EQ(GetUser("alice")->totp_last_step, TotpStep(now, 30));
  SignIn("alice", {CodeAt(now)}, PAM_AUTH_ERR, kMfaOnly);  // used

  // No authenticator: passes without a prompt, and that is logged.
  PamRun bob = SignIn("bob", {}, PAM_SUCCESS, kMfaOnly);
  EXPECT_TRUE(bob.conv.messages().empty());
  EXPECT_EQ(LastEvent("bob"),
            (EventKey{"none", "success", "no second factor enrolled (not required)"}));

  // Not in the store: PAM_USER_UNKNOWN, nothing asked.
  PamRun nobody = SignIn("nobody", {"123456"}, PAM_USER_UNKNOWN, kMfaOnly);
  EXPECT_TRUE(nobody.conv.messages().empty());
  std::vector<LogLine> lines = DevLog().Since(mark);

  if (DevLog().available()) {
    EXPECT_EQ(Count(lines,
                    "pam_sesame(sesame-mfa-only:auth): second factor success for user bob (service "
                    "sesame-mfa-only): no second factor enrolled (not required)"),
              1u)
        << Dump(lines);
    EXPECT_EQ(Count(lines,
                    "pam_sesame(sesame-mfa-only:auth): second factor unknown-user for user nobody "
                    "(service sesame-mfa-only): no such user in the store"),
              1u)
        << Dump(lines);
    EXPECT_EQ(Count(lines, "argon2: start"), 0u) << "no password is hashed\n" << Dump(lines);
  }
  SKIP_WITHOUT_LOGS();
}

// ---- 8. no authenticator: the password alone ----

TEST_F(MfaTest, WithoutAnAuthenticatorThePasswordAloneSignsIn) {
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  size_t mark = DevLog().Mark();
  PamRun bob = SignIn("bob", {kPassword}, PAM_SUCCESS);
  std::vector<LogLine> bob_lines = DevLog().Since(mark);
  EXPECT_EQ(bob.conv.Prompts(), kPasswordPrompt);
  EXPECT_EQ(LastEvent("bob"), (EventKey{"password", "success",
                                        "password accepted; no second factor enrolled (not "
                                        "required)"}));

  std::vector<std::string> recovery = Enroll("alice");
  ASSERT_FALSE(recovery.empty());
  SignIn("alice", {kPassword}, PAM_CONV_ERR);  // the code is required now

  CommandResult reset = RunAdmin({"mfa", "reset", "alice"});
  EXPECT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_EQ(reset.out, "removed the authenticator and recovery codes of alice\n");
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_TRUE(alice->totp_sealed.empty());
  EXPECT_EQ(alice->totp_last_step, -1);

  mark = DevLog().Mark();
  PamRun after = SignIn("alice", {kPassword, recovery[0]}, PAM_SUCCESS);
  std::vector<LogLine> alice_lines = DevLog().Since(mark);
  EXPECT_EQ(after.conv.Prompts(), kPasswordPrompt);
  EXPECT_EQ(LastEvent("alice"), (EventKey{"password", "success",
                                          "password accepted; no second factor enrolled (not "
                                          "required)"}));
  EXPECT_NE(RunAdmin({"mfa", "reset", "nobody"}).exit_code, 0);

  if (DevLog().available()) {
    EXPECT_EQ(Count(bob_lines,
                    "pam_sesame(sesame:auth): password sign-in success for user bob (service "
                    "sesame): password accepted; no second factor enrolled (not required)"),
              1u)
        << Dump(bob_lines);
    EXPECT_EQ(Count(alice_lines, "no second factor enrolled (not required)"), 1u)
        << Dump(alice_lines);
  }
  SKIP_WITHOUT_LOGS();
}

// ---- 9. odd input at the code prompt ----

TEST_F(MfaTest, OddInputAtTheCodePromptIsRefused) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "0"}}));
  Enroll("alice");
  struct Case {
    const char* name;
    std::string answer;
    std::string detail;
  };
  const std::string kWrong = "wrong verification code";
  const std::vector<Case> cases = {
      {"empty", "", kWrong},
      {"1 MB", std::string(1 << 20, '1'), "verification code longer than 128 bytes"},
      {"129 digits", std::string(129, '7'), "verification code longer than 128 bytes"},
      {"NUL inside",
       std::string("123\0"
                   "456",
                   7),
       kWrong},
      {"NUL first",
       std::string("\0"
                   "123456",
                   7),
       kWrong},
      {"not UTF-8", "\xff\xfe\xfd\xc3\x28\x80", kWrong},
      {"letters", "abcdef", kWrong},
      {"letters, recovery-code shaped", "zzzzz-zzzzz", kWrong},
      {"five digits", "12345", kWrong},
      {"seven digits", "1234567", kWrong},
      {"sign", "-12345", kWrong},
      {"control characters", "\t\n\r\x1b[0m", kWrong},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PamRun run = SignIn("alice", {kPassword, c.answer}, PAM_AUTH_ERR);
    EXPECT_EQ(run.conv.Prompts(), kBothPrompts);
    EXPECT_EQ(LastEvent("alice"), (EventKey{"password+totp", "failure", c.detail}));
  }
  EXPECT_EQ(GetUser("alice")->totp_last_step, -1);
  // Still works afterwards.
  SignIn("alice", {kPassword, CodeAt(SafeNow())}, PAM_SUCCESS);
}

// ---- 10. a sealed secret that cannot be opened ----

TEST_F(MfaTest, BrokenSealedSecretFailsClosed) {
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  Enroll("alice");
  Enroll("bob");
  const std::string bobs_sealed = GetUser("bob")->totp_sealed;
  struct Case {
    const char* name;
    std::string sealed;
  };
  const std::vector<Case> cases = {
      {"garbage", "v1:garbage"},
      {"not even a version", "garbage"},
      {"bob's secret (bound to his name)", bobs_sealed},
      {"one byte changed", bobs_sealed.substr(0, bobs_sealed.size() - 2) +
                               (bobs_sealed[bobs_sealed.size() - 2] == 'A' ? "B" : "A") +
                               bobs_sealed.back()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    {
      std::unique_ptr<Store> store = OpenStore();
      ASSERT_NE(store, nullptr);
      ASSERT_TRUE(store->SetTotp("alice", c.sealed, {}).ok());
    }
    size_t mark = DevLog().Mark();
    PamRun run = SignIn("alice", {kPassword, CodeAt(SafeNow())}, PAM_AUTHINFO_UNAVAIL);
    std::vector<LogLine> lines = DevLog().Since(mark);
    EXPECT_EQ(run.conv.Prompts(), kPasswordPrompt) << "no code asked for a secret not opened";
    EventKey e = LastEvent("alice");
    EXPECT_EQ(e.method, "password+totp");
    EXPECT_EQ(e.outcome, "error");
    EXPECT_EQ(e.detail.rfind("authenticator secret: ", 0), 0u) << e;
    EXPECT_EQ(Failures("alice"), 0) << "not counted as a wrong code";

    PamRun only = SignIn("alice", {CodeAt(SafeNow())}, PAM_AUTHINFO_UNAVAIL, kMfaOnly);
    EXPECT_TRUE(only.conv.Prompts().empty());

    if (DevLog().available()) {
      EXPECT_EQ(Count(lines,
                      "pam_sesame(sesame:auth): password sign-in error for user alice (service "
                      "sesame): authenticator secret: "),
                1u)
          << Dump(lines);
    }
  }
  // bob's own secret still opens for bob.
  SignIn("bob", {kPassword, CodeAt(SafeNow())}, PAM_SUCCESS);
  SKIP_WITHOUT_LOGS();
}

}  // namespace
}  // namespace sesame::pam_testing
