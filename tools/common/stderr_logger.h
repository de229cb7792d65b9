// Logger for the tools: warnings and errors to stderr with the tool's
// prefix; info and debug only with --verbose.
#ifndef SESAME_TOOLS_COMMON_STDERR_LOGGER_H_
#define SESAME_TOOLS_COMMON_STDERR_LOGGER_H_

#include <cstdio>
#include <string>

#include "core/base/logger.h"

namespace sesame {

class StderrLogger final : public Logger {
 public:
  StderrLogger(std::string prefix, bool verbose) : prefix_(std::move(prefix)), verbose_(verbose) {}
  void Log(LogLevel level, std::string_view message) override {
    if (!verbose_ &&
        (level == LogLevel::kDebug || level == LogLevel::kInfo || level == LogLevel::kNotice))
      return;
    const char* tag = level >= LogLevel::kError     ? "error"
                      : level == LogLevel::kWarning ? "warning"
                                                    : "note";
    std::fprintf(stderr, "%s: %s: %.*s\n", prefix_.c_str(), tag, static_cast<int>(message.size()),
                 message.data());
  }
  bool debug_enabled() const override { return verbose_; }

 private:
  std::string prefix_;
  bool verbose_;
};

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_STDERR_LOGGER_H_
