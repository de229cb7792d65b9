#include "core/base/logger.h"

#include <syslog.h>

#include <cstdio>

namespace sesame {

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return LOG_DEBUG;
    case LogLevel::kInfo:
      return LOG_INFO;
    case LogLevel::kNotice:
      return LOG_NOTICE;
    case LogLevel::kWarning:
      return LOG_WARNING;
    case LogLevel::kError:
      return LOG_ERR;
  }
  return LOG_ERR;
}

namespace {

std::string Sanitize(std::string_view text, size_t max_len, bool keep_quote) {
  std::string out;
  size_t n = text.size() < max_len ? text.size() : max_len;
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && (c != '"' || keep_quote)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > max_len) out += "...";
  return out;
}

}  // namespace

std::string SanitizeForLog(std::string_view text, size_t max_len) {
  return Sanitize(text, max_len, /*keep_quote=*/false);
}

std::string SanitizeForDisplay(std::string_view text, size_t max_len) {
  return Sanitize(text, max_len, /*keep_quote=*/true);
}

}  // namespace sesame
