// The terminal as a Prompter, for the tools.
//
// MUST rules (as readpassphrase(3)):
//  - secrets are read from /dev/tty with echo off, never from argv or env;
//  - the terminal settings are restored on every path, including a signal
//    (SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGTERM) and an
//    idle timeout;
//  - a prompt waits with those signals deliverable only in ppoll(2): one
//    that comes makes the prompt return kAborted, the terminal restored;
//    without DeferTerminalSignals() it is then raised again with the
//    action the program had before the prompt;
//  - the bytes read are wiped.
#ifndef SESAME_TOOLS_COMMON_TERMINAL_H_
#define SESAME_TOOLS_COMMON_TERMINAL_H_

#include <cstdio>
#include <string>

#include "core/base/prompter.h"

namespace sesame {

// For a program that must never be stopped or killed by a terminal signal
// while it holds something others wait for (the setuid tool, between two
// prompts): for the rest of the process, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN,
// SIGTTOU, SIGHUP and SIGTERM are caught (the first one is recorded) and
// blocked, and SIGPIPE is ignored (a write to a closed pipe fails with
// EPIPE instead). They are then taken only while a TerminalPrompter waits
// for input, which returns kAborted; one that comes at any other time stays
// pending, and the next prompt returns kAborted at once, asking nothing.
// REQUIRES: the process has one thread.
Status DeferTerminalSignals();

// The first signal taken since DeferTerminalSignals() (0: none). A signal
// still pending is not counted until a prompt takes it.
int DeferredSignal();

// "Ctrl-C" for SIGINT, "Ctrl-Z" for SIGTSTP, ... ("SIGTERM").
std::string DescribeSignal(int sig);

class TerminalPrompter final : public Prompter {
 public:
  // idle_timeout_ms > 0: a prompt that gets no input for that long gives
  // up (kAborted), as when the terminal hangs up. 0: it waits for ever.
  explicit TerminalPrompter(int idle_timeout_ms = 0) : idle_timeout_ms_(idle_timeout_ms) {}

  Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) override;
  Result<std::string> Ask(std::string_view prompt) override;
  // To stdout. A write that fails (a full disk; a closed pipe, SIGPIPE
  // being ignored) is remembered: output_error().
  void Info(std::string_view message) override;
  // To stderr.
  void Error(std::string_view message) override;

  // Why the first Info() that could not be written all failed ("No space
  // left on device"); empty while every one was written.
  const std::string& output_error() const { return output_error_; }

 private:
  int idle_timeout_ms_;
  std::string output_error_;
};

// Reads one secret line from a file descriptor that is not a terminal
// (--password-stdin): at most max_bytes, trailing "\n" removed. A NUL byte,
// or more data than max_bytes, is an error.
Result<SecretBuffer> ReadSecretLine(int fd, size_t max_bytes);

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_TERMINAL_H_
