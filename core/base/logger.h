// Logger: where core reports decisions. The PAM module logs to syslog
// (authpriv) through pam_syslog; the tools log to stderr.
//
// MUST: never pass a secret. Text that came from outside (user names, remote
// hosts, service names) goes through SanitizeForLog first.
#ifndef SESAME_CORE_BASE_LOGGER_H_
#define SESAME_CORE_BASE_LOGGER_H_

#include <string>
#include <string_view>

namespace sesame {

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view message) = 0;
  // Whether kDebug messages are wanted (the `debug` module argument).
  virtual bool debug_enabled() const { return false; }
};

// Discards everything.
class NullLogger final : public Logger {
 public:
  void Log(LogLevel, std::string_view) override {}
};

// The syslog(3) priority of a level (LOG_DEBUG ... LOG_ERR), for the loggers
// of the module (pam_syslog) and the setuid tool (syslog).
int SyslogPriority(LogLevel level);

// Printable ASCII kept as is; everything else (control bytes, non-ASCII,
// backslash, quote) as \xHH; cut at `max_len` input bytes with "...".
std::string SanitizeForLog(std::string_view text, size_t max_len = 128);

// The same for a table a person reads (sesame activity), but a double quote
// as it is: the log escapes it because its messages quote names, a table's
// cells are not quoted. The backslash stays escaped, so what reads \xHH
// was never a literal backslash.
std::string SanitizeForDisplay(std::string_view text, size_t max_len = 128);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_LOGGER_H_
