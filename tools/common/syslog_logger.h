// Logger for the setuid self-service tool: decisions go to syslog
// (authpriv), as passwd(1) reports through PAM; with --verbose they are
// also shown on stderr. Messages for the person go through the Prompter.
#ifndef SESAME_TOOLS_COMMON_SYSLOG_LOGGER_H_
#define SESAME_TOOLS_COMMON_SYSLOG_LOGGER_H_

#include <syslog.h>

#include <string>

#include "core/logger.h"
#include "tools/common/stderr_logger.h"

namespace sesame {

class SyslogLogger final : public Logger {
 public:
  // `ident` must outlive the logger (openlog keeps the pointer).
  SyslogLogger(const char* ident, bool verbose) : stderr_(ident, verbose), verbose_(verbose) {
    openlog(ident, LOG_PID, LOG_AUTHPRIV);
  }
  ~SyslogLogger() override { closelog(); }
  SyslogLogger(const SyslogLogger&) = delete;
  SyslogLogger& operator=(const SyslogLogger&) = delete;

  void Log(LogLevel level, std::string_view message) override {
    if (level == LogLevel::kDebug && !verbose_) return;
    syslog(SyslogPriority(level), "%.*s", static_cast<int>(message.size()), message.data());
    if (verbose_) stderr_.Log(level, message);
  }
  bool debug_enabled() const override { return verbose_; }

 private:
  StderrLogger stderr_;
  bool verbose_;
};

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_SYSLOG_LOGGER_H_
