// sesame's Prompter: the terminal (TerminalPrompter), waiting at most
// kPromptIdleTimeoutMs for each answer, since the caller can no longer kill
// a tool left at a prompt; it also remembers what a command needs to say
// afterwards: whether anything was asked, and why a prompt gave up.
//
// Before each prompt and each message it writes the logger's held
// --verbose notes (SyslogLogger::Flush): nothing is held at those points,
// so a stderr that never drains can keep no slot or lock.
#ifndef SESAME_TOOLS_SESAME_SESAME_PROMPTER_H_
#define SESAME_TOOLS_SESAME_SESAME_PROMPTER_H_

#include <string>
#include <string_view>

#include "core/base/prompter.h"
#include "tools/common/syslog_logger.h"
#include "tools/common/terminal.h"

namespace sesame::self {

// How long a prompt waits for input before it gives up (as a hang-up).
inline constexpr int kPromptIdleTimeoutMs = 5 * 60 * 1000;

class ToolPrompter final : public Prompter {
 public:
  explicit ToolPrompter(SyslogLogger& logger) : logger_(logger), tty_(kPromptIdleTimeoutMs) {}

  Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) override {
    Before(true);
    return Note(tty_.AskSecret(kind, prompt));
  }
  Result<std::string> Ask(std::string_view prompt) override {
    Before(true);
    return Note(tty_.Ask(prompt));
  }
  void Info(std::string_view message) override {
    Before(false);
    tty_.Info(message);
  }
  void Error(std::string_view message) override {
    Before(false);
    tty_.Error(message);
  }

  // Whether anything was asked: a flow that refuses before its first
  // prompt is then told apart from a wrong answer.
  bool asked() const { return asked_; }
  // Why the first prompt that gave up did ("interrupted (Ctrl-C)", "end of
  // input (Ctrl-D)", "no answer for 5 minutes"); empty when none did.
  const std::string& gave_up() const { return gave_up_; }
  // Why a message to stdout was lost (TerminalPrompter::output_error());
  // empty when none was.
  const std::string& output_error() const { return tty_.output_error(); }

 private:
  void Before(bool asking) {
    logger_.Flush();
    if (asking) asked_ = true;
  }
  template <typename T>
  Result<T> Note(Result<T> answer) {
    if (!answer.ok() && answer.status().code() == Code::kAborted && gave_up_.empty())
      gave_up_ = answer.status().message();
    return answer;
  }

  SyslogLogger& logger_;
  TerminalPrompter tty_;
  bool asked_ = false;
  std::string gave_up_;
};

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_SESAME_PROMPTER_H_
