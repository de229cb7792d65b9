#include "tests/pam/pam_harness.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <security/pam_modules.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/store/sqlite/sqlite_store.h"

namespace sesame::pam_testing {
namespace {

const char* PamCodeSymbol(int code) {
  switch (code) {
    case PAM_SUCCESS:
      return "PAM_SUCCESS";
    case PAM_OPEN_ERR:
      return "PAM_OPEN_ERR";
    case PAM_SYMBOL_ERR:
      return "PAM_SYMBOL_ERR";
    case PAM_SERVICE_ERR:
      return "PAM_SERVICE_ERR";
    case PAM_SYSTEM_ERR:
      return "PAM_SYSTEM_ERR";
    case PAM_BUF_ERR:
      return "PAM_BUF_ERR";
    case PAM_PERM_DENIED:
      return "PAM_PERM_DENIED";
    case PAM_AUTH_ERR:
      return "PAM_AUTH_ERR";
    case PAM_CRED_INSUFFICIENT:
      return "PAM_CRED_INSUFFICIENT";
    case PAM_AUTHINFO_UNAVAIL:
      return "PAM_AUTHINFO_UNAVAIL";
    case PAM_USER_UNKNOWN:
      return "PAM_USER_UNKNOWN";
    case PAM_MAXTRIES:
      return "PAM_MAXTRIES";
    case PAM_NEW_AUTHTOK_REQD:
      return "PAM_NEW_AUTHTOK_REQD";
    case PAM_ACCT_EXPIRED:
      return "PAM_ACCT_EXPIRED";
    case PAM_SESSION_ERR:
      return "PAM_SESSION_ERR";
    case PAM_CRED_UNAVAIL:
      return "PAM_CRED_UNAVAIL";
    case PAM_CRED_EXPIRED:
      return "PAM_CRED_EXPIRED";
    case PAM_CRED_ERR:
      return "PAM_CRED_ERR";
    case PAM_NO_MODULE_DATA:
      return "PAM_NO_MODULE_DATA";
    case PAM_CONV_ERR:
      return "PAM_CONV_ERR";
    case PAM_AUTHTOK_ERR:
      return "PAM_AUTHTOK_ERR";
    case PAM_AUTHTOK_RECOVERY_ERR:
      return "PAM_AUTHTOK_RECOVERY_ERR";
    case PAM_AUTHTOK_LOCK_BUSY:
      return "PAM_AUTHTOK_LOCK_BUSY";
    case PAM_AUTHTOK_DISABLE_AGING:
      return "PAM_AUTHTOK_DISABLE_AGING";
    case PAM_TRY_AGAIN:
      return "PAM_TRY_AGAIN";
    case PAM_IGNORE:
      return "PAM_IGNORE";
    case PAM_ABORT:
      return "PAM_ABORT";
    case PAM_AUTHTOK_EXPIRED:
      return "PAM_AUTHTOK_EXPIRED";
    case PAM_MODULE_UNKNOWN:
      return "PAM_MODULE_UNKNOWN";
    case PAM_BAD_ITEM:
      return "PAM_BAD_ITEM";
    case PAM_CONV_AGAIN:
      return "PAM_CONV_AGAIN";
    case PAM_INCOMPLETE:
      return "PAM_INCOMPLETE";
  }
  return "PAM_?";
}

// Frees what a conversation callback allocated before it fails.
void FreeReplies(struct pam_response* replies, int n) {
  for (int i = 0; i < n; ++i) {
    if (replies[i].resp != nullptr) {
      std::memset(replies[i].resp, 0, std::strlen(replies[i].resp));
      std::free(replies[i].resp);
    }
  }
  std::free(replies);
}

char* CopyAnswer(const std::string& answer) {
  char* copy = static_cast<char*>(std::malloc(answer.size() + 1));
  if (copy == nullptr) return nullptr;
  std::memcpy(copy, answer.data(), answer.size());
  copy[answer.size()] = '\0';
  return copy;
}

struct DirectConv {
  const std::string* password;
  int prompts;
};

int DirectCallback(int num_msg, const struct pam_message** msg, struct pam_response** resp,
                   void* appdata) {
  auto* conv = static_cast<DirectConv*>(appdata);
  if (num_msg <= 0 || msg == nullptr || resp == nullptr) return PAM_CONV_ERR;
  auto* replies =
      static_cast<struct pam_response*>(std::calloc(static_cast<size_t>(num_msg), sizeof **resp));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < num_msg; ++i) {
    if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
      ++conv->prompts;
      replies[i].resp = CopyAnswer(*conv->password);
    }
  }
  *resp = replies;
  return PAM_SUCCESS;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) { return remove(path); }

using Clock = std::chrono::steady_clock;

int64_t MillisLeft(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

// The test process (gtest may be called) rather than a forked child.
const pid_t kTestProcess = getpid();

std::string Joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

}  // namespace

std::string PamCodeName(int code) {
  if (code == kNotRun) return "not run";
  return std::string(PamCodeSymbol(code)) + " (" + std::to_string(code) + ")";
}

std::string PamCodeNames(const std::vector<int>& codes) {
  std::string out = "[";
  for (size_t i = 0; i < codes.size(); ++i) out += (i ? ", " : "") + PamCodeName(codes[i]);
  return out + "]";
}

// ---- Conversation ----

int Conversation::Callback(int num_msg, const struct pam_message** msg, struct pam_response** resp,
                           void* appdata) {
  auto* self = static_cast<Conversation*>(appdata);
  if (num_msg <= 0 || msg == nullptr || resp == nullptr) return PAM_CONV_ERR;
  auto* replies =
      static_cast<struct pam_response*>(std::calloc(static_cast<size_t>(num_msg), sizeof **resp));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < num_msg; ++i) {
    const struct pam_message* m = msg[i];
    self->messages_.push_back({m->msg_style, m->msg != nullptr ? m->msg : ""});
    if (m->msg_style == PAM_PROMPT_ECHO_OFF || m->msg_style == PAM_PROMPT_ECHO_ON) {
      if (self->next_ >= self->answers_.size()) {  // the person hung up
        FreeReplies(replies, num_msg);
        return PAM_CONV_ERR;
      }
      const size_t index = self->next_++;
      auto computed = self->computed_.find(index);
      if (computed != self->computed_.end()) {
        self->answers_[index] = computed->second(self->messages_);
      }
      replies[i].resp = CopyAnswer(self->answers_[index]);
      if (replies[i].resp == nullptr) {
        FreeReplies(replies, num_msg);
        return PAM_BUF_ERR;
      }
    }
  }
  *resp = replies;
  return PAM_SUCCESS;
}

std::vector<std::string> Conversation::Prompts() const {
  std::vector<std::string> out;
  for (const ConvMessage& m : messages_)
    if (m.style == PAM_PROMPT_ECHO_OFF || m.style == PAM_PROMPT_ECHO_ON) out.push_back(m.text);
  return out;
}

std::vector<std::string> Conversation::Errors() const {
  std::vector<std::string> out;
  for (const ConvMessage& m : messages_)
    if (m.style == PAM_ERROR_MSG) out.push_back(m.text);
  return out;
}

std::vector<std::string> Conversation::Infos() const {
  std::vector<std::string> out;
  for (const ConvMessage& m : messages_)
    if (m.style == PAM_TEXT_INFO) out.push_back(m.text);
  return out;
}

// ---- runners ----

PamRun RunPam(const std::string& service, const std::string& user, std::vector<std::string> answers,
              const std::vector<PamStep>& steps) {
  return RunPamWith(service, user, Conversation(std::move(answers)), steps);
}

PamRun RunPamWith(const std::string& service, const std::string& user, Conversation conv,
                  const std::vector<PamStep>& steps) {
  PamRun run;
  run.conv = std::move(conv);
  std::vector<struct pam_testcase> cases(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    cases[i] = pam_testcase{};
    cases[i].pam_operation = steps[i].op;
    cases[i].expected_rv = steps[i].expected;
    cases[i].flags = steps[i].flags;
    cases[i].op_rv = kNotRun;
  }
  // _pamtest_conv, not the run_pamtest_conv macro (broken in 1.1.4).
  run.err = _pamtest_conv(service.c_str(), user.c_str(), &Conversation::Callback, &run.conv,
                          cases.data(), cases.size(), nullptr);
  for (const struct pam_testcase& c : cases) run.codes.push_back(c.op_rv);
  return run;
}

namespace {

// pam_start, PAM_RHOST when given, pam_authenticate, `between` when given,
// then (with `account`) PAM_USER when given and pam_acct_mgmt, pam_end.
DirectRun DirectSteps(const char* service, const char* user, const std::string& password,
                      const char* rhost, bool account, const std::function<void()>& between,
                      const char* account_user) {
  DirectRun run;
  DirectConv conv_data{&password, 0};
  struct pam_conv conv = {&DirectCallback, &conv_data};
  pam_handle_t* pamh = nullptr;
  run.start = pam_start(service, user, &conv, &pamh);
  if (run.start != PAM_SUCCESS) return run;
  int last = PAM_SUCCESS;
  if (rhost != nullptr) last = pam_set_item(pamh, PAM_RHOST, rhost);
  if (last == PAM_SUCCESS) {
    run.auth = last = pam_authenticate(pamh, 0);
    if (between) between();
    if (account) {
      const int set =
          account_user != nullptr ? pam_set_item(pamh, PAM_USER, account_user) : PAM_SUCCESS;
      last = set == PAM_SUCCESS ? (run.account = pam_acct_mgmt(pamh, 0)) : set;
    }
  }
  run.end = pam_end(pamh, last);
  run.prompts = conv_data.prompts;
  return run;
}

}  // namespace

DirectRun DirectSignIn(const char* service, const char* user, const std::string& password,
                       const char* rhost, bool account) {
  return DirectSteps(service, user, password, rhost, account, nullptr, nullptr);
}

DirectRun DirectSignInThenAccount(const char* service, const char* user,
                                  const std::string& password, const std::function<void()>& between,
                                  const char* account_user) {
  return DirectSteps(service, user, password, nullptr, true, between, account_user);
}

namespace {
DelaysSeen* delays_seen = nullptr;
void RecordDelay(int /*retval*/, unsigned usec, void* /*appdata*/) {
  if (delays_seen == nullptr) return;
  ++delays_seen->calls;
  delays_seen->longest = std::max(delays_seen->longest, usec);
}
}  // namespace

int AuthenticateRecordingDelays(const char* service, const char* user, const std::string& answer,
                                DelaysSeen* seen) {
  Conversation conv({answer});
  struct pam_conv pc = {&Conversation::Callback, &conv};
  pam_handle_t* pamh = nullptr;
  if (pam_start(service, user, &pc, &pamh) != PAM_SUCCESS) return kNotRun;
  using DelayFn = void (*)(int, unsigned, void*);
  DelayFn fn = &RecordDelay;
  EXPECT_EQ(pam_set_item(pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(fn)), PAM_SUCCESS);
  delays_seen = seen;
  int rc = pam_authenticate(pamh, 0);
  delays_seen = nullptr;
  pam_end(pamh, rc);
  return rc;
}

// ---- processes ----

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input) {
  CommandResult result;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name))
      env_strings.push_back(std::string(name) + "=" + value);
  }
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    result.err = "pipe2 failed";
    return result;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    result.err = "fork failed";
    return result;
  }
  WaitingFor waiting("command `" + Joined(argv) + "` (pid " + std::to_string(pid) + ")");
  // One poll loop for stdin, stdout and stderr with a deadline: a command
  // that neither reads its input nor ends cannot hold the test.
  const auto deadline = Clock::now() + std::chrono::seconds(kCommandTimeoutSeconds);
  fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  pollfd fds[3] = {{in[1], POLLOUT, 0}, {out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[3] = {nullptr, &result.out, &result.err};
  char buf[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || fds[2].fd >= 0) {
    const int64_t left = MillisLeft(deadline);
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    if (poll(fds, 3, static_cast<int>(std::min<int64_t>(left, 1000))) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].fd >= 0 && fds[0].revents != 0) {
      ssize_t n = write(fds[0].fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      // Done, or the program stopped reading (EPIPE: SIGPIPE is ignored).
      if (written == input.size() || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(fds[0].fd);
        fds[0].fd = -1;
      }
    }
    for (int i = 1; i < 3; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
  }
  for (pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  int status = 0;
  if (result.timed_out) {
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    // The pipes are closed: the command has ended or is about to (or left
    // a child of its own holding them, which the bound covers too).
    status = WaitChild(pid, "command `" + Joined(argv) + "`",
                       static_cast<int>(std::max<int64_t>(MillisLeft(deadline) / 1000, 1)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  if (result.timed_out) {
    const std::string note = "command `" + Joined(argv) + "` did not finish within " +
                             std::to_string(kCommandTimeoutSeconds) +
                             " s; killed. Output so far: stdout: " + Tail(result.out, 2000) +
                             "\nstderr: " + Tail(result.err, 2000);
    result.err += "\n[sesame_pam_tests] " + note;
    if (getpid() == kTestProcess) ADD_FAILURE() << note;
  }
  return result;
}

int WaitChild(pid_t pid, const std::string& what, int timeout_seconds) {
  WaitingFor waiting(what + " (pid " + std::to_string(pid) + ")");
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  for (;;) {
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return status;
    if (got < 0 && errno != EINTR) {
      if (getpid() == kTestProcess)
        ADD_FAILURE() << "waitpid for " << what << " (pid " << pid << "): " << strerror(errno);
      return W_EXITCODE(255, 0);
    }
    if (MillisLeft(deadline) <= 0) break;
    usleep(2000);
  }
  const std::string state = ProcessState(pid);
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (getpid() == kTestProcess) {
    ADD_FAILURE() << what << " (pid " << pid << ") did not exit within " << timeout_seconds
                  << " s; killed. It was in " << state
                  << (DevLog().foreign_messages() > 0
                          ? "; other programs' syslog messages arrived at our /dev/log: " +
                                std::to_string(DevLog().foreign_messages())
                          : std::string());
  }
  return status;
}

bool WaitReadable(int fd, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int64_t left = MillisLeft(deadline);
    if (left <= 0) return false;
    pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the read report it
  }
}

void WaitAtGate(int gate_read_end, int timeout_seconds) {
  if (!WaitReadable(gate_read_end, timeout_seconds * 1000)) ExitChild(kExitGateTimeout);
  char c;
  while (read(gate_read_end, &c, 1) < 0 && errno == EINTR) {
  }
}

pid_t ForkWarmPamChild(const std::string& what) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 for " << what << ": " << strerror(errno);
    return -1;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    struct pam_conv conv = {nullptr, nullptr};
    pam_handle_t* pamh = nullptr;
    if (pam_start("sesame-quiet", "warm-up", &conv, &pamh) == PAM_SUCCESS)
      pam_end(pamh, PAM_SUCCESS);
    char c = 'r';
    ssize_t ignored = write(ready[1], &c, 1);
    (void)ignored;
    close(ready[1]);
    return 0;
  }
  close(ready[1]);
  if (pid < 0) {
    close(ready[0]);
    ADD_FAILURE() << "fork for " << what << ": " << strerror(errno);
    return -1;
  }
  bool ready_in_time;
  {
    WaitingFor waiting(what + " (pid " + std::to_string(pid) + ") to get ready");
    ready_in_time = WaitReadable(ready[0], kChildTimeoutSeconds * 1000);
  }
  char c = 0;
  ssize_t n = ready_in_time ? read(ready[0], &c, 1) : 0;
  close(ready[0]);
  if (!ready_in_time) {
    const std::string state = ProcessState(pid);
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ADD_FAILURE() << what << " (pid " << pid << ") was not ready (its first pam_start) within "
                  << kChildTimeoutSeconds << " s; killed. It was in " << state;
    return -1;
  }
  (void)n;  // 0 (end of file) when the child died first: its exit status tells
  return pid;
}

void ExitChild(int code) {
  // pam_wrapper sets up a private copy of the service dir in each process
  // that calls PAM and removes it in its destructor, which _exit skips.
  // Calling it here is safe also in a child that made no PAM call (it only
  // removes a dir this process made).
  using Destructor = void (*)();
  if (void* sym = dlsym(RTLD_DEFAULT, "pwrap_destructor")) reinterpret_cast<Destructor>(sym)();
  _exit(code);
}

// ---- files ----

bool WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  return close(fd) == 0 && ok;
}

void RemoveTree(const std::string& path) {
  if (!path.empty()) nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

// ---- log helpers ----

std::vector<LogLine> Matching(const std::vector<LogLine>& lines, const std::string& needle) {
  std::vector<LogLine> out;
  for (const LogLine& l : lines)
    if (l.text.find(needle) != std::string::npos) out.push_back(l);
  return out;
}

bool AnyContains(const std::vector<LogLine>& lines, const std::string& needle) {
  return !Matching(lines, needle).empty();
}

std::string Dump(const std::vector<LogLine>& lines) {
  std::string out = "collected log lines:\n";
  for (const LogLine& l : lines) out += "  [" + std::to_string(l.pid) + "] " + l.text + "\n";
  return out;
}

// ---- fixture ----

void PamTest::SetUp() {
  std::string tmp = kTestDir + "/tmp";
  if (mkdir(tmp.c_str(), 0700) != 0) {
    ASSERT_EQ(errno, EEXIST) << tmp << ": " << strerror(errno);
  }
  std::string tmpl = tmp + "/state-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl << ": " << strerror(errno);
  state_dir_ = tmpl;
  ASSERT_EQ(chmod(state_dir_.c_str(), 0700), 0);
  store_path_ = state_dir_ + "/sesame.db";
  key_path_ = state_dir_ + "/sesame.key";
  runtime_dir_ = state_dir_ + "/run";

  // The fixed dir the service files name: root's, 0700, empty.
  RemoveTree(kFixedDir);
  ASSERT_EQ(mkdir(kFixedDir.c_str(), 0700), 0) << kFixedDir << ": " << strerror(errno);
  ASSERT_EQ(chmod(kFixedDir.c_str(), 0700), 0);

  ASSERT_NO_FATAL_FAILURE(WriteConfig());
  ASSERT_NO_FATAL_FAILURE(Admin({"init"}));
}

void PamTest::TearDown() {
  RemoveTree(state_dir_);
  RemoveTree(kFixedDir);
}

void PamTest::WriteConfig(const std::map<std::string, std::string>& overrides) {
  config_ = {
      {"store_path", store_path_}, {"key_file", key_path_},   {"runtime_dir", runtime_dir_},
      {"argon2_memory_kib", "8"},  {"argon2_time_cost", "1"},
  };
  for (const auto& [key, value] : overrides) {
    if (value.empty()) {
      config_.erase(key);
    } else {
      config_[key] = value;
    }
  }
  std::string text = "# written by sesame_pam_tests\n";
  for (const auto& [key, value] : config_) text += key + " = " + value + "\n";
  ASSERT_TRUE(WriteFile(kConfigPath, text, 0644)) << kConfigPath << ": " << strerror(errno);
}

void PamTest::Admin(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {kAdminPath, "--config", kConfigPath};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, input);
  std::string shown;
  for (const std::string& a : args) shown += " " + a;
  ASSERT_EQ(r.exit_code, 0) << "sesame-admin" << shown << " failed\nstdout: " << r.out
                            << "\nstderr: " << r.err;
}

CommandResult PamTest::RunAdmin(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {kAdminPath, "--config", kConfigPath};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, input);
}

void PamTest::AddUser(const std::string& name, const std::string& password) {
  ASSERT_NO_FATAL_FAILURE(Admin({"user", "add", name, "--password-stdin"}, password + "\n"));
}

void PamTest::DisableUser(const std::string& name) {
  ASSERT_NO_FATAL_FAILURE(Admin({"user", "disable", name}));
}

std::unique_ptr<Store> PamTest::OpenStore() {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(store_path_, SqliteOptions{});
  EXPECT_TRUE(store.ok()) << store.status().message();
  if (!store.ok()) return nullptr;
  return std::move(store.value());
}

std::vector<SignInEvent> PamTest::Events() {
  std::unique_ptr<Store> store = OpenStore();
  if (store == nullptr) return {};
  Result<std::vector<SignInEvent>> events = store->ListEvents(EventFilter{});
  EXPECT_TRUE(events.ok()) << events.status().message();
  return events.ok() ? events.value() : std::vector<SignInEvent>{};
}

std::optional<UserRecord> PamTest::GetUser(const std::string& name) {
  std::unique_ptr<Store> store = OpenStore();
  if (store == nullptr) return std::nullopt;
  Result<std::optional<UserRecord>> user = store->GetUser(name);
  EXPECT_TRUE(user.ok()) << user.status().message();
  return user.ok() ? user.value() : std::nullopt;
}

}  // namespace sesame::pam_testing
