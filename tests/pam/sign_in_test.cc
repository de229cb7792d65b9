// Password sign-in through the real libpam: return codes, what the person is
// asked and told, what is logged, and odd input (empty, huge, NUL, non-UTF-8,
// control characters, hostile user names).
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/logger.h"
#include "pam_module/module_args.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";
const std::vector<std::string> kOnePasswordPrompt = {"Password: "};

class SignInTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  }

  // One authenticate with `answer` as alice on the debug service; returns
  // the log lines it produced.
  std::vector<LogLine> AuthAlice(const std::string& answer, int expected) {
    size_t mark = DevLog().Mark();
    PamRun run = RunPam("sesame", "alice", {answer}, {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected);
    EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
    return DevLog().Since(mark);
  }
};

size_t Count(const std::vector<LogLine>& lines, const std::string& needle) {
  return Matching(lines, needle).size();
}

TEST_F(SignInTest, RightPasswordSucceedsForAuthSetcredAndAccount) {
  size_t mark = DevLog().Mark();
  PamRun run = RunPam("sesame", "alice", {kPassword},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS},
                       {PAMTEST_SETCRED, PAM_SUCCESS, PAM_ESTABLISH_CRED},
                       {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
  EXPECT_TRUE(run.conv.Errors().empty());
  EXPECT_TRUE(run.conv.Infos().empty());

  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_EQ(Count(lines,
                  "pam_sesame(sesame:auth): password sign-in success for user alice "
                  "(service sesame): password accepted"),
            1u)
      << Dump(lines);
  EXPECT_EQ(Count(lines,
                  "pam_sesame(sesame:account): account check success for user alice "
                  "(service sesame)"),
            1u)
      << Dump(lines);
  EXPECT_EQ(Count(lines, "argon2: start"), 1u) << Dump(lines);
  EXPECT_EQ(Count(lines, "argon2: end"), 1u) << Dump(lines);
  EXPECT_FALSE(AnyContains(lines, kPassword)) << "the password reached the log\n" << Dump(lines);
}

TEST_F(SignInTest, NonAsciiUtf8PasswordIsComparedByteForByte) {
  const std::string password = "p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93 \xf0\x9f\x94\x91";
  ASSERT_NO_FATAL_FAILURE(AddUser("ulrike", password));
  PamRun ok = RunPam("sesame", "ulrike", {password}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(ok, PAM_SUCCESS);
  // The same letters in decomposed form (a + combining diaeresis) are other bytes.
  const std::string decomposed = "pa\xcc\x88ssw\xc3\xb6rd \xe2\x9c\x93 \xf0\x9f\x94\x91";
  PamRun other = RunPam("sesame", "ulrike", {decomposed}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(other, PAM_AUTH_ERR);
}

TEST_F(SignInTest, WrongPasswordIsAuthErr) {
  std::vector<LogLine> lines = AuthAlice("correct horse battery staple 8", PAM_AUTH_ERR);
  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(lines,
                  "pam_sesame(sesame:auth): password sign-in failure for user alice "
                  "(service sesame): wrong password"),
            1u)
      << Dump(lines);
  EXPECT_EQ(Count(lines, "argon2: start"), 1u) << Dump(lines);
  EXPECT_FALSE(AnyContains(lines, "staple 8")) << "the password reached the log\n" << Dump(lines);
}

TEST_F(SignInTest, UnknownUserIsUserUnknownAfterTheSameArgon2Work) {
  size_t mark = DevLog().Mark();
  PamRun run = RunPam("sesame", "mallory", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(run, PAM_USER_UNKNOWN);
  // Asked the same question as a known user.
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
  std::vector<LogLine> auth_lines = DevLog().Since(mark);

  PamRun account = RunPam("sesame", "mallory", {}, {{PAMTEST_ACCOUNT, PAM_USER_UNKNOWN}});
  EXPECT_PAM_CODES(account, PAM_USER_UNKNOWN);
  EXPECT_TRUE(account.conv.messages().empty());

  SKIP_WITHOUT_LOGS();
  // The dummy verify: one argon2 computation, as for a known user.
  std::vector<LogLine> starts = Matching(auth_lines, "pam_sesame(sesame:auth): argon2: start");
  std::vector<LogLine> ends = Matching(auth_lines, "pam_sesame(sesame:auth): argon2: end");
  EXPECT_EQ(starts.size(), 1u) << Dump(auth_lines);
  EXPECT_EQ(ends.size(), 1u) << Dump(auth_lines);
  EXPECT_EQ(Count(auth_lines,
                  "password sign-in unknown-user for user mallory (service sesame): "
                  "no such user in the store"),
            1u)
      << Dump(auth_lines);
}

TEST_F(SignInTest, DisabledAccountIsRefusedInAuthAndExpiredInAccount) {
  ASSERT_NO_FATAL_FAILURE(DisableUser("alice"));

  // The right password: refused, and said so only in the log.
  size_t mark = DevLog().Mark();
  PamRun right = RunPam("sesame", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(right, PAM_AUTH_ERR);
  EXPECT_TRUE(right.conv.Errors().empty());
  std::vector<LogLine> right_lines = DevLog().Since(mark);

  // A wrong password: nothing reveals that the account is disabled.
  mark = DevLog().Mark();
  PamRun wrong = RunPam("sesame", "alice", {"not it"}, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  EXPECT_TRUE(wrong.conv.Errors().empty());
  std::vector<LogLine> wrong_lines = DevLog().Since(mark);

  // account alone: expired, and the person is told what to do.
  mark = DevLog().Mark();
  PamRun account = RunPam("sesame", "alice", {}, {{PAMTEST_ACCOUNT, PAM_ACCT_EXPIRED}});
  EXPECT_PAM_CODES(account, PAM_ACCT_EXPIRED);
  EXPECT_EQ(
      account.conv.Errors(),
      std::vector<std::string>{"Your account is disabled. Ask your administrator to enable it."});
  EXPECT_TRUE(account.conv.Prompts().empty());
  std::vector<LogLine> account_lines = DevLog().Since(mark);

  // PAM_SILENT: the same answer, no message.
  PamRun silent = RunPam("sesame", "alice", {}, {{PAMTEST_ACCOUNT, PAM_ACCT_EXPIRED, PAM_SILENT}});
  EXPECT_PAM_CODES(silent, PAM_ACCT_EXPIRED);
  EXPECT_TRUE(silent.conv.messages().empty());

  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(right_lines,
                  "password sign-in disabled for user alice (service sesame): "
                  "account is disabled"),
            1u)
      << Dump(right_lines);
  EXPECT_EQ(Count(wrong_lines,
                  "password sign-in failure for user alice (service sesame): "
                  "wrong password"),
            1u)
      << Dump(wrong_lines);
  EXPECT_FALSE(AnyContains(wrong_lines, "disabled")) << Dump(wrong_lines);
  EXPECT_EQ(Count(account_lines,
                  "pam_sesame(sesame:account): account check disabled for user "
                  "alice (service sesame): account is disabled"),
            1u)
      << Dump(account_lines);
}

// The account check right after a successful sign-in on the same handle
// decides on the account state the sign-in's own write read
// (account_check_max_age_ms): an account disabled after that moment is
// not refused by this sign-in's account check, as it would not be had the
// change come a moment later. Older than the bound, or with 0, or for
// another user, the account check reads the store again and refuses.
TEST_F(SignInTest, TheAccountCheckAfterASignInDecidesOnWhatTheSignInRead) {
  ASSERT_NO_FATAL_FAILURE(AddUser("bob", kPassword));
  ASSERT_NO_FATAL_FAILURE(DisableUser("bob"));
  auto set_disabled = [&](bool disabled) {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->SetDisabled("alice", disabled).ok());
  };
  struct Case {
    const char* max_age_ms;
    int sleep_ms;
    const char* account_user;
    int account;
  };
  const Case cases[] = {
      {"10000", 0, nullptr, PAM_SUCCESS},      // what the sign-in read
      {"0", 0, nullptr, PAM_ACCT_EXPIRED},     // always read again
      {"20", 200, nullptr, PAM_ACCT_EXPIRED},  // too old: read again
      {"10000", 0, "bob", PAM_ACCT_EXPIRED},   // another user: bob's own record
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("account_check_max_age_ms = ") + c.max_age_ms + ", sleep " +
                 std::to_string(c.sleep_ms) + " ms" +
                 (c.account_user != nullptr ? std::string(", account as ") + c.account_user : ""));
    ASSERT_NO_FATAL_FAILURE(WriteConfig({{"account_check_max_age_ms", c.max_age_ms}}));
    ASSERT_NO_FATAL_FAILURE(set_disabled(false));
    DirectRun run = DirectSignInThenAccount(
        "sesame", "alice", kPassword,
        [&] {
          set_disabled(true);
          if (c.sleep_ms > 0) usleep(c.sleep_ms * 1000);
        },
        c.account_user);
    EXPECT_EQ(run.auth, PAM_SUCCESS);
    EXPECT_EQ(run.account, c.account);
    // Either way the next sign-in is refused.
    DirectRun next = DirectSignIn("sesame", "alice", kPassword, nullptr, true);
    EXPECT_EQ(next.auth, PAM_AUTH_ERR);
  }
}

// pam_unix's 2 s after any failure, asked for by the interactive modes
// unless nodelay: a Sesame user's wrong password takes as long as a name
// that falls through to pam_unix (sesame-delay and sesame-delay-mfa-only
// are the services without nodelay; libpam randomises the delay it hands
// the callback, within a quarter either way).
TEST_F(SignInTest, AFailureAsksLibpamForPamUnixsDelayUnlessNodelay) {
  constexpr unsigned kLow = kFailDelayMicros / 2;
  constexpr unsigned kHigh = kFailDelayMicros * 2;
  for (const char* user : {"alice", "nobody-here", "root"}) {
    SCOPED_TRACE(user);
    DelaysSeen seen;
    EXPECT_NE(AuthenticateRecordingDelays("sesame-delay", user, "wrong", &seen), PAM_SUCCESS);
    EXPECT_EQ(seen.calls, 1);
    EXPECT_GT(seen.longest, kLow);
    EXPECT_LT(seen.longest, kHigh);
  }
  // mode=mfa_only: a wrong verification code.
  ASSERT_NO_FATAL_FAILURE(
      Admin({"mfa", "enroll", "alice", "--secret-stdin"}, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"));
  DelaysSeen code;
  EXPECT_EQ(AuthenticateRecordingDelays("sesame-delay-mfa-only", "alice", "not a code", &code),
            PAM_AUTH_ERR);
  EXPECT_EQ(code.calls, 1);
  EXPECT_GT(code.longest, kLow);
  DelaysSeen nodelay;
  EXPECT_EQ(AuthenticateRecordingDelays("sesame", "alice", "wrong", &nodelay), PAM_AUTH_ERR);
  EXPECT_EQ(AuthenticateRecordingDelays("sesame", "nobody-here", "wrong", &nodelay),
            PAM_USER_UNKNOWN);
  EXPECT_EQ(nodelay.calls, 2);
  EXPECT_EQ(nodelay.longest, 0u) << "nodelay: no delay asked for";
}

TEST_F(SignInTest, EmptyPasswordIsAuthErrWithoutHashing) {
  std::vector<LogLine> lines = AuthAlice("", PAM_AUTH_ERR);
  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(lines,
                  "password sign-in failure for user alice (service sesame): "
                  "empty password"),
            1u)
      << Dump(lines);
  EXPECT_EQ(Count(lines, "argon2: start"), 0u) << Dump(lines);
}

TEST_F(SignInTest, MegabytePasswordIsRefusedBeforeHashing) {
  std::vector<LogLine> lines = AuthAlice(std::string(1 << 20, 'a'), PAM_AUTH_ERR);
  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(lines,
                  "password sign-in failure for user alice (service sesame): "
                  "password longer than 1024 bytes"),
            1u)
      << Dump(lines);
  EXPECT_EQ(Count(lines, "argon2: start"), 0u) << Dump(lines);
}

TEST_F(SignInTest, PasswordLengthLimitIsExactly1024Bytes) {
  std::vector<LogLine> over = AuthAlice(std::string(1025, 'b'), PAM_AUTH_ERR);
  std::vector<LogLine> at = AuthAlice(std::string(1024, 'b'), PAM_AUTH_ERR);
  SKIP_WITHOUT_LOGS();
  EXPECT_TRUE(AnyContains(over, "password longer than 1024 bytes")) << Dump(over);
  EXPECT_EQ(Count(over, "argon2: start"), 0u) << Dump(over);
  EXPECT_TRUE(AnyContains(at, "wrong password")) << Dump(at);
  EXPECT_EQ(Count(at, "argon2: start"), 1u) << Dump(at);
}

TEST_F(SignInTest, NulBearingAnswersAreDenied) {
  // A conversation answer is a C string: the module sees it up to the NUL.
  std::vector<LogLine> leading = AuthAlice(std::string(1, '\0') + kPassword, PAM_AUTH_ERR);
  std::vector<LogLine> wrong_prefix =
      AuthAlice(std::string("wrong-prefix") + '\0' + kPassword, PAM_AUTH_ERR);
  SKIP_WITHOUT_LOGS();
  EXPECT_TRUE(AnyContains(leading, "empty password")) << Dump(leading);
  EXPECT_TRUE(AnyContains(wrong_prefix, "wrong password")) << Dump(wrong_prefix);
}

TEST_F(SignInTest, AnswerIsCutAtTheFirstNulByLibpam) {
  // What follows a NUL never reaches the module, so the password before it
  // is what is checked (no stored password can hold a NUL: the admin tool
  // refuses one).
  PamRun run = RunPam("sesame", "alice", {std::string(kPassword) + '\0' + "trailing junk"},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
}

TEST_F(SignInTest, NonUtf8AnswersAreDeniedWithoutHarm) {
  // Five wrong answers would lock the account (password_test.cc covers
  // lockout); here only the bytes matter.
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "0"}}));
  const std::vector<std::string> answers = {
      "\xff\xfe\xfd",                                     // never valid in UTF-8
      std::string(kPassword) + "\xff",                    // right password plus a stray byte
      "\xc0\xaf" + std::string(kPassword),                // overlong '/'
      "\xed\xa0\x80" + std::string(kPassword),            // UTF-16 surrogate
      std::string(kPassword).substr(0, 10) + "\xe2\x82",  // truncated sequence
  };
  for (const std::string& answer : answers) {
    SCOPED_TRACE(SanitizeForLog(answer));
    std::vector<LogLine> lines = AuthAlice(answer, PAM_AUTH_ERR);
    if (DevLog().available()) {
      EXPECT_TRUE(AnyContains(lines, "wrong password")) << Dump(lines);
      for (const LogLine& l : lines) EXPECT_EQ(l.text.find('\xff'), std::string::npos) << l.text;
    }
  }
  // The account still works after all that.
  PamRun ok = RunPam("sesame", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(ok, PAM_SUCCESS);
}

TEST_F(SignInTest, ControlCharactersInAnswersAreDenied) {
  const std::vector<std::string> answers = {
      "\x1b[2J\x1b[31m" + std::string(kPassword),  // terminal escapes
      std::string(kPassword) + "\r",               // CR from a DOS client
      std::string(kPassword) + "\n",               // newline kept by a client
      "\t" + std::string(kPassword),
      std::string("\x7f\x01\x02\x03"),
  };
  for (const std::string& answer : answers) {
    SCOPED_TRACE(SanitizeForLog(answer));
    std::vector<LogLine> lines = AuthAlice(answer, PAM_AUTH_ERR);
    if (DevLog().available()) {
      EXPECT_TRUE(AnyContains(lines, "wrong password")) << Dump(lines);
      EXPECT_FALSE(AnyContains(lines, "\x1b")) << Dump(lines);
    }
  }
}

TEST_F(SignInTest, ConversationFailureIsConvErr) {
  // The person hangs up at the prompt.
  size_t mark = DevLog().Mark();
  PamRun run = RunPam("sesame", "alice", {}, {{PAMTEST_AUTHENTICATE, PAM_CONV_ERR}});
  EXPECT_PAM_CODES(run, PAM_CONV_ERR);
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, "aborted");
  EXPECT_EQ(events[0].user, "alice");
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines, "password sign-in aborted for user alice (service sesame)"))
      << Dump(lines);
  EXPECT_EQ(Count(lines, "argon2: start"), 0u) << Dump(lines);
}

// Names that are not names: refused as unknown, and logged escaped so a log
// line cannot be forged or broken (service without `debug`, whose effective
// configuration dump spans lines by design).
TEST_F(SignInTest, HostileUserNamesAreUnknownAndLoggedEscaped) {
  struct Case {
    std::string name;
    std::string logged;  // how the log shows it
  };
  const std::vector<Case> cases = {
      {"eve\npam_sesame(sshd:auth): password sign-in success for user root",
       "eve\\x0apam_sesame(sshd:auth): password sign-in success for user root"},
      {"\xff\xfer\xc3\xb6ot", "\\xff\\xfer\\xc3\\xb6ot"},
      {"tab\tname\r", "tab\\x09name\\x0d"},
      {std::string(65, 'x'), std::string(65, 'x')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.logged);
    size_t mark = DevLog().Mark();
    PamRun auth = RunPam("sesame-quiet", c.name, {"whatever it is"},
                         {{PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN}});
    EXPECT_PAM_CODES(auth, PAM_USER_UNKNOWN);
    EXPECT_EQ(auth.conv.Prompts(), kOnePasswordPrompt);
    PamRun account = RunPam("sesame-quiet", c.name, {}, {{PAMTEST_ACCOUNT, PAM_USER_UNKNOWN}});
    EXPECT_PAM_CODES(account, PAM_USER_UNKNOWN);
    if (!DevLog().available()) continue;
    std::vector<LogLine> lines = DevLog().Since(mark);
    EXPECT_TRUE(AnyContains(lines, "password sign-in unknown-user for user " + c.logged +
                                       " (service sesame-quiet): not a valid user name"))
        << Dump(lines);
    EXPECT_TRUE(AnyContains(lines, "account check unknown-user for user " + c.logged))
        << Dump(lines);
    for (const LogLine& l : lines) {
      EXPECT_EQ(l.text.find_first_of("\n\r\t"), std::string::npos)
          << "raw control byte: " << l.text;
      EXPECT_EQ(l.text.find('\xff'), std::string::npos) << "raw non-UTF-8 byte: " << l.text;
    }
  }
  // Names that cannot be accounts share one event row (the log lines above
  // name each, escaped): an attacker who varies them cannot grow the store
  // one row per try. The row counts them.
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].user, "(invalid name)");
  EXPECT_EQ(events[0].outcome, "unknown-user");
  EXPECT_EQ(events[0].detail, "not a valid user name");
  EXPECT_EQ(events[0].count, static_cast<int64_t>(cases.size()));
  SKIP_WITHOUT_LOGS();
}

}  // namespace
}  // namespace sesame::pam_testing
