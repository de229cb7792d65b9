#include "tools/common/terminal.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/input_check.h"

namespace sesame {
namespace {

// Set by the signal handler; read after read() returns EINTR.
volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) { g_signal = sig; }

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
constexpr size_t kNumSignals = sizeof(kSignals) / sizeof(kSignals[0]);

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads a line from the terminal. echo=false turns echo off for the read.
Result<SecretBuffer> ReadFromTty(std::string_view prompt, bool echo) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::kInvalidArgument,
                  "no terminal to ask on (use --password-stdin to give the password on stdin)");
  struct sigaction old_actions[kNumSignals];
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: read() must return EINTR
  g_signal = 0;
  for (size_t i = 0; i < kNumSignals; ++i) sigaction(kSignals[i], &sa, &old_actions[i]);

  termios saved{};
  bool restore = false;
  if (!echo && tcgetattr(fd, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  WriteAll(fd, prompt);

  SecretBuffer line;
  Status status = Status::Ok();
  while (true) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) {
      if (g_signal != 0) {
        status = Status(Code::kAborted, "interrupted");
        break;
      }
      continue;
    }
    if (n <= 0) {
      status = Status(Code::kAborted, "end of input (Ctrl-D)");
      break;
    }
    if (c == '\n') break;
    if (line.size() > kMaxPasswordBytes * 2) continue;  // keep reading to the end of the line
    line.Append(&c, 1);
  }
  if (restore) tcsetattr(fd, TCSAFLUSH, &saved);
  if (!echo) WriteAll(fd, "\n");
  close(fd);
  for (size_t i = 0; i < kNumSignals; ++i) sigaction(kSignals[i], &old_actions[i], nullptr);
  if (g_signal != 0) {
    int sig = g_signal;
    g_signal = 0;
    line.Clear();
    raise(sig);  // now with the caller's (usually default) action
    return Status(Code::kAborted, "interrupted");
  }
  if (!status.ok()) return status;
  return line;
}

}  // namespace

Result<SecretBuffer> TerminalPrompter::AskSecret(SecretKind, std::string_view prompt) {
  return ReadFromTty(prompt, false);
}

Result<std::string> TerminalPrompter::Ask(std::string_view prompt) {
  Result<SecretBuffer> line = ReadFromTty(prompt, true);
  if (!line.ok()) return line.status();
  return std::string(line->view());
}

void TerminalPrompter::Info(std::string_view message) {
  WriteAll(STDOUT_FILENO, message);
  WriteAll(STDOUT_FILENO, "\n");
}

void TerminalPrompter::Error(std::string_view message) {
  WriteAll(STDERR_FILENO, message);
  WriteAll(STDERR_FILENO, "\n");
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
