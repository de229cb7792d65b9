#include "tests/pam/pam_harness.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <security/pam_modules.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/sqlite_store.h"

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

void ReadAll(int out_fd, int err_fd, std::string* out, std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  int open_count = 2;
  char buf[4096];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
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

DirectRun DirectSignIn(const char* service, const char* user, const std::string& password,
                       const char* rhost, bool account) {
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
    if (account) run.account = last = pam_acct_mgmt(pamh, 0);
  }
  run.end = pam_end(pamh, last);
  run.prompts = conv_data.prompts;
  return run;
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
  size_t done = 0;
  while (done < input.size()) {
    ssize_t n = write(in[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the program stopped reading (SIGPIPE is ignored)
    done += static_cast<size_t>(n);
  }
  close(in[1]);
  ReadAll(out[0], err[0], &result.out, &result.err);
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
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
