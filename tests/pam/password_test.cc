// Password changes through the real libpam (pam_chauthtok): who is asked
// what, the policy at the new-password prompt, forced and expired changes,
// pam_pwquality in front of us with use_authtok, odd input, and a store that
// goes away in the middle of a change.
//
// The test binary runs as root, so a plain pam_chauthtok is the passwd(1)
// case (no "Current password: "), and PAM_CHANGE_EXPIRED_AUTHTOK is the
// login-time change of an expired or reset password (asked).
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/crypto/password_hash.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kOld[] = "correct horse battery staple 7";
constexpr char kNew[] = "Violet tractor sings 42 loud";
constexpr char kThird[] = "Quiet lantern 93 over fjords";
constexpr char kService[] = "sesame-passwd";

const std::vector<std::string> kNewPrompts = {"New password: ", "Retype new password: "};
const std::vector<std::string> kCurrentPrompt = {"Current password: "};

std::vector<std::string> Repeat(const std::vector<std::string>& v, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.insert(out.end(), v.begin(), v.end());
  return out;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

size_t Count(const std::vector<LogLine>& lines, const std::string& needle) {
  return Matching(lines, needle).size();
}

// Allocations made while one of these lives are not reported as leaks
// (sanitized builds only).
class IgnoreLeaks {
 public:
#if defined(__SANITIZE_ADDRESS__)
  IgnoreLeaks() { __lsan_disable(); }
  ~IgnoreLeaks() { __lsan_enable(); }
#else
  IgnoreLeaks() = default;
#endif
  IgnoreLeaks(const IgnoreLeaks&) = delete;
  IgnoreLeaks& operator=(const IgnoreLeaks&) = delete;
};

class PasswordChangeTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kOld));
    std::optional<UserRecord> alice = GetUser("alice");
    ASSERT_TRUE(alice.has_value());
    original_ = *alice;
  }

  // pam_chauthtok as alice on the passwd service, answering `answers`.
  PamRun Change(std::vector<std::string> answers, int expected, int flags = 0,
                const std::string& service = kService) {
    return RunPam(service, "alice", std::move(answers), {{PAMTEST_CHAUTHTOK, expected, flags}});
  }

  // One authenticate as alice with `password`.
  void ExpectSignIn(const std::string& password, int expected) {
    PamRun run = RunPam("sesame-quiet", "alice", {password}, {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected);
  }

  std::vector<std::string> History(const std::string& name) {
    std::unique_ptr<Store> store = OpenStore();
    if (store == nullptr) return {};
    Result<std::vector<std::string>> history = store->PasswordHistory(name);
    EXPECT_TRUE(history.ok()) << history.status().message();
    return history.ok() ? history.value() : std::vector<std::string>{};
  }

  // alice's password is still kOld: same hash, same change time, no history,
  // the old password signs in and `other` does not.
  void ExpectUnchanged(const std::string& other = kNew) {
    std::optional<UserRecord> now = GetUser("alice");
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->password_hash, original_.password_hash);
    EXPECT_EQ(now->password_changed, original_.password_changed);
    EXPECT_EQ(now->must_change, original_.must_change);
    EXPECT_TRUE(History("alice").empty());
    if (!other.empty()) ExpectSignIn(other, PAM_AUTH_ERR);
    ExpectSignIn(kOld, PAM_SUCCESS);
  }

  // The `sesame-admin user show NAME --json` output.
  std::string ShowJson(const std::string& name) {
    CommandResult r = RunAdmin({"user", "show", name, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // Events with the method "password-change".
  std::vector<SignInEvent> ChangeEvents() {
    std::vector<SignInEvent> out;
    for (const SignInEvent& e : Events())
      if (e.method == "password-change") out.push_back(e);
    return out;
  }

  UserRecord original_;
};

// ---- 1. passwd as root ----

TEST_F(PasswordChangeTest, RootChangesWithoutTheCurrentPassword) {
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  size_t mark = DevLog().Mark();
  PamRun run = Change({kNew, kNew}, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kNewPrompts);
  EXPECT_TRUE(run.conv.Errors().empty());
  EXPECT_TRUE(run.conv.Infos().empty());
  std::vector<LogLine> lines = DevLog().Since(mark);

  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_NE(alice->password_hash, original_.password_hash);
  EXPECT_GE(alice->password_changed, before);
  EXPECT_FALSE(alice->must_change);
  // The history grew by the old hash.
  EXPECT_EQ(History("alice"), std::vector<std::string>{original_.password_hash});

  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].user, "alice");
  EXPECT_EQ(events[0].service, kService);
  EXPECT_EQ(events[0].method, "password-change");
  EXPECT_EQ(events[0].outcome, "success");
  EXPECT_EQ(events[0].detail, "password changed");

  ExpectSignIn(kNew, PAM_SUCCESS);
  ExpectSignIn(kOld, PAM_AUTH_ERR);

  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(lines,
                  "pam_sesame(sesame-passwd:chauthtok): password change success for user alice "
                  "(service sesame-passwd): password changed"),
            1u)
      << Dump(lines);
  EXPECT_FALSE(AnyContains(lines, "current password")) << Dump(lines);
  EXPECT_FALSE(AnyContains(lines, kNew)) << "the password reached the log\n" << Dump(lines);
}

// ---- 2. PAM_CHANGE_EXPIRED_AUTHTOK: the current password is asked ----

TEST_F(PasswordChangeTest, ChangeExpiredAuthtokAsksForTheCurrentPassword) {
  size_t mark = DevLog().Mark();
  PamRun wrong =
      Change({"not the current one 1", kNew, kNew}, PAM_AUTH_ERR, PAM_CHANGE_EXPIRED_AUTHTOK);
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  EXPECT_EQ(wrong.conv.Prompts(), kCurrentPrompt);
  EXPECT_TRUE(wrong.conv.Errors().empty());
  std::vector<LogLine> wrong_lines = DevLog().Since(mark);

  // Nothing changed, and the failure counts toward the lock.
  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->failures, 1);
  EXPECT_NE(ShowJson("alice").find("\"failures\":1"), std::string::npos) << ShowJson("alice");
  {
    std::vector<SignInEvent> events = Events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].method, "password-change");
    EXPECT_EQ(events[0].outcome, "failure");
    EXPECT_EQ(events[0].detail, "wrong password (1 of 5 failures)");
  }
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(""));

  // The right current password: asked once, then the new one twice.
  mark = DevLog().Mark();
  PamRun right = Change({kOld, kNew, kNew}, PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK);
  EXPECT_PAM_CODES(right, PAM_SUCCESS);
  EXPECT_EQ(right.conv.Prompts(), Concat(kCurrentPrompt, kNewPrompts));
  EXPECT_TRUE(right.conv.Errors().empty());
  std::vector<LogLine> right_lines = DevLog().Since(mark);
  ExpectSignIn(kNew, PAM_SUCCESS);
  ExpectSignIn(kOld, PAM_AUTH_ERR);
  std::vector<SignInEvent> changes = ChangeEvents();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].outcome, "success");
  EXPECT_EQ(changes[1].detail, "password changed");

  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(wrong_lines,
                  "pam_sesame(sesame-passwd:chauthtok): current password check failure for user "
                  "alice (service sesame-passwd): wrong password (1 of 5 failures)"),
            1u)
      << Dump(wrong_lines);
  EXPECT_FALSE(AnyContains(wrong_lines, "password change success")) << Dump(wrong_lines);
  EXPECT_TRUE(AnyContains(
      right_lines, "current password of user alice (service sesame-passwd) verified for a change"))
      << Dump(right_lines);
  EXPECT_EQ(Count(right_lines, "password change success for user alice"), 1u) << Dump(right_lines);
}

// ---- 3. forced change after an administrator's reset; expiry ----

TEST_F(PasswordChangeTest, AdministratorResetForcesAChangeAtTheNextSignIn) {
  const std::string temp = "temporary pass 4711";
  ASSERT_NO_FATAL_FAILURE(Admin({"password", "reset", "alice", "--password-stdin"}, temp + "\n"));
  EXPECT_NE(ShowJson("alice").find("\"must_change\":true"), std::string::npos) << ShowJson("alice");

  PamRun run = RunPam(kService, "alice", {temp, temp, kNew, kNew},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS},
                       {PAMTEST_ACCOUNT, PAM_NEW_AUTHTOK_REQD},
                       {PAMTEST_CHAUTHTOK, PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK},
                       {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), Concat({"Password: ", "Current password: "}, kNewPrompts));
  EXPECT_EQ(run.conv.Errors(),
            std::vector<std::string>{
                "You are required to change your password immediately (administrator enforced)."});

  std::optional<UserRecord> alice = GetUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_FALSE(alice->must_change);
  EXPECT_NE(ShowJson("alice").find("\"must_change\":false"), std::string::npos)
      << ShowJson("alice");
  ExpectSignIn(kNew, PAM_SUCCESS);
  ExpectSignIn(temp, PAM_AUTH_ERR);
  // Both earlier passwords are in the history now.
  EXPECT_EQ(History("alice").size(), 2u);
}

TEST_F(PasswordChangeTest, PasswordOlderThanMaxDaysMustBeChanged) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"password_max_days", "1"}}));
  {
    NullLogger logger;
    SystemRandom random;
    PasswordHasher hasher(Argon2Params{1, 8, 1}, nullptr, logger);
    Result<std::string> hash = hasher.Hash(kOld, random);
    ASSERT_TRUE(hash.ok()) << hash.status().message();
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    const int64_t two_days_ago = static_cast<int64_t>(std::time(nullptr)) - 2 * 86400;
    Status set = store->SetPassword("alice", hash.value(), two_days_ago, false, 5);
    ASSERT_TRUE(set.ok()) << set.message();
  }
  EXPECT_NE(ShowJson("alice").find("\"must_change\":true"), std::string::npos) << ShowJson("alice");

  size_t mark = DevLog().Mark();
  PamRun run = RunPam(kService, "alice", {kOld, kOld, kNew, kNew},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS},
                       {PAMTEST_ACCOUNT, PAM_NEW_AUTHTOK_REQD},
                       {PAMTEST_CHAUTHTOK, PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK},
                       {PAMTEST_ACCOUNT, PAM_SUCCESS}});
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), Concat({"Password: ", "Current password: "}, kNewPrompts));
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_NE(run.conv.Errors()[0].find("expired"), std::string::npos) << run.conv.Errors()[0];
  EXPECT_NE(run.conv.Errors()[0].find("1 day"), std::string::npos) << run.conv.Errors()[0];
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_NE(ShowJson("alice").find("\"must_change\":false"), std::string::npos)
      << ShowJson("alice");
  ExpectSignIn(kNew, PAM_SUCCESS);

  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(lines,
                  "pam_sesame(sesame-passwd:account): account check must-change for user alice "
                  "(service sesame-passwd): password older than password_max_days = 1"),
            1u)
      << Dump(lines);
}

// ---- 4. the policy at the new-password prompt ----

// Each rule: three tries, each refused with the rule named, then
// PAM_AUTHTOK_ERR and nothing changed.
class PasswordPolicyTest : public PasswordChangeTest {
 protected:
  void ExpectRefusedThrice(const std::string& candidate, const std::string& message,
                           int flags = 0) {
    SCOPED_TRACE(message);
    const bool asks_current = (flags & PAM_CHANGE_EXPIRED_AUTHTOK) != 0;
    std::vector<std::string> answers = Repeat({candidate, candidate}, 3);
    if (asks_current) answers.insert(answers.begin(), kOld);
    answers.push_back(kNew);  // a fourth try would get this; there is none
    answers.push_back(kNew);
    const std::vector<SignInEvent> before = ChangeEvents();
    PamRun run = Change(answers, PAM_AUTHTOK_ERR, flags);
    EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
    EXPECT_EQ(run.conv.Prompts(), asks_current ? Concat(kCurrentPrompt, Repeat(kNewPrompts, 3))
                                               : Repeat(kNewPrompts, 3));
    EXPECT_EQ(run.conv.Errors(), std::vector<std::string>(3, message));
    std::vector<SignInEvent> after = ChangeEvents();
    ASSERT_EQ(after.size(), before.size() + 1);
    EXPECT_EQ(after.back().outcome, "failure");
    EXPECT_EQ(after.back().detail, "refused: " + message);
  }
};

TEST_F(PasswordPolicyTest, TooShortIsRefusedNamingPasswordMinLength) {
  ExpectRefusedThrice("Sh0rt-pw!",
                      "BAD PASSWORD: it is shorter than 12 characters "
                      "(password_min_length)");
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged("Sh0rt-pw!"));
}

TEST_F(PasswordPolicyTest, SameAsTheCurrentPasswordIsRefused) {
  // Root, not asked the current one: compared with the stored hash.
  ExpectRefusedThrice(kOld, "BAD PASSWORD: it is the same as the current password");
  // Asked for it (expired change): compared with what was typed.
  ExpectRefusedThrice(kOld, "BAD PASSWORD: it is the same as the current password",
                      PAM_CHANGE_EXPIRED_AUTHTOK);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
}

TEST_F(PasswordPolicyTest, AnEarlierPasswordIsRefusedNamingPasswordHistory) {
  PamRun first = Change({kNew, kNew}, PAM_SUCCESS);
  ASSERT_EQ(PamCodeNames(first.codes), PamCodeNames({PAM_SUCCESS}));
  const std::string hash_after_first = GetUser("alice")->password_hash;
  ExpectRefusedThrice(kOld,
                      "BAD PASSWORD: it was used before; choose one you have not used in your "
                      "last 5 passwords (password_history)");
  EXPECT_EQ(GetUser("alice")->password_hash, hash_after_first);
  ExpectSignIn(kNew, PAM_SUCCESS);
  ExpectSignIn(kOld, PAM_AUTH_ERR);
}

TEST_F(PasswordPolicyTest, BannedWordIsRefusedNamingBannedPasswordsFile) {
  const std::string banned = state_dir_ + "/banned.txt";
  ASSERT_TRUE(WriteFile(banned, "# words nobody may use\nSesame\nabc\n", 0644));
  ASSERT_EQ(chown(banned.c_str(), 0, 0), 0);
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"banned_passwords_file", banned}}));
  ExpectRefusedThrice("Open sEsAme 4 purple cows",
                      "BAD PASSWORD: it contains a banned word (banned_passwords_file)");
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged("Open sEsAme 4 purple cows"));
  // A short banned word only as the whole password; elsewhere it is fine.
  PamRun ok =
      Change({"abc plus enough other words 9", "abc plus enough other words 9"}, PAM_SUCCESS);
  EXPECT_PAM_CODES(ok, PAM_SUCCESS);
}

TEST_F(PasswordPolicyTest, DictionaryWordIsRefusedByLibpwquality) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"password_min_length", "8"}}));
  PamRun run = Change(Repeat({"dictionary", "dictionary"}, 3), PAM_AUTHTOK_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
  EXPECT_EQ(run.conv.Prompts(), Repeat(kNewPrompts, 3));
  ASSERT_EQ(run.conv.Errors().size(), 3u);
  for (const std::string& e : run.conv.Errors()) {
    EXPECT_EQ(e.rfind("BAD PASSWORD: ", 0), 0u) << e;
    EXPECT_NE(e.find("dictionary"), std::string::npos) << e;
    EXPECT_NE(e.find("(password_quality)"), std::string::npos) << e;
  }
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged("dictionary"));
}

TEST_F(PasswordPolicyTest, MismatchedRetypeIsToldByLibpamAndAskedAgain) {
  const std::vector<std::string> answers = Repeat({kNew, kThird}, 3);
  PamRun run = Change(answers, PAM_AUTHTOK_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
  EXPECT_EQ(run.conv.Prompts(), Repeat(kNewPrompts, 3));
  EXPECT_EQ(run.conv.Errors(), std::vector<std::string>(3, "Sorry, passwords do not match."));
  std::vector<SignInEvent> changes = ChangeEvents();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].outcome, "failure");
  EXPECT_EQ(changes[0].detail, "refused: the two entries differ");
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
  ExpectSignIn(kThird, PAM_AUTH_ERR);
}

TEST_F(PasswordPolicyTest, RefusalsOfDifferentRulesThenAGoodPasswordOnTheThirdTry) {
  size_t mark = DevLog().Mark();
  PamRun run = Change({"short", "short", kNew, kThird, kNew, kNew}, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), Repeat(kNewPrompts, 3));
  EXPECT_EQ(run.conv.Errors(),
            (std::vector<std::string>{
                "BAD PASSWORD: it is shorter than 12 characters (password_min_length)",
                "Sorry, passwords do not match."}));
  std::vector<LogLine> lines = DevLog().Since(mark);
  ExpectSignIn(kNew, PAM_SUCCESS);
  std::vector<SignInEvent> changes = ChangeEvents();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].outcome, "success");
  SKIP_WITHOUT_LOGS();
  EXPECT_FALSE(AnyContains(lines, "short")) << Dump(lines);
}

// ---- 5. bad input at every prompt of the change ----

struct BadInput {
  const char* label;
  std::string bytes;
  std::string refusal;  // the policy's message at the new-password prompt
};

std::vector<BadInput> BadInputs() {
  const std::string nul_first = std::string(1, '\0') + kNew;
  return {
      {"empty", "", "BAD PASSWORD: the password is empty"},
      {"1 MB", std::string(size_t{1} << 20, 'a'),
       "BAD PASSWORD: the password is longer than 1024 bytes"},
      // libpam hands the module the answer up to its first NUL: here nothing.
      {"NUL first", nul_first, "BAD PASSWORD: the password is empty"},
      {"short before a NUL", std::string("Sh0rt!") + '\0' + kNew,
       "BAD PASSWORD: it is shorter than 12 characters (password_min_length)"},
      {"invalid UTF-8", std::string(kNew) + "\xff",
       "BAD PASSWORD: the password is not valid UTF-8 (set your terminal to UTF-8)"},
      {"overlong UTF-8", "\xc0\xaf" + std::string(kNew),
       "BAD PASSWORD: the password is not valid UTF-8 (set your terminal to UTF-8)"},
      {"UTF-16 surrogate", "\xed\xa0\x80" + std::string(kNew),
       "BAD PASSWORD: the password is not valid UTF-8 (set your terminal to UTF-8)"},
      {"terminal escapes", "\x1b[2J\x1b[31m" + std::string(kNew),
       "BAD PASSWORD: the password contains a control character"},
      {"CR", std::string(kNew) + "\r", "BAD PASSWORD: the password contains a control character"},
      {"newline", std::string(kNew) + "\n",
       "BAD PASSWORD: the password contains a control character"},
      {"tab", "\t" + std::string(kNew), "BAD PASSWORD: the password contains a control character"},
      {"DEL", std::string(kNew) + "\x7f",
       "BAD PASSWORD: the password contains a control character"},
  };
}

class PasswordInputTest : public PasswordChangeTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PasswordChangeTest::SetUp());
    // Many wrong current passwords here; the lock is lockout_test.cc's.
    ASSERT_NO_FATAL_FAILURE(WriteConfig({{"deny", "0"}}));
  }
};

TEST_F(PasswordInputTest, AtTheCurrentPasswordPrompt) {
  for (const BadInput& in : BadInputs()) {
    SCOPED_TRACE(in.label);
    size_t mark = DevLog().Mark();
    PamRun run = Change({in.bytes, kNew, kNew}, PAM_AUTH_ERR, PAM_CHANGE_EXPIRED_AUTHTOK);
    EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
    EXPECT_EQ(run.conv.Prompts(), kCurrentPrompt);
    if (DevLog().available()) {
      std::vector<LogLine> lines = DevLog().Since(mark);
      EXPECT_TRUE(AnyContains(lines, "current password check failure for user alice"))
          << Dump(lines);
      for (const LogLine& l : lines) {
        EXPECT_EQ(l.text.find_first_of("\x1b\r\t\x7f\xff"), std::string::npos) << l.text;
      }
    }
  }
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
  for (const SignInEvent& e : ChangeEvents()) EXPECT_EQ(e.outcome, "failure") << e.detail;
}

TEST_F(PasswordInputTest, AtTheNewPasswordPrompt) {
  for (const BadInput& in : BadInputs()) {
    SCOPED_TRACE(in.label);
    PamRun run = Change(Repeat({in.bytes, in.bytes}, 3), PAM_AUTHTOK_ERR);
    EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
    EXPECT_EQ(run.conv.Prompts(), Repeat(kNewPrompts, 3));
    EXPECT_EQ(run.conv.Errors(), std::vector<std::string>(3, in.refusal));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
}

TEST_F(PasswordInputTest, AtTheRetypePrompt) {
  for (const BadInput& in : BadInputs()) {
    SCOPED_TRACE(in.label);
    PamRun run = Change(Repeat({kNew, in.bytes}, 3), PAM_AUTHTOK_ERR);
    EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
    EXPECT_EQ(run.conv.Prompts(), Repeat(kNewPrompts, 3));
    EXPECT_EQ(run.conv.Errors(), std::vector<std::string>(3, "Sorry, passwords do not match."));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
}

TEST_F(PasswordInputTest, WhatFollowsANulNeverReachesTheModule) {
  // Not a refusal: libpam compares and stores C strings, so both entries are
  // the part before the NUL, which is a good password. (No stored password
  // can hold a NUL.)
  PamRun run = Change({std::string(kNew) + '\0' + "one tail", std::string(kNew) + '\0' + "other"},
                      PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  ExpectSignIn(kNew, PAM_SUCCESS);
}

TEST_F(PasswordInputTest, HangingUpAtTheNewOrRetypePromptChangesNothing) {
  for (const std::vector<std::string>& answers :
       {std::vector<std::string>{}, std::vector<std::string>{kNew}}) {
    SCOPED_TRACE(answers.size());
    // libpam 1.5.2's pam_get_authtok leaks the first entry when the retype
    // prompt fails (its abort path returns without freeing resp[0]): not ours.
    std::optional<IgnoreLeaks> libpam_leak;
    if (!answers.empty()) libpam_leak.emplace();
    PamRun run = Change(answers, PAM_CONV_ERR);
    libpam_leak.reset();
    EXPECT_PAM_CODES(run, PAM_CONV_ERR);
    EXPECT_EQ(run.conv.Prompts(), std::vector<std::string>(
                                      kNewPrompts.begin(),
                                      kNewPrompts.begin() + static_cast<long>(answers.size()) + 1));
    // libpam's words (Debian 12, libpam 1.5.2).
    EXPECT_EQ(run.conv.Errors(), std::vector<std::string>{"Password change has been aborted."});
    std::vector<SignInEvent> changes = ChangeEvents();
    ASSERT_FALSE(changes.empty());
    EXPECT_EQ(changes.back().outcome, "aborted");
  }
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
}

// ---- 6. use_authtok after pam_pwquality ----

class PwqualityStackTest : public PasswordChangeTest {
 protected:
  void SetUp() override {
    struct stat st {};
    if (stat("/usr/lib/x86_64-linux-gnu/security/pam_pwquality.so", &st) != 0 &&
        stat("/lib/x86_64-linux-gnu/security/pam_pwquality.so", &st) != 0 &&
        stat("/usr/lib/security/pam_pwquality.so", &st) != 0) {
      FAIL() << "pam_pwquality.so is not installed (Debian package libpam-pwquality; "
                "scripts/install-deps test)";
    }
    ASSERT_NO_FATAL_FAILURE(PasswordChangeTest::SetUp());
  }
};

TEST_F(PwqualityStackTest, GoodPasswordIsAskedByPwqualityAndStoredByUs) {
  size_t mark = DevLog().Mark();
  PamRun run = Change({kNew, kNew, "spare answer", "spare answer"}, PAM_SUCCESS, 0,
                      "stack-pwquality-use-authtok");
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  // pam_pwquality's two prompts, and none of ours.
  EXPECT_EQ(run.conv.Prompts(), kNewPrompts);
  EXPECT_TRUE(run.conv.Errors().empty());
  std::vector<LogLine> lines = DevLog().Since(mark);
  ExpectSignIn(kNew, PAM_SUCCESS);
  ExpectSignIn(kOld, PAM_AUTH_ERR);
  std::vector<SignInEvent> changes = ChangeEvents();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].outcome, "success");
  EXPECT_EQ(changes[0].service, "stack-pwquality-use-authtok");
  SKIP_WITHOUT_LOGS();
  EXPECT_EQ(Count(lines,
                  "pam_sesame(stack-pwquality-use-authtok:chauthtok): password change success "
                  "for user alice"),
            1u)
      << Dump(lines);
}

TEST_F(PwqualityStackTest, OurPolicyRefusesWhatPwqualityAcceptedWithoutAskingAgain) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"password_min_length", "20"}}));
  const std::string sixteen = "Zebra-Quilt-73x!";
  PamRun run = Change({sixteen, sixteen, kNew, kNew, kNew, kNew}, PAM_AUTHTOK_ERR, 0,
                      "stack-pwquality-use-authtok");
  EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
  EXPECT_EQ(run.conv.Prompts(), kNewPrompts);
  EXPECT_EQ(run.conv.Errors(),
            std::vector<std::string>{
                "BAD PASSWORD: it is shorter than 20 characters (password_min_length)"});
  std::vector<SignInEvent> changes = ChangeEvents();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].outcome, "failure");
  EXPECT_EQ(changes[0].detail,
            "refused: BAD PASSWORD: it is shorter than 20 characters (password_min_length)");
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(sixteen));
}

TEST_F(PwqualityStackTest, ExpiredChangeAsksUsForTheCurrentAndPwqualityForTheNew) {
  PamRun run = Change({kOld, kNew, kNew}, PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK,
                      "stack-pwquality-use-authtok");
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), Concat(kCurrentPrompt, kNewPrompts));
  EXPECT_TRUE(run.conv.Errors().empty());
  ExpectSignIn(kNew, PAM_SUCCESS);
}

TEST_F(PwqualityStackTest, PwqualityRefusalStopsTheStackBeforeUs) {
  // pam_pwquality enforces for root only with PAM_CHANGE_EXPIRED_AUTHTOK;
  // requisite, so ours never runs the update.
  PamRun run = Change({kOld, "dictionary", "dictionary"}, PAM_AUTHTOK_ERR,
                      PAM_CHANGE_EXPIRED_AUTHTOK, "stack-pwquality-use-authtok");
  EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
  EXPECT_EQ(run.conv.Prompts(), Concat(kCurrentPrompt, {"New password: "}));
  ASSERT_EQ(run.conv.Errors().size(), 1u);
  EXPECT_NE(run.conv.Errors()[0].find("dictionary"), std::string::npos) << run.conv.Errors()[0];
  EXPECT_TRUE(ChangeEvents().empty());
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged("dictionary"));
}

TEST_F(PasswordChangeTest, UseAuthtokWithNothingBeforeItAsksNothingAndChangesNothing) {
  PamRun run = Change({kNew, kNew}, PAM_AUTHTOK_ERR, 0, "sesame-passwd-use-authtok-alone");
  EXPECT_PAM_CODES(run, PAM_AUTHTOK_ERR);
  EXPECT_TRUE(run.conv.Prompts().empty());
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
}

// ---- 7. not our user ----

TEST_F(PasswordChangeTest, UserNotInTheStoreIsUserUnknownWithoutAPrompt) {
  for (int flags : {0, static_cast<int>(PAM_CHANGE_EXPIRED_AUTHTOK)}) {
    SCOPED_TRACE(flags);
    PamRun run = RunPam(kService, "mallory", {kNew, kNew, kNew},
                        {{PAMTEST_CHAUTHTOK, PAM_USER_UNKNOWN, flags}});
    EXPECT_PAM_CODES(run, PAM_USER_UNKNOWN);
    EXPECT_TRUE(run.conv.messages().empty());
  }
  EXPECT_TRUE(ChangeEvents().empty());
}

// ---- 8. the store goes away in the middle of a change ----

struct VanishingConv {
  std::string store_path;
  std::string answer;
  std::vector<std::string> prompts;
  std::vector<std::string> errors;
  bool moved = false;
  std::string move_error;
};

const char* const kStoreSuffixes[] = {"", "-wal", "-shm"};

// Moves the store (and its -wal/-shm) to NAME.moved and puts garbage at
// NAME, as if the disk or an administrator took it away.
void MoveStoreAway(VanishingConv* c) {
  for (const char* suffix : kStoreSuffixes) {
    std::string from = c->store_path + suffix;
    std::string to = from + ".moved";
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      c->move_error += from + ": " + std::strerror(errno) + "; ";
  }
  std::string garbage(64 * 1024, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) & 0xff);
  if (!WriteFile(c->store_path, "not a database\n" + garbage, 0600))
    c->move_error += "cannot write garbage: " + std::string(std::strerror(errno));
  c->moved = true;
}

int VanishingCallback(int num_msg, const struct pam_message** msg, struct pam_response** resp,
                      void* appdata) {
  auto* c = static_cast<VanishingConv*>(appdata);
  auto* replies =
      static_cast<struct pam_response*>(std::calloc(static_cast<size_t>(num_msg), sizeof **resp));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < num_msg; ++i) {
    const std::string text = msg[i]->msg != nullptr ? msg[i]->msg : "";
    if (msg[i]->msg_style == PAM_ERROR_MSG) c->errors.push_back(text);
    if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
      continue;
    c->prompts.push_back(text);
    if (text == "Retype new password: " && !c->moved) MoveStoreAway(c);
    replies[i].resp = strdup(c->answer.c_str());
  }
  *resp = replies;
  return PAM_SUCCESS;
}

TEST_F(PasswordChangeTest, StoreReplacedByGarbageMidChangeIsNotASuccess) {
  VanishingConv conv_data;
  conv_data.store_path = store_path_;
  conv_data.answer = kNew;
  struct pam_conv conv = {&VanishingCallback, &conv_data};
  pam_handle_t* pamh = nullptr;
  ASSERT_EQ(PamCodeName(pam_start(kService, "alice", &conv, &pamh)), PamCodeName(PAM_SUCCESS));
  int rc = pam_chauthtok(pamh, 0);
  int end = pam_end(pamh, rc);
  EXPECT_EQ(PamCodeName(end), PamCodeName(PAM_SUCCESS));
  EXPECT_TRUE(conv_data.moved) << "the change never asked for the retype";
  EXPECT_EQ(conv_data.move_error, "");
  EXPECT_EQ(conv_data.prompts, kNewPrompts);
  EXPECT_NE(PamCodeName(rc), PamCodeName(PAM_SUCCESS))
      << "the change was reported as done while the store at " << store_path_
      << " had been replaced by garbage; errors: "
      << (conv_data.errors.empty() ? "none" : conv_data.errors[0]);

  // Whatever was said, the store at the configured path is garbage now:
  // nobody signs in with either password.
  ExpectSignIn(kNew, PAM_AUTHINFO_UNAVAIL);
  ExpectSignIn(kOld, PAM_AUTHINFO_UNAVAIL);

  // Put the original back and look at it.
  ASSERT_EQ(unlink(store_path_.c_str()), 0) << strerror(errno);
  for (const char* suffix : kStoreSuffixes) {
    std::string moved = store_path_ + suffix + ".moved";
    std::string back = store_path_ + suffix;
    if (rename(moved.c_str(), back.c_str()) != 0) {
      ASSERT_EQ(errno, ENOENT) << moved << ": " << strerror(errno);
    }
  }
  CommandResult check = RunCommand({"/usr/bin/sqlite3", store_path_, "PRAGMA integrity_check;"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, "ok\n") << check.err;
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged());
}

}  // namespace
}  // namespace sesame::pam_testing
