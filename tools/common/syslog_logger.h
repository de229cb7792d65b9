// Logger for the setuid self-service tool: decisions go to syslog
// (authpriv), as passwd(1) reports through PAM; with --verbose they are
// also shown on stderr. Messages for the person go through the Prompter.
//
// The copies for stderr are held until Flush(): a line is logged while an
// argon2 slot is held ("argon2: start"), and stderr is the caller's, who
// could make a write to it wait for ever (a full pipe, a stopped terminal).
// The tool flushes before each prompt and at the end, when nothing is held.
#ifndef SESAME_TOOLS_COMMON_SYSLOG_LOGGER_H_
#define SESAME_TOOLS_COMMON_SYSLOG_LOGGER_H_

#include <syslog.h>

#include <string>
#include <utility>
#include <vector>

#include "core/base/logger.h"
#include "tools/common/stderr_logger.h"

namespace sesame {

class SyslogLogger final : public Logger {
 public:
  // `ident` must outlive the logger (openlog keeps the pointer).
  SyslogLogger(const char* ident, bool verbose) : stderr_(ident, verbose), verbose_(verbose) {
    openlog(ident, LOG_PID, LOG_AUTHPRIV);
  }
  ~SyslogLogger() override {
    Flush();
    closelog();
  }
  SyslogLogger(const SyslogLogger&) = delete;
  SyslogLogger& operator=(const SyslogLogger&) = delete;

  void Log(LogLevel level, std::string_view message) override {
    if (level == LogLevel::kDebug && !verbose_) return;
    syslog(SyslogPriority(level), "%.*s", static_cast<int>(message.size()), message.data());
    if (verbose_) held_.emplace_back(level, std::string(message));
  }
  // Writes the held stderr copies.
  void Flush() {
    for (const auto& [level, message] : held_) stderr_.Log(level, message);
    held_.clear();
  }
  bool debug_enabled() const override { return verbose_; }

 private:
  StderrLogger stderr_;
  bool verbose_;
  std::vector<std::pair<LogLevel, std::string>> held_;
};

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_SYSLOG_LOGGER_H_
