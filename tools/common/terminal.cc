#include "tools/common/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/base/input_check.h"

namespace sesame {
namespace {

// The first signal taken: set by the handler, read after ppoll() returns
// EINTR (and, after DeferTerminalSignals(), by DeferredSignal()).
volatile sig_atomic_t g_signal = 0;
// DeferTerminalSignals() was called: the signals stay caught and blocked.
bool g_deferred = false;

void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
}

constexpr int kSignals[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGTERM};
constexpr size_t kNumSignals = sizeof(kSignals) / sizeof(kSignals[0]);

sigset_t SignalSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kSignals) sigaddset(&set, sig);
  return set;
}

// Installs OnSignal for each of kSignals; the old actions go to `old`
// (kNumSignals of them) unless it is null.
bool CatchSignals(struct sigaction* old) {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: ppoll() must return EINTR
  bool ok = true;
  for (size_t i = 0; i < kNumSignals; ++i)
    ok = sigaction(kSignals[i], &sa, old != nullptr ? &old[i] : nullptr) == 0 && ok;
  return ok;
}

// After DeferTerminalSignals(): takes a signal that came while no prompt
// was waiting (it is pending, blocked). Returns the first signal taken so
// far, 0 when none.
int TakePendingSignal() {
  if (g_signal != 0) return g_signal;
  sigset_t pending;
  if (sigpending(&pending) != 0) return 0;
  for (int sig : kSignals) {
    if (sigismember(&pending, sig) != 1) continue;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    const timespec now{0, 0};
    if (sigtimedwait(&one, nullptr, &now) == sig) {
      g_signal = sig;
      break;
    }
  }
  return g_signal;
}

Status Interrupted(int sig) {
  return Status(Code::kAborted, "interrupted (" + DescribeSignal(sig) + ")");
}

std::string DescribeWait(int ms) {
  if (ms % 60000 == 0) {
    const int minutes = ms / 60000;
    return std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
  }
  return std::to_string((ms + 999) / 1000) + " s";
}

// Writes all of `text`: 0, or the errno of the write that failed.
int WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// Reads a line from the terminal once the prompt is shown: waits in
// ppoll() with kSignals deliverable, reads with them blocked (the fd is
// non-blocking: another reader of the terminal cannot make read() wait).
Status ReadLine(int fd, int idle_timeout_ms, SecretBuffer* line) {
  sigset_t wait_mask;
  sigprocmask(SIG_SETMASK, nullptr, &wait_mask);
  for (int sig : kSignals) sigdelset(&wait_mask, sig);
  while (true) {
    pollfd pfd{fd, POLLIN, 0};
    timespec idle{idle_timeout_ms / 1000, static_cast<long>(idle_timeout_ms % 1000) * 1000000};
    int ready = ppoll(&pfd, 1, idle_timeout_ms > 0 ? &idle : nullptr, &wait_mask);
    if (ready < 0 && errno == EINTR) {
      if (g_signal != 0) return Interrupted(g_signal);
      continue;
    }
    if (ready < 0)
      return Status(Code::kUnavailable,
                    std::string("cannot wait for the terminal: ") + std::strerror(errno));
    if (ready == 0) return Status(Code::kAborted, "no answer for " + DescribeWait(idle_timeout_ms));
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0 && errno == EIO)
      return Status(Code::kAborted, "the terminal cannot be read (hung up, or a background job)");
    if (n < 0)
      return Status(Code::kUnavailable,
                    std::string("cannot read the terminal: ") + std::strerror(errno));
    if (n == 0) return Status(Code::kAborted, "end of input (Ctrl-D)");
    if (c == '\n') return Status::Ok();
    if (line->size() > kMaxPasswordBytes * 2) continue;  // keep reading to the end of the line
    line->Append(&c, 1);
  }
}

// Reads a line from the terminal. echo=false turns echo off for the read.
Result<SecretBuffer> ReadFromTty(std::string_view prompt, bool echo, int idle_timeout_ms) {
  // Without DeferTerminalSignals(): caught and blocked for this prompt only.
  struct sigaction old_actions[kNumSignals];
  sigset_t old_mask;
  const bool local = !g_deferred;
  if (local) {
    g_signal = 0;
    const sigset_t set = SignalSet();
    sigprocmask(SIG_BLOCK, &set, &old_mask);
    CatchSignals(old_actions);
  } else if (TakePendingSignal() != 0) {
    return Interrupted(g_signal);  // asks nothing
  }
  auto restore_signals = [&] {
    if (!local) return;
    for (size_t i = 0; i < kNumSignals; ++i) sigaction(kSignals[i], &old_actions[i], nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  };

  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    restore_signals();
    return Status(Code::kInvalidArgument,
                  "no terminal to ask on (use --password-stdin to give the password on stdin)");
  }
  termios saved{};
  bool restore = false;
  if (!echo && tcgetattr(fd, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  (void)WriteAll(fd, prompt);

  SecretBuffer line;
  const int flags = fcntl(fd, F_GETFL);
  Status status = flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
                      ? ReadLine(fd, idle_timeout_ms, &line)
                      : Status(Code::kUnavailable, "cannot set up the terminal for reading");
  if (flags >= 0) fcntl(fd, F_SETFL, flags);
  if (restore) tcsetattr(fd, TCSAFLUSH, &saved);
  if (!echo) (void)WriteAll(fd, "\n");
  close(fd);
  if (!status.ok()) line.Clear();
  const int sig = g_signal;
  restore_signals();
  if (local && sig != 0) {
    g_signal = 0;
    raise(sig);  // now with the program's own (usually default) action
  }
  if (!status.ok()) return status;
  return line;
}

}  // namespace

Status DeferTerminalSignals() {
  const sigset_t set = SignalSet();
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    return Status(Code::kInternal, std::string("sigprocmask: ") + std::strerror(errno));
  if (!CatchSignals(nullptr))
    return Status(Code::kInternal, std::string("sigaction: ") + std::strerror(errno));
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
    return Status(Code::kInternal, std::string("signal(SIGPIPE): ") + std::strerror(errno));
  g_deferred = true;
  return Status::Ok();
}

int DeferredSignal() { return g_deferred ? static_cast<int>(g_signal) : 0; }

std::string DescribeSignal(int sig) {
  switch (sig) {
    case SIGINT:
      return "Ctrl-C";
    case SIGQUIT:
      return "Ctrl-\\";
    case SIGTSTP:
      return "Ctrl-Z";
    case SIGHUP:
      return "the terminal hung up";
    case SIGTERM:
      return "SIGTERM";
    case SIGTTIN:
    case SIGTTOU:
      return "terminal access from the background";
    default:
      return "signal " + std::to_string(sig);
  }
}

Result<SecretBuffer> TerminalPrompter::AskSecret(SecretKind, std::string_view prompt) {
  return ReadFromTty(prompt, false, idle_timeout_ms_);
}

Result<std::string> TerminalPrompter::Ask(std::string_view prompt) {
  Result<SecretBuffer> line = ReadFromTty(prompt, true, idle_timeout_ms_);
  if (!line.ok()) return line.status();
  return std::string(line->view());
}

void TerminalPrompter::Info(std::string_view message) {
  int err = WriteAll(STDOUT_FILENO, message);
  if (err == 0) err = WriteAll(STDOUT_FILENO, "\n");
  if (err != 0 && output_error_.empty()) output_error_ = std::strerror(err);
}

void TerminalPrompter::Error(std::string_view message) {
  // Nowhere left to say that stderr failed.
  if (WriteAll(STDERR_FILENO, message) == 0) (void)WriteAll(STDERR_FILENO, "\n");
}

Result<SecretBuffer> ReadSecretLine(int fd, size_t max_bytes) {
  SecretBuffer data;
  char buf[512];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      WipeMemory(buf, sizeof buf);
      return Status(Code::kUnavailable, std::string("cannot read stdin: ") + std::strerror(errno));
    }
    if (n == 0) break;
    data.Append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes + 2) break;
  }
  WipeMemory(buf, sizeof buf);
  std::string_view v = data.view();
  size_t nl = v.find('\n');
  if (nl != std::string_view::npos) {
    if (v.find_first_not_of('\n', nl) != std::string_view::npos)
      return Status(Code::kInvalidArgument,
                    "stdin has more than one line; give the password alone on one line");
    data.Resize(nl);
  }
  if (data.size() > max_bytes)
    return Status(Code::kInvalidArgument,
                  "the password on stdin is longer than " + std::to_string(max_bytes) + " bytes");
  if (std::memchr(data.data(), '\0', data.size()) != nullptr)
    return Status(Code::kInvalidArgument, "the password on stdin contains a NUL byte");
  return data;
}

}  // namespace sesame
