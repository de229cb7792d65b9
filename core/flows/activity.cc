#include "core/flows/activity.h"

#include <ctime>
#include <limits>
#include <string>
#include <utility>

#include "core/base/logger.h"
#include "core/flows/flow_internal.h"

namespace sesame {
namespace {

constexpr char kTimeAccepted[] =
    " (accepted: Nd, Nh or Nw for N days, hours or weeks ago; YYYY-MM-DD; "
    "YYYY-MM-DDTHH:MM[:SS], local time, or with Z or an offset such as +01:00)";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `count` digits at text[*pos], advancing; false when they are not digits.
bool TakeNumber(std::string_view text, size_t* pos, size_t count, int* out) {
  if (*pos + count > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  *pos += count;
  *out = value;
  return true;
}

bool TakeChar(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

int DaysIn(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

Status BadTime(std::string_view text, const std::string& why) {
  std::string shown(text.substr(0, 64));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return Status(Code::kInvalidArgument, "bad TIME '" + shown + "': " + why + kTimeAccepted);
}

enum class Style { kMinutes, kSeconds, kIso };

// Literal formats only (-Wformat-nonliteral).
std::string FormatLocal(int64_t unix_seconds, Style style) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm parts{};
  if (localtime_r(&t, &parts) == nullptr) return std::to_string(unix_seconds);
  char buf[64];
  size_t n = 0;
  switch (style) {
    case Style::kMinutes:
      n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &parts);
      break;
    case Style::kSeconds:
      n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &parts);
      break;
    case Style::kIso:
      n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &parts);
      break;
  }
  if (n == 0) return std::to_string(unix_seconds);
  return std::string(buf, n);
}

}  // namespace

Result<int64_t> ParseActivityTime(std::string_view text, int64_t now) {
  if (text.empty()) return BadTime(text, "empty");
  // Relative: digits and one unit.
  const char unit = text.back();
  if ((unit == 'd' || unit == 'h' || unit == 'w') && text.size() >= 2 && text.size() <= 7) {
    int64_t n = 0;
    for (char c : text.substr(0, text.size() - 1)) {
      if (!IsDigit(c)) return BadTime(text, "not a number of days, hours or weeks");
      n = n * 10 + (c - '0');
    }
    if (n > 100000) return BadTime(text, "more than 100000");
    const int64_t seconds = unit == 'h' ? 3600 : unit == 'd' ? 86400 : 7 * 86400;
    return now - n * seconds;
  }
  tm parts{};
  size_t pos = 0;
  int year = 0;
  int month = 0;
  int day = 0;
  if (!TakeNumber(text, &pos, 4, &year) || !TakeChar(text, &pos, '-') ||
      !TakeNumber(text, &pos, 2, &month) || !TakeChar(text, &pos, '-') ||
      !TakeNumber(text, &pos, 2, &day)) {
    return BadTime(text, "not a date or a time span");
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > DaysIn(year, month))
    return BadTime(text, "no such date");
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    ++pos;
    if (!TakeNumber(text, &pos, 2, &hour) || !TakeChar(text, &pos, ':') ||
        !TakeNumber(text, &pos, 2, &minute))
      return BadTime(text, "the time of day is not HH:MM");
    if (TakeChar(text, &pos, ':') && !TakeNumber(text, &pos, 2, &second))
      return BadTime(text, "the seconds are not two digits");
    if (hour > 23 || minute > 59 || second > 59) return BadTime(text, "no such time of day");
  }
  bool zoned = false;
  int64_t offset = 0;
  if (TakeChar(text, &pos, 'Z')) {
    zoned = true;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int64_t sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0;
    int om = 0;
    if (!TakeNumber(text, &pos, 2, &oh)) return BadTime(text, "the offset is not +HH:MM");
    TakeChar(text, &pos, ':');
    if (!TakeNumber(text, &pos, 2, &om) || oh > 23 || om > 59)
      return BadTime(text, "the offset is not +HH:MM");
    zoned = true;
    offset = sign * (oh * 3600 + om * 60);
  }
  if (pos != text.size()) return BadTime(text, "unexpected text after the date");
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  if (zoned) return static_cast<int64_t>(timegm(&parts)) - offset;
  parts.tm_isdst = -1;  // whatever is in force on that day
  const time_t local = mktime(&parts);
  if (local == static_cast<time_t>(-1)) return BadTime(text, "not a time in the local time zone");
  return static_cast<int64_t>(local);
}

std::string LocalTimeText(int64_t unix_seconds) {
  return FormatLocal(unix_seconds, Style::kSeconds);
}

std::string LocalTimeIso(int64_t unix_seconds) {
  std::string text = FormatLocal(unix_seconds, Style::kIso);
  // strftime's %z is +0100; ISO 8601's extended form is +01:00.
  if (text.size() > 5 && (text[text.size() - 5] == '+' || text[text.size() - 5] == '-'))
    text.insert(text.size() - 2, ":");
  return text;
}

std::string MethodWords(std::string_view method) {
  static constexpr std::string_view kAppPrefix = "app-password:";
  if (method.substr(0, kAppPrefix.size()) == kAppPrefix)
    return "app password " + std::string(method.substr(kAppPrefix.size()));
  if (method == "reset" || method.substr(0, 6) == "reset-") return "reset";
  static const std::pair<std::string_view, const char*> kWords[] = {
      {"password", "password"},
      {"password+totp", "password+code"},
      {"password+recovery-code", "password+recovery code"},
      {"totp", "code"},
      {"recovery-code", "recovery code"},
      {"app-password", "app password"},
      {"admin", "admin action"},
      {"password-change", "password change"},
      {"mfa-enroll", "authenticator enrollment"},
      {"mfa-remove", "authenticator removal"},
      {"recovery-codes", "new recovery codes"},
      {"lockout", "lockout"},
      {"app-password-lockout", "app-password lockout"},
      {"account", "account check"},
      {"none", "none"},
  };
  for (const auto& [stored, words] : kWords)
    if (method == stored) return words;
  return std::string(method);
}

const std::vector<std::string>& FailureOutcomes() {
  static const std::vector<std::string>* const kOutcomes = new std::vector<std::string>{
      "failure", "locked", "disabled", "unknown-user", "app-password-required"};
  return *kOutcomes;
}

const std::vector<std::string>& InteractiveSignInMethods() {
  static const std::vector<std::string>* const kMethods = new std::vector<std::string>{
      "password", "password+totp", "password+recovery-code", "totp", "recovery-code", "reset"};
  return *kMethods;
}

Status CheckOutcomeWord(std::string_view outcome) {
  if (outcome == "success" || outcome == "failure") return Status::Ok();
  return Status(Code::kInvalidArgument, "--outcome takes failure or success");
}

Result<size_t> ParseLimit(std::string_view text) {
  size_t n = 0;
  bool ok = !text.empty() && text.size() <= 6;
  for (char c : text) {
    ok = ok && IsDigit(c);
    if (ok) n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (!ok || n < 1 || n > 100000)
    return Status(Code::kInvalidArgument, "--limit takes a number from 1 to 100000");
  return n;
}

EventFilter ActivityFilter(const ActivityQuery& query) {
  EventFilter filter;
  filter.user = query.user;
  filter.since = query.since.value_or(0);
  filter.until = query.until;
  filter.service = query.service;
  if (query.outcome == "success") filter.outcomes = {"success"};
  if (query.outcome == "failure") filter.outcomes = FailureOutcomes();
  filter.limit = query.limit;
  filter.newest_first = true;
  filter.mark_new_hosts = true;
  return filter;
}

Result<LastSignIn> ReadLastSignIn(Store& store, std::string_view user) {
  return store.ReadLastSignIn(user, InteractiveSignInMethods(), FailureOutcomes());
}

std::string LastSignInLine(const LastSignIn& last) {
  std::string failures;
  if (last.failures_since > 0) {
    failures = std::to_string(last.failures_since) +
               (last.failures_since == 1 ? " failed attempt" : " failed attempts");
  }
  if (!last.found) {
    return failures.empty() ? std::string()
                            : "No earlier sign-in on record. " + failures + " before this one.";
  }
  std::string line = "Last sign-in: " + FormatLocal(last.time, Style::kMinutes);
  if (!last.remote_host.empty()) line += " from " + SanitizeForLog(last.remote_host);
  line += " (" + SanitizeForLog(last.service) + ").";
  if (!failures.empty()) line += " " + failures + " since.";
  return line;
}

const LastSignInQuery& LastSignInQueryForSignIn() {
  static const LastSignInQuery query{InteractiveSignInMethods(), FailureOutcomes()};
  return query;
}

void TellLastSignIn(Services& s, Prompter& prompter, const RequestInfo& r,
                    const std::optional<LastSignIn>& read_with_success,
                    const std::string& read_error) {
  if (!s.config.show_last_sign_in) return;
  Result<LastSignIn> last = read_with_success.has_value() ? Result<LastSignIn>(*read_with_success)
                            : !read_error.empty()
                                ? Result<LastSignIn>(Status(Code::kUnavailable, read_error))
                                : ReadLastSignIn(s.store, r.user);
  if (!last.ok()) {
    s.logger.Log(LogLevel::kWarning, "cannot read the last sign-in of " +
                                         flow_internal::Describe(r) + ": " +
                                         last.status().message() + "; not shown");
    return;
  }
  const std::string line = LastSignInLine(*last);
  if (!line.empty()) prompter.Info(line);
}

std::optional<int64_t> RetentionCutoff(const Config& config, int64_t now) {
  if (config.activity_retention_days <= 0) return std::nullopt;
  return now - static_cast<int64_t>(config.activity_retention_days) * 86400;
}

int64_t PruneInPassingBefore(const Config& config, int64_t now) {
  const std::optional<int64_t> cutoff = RetentionCutoff(config, now);
  return cutoff.has_value() && *cutoff > 0 ? *cutoff : 0;
}

Result<int64_t> PruneAllEvents(Store& store, const Config& config, int64_t now, int64_t batch) {
  const std::optional<int64_t> cutoff = RetentionCutoff(config, now);
  if (!cutoff.has_value()) return int64_t{0};
  int64_t total = 0;
  for (;;) {
    Result<int64_t> pruned = store.PruneEvents(*cutoff, batch);
    if (!pruned.ok()) {
      return Status(pruned.status().code(), pruned.status().message() + " (after " +
                                                std::to_string(total) + " events were deleted)");
    }
    total += *pruned;
    if (*pruned < batch) return total;
  }
}

}  // namespace sesame
