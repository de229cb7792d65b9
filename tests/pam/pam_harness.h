// Shared pieces of the PAM tests: paths, a recording conversation, runners
// for libpamtest and for a plain pam_start..pam_end sequence, a fixture that
// gives every test its own config, key and store (made with the real
// sesame-admin), and helpers for processes and files.
//
// Layout (paths fixed at build time because pam_wrapper copies the service
// files when the process starts; see tests/pam/CMakeLists.txt):
//   SESAME_PAM_SERVICE_DIR/         service files naming pam_sesame.so
//   SESAME_PAM_FIXED_DIR/           0700 root; the files the services name:
//     sesame.conf                   rewritten by each test
//     matrix_passdb, exec_passdb    passwords of the other stacked modules
//   SESAME_PAM_TEST_DIR/tmp/state-XXXXXX/   per test: store, key, argon2 slots
#ifndef SESAME_TESTS_PAM_PAM_HARNESS_H_
#define SESAME_TESTS_PAM_PAM_HARNESS_H_

#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include <libpamtest.h>
}

#include "core/store/store.h"
#include "tests/pam/dev_log.h"
#include "tests/pam/watchdog.h"

namespace sesame::pam_testing {

inline const std::string kModulePath = SESAME_PAM_MODULE_PATH;
inline const std::string kAdminPath = SESAME_ADMIN_PATH;
inline const std::string kTestDir = SESAME_PAM_TEST_DIR;
inline const std::string kFixedDir = SESAME_PAM_FIXED_DIR;
inline const std::string kServiceDir = SESAME_PAM_SERVICE_DIR;
inline const std::string kConfigPath = kFixedDir + "/sesame.conf";
inline const std::string kMatrixPassdb = kFixedDir + "/matrix_passdb";
inline const std::string kExecPassdb = kFixedDir + "/exec_passdb";

// A code slot for a PAM step that did not run.
inline constexpr int kNotRun = -1;

// "PAM_AUTH_ERR (7)"; "not run" for kNotRun.
std::string PamCodeName(int code);
std::string PamCodeNames(const std::vector<int>& codes);

// ---- conversation ----

struct ConvMessage {
  int style;
  std::string text;
};

// Answers prompts (echo on or off) from `answers` in order, byte for byte
// (a NUL inside an answer stays: what libpam makes of it is the point); once
// they run out it fails the conversation (PAM_CONV_ERR), like a person who
// hangs up. Records every message.
class Conversation {
 public:
  // Computes an answer from the messages seen so far (e.g. a code from a
  // key the module just showed).
  using Answerer = std::function<std::string(const std::vector<ConvMessage>& seen)>;

  Conversation() = default;
  explicit Conversation(std::vector<std::string> answers) : answers_(std::move(answers)) {}
  // As above, but the answers at the indexes in `computed` come from their
  // Answerer when that prompt arrives.
  Conversation(std::vector<std::string> answers, std::map<size_t, Answerer> computed)
      : answers_(std::move(answers)), computed_(std::move(computed)) {}

  static int Callback(int num_msg, const struct pam_message** msg, struct pam_response** resp,
                      void* appdata);

  const std::vector<ConvMessage>& messages() const { return messages_; }
  std::vector<std::string> Prompts() const;  // PAM_PROMPT_ECHO_OFF / _ON texts
  std::vector<std::string> Errors() const;   // PAM_ERROR_MSG texts
  std::vector<std::string> Infos() const;    // PAM_TEXT_INFO texts

 private:
  std::vector<std::string> answers_;
  std::map<size_t, Answerer> computed_;
  size_t next_ = 0;
  std::vector<ConvMessage> messages_;
};

// ---- libpamtest runner ----

struct PamStep {
  enum pamtest_ops op;
  int expected;  // libpamtest stops at the first step whose result differs
  int flags = 0;
};

struct PamRun {
  enum pamtest_err err = PAMTEST_ERR_INTERNAL;
  std::vector<int> codes;  // per step; kNotRun after a mismatch
  Conversation conv;
};

// pam_start(service, user) .. steps .. pam_end through libpamtest, with a
// recording conversation answering `answers`.
PamRun RunPam(const std::string& service, const std::string& user, std::vector<std::string> answers,
              const std::vector<PamStep>& steps);
// The same with a prepared conversation (computed answers).
PamRun RunPamWith(const std::string& service, const std::string& user, Conversation conv,
                  const std::vector<PamStep>& steps);

#define EXPECT_PAM_CODES(run, ...)                                              \
  EXPECT_EQ(::sesame::pam_testing::PamCodeNames((run).codes),                   \
            ::sesame::pam_testing::PamCodeNames(std::vector<int>{__VA_ARGS__})) \
      << "pamtest: " << pamtest_strerror((run).err)

// ---- direct libpam driver (items the application sets, forked workers) ----

struct DirectRun {
  int start = kNotRun;
  int auth = kNotRun;
  int account = kNotRun;
  int end = kNotRun;
  int prompts = 0;
};

// pam_start, optional pam_set_item(PAM_RHOST), pam_authenticate, optional
// pam_acct_mgmt, pam_end: what sshd or Dovecot do. `password` answers every
// hidden prompt. Safe in a forked child (no gtest calls).
DirectRun DirectSignIn(const char* service, const char* user, const std::string& password,
                       const char* rhost, bool account);
// What libpam handed an application's PAM_FAIL_DELAY callback: it calls it
// at the end of every pam_authenticate with the delay the modules asked for
// (pam_fail_delay; 0 when none did), and then sleeps not at all.
struct DelaysSeen {
  int calls = 0;
  unsigned longest = 0;
};
// pam_start, the PAM_FAIL_DELAY callback, pam_authenticate answering every
// question with `answer`, pam_end; the delays go into `seen`.
int AuthenticateRecordingDelays(const char* service, const char* user, const std::string& answer,
                                DelaysSeen* seen);

// pam_start, pam_authenticate, then `between` (an administrator's change
// arriving then), then PAM_USER set to `account_user` when not null,
// pam_acct_mgmt and pam_end, on one handle.
DirectRun DirectSignInThenAccount(const char* service, const char* user,
                                  const std::string& password, const std::function<void()>& between,
                                  const char* account_user = nullptr);

// ---- processes ----

struct CommandResult {
  int exit_code = -1;  // -N when killed by signal N
  std::string out;
  std::string err;
  bool timed_out = false;  // killed after kCommandTimeoutSeconds (see RunCommand)
};

// Runs argv[0] with a clean environment (PATH, no LD_PRELOAD; sanitizer
// options passed on), `input` on stdin. At most kCommandTimeoutSeconds: a
// command still running then is killed (SIGKILL), `timed_out` is set, `err`
// ends with a note naming the command and its partial output, and (in the
// test process) the test fails saying so.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "");

// ---- bounded waits ----
//
// No wait of the PAM tests is without a bound. On a machine shared with
// other programs a forked child once got stuck for good (see the top of
// tests/pam/dev_log.h), and an unbounded waitpid() turned that into ctest's
// TIMEOUT with no word on what was waited for. Each wait below gives up after
// its bound, kills what it waited for and fails the test naming it.

inline constexpr int kChildTimeoutSeconds = 60;
inline constexpr int kCommandTimeoutSeconds = 60;
// The exit code of a child whose gate did not open in time (WaitAtGate).
inline constexpr int kExitGateTimeout = 124;

// waitpid(pid) for at most `timeout_seconds`. A child still running then is
// killed (SIGKILL) and reaped, and the test fails with "<what> did not exit
// within N s; killed" and what the child was doing (/proc state, wchan).
// Returns the wait status (WIFSIGNALED, SIGKILL, after a timeout). Call it
// from the test process, not from a forked child.
int WaitChild(pid_t pid, const std::string& what, int timeout_seconds = kChildTimeoutSeconds);

// Child side of a start gate: returns once the parent writes to or closes
// the write end of the gate pipe. A gate that does not open within
// `timeout_seconds` (the parent gave up, or got stuck) ends the child with
// ExitChild(kExitGateTimeout): no child outlives a test that failed. Safe in
// a forked child (no gtest calls).
void WaitAtGate(int gate_read_end, int timeout_seconds = kChildTimeoutSeconds);

// True when `fd` becomes readable (data or end of file) within
// `timeout_ms`. Safe in a forked child.
bool WaitReadable(int fd, int timeout_ms);

// fork()s a child that has made its first PAM call (pam_start and pam_end
// of sesame-quiet: pam_wrapper's private service dir made, the module
// loaded) before this returns in the parent. pam_wrapper 1.1.4 picks its
// /tmp/pam.X by lstat, then mkdir: children doing that at the same moment
// can pick one dir, which the first to exit removes; warming them up one at
// a time avoids it. Returns 0 in the child; in the parent the child's pid,
// or -1 (and the test fails, naming `what`) when fork fails or the child is
// not ready within kChildTimeoutSeconds (it is killed).
pid_t ForkWarmPamChild(const std::string& what = "a forked PAM child");

// Ends a forked child: lets pam_wrapper remove the private service dir it
// made for this process, then _exit (no atexit handlers, no static
// destructors, no leak check of the parent's state).
[[noreturn]] void ExitChild(int code);

// ---- files ----

bool WriteFile(const std::string& path, const std::string& content, mode_t mode);
void RemoveTree(const std::string& path);

// ---- log helpers ----

// Messages whose text contains `needle`.
std::vector<LogLine> Matching(const std::vector<LogLine>& lines, const std::string& needle);
bool AnyContains(const std::vector<LogLine>& lines, const std::string& needle);
std::string Dump(const std::vector<LogLine>& lines);

#define SKIP_WITHOUT_LOGS()                                                                   \
  do {                                                                                        \
    if (!::sesame::pam_testing::DevLog().available())                                         \
      GTEST_SKIP() << "log assertions skipped: " << ::sesame::pam_testing::DevLog().reason(); \
  } while (0)

// ---- the fixture ----

class PamTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Writes kConfigPath (0644): store, key and runtime dir in the state dir,
  // argon2 at minimum cost, then `overrides` (an empty value drops the key).
  void WriteConfig(const std::map<std::string, std::string>& overrides = {});
  // sesame-admin --config kConfigPath ARGS..., expecting exit 0.
  void Admin(const std::vector<std::string>& args, const std::string& input = "");
  // sesame-admin --config kConfigPath ARGS..., whatever its exit code.
  CommandResult RunAdmin(const std::vector<std::string>& args, const std::string& input = "");
  void AddUser(const std::string& name, const std::string& password);
  void DisableUser(const std::string& name);

  std::unique_ptr<Store> OpenStore();
  std::vector<SignInEvent> Events();
  std::optional<UserRecord> GetUser(const std::string& name);

  std::string state_dir_;
  std::string store_path_;
  std::string key_path_;
  std::string runtime_dir_;
  std::map<std::string, std::string> config_;
};

}  // namespace sesame::pam_testing

#endif  // SESAME_TESTS_PAM_PAM_HARNESS_H_
