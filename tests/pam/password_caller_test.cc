// pam_chauthtok run by a caller who is not root, as `passwd` is from a
// user's own session (setuid root: real uid the user, effective uid 0):
// the current password must be asked and checked, or anyone at an unlocked
// terminal could change the password. Nothing tested a non-root caller
// before; a mutation that skipped the question went unseen.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "correct horse battery staple 7";
constexpr char kNewPassword[] = "a brand new passphrase 2026";

struct ScriptConv {
  std::vector<std::string> answers;
  size_t next = 0;
  std::string prompts;  // every prompt, each followed by '\n'
};

int ScriptCallback(int num_msg, const struct pam_message** msg, struct pam_response** resp,
                   void* appdata) {
  auto* self = static_cast<ScriptConv*>(appdata);
  auto* out =
      static_cast<pam_response*>(calloc(static_cast<size_t>(num_msg), sizeof(pam_response)));
  if (out == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < num_msg; ++i) {
    if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
      continue;
    self->prompts += std::string(msg[i]->msg) + "\n";
    if (self->next >= self->answers.size()) {
      for (int j = 0; j < i; ++j) free(out[j].resp);
      free(out);
      return PAM_CONV_ERR;
    }
    out[i].resp = strdup(self->answers[self->next++].c_str());
  }
  *resp = out;
  return PAM_SUCCESS;
}

struct ChauthtokResult {
  int code = -1;        // pam_chauthtok's result, or a harness failure (>= 1000)
  std::string prompts;  // what the conversation was asked
};

// pam_chauthtok in a child whose real uid is `ruid` and effective uid 0
// (as a setuid `passwd`), answering `answers` in order.
ChauthtokResult ChauthtokAs(uid_t ruid, const std::vector<std::string>& answers) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {1001, ""};
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    if (setresuid(ruid, 0, 0) != 0) ExitChild(200);
    ScriptConv data{answers, 0, ""};
    struct pam_conv conv = {&ScriptCallback, &data};
    pam_handle_t* pamh = nullptr;
    if (pam_start("sesame-passwd", "alice", &conv, &pamh) != PAM_SUCCESS) ExitChild(201);
    int code = pam_chauthtok(pamh, 0);
    pam_end(pamh, code);
    ssize_t ignored = write(out[1], data.prompts.data(), data.prompts.size());
    (void)ignored;
    ExitChild(code);
  }
  close(out[1]);
  ChauthtokResult result;
  char buf[1024];
  ssize_t n;
  // Bounded: a child that hangs before it writes is killed below.
  while (WaitReadable(out[0], kChildTimeoutSeconds * 1000) &&
         ((n = read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0) result.prompts.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return {1002, result.prompts + "(the child did not finish within 60 s; killed)"};
    }
    usleep(5 * 1000);
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
  return result;
}

class PasswordCallerTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  }
  int SignIn(const std::string& password) {
    PamRun run = RunPam("sesame", "alice", {password}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    return run.codes.empty() ? -1 : run.codes[0];
  }
};

TEST_F(PasswordCallerTest, ANonRootCallerIsAskedTheCurrentPasswordAndAWrongOneChangesNothing) {
  ChauthtokResult wrong = ChauthtokAs(65534, {"not my password", kNewPassword, kNewPassword});
  EXPECT_EQ(wrong.prompts.substr(0, wrong.prompts.find('\n')), "Current password: ")
      << "prompts: " << wrong.prompts;
  EXPECT_NE(wrong.code, PAM_SUCCESS) << "prompts: " << wrong.prompts;
  EXPECT_EQ(wrong.prompts.find("New password"), std::string::npos)
      << "no new password is asked after a wrong current one: " << wrong.prompts;
  EXPECT_EQ(SignIn(kPassword), PAM_SUCCESS) << "the password did not change";
  EXPECT_NE(SignIn(kNewPassword), PAM_SUCCESS);
}

TEST_F(PasswordCallerTest, ANonRootCallerWithTheCurrentPasswordChangesIt) {
  ChauthtokResult right = ChauthtokAs(65534, {kPassword, kNewPassword, kNewPassword});
  EXPECT_EQ(right.code, PAM_SUCCESS) << "prompts: " << right.prompts;
  EXPECT_EQ(right.prompts.substr(0, right.prompts.find('\n')), "Current password: ")
      << right.prompts;
  EXPECT_EQ(SignIn(kNewPassword), PAM_SUCCESS);
}

// Root (real uid 0) is not asked, as with pam_unix: the contrast that shows
// the test above depends on the caller.
TEST_F(PasswordCallerTest, RootIsNotAskedTheCurrentPassword) {
  ChauthtokResult root = ChauthtokAs(0, {kNewPassword, kNewPassword});
  EXPECT_EQ(root.code, PAM_SUCCESS) << "prompts: " << root.prompts;
  EXPECT_EQ(root.prompts.find("Current password"), std::string::npos) << root.prompts;
  EXPECT_EQ(SignIn(kNewPassword), PAM_SUCCESS);
}

}  // namespace
}  // namespace sesame::pam_testing
