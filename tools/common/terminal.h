// The terminal as a Prompter, for the tools.
//
// MUST rules (as readpassphrase(3)):
//  - secrets are read from /dev/tty with echo off, never from argv or env;
//  - the terminal settings are restored on every path, including SIGINT,
//    SIGTERM, SIGHUP, SIGQUIT and SIGTSTP, after which the signal is
//    re-raised with its default action;
//  - the bytes read are wiped.
#ifndef SESAME_TOOLS_COMMON_TERMINAL_H_
#define SESAME_TOOLS_COMMON_TERMINAL_H_

#include <cstdio>
#include <string>

#include "core/prompter.h"

namespace sesame {

class TerminalPrompter final : public Prompter {
 public:
  Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) override;
  Result<std::string> Ask(std::string_view prompt) override;
  void Info(std::string_view message) override;
  void Error(std::string_view message) override;
};

// Reads one secret line from a file descriptor that is not a terminal
// (--password-stdin): at most max_bytes, trailing "\n" removed. A NUL byte,
// or more data than max_bytes, is an error.
Result<SecretBuffer> ReadSecretLine(int fd, size_t max_bytes);

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_TERMINAL_H_
