// Forgot my password, through the real libpam: an empty answer at
// "Password: " offers the self-service reset (self_service_reset = yes);
// the person proves a verification code and a recovery code, then sets a
// new password under the whole policy, and is signed in. The refusals are
// the same, question for question, for an unknown user, one who has not
// registered, and one who typed a wrong code.
//
// Codes come from core/crypto/totp.h with the secret given to
// `sesame-admin mfa enroll --secret-stdin`; recovery codes from its output.
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/base32.h"
#include "core/base/secret.h"
#include "core/crypto/totp.h"
#include "core/flows/reset.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";
constexpr char kNew[] = "Violet tractor sings 42 loud";
constexpr char kSecret[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
constexpr char kOffer[] = "Reset your password now? (yes/no): ";
const std::vector<std::string> kAllPrompts = {"Password: ",          kOffer,
                                              "Verification code: ", "Recovery code: ",
                                              "New password: ",      "Retype new password: "};
// Where every refused reset stops: the first code.
const std::vector<std::string> kRefusedPrompts = {"Password: ", kOffer, "Verification code: "};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// Now, once at least 5 seconds are left in the current 30 s step.
int64_t SafeNow() {
  for (;;) {
    const int64_t now = Now();
    if (30 - now % 30 >= 5) return now;
    sleep(static_cast<unsigned>(30 - now % 30));
  }
}

std::string CodeAt(int64_t t) {
  Result<SecretBuffer> key = Base32Decode(kSecret);
  EXPECT_TRUE(key.ok());
  return key.ok() ? TotpAt(key.value(), t, TotpParams{}) : "";
}

// A 6-digit code that is none of the steps around `t`.
std::string WrongCode(int64_t t) {
  std::vector<std::string> near;
  for (int d = -2; d <= 2; ++d) near.push_back(CodeAt(t + d * 30));
  std::string code = near[2];
  for (;;) {
    code[5] = static_cast<char>('0' + (code[5] - '0' + 1) % 10);
    bool clash = false;
    for (const std::string& n : near) clash = clash || n == code;
    if (!clash) return code;
  }
}

class ResetTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(WriteConfig({{"self_service_reset", "yes"}}));
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
    ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));  // never registers anything
    CommandResult r =
        RunAdmin({"mfa", "enroll", "alice", "--secret-stdin"}, std::string(kSecret) + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    size_t header = r.out.find("\nRecovery codes (");
    ASSERT_NE(header, std::string::npos) << r.out;
    size_t pos = r.out.find('\n', header + 1);
    while (pos != std::string::npos && pos + 1 < r.out.size()) {
      size_t end = r.out.find('\n', pos + 1);
      std::string line = r.out.substr(pos + 1, end == std::string::npos ? end : end - pos - 1);
      if (line.rfind("  ", 0) != 0) break;
      recovery_.push_back(line.substr(2));
      pos = end;
    }
    ASSERT_GE(recovery_.size(), 3u);
  }

  // Outcomes of `user`'s events, oldest first, from method "reset" and
  // "password-change" only.
  std::vector<std::string> ResetOutcomes(const std::string& user) {
    std::vector<std::string> out;
    std::vector<SignInEvent> events = Events();
    std::sort(events.begin(), events.end(),
              [](const SignInEvent& a, const SignInEvent& b) { return a.id < b.id; });
    for (const SignInEvent& e : events) {
      if (e.user == user && (e.method == "reset" || e.method == "password-change"))
        out.push_back(e.method + ":" + e.outcome);
    }
    return out;
  }

  // A sign-in whose code answer (index `code_at`) is computed when asked.
  PamRun SignIn(const std::string& user, std::vector<std::string> answers,
                const std::vector<PamStep>& steps, std::optional<size_t> code_at = std::nullopt) {
    std::map<size_t, Conversation::Answerer> computed;
    if (code_at.has_value())
      computed[*code_at] = [](const std::vector<ConvMessage>&) { return CodeAt(Now()); };
    return RunPamWith("sesame", user, Conversation(std::move(answers), std::move(computed)), steps);
  }

  std::vector<std::string> recovery_;
};

TEST_F(ResetTest, TheWholeResetSignsInWithTheNewPassword) {
  SafeNow();
  PamRun run = SignIn("alice", {"", "yes", "", recovery_[0], "short", "short", kNew, kNew},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}}, 2);
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
  std::vector<std::string> expected = kAllPrompts;
  expected.push_back("New password: ");
  expected.push_back("Retype new password: ");
  EXPECT_EQ(run.conv.Prompts(), expected);
  ASSERT_FALSE(run.conv.Infos().empty());
  EXPECT_EQ(run.conv.Infos()[0],
            "Forgot your password? You can set a new one with a verification code from your "
            "authenticator app and one of your recovery codes.");
  ASSERT_EQ(run.conv.Errors().size(), 1u) << "the weak password is refused, saying why";
  EXPECT_EQ(ResetOutcomes("alice"),
            (std::vector<std::string>{"reset:reset-started", "reset:reset-code",
                                      "reset:reset-recovery-code", "password-change:success",
                                      "reset:reset-done", "reset:success"}));
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_FALSE(alice->must_change);
  EXPECT_EQ(alice->failures, 0);

  // The recovery code is used up; the new password and a fresh recovery
  // code sign in (the code's time step was used by the reset).
  PamRun again =
      RunPam("sesame", "alice", {kNew, recovery_[0]}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(again, PAM_AUTH_ERR);
  PamRun next = RunPam("sesame", "alice", {kNew, recovery_[1]},
                       {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(next, PAM_SUCCESS, PAM_SUCCESS);
  PamRun old = RunPam("sesame", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(old, PAM_AUTH_ERR);
}

TEST_F(ResetTest, AnythingButYesIsAnOrdinaryFailedSignIn) {
  for (const char* answer : {"no", "", "yess", "user-name"}) {
    SCOPED_TRACE(answer);
    PamRun run = RunPam("sesame", "alice", {"", answer}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
    EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
    EXPECT_EQ(run.conv.Prompts(), (std::vector<std::string>{"Password: ", kOffer}));
  }
  EXPECT_EQ(GetUser("alice")->failures, 0) << "an empty password is not counted";
}

TEST_F(ResetTest, NotEnabledAnEmptyPasswordIsAWrongOneAsBefore) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({}));
  PamRun run = RunPam("sesame", "alice", {""}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(run.conv.Prompts(), (std::vector<std::string>{"Password: "}));
  EXPECT_TRUE(run.conv.Infos().empty());
}

TEST_F(ResetTest, UnknownUnregisteredAndWrongAreRefusedAlike) {
  const int64_t now = SafeNow();
  const std::string wrong = WrongCode(now);
  PamRun unknown = RunPam("sesame", "nobody-here", {"", "yes", wrong},
                          {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  PamRun unregistered =
      RunPam("sesame", "bob", {"", "yes", wrong}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  PamRun mistyped =
      RunPam("sesame", "alice", {"", "yes", wrong}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(unknown, PAM_USER_UNKNOWN);
  EXPECT_PAM_CODES(unregistered, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(mistyped, PAM_AUTH_ERR);
  for (const PamRun* run : {&unknown, &unregistered, &mistyped}) {
    EXPECT_EQ(run->conv.Prompts(), kRefusedPrompts);
    EXPECT_EQ(run->conv.Errors(), std::vector<std::string>{kResetRefusedMessage});
    EXPECT_EQ(run->conv.Infos(), mistyped.conv.Infos());
  }
  EXPECT_EQ(GetUser("alice")->failures, 1) << "a wrong code counts";
  EXPECT_EQ(ResetOutcomes("alice"),
            (std::vector<std::string>{"reset:reset-started", "reset:failure"}));
}

// Hanging up at the first code, again and again, proves nothing and
// counts nothing: it must not grow the store either (one coalesced event).
TEST_F(ResetTest, HangingUpAtTheFirstCodeDoesNotGrowTheStore) {
  for (int i = 0; i < 10; ++i) {
    PamRun run = RunPam("sesame", "alice", {"", "yes"}, {{PAMTEST_AUTHENTICATE, PAM_CONV_ERR}});
    EXPECT_PAM_CODES(run, PAM_CONV_ERR);
  }
  std::vector<SignInEvent> events;
  for (const SignInEvent& e : Events())
    if (e.user == "alice" && e.method == "reset") events.push_back(e);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, "aborted");
  EXPECT_EQ(events[0].count, 10);
  EXPECT_EQ(GetUser("alice")->failures, 0);
}

TEST_F(ResetTest, AWrongRecoveryCodeAfterARightCodeIsRefusedAndCountedOnce) {
  SafeNow();
  PamRun run =
      SignIn("alice", {"", "yes", "", "aaaaa-bbbbb"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}}, 2);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(
      run.conv.Prompts(),
      (std::vector<std::string>{"Password: ", kOffer, "Verification code: ", "Recovery code: "}));
  EXPECT_EQ(run.conv.Errors(), std::vector<std::string>{kResetRefusedMessage});
  EXPECT_EQ(GetUser("alice")->failures, 1);
  // The password is unchanged.
  PamRun old =
      RunPam("sesame", "alice", {kPassword, recovery_[0]}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(old, PAM_SUCCESS);
}

TEST_F(ResetTest, ALockedAccountCannotReset) {
  for (int i = 0; i < 5; ++i)
    RunPam("sesame", "alice", {"wrong " + std::to_string(i)},
           {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  ASSERT_GT(GetUser("alice")->locked_until, Now());
  SafeNow();
  PamRun run = SignIn("alice", {"", "yes", "", recovery_[0], kNew, kNew},
                      {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}}, 2);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(run.conv.Prompts(), (std::vector<std::string>{"Password: ", kOffer}));
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_EQ(run.conv.Errors()[0].rfind("Your account is locked after too many failed sign-ins.", 0),
            0u)
      << run.conv.Errors()[0];
}

TEST_F(ResetTest, ADisabledAccountIsRefusedOnceTheCodesAreProven) {
  ASSERT_NO_FATAL_FAILURE(DisableUser("alice"));
  SafeNow();
  PamRun run = SignIn("alice", {"", "yes", "", recovery_[0], kNew, kNew},
                      {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}}, 2);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(
      run.conv.Prompts(),
      (std::vector<std::string>{"Password: ", kOffer, "Verification code: ", "Recovery code: "}));
  EXPECT_EQ(ResetOutcomes("alice").back(), "reset:disabled");
}

TEST_F(ResetTest, RecoveryCodeOnlyAsksNoVerificationCode) {
  ASSERT_NO_FATAL_FAILURE(
      WriteConfig({{"self_service_reset", "yes"}, {"reset_methods", "recovery_code"}}));
  PamRun run = RunPam("sesame", "alice", {"", "y", recovery_[2], kNew, kNew},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), (std::vector<std::string>{
                                    "Password: ", kOffer,
                                    "Recovery code: ", "New password: ", "Retype new password: "}));
  ASSERT_FALSE(run.conv.Infos().empty());
  EXPECT_EQ(run.conv.Infos()[0],
            "Forgot your password? You can set a new one with one of your recovery codes.");
}

TEST_F(ResetTest, ThreeRefusedNewPasswordsLeaveThePasswordAndCountNothing) {
  SafeNow();
  PamRun run = SignIn("alice", {"", "yes", "", recovery_[0], "a", "a", "b", "b", "c", "c"},
                      {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}}, 2);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(GetUser("alice")->failures, 0) << "the codes were right: nothing wrong to count";
  PamRun old =
      RunPam("sesame", "alice", {kPassword, recovery_[1]}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(old, PAM_SUCCESS);
}

// An admin sees who could not reset (sesame-admin user list / show).
TEST_F(ResetTest, UserListSaysWhoIsReadyToReset) {
  CommandResult list = RunAdmin({"user", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(R"("name":"alice")"), std::string::npos);
  const size_t alice = list.out.find(R"("name":"alice")");
  const size_t bob = list.out.find(R"("name":"bob")");
  ASSERT_NE(bob, std::string::npos) << list.out;
  const std::string alice_json =
      list.out.substr(alice, bob > alice ? bob - alice : std::string::npos);
  const std::string bob_json = list.out.substr(bob, alice > bob ? alice - bob : std::string::npos);
  EXPECT_NE(alice_json.find(R"("reset_ready":true,"reset_missing":[])"), std::string::npos)
      << alice_json;
  EXPECT_NE(bob_json.find(R"("reset_ready":false,"reset_missing":["totp","recovery_code"])"),
            std::string::npos)
      << bob_json;
  CommandResult table = RunAdmin({"user", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("RESET"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("needs totp,recovery_code"), std::string::npos) << table.out;
  CommandResult show = RunAdmin({"user", "show", "bob"});
  EXPECT_NE(show.out.find("cannot reset it: needs an authenticator app and recovery codes"),
            std::string::npos)
      << show.out;
  // Off: nobody is ready, and the list says so.
  ASSERT_NO_FATAL_FAILURE(WriteConfig({}));
  table = RunAdmin({"user", "list"});
  EXPECT_EQ(table.out.find("ready"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(" off"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace sesame::pam_testing
