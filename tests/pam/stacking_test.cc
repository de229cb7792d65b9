// pam_sesame stacked after another password module, as a sysadmin writes
// it: the token the first module read (PAM_AUTHTOK) is reused, the person is
// asked once.
//
// The module in front is pam_exec.so expose_authtok (stock Linux-PAM): it
// asks "Password: ", stores PAM_AUTHTOK and hands the password to a checker
// script that looks it up in exec_passdb (see tests/pam/CMakeLists.txt).
// pam_matrix.so (pam_wrapper's test backend) is covered too, but see
// MatrixInFront below: in pam_wrapper 1.1.4 it blanks the token it stored.
//
// What libpam's pam_get_authtok (which the module uses) does, and these
// tests pin down: a stored PAM_AUTHTOK is always reused, whatever the option
// (pam_unix behaves the same); use_first_pass only forbids prompting when
// there is none; try_first_pass never asks again after a wrong token.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kBobPassword[] = "bob's one password 1";
constexpr char kCarolPassword[] = "carol at sesame 2";
constexpr char kCarolOtherPassword[] = "carol at the other backend 3";
const std::vector<std::string> kOnePasswordPrompt = {"Password: "};

class StackingTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("bob", kBobPassword));
    ASSERT_NO_FATAL_FAILURE(AddUser("carol", kCarolPassword));
    // bob has the same password in both backends, carol has two.
    ASSERT_TRUE(WriteFile(
        kExecPassdb, std::string("bob:") + kBobPassword + "\ncarol:" + kCarolOtherPassword + "\n",
        0600));
  }

  // Authenticates (and checks the account when `account_expected` is set);
  // a second prompt would get "SECOND PROMPT", which no backend accepts.
  PamRun SignIn(const std::string& service, const std::string& user, const std::string& typed,
                int auth_expected, int account_expected = kNotRun) {
    std::vector<PamStep> steps = {{PAMTEST_AUTHENTICATE, auth_expected}};
    if (account_expected != kNotRun) steps.push_back({PAMTEST_ACCOUNT, account_expected});
    return RunPam(service, user, {typed, "SECOND PROMPT"}, steps);
  }
};

TEST_F(StackingTest, RequiredBothSamePasswordAsksOnce) {
  size_t mark = DevLog().Mark();
  PamRun run = SignIn("stack-exec-required", "bob", kBobPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines,
                          "pam_sesame(stack-exec-required:auth): password sign-in success "
                          "for user bob (service stack-exec-required)"))
      << Dump(lines);
}

TEST_F(StackingTest, UseFirstPassWithATokenWrongForUsFailsWithoutAsking) {
  // The first backend accepts carol's other password; ours must check that
  // same token, refuse it, and not ask again.
  size_t mark = DevLog().Mark();
  PamRun run = SignIn("stack-exec-required", "carol", kCarolOtherPassword, PAM_AUTH_ERR);
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, "failure");
  EXPECT_EQ(events[0].detail, "wrong password (1 of 5 failures)");
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines,
                          "password sign-in failure for user carol (service "
                          "stack-exec-required): wrong password"))
      << Dump(lines);
}

TEST_F(StackingTest, SufficientOtherBackendThenOursWithUseFirstPass) {
  // The other backend refuses carol's sesame password; ours reuses it.
  PamRun ours = SignIn("stack-exec-sufficient", "carol", kCarolPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(ours, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(ours.conv.Prompts(), kOnePasswordPrompt);
  // Wrong for both: refused, one prompt.
  PamRun neither = SignIn("stack-exec-sufficient", "carol", "wrong for both", PAM_AUTH_ERR);
  EXPECT_PAM_CODES(neither, PAM_AUTH_ERR);
  EXPECT_EQ(neither.conv.Prompts(), kOnePasswordPrompt);
  // The other backend accepts: `sufficient` ends the stack before us.
  size_t events_before = Events().size();
  PamRun theirs =
      SignIn("stack-exec-sufficient", "carol", kCarolOtherPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(theirs, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(theirs.conv.Prompts(), kOnePasswordPrompt);
  EXPECT_EQ(Events().size(), events_before) << "pam_sesame ran after a sufficient success";
}

TEST_F(StackingTest, TryFirstPassReusesTheTokenAndDoesNotAskAgainWhenItIsWrong) {
  PamRun right = SignIn("stack-exec-try-first", "carol", kCarolPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(right, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(right.conv.Prompts(), kOnePasswordPrompt);
  // pam_get_authtok returns the stored token; nothing clears it and asks
  // again, so a wrong first token is final (as with pam_unix).
  size_t mark = DevLog().Mark();
  PamRun wrong = RunPam("stack-exec-try-first", "carol", {"wrong for both", kCarolPassword},
                        {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
  EXPECT_PAM_CODES(wrong, PAM_AUTH_ERR);
  EXPECT_EQ(wrong.conv.Prompts(), kOnePasswordPrompt);
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines,
                          "password sign-in failure for user carol (service "
                          "stack-exec-try-first): wrong password"))
      << Dump(lines);
}

TEST_F(StackingTest, WithoutAnOptionTheStoredTokenIsReusedLikePamUnix) {
  PamRun run = SignIn("stack-exec-no-option", "carol", kCarolPassword, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
}

TEST_F(StackingTest, TryFirstPassWithoutATokenAsks) {
  PamRun run = SignIn("stack-permit-try-first", "bob", kBobPassword, PAM_SUCCESS);
  EXPECT_PAM_CODES(run, PAM_SUCCESS);
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
}

// use_first_pass and no earlier module read a password: pam_get_authtok
// returns PAM_AUTH_ERR without prompting. pam_unix passes that code on
// ("as in pam_unix", DESIGN.md); it is not a conversation failure, and
// nobody aborted anything.
TEST_F(StackingTest, UseFirstPassWithoutATokenFailsWithoutAskingAsPamUnixDoes) {
  size_t mark = DevLog().Mark();
  PamRun run = SignIn("stack-permit-use-first", "bob", kBobPassword, PAM_AUTH_ERR);
  EXPECT_TRUE(run.conv.Prompts().empty()) << "use_first_pass must not prompt";
  EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, "failure") << "detail: " << events[0].detail;
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_FALSE(AnyContains(lines, "conversation failed")) << Dump(lines);
}

// pam_matrix (pam_wrapper 1.1.4) in front: it stores the token and then
// "wipes" its copy with wipe_authtok(), which writes a NUL over the first
// byte of the string it got back from pam_get_item, i.e. libpam's own
// PAM_AUTHTOK: the next module sees "". Ours must still not ask again and
// must decide on what is stored; which of the two outcomes it is depends on
// pam_matrix, not on us.
TEST_F(StackingTest, MatrixInFrontOneAskAndTheStoredTokenDecides) {
  ASSERT_TRUE(WriteFile(kMatrixPassdb,
                        std::string("bob:") + kBobPassword + ":stack-matrix-required\n", 0600));
  size_t mark = DevLog().Mark();
  PamRun run = RunPam("stack-matrix-required", "bob", {kBobPassword, "SECOND PROMPT"},
                      {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_EQ(run.conv.Prompts(), kOnePasswordPrompt);
  std::vector<SignInEvent> events = Events();
  ASSERT_EQ(events.size(), 1u) << "pam_sesame did not decide";
  if (events[0].detail == "empty password") {
    std::printf(
        "note: pam_matrix blanked PAM_AUTHTOK (pam_wrapper's wipe_authtok); "
        "pam_sesame saw an empty token and refused it\n");
    EXPECT_PAM_CODES(run, PAM_AUTH_ERR);
    EXPECT_EQ(events[0].outcome, "failure");
  } else {
    EXPECT_PAM_CODES(run, PAM_SUCCESS);
    EXPECT_EQ(events[0].outcome, "success");
    EXPECT_EQ(events[0].detail, "password accepted; no second factor enrolled (not required)");
  }
  SKIP_WITHOUT_LOGS();
  std::vector<LogLine> lines = DevLog().Since(mark);
  EXPECT_TRUE(AnyContains(lines, "pam_sesame(stack-matrix-required:auth): password sign-in"))
      << Dump(lines);
}

}  // namespace
}  // namespace sesame::pam_testing
