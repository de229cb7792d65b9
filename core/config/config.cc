// Parsing /etc/security/sesame.conf.
//
// Every key is one row of kKeys: its name, how its value is checked and set,
// and how it is shown. The accepted-keys list in messages, DescribeConfig and
// the duplicate check all come from that table, so they cannot drift apart.
#include "core/config/config.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <string>
#include <vector>

#include "core/base/edit_distance.h"
#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/base/safe_file.h"

namespace sesame {
namespace {

constexpr size_t kMaxPathBytes = 4095;  // PATH_MAX without the NUL
constexpr size_t kMaxShownBytes = 64;   // of a bad key or value in a message
constexpr size_t kMaxSuggestDistance = 2;

// A check-and-set function returns "" on success, else what is accepted.
using SetFn = std::string (*)(std::string_view value, Config& config);
using ShowFn = std::string (*)(const Config& config);

struct KeySpec {
  const char* name;
  SetFn set;
  ShowFn show;
};

template <typename T, T Config::*kField, uint64_t kMin, uint64_t kMax>
std::string SetNumber(std::string_view value, Config& config) {
  std::string accepted =
      "use a whole number from " + std::to_string(kMin) + " to " + std::to_string(kMax);
  bool digits_only = !value.empty() && std::all_of(value.begin(), value.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only) return accepted;
  uint64_t parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed, 10);
  if (ec != std::errc() || end != value.data() + value.size()) return accepted;
  if (parsed < kMin || parsed > kMax) return accepted;
  config.*kField = static_cast<T>(parsed);
  return "";
}

template <typename T, T Config::*kField>
std::string ShowNumber(const Config& config) {
  return std::to_string(config.*kField);
}

// kIsFile: the path names a file, so it may not end in '/'.
template <std::string Config::*kField, bool kIsFile>
std::string SetPath(std::string_view value, Config& config) {
  const char* accepted = kIsFile ? "use an absolute path to a file (starting with '/')"
                                 : "use an absolute path to a directory (starting with '/')";
  if (value.empty() || value.front() != '/') return accepted;
  if (kIsFile && value.back() == '/') return "use an absolute path to a file, not ending in '/'";
  if (value.size() > kMaxPathBytes)
    return "use a path of at most " + std::to_string(kMaxPathBytes) + " bytes";
  // Control characters and NUL are refused for the whole line already; this
  // keeps the rule local to the value as well.
  if (HasControlChars(value)) return "use a path without control characters";
  config.*kField = std::string(value);
  return "";
}

template <std::string Config::*kField>
std::string ShowString(const Config& config) {
  return config.*kField;
}

template <bool Config::*kField>
std::string SetBool(std::string_view value, Config& config) {
  if (value == "yes") {
    config.*kField = true;
  } else if (value == "no") {
    config.*kField = false;
  } else {
    return "use 'yes' or 'no'";
  }
  return "";
}

template <bool Config::*kField>
std::string ShowBool(const Config& config) {
  return config.*kField ? "yes" : "no";
}

std::string SetTotpAlgorithm(std::string_view value, Config& config) {
  if (value == "SHA1" || value == "SHA256" || value == "SHA512") {
    config.totp_algorithm = std::string(value);
    return "";
  }
  return "use SHA1, SHA256 or SHA512 (most authenticator apps support only SHA1)";
}

std::string SetIssuer(std::string_view value, Config& config) {
  if (value.size() > 64 || !IsValidUtf8(value) || HasControlChars(value))
    return "use at most 64 bytes of UTF-8 text without control characters";
  config.totp_issuer = std::string(value);
  return "";
}

std::string SetMfaRequired(std::string_view value, Config& config) {
  const char* accepted = "use 'no', 'all' or 'group:NAME' (a system group)";
  if (value == "no" || value == "all") {
    config.mfa_required = std::string(value);
    return "";
  }
  if (value.rfind("group:", 0) != 0) return accepted;
  Status group = CheckGroupName(value.substr(6));
  if (!group.ok()) return std::string(accepted) + "; " + group.message();
  config.mfa_required = std::string(value);
  return "";
}

// Whether this build has the PostgreSQL backend is OpenStore's business:
// the config accepts both names.
std::string SetStore(std::string_view value, Config& config) {
  if (value != "sqlite" && value != "postgres") return "use 'sqlite' or 'postgres'";
  config.store = std::string(value);
  return "";
}

constexpr const char* kPostgresDsnExample =
    "postgres_dsn = host=db.example.org dbname=sesame user=sesame";

// A DSN as it may be shown (the effective configuration, a message about
// the line): the value of a password in it, which the store refuses but a
// person may still have written, becomes "***" (key=value form, quoted or
// not; a URI's user:password@ and its password= parameter).
std::string MaskDsnPassword(std::string_view dsn) {
  std::string out(dsn);
  const bool uri = out.rfind("postgresql://", 0) == 0 || out.rfind("postgres://", 0) == 0;
  if (uri) {
    const size_t start = out.find("://") + 3;
    const size_t end = out.find_first_of("/?", start);
    const size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at > start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=VALUE: as a key (after a space or at the start) or a URI
  // parameter (after '?' or '&'); VALUE up to a space (or '&' in a URI),
  // or quoted.
  size_t from = 0;
  for (;;) {
    size_t at = out.find("password", from);
    if (at == std::string::npos) break;
    from = at + 8;
    const bool starts = at == 0 || out[at - 1] == ' ' || out[at - 1] == '?' || out[at - 1] == '&';
    size_t eq = at + 8;
    while (eq < out.size() && out[eq] == ' ') ++eq;
    if (!starts || eq >= out.size() || out[eq] != '=') continue;
    size_t begin = eq + 1;
    while (begin < out.size() && out[begin] == ' ') ++begin;
    size_t end = begin;
    if (begin < out.size() && out[begin] == '\'') {
      end = begin + 1;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != ' ' && !(uri && out[end] == '&')) ++end;
    }
    out.replace(begin, end - begin, "***");
    from = begin + 3;
  }
  return out;
}

std::string ShowPostgresDsn(const Config& config) { return MaskDsnPassword(config.postgres_dsn); }

// postgres_dsn: a libpq connection string or URI, checked only for what no
// libpq string has (control characters, no '=' and no URI scheme); libpq
// parses it when the store is opened, and the backend refuses a password
// in it.
std::string SetPostgresDsn(std::string_view value, Config& config) {
  if (value.size() > kMaxPathBytes)
    return "use a connection string of at most " + std::to_string(kMaxPathBytes) + " bytes";
  if (HasControlChars(value))
    return "use a connection string without control characters (spaces between the "
           "key=value pairs)";
  bool uri = value.rfind("postgresql://", 0) == 0 || value.rfind("postgres://", 0) == 0;
  if (!uri && value.find('=') == std::string_view::npos)
    return std::string("use a libpq connection string (e.g. '") + kPostgresDsnExample +
           "') or a postgresql:// URI";
  config.postgres_dsn = std::string(value);
  return "";
}

std::string SetAppPasswordsFor(std::string_view value, Config& config) {
  if (value != "mfa_users" && value != "all")
    return "use 'mfa_users' (users with an authenticator, or who must use MFA) or 'all'";
  config.app_passwords_for = std::string(value);
  return "";
}

std::string SetMainPasswordRule(std::string_view value, Config& config) {
  if (value != "allow" && value != "deny_if_mfa" && value != "deny")
    return "use 'allow', 'deny_if_mfa' or 'deny'";
  config.app_password_main_password = std::string(value);
  return "";
}

// reset_methods: a comma-separated, non-empty subset of totp and
// recovery_code, each once; kept in the order a reset asks them (the code
// first).
std::string SetResetMethods(std::string_view value, Config& config) {
  const char* kUse = "use 'totp', 'recovery_code' or 'totp,recovery_code'";
  bool totp = false;
  bool recovery = false;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view word = value.substr(start, comma - start);
    while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
    bool* seen = word == "totp" ? &totp : word == "recovery_code" ? &recovery : nullptr;
    if (seen == nullptr || *seen) return kUse;
    *seen = true;
    start = comma + 1;
  }
  config.reset_methods.clear();
  if (totp) config.reset_methods.push_back("totp");
  if (recovery) config.reset_methods.push_back("recovery_code");
  return "";
}

std::string ShowResetMethods(const Config& config) {
  std::string out;
  for (const std::string& m : config.reset_methods) out += (out.empty() ? "" : ",") + m;
  return out;
}

constexpr size_t kMaxExemptUsers = 64;

// exempt_users: user names separated by commas (blanks around them are
// ignored), each once; "none" alone for no one.
std::string SetExemptUsers(std::string_view value, Config& config) {
  const char* kUse = "use user names separated by commas (e.g. 'root, backup'), or 'none'";
  std::vector<std::string> names;
  if (value != "none") {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view word = value.substr(start, comma - start);
      while (!word.empty() && (word.front() == ' ' || word.front() == '\t')) word.remove_prefix(1);
      while (!word.empty() && (word.back() == ' ' || word.back() == '\t')) word.remove_suffix(1);
      Status name = CheckUserName(word);
      if (!name.ok()) return std::string(kUse) + "; " + name.message();
      if (word == "none") return std::string(kUse) + "; 'none' must stand alone";
      if (std::find(names.begin(), names.end(), word) != names.end())
        return std::string(kUse) + "; '" + std::string(word) + "' is named twice";
      names.emplace_back(word);
      start = comma + 1;
    }
    if (names.size() > kMaxExemptUsers)
      return "name at most " + std::to_string(kMaxExemptUsers) + " users";
  }
  config.exempt_users = std::move(names);
  return "";
}

std::string ShowExemptUsers(const Config& config) {
  if (config.exempt_users.empty()) return "none";
  std::string out;
  for (const std::string& name : config.exempt_users) out += (out.empty() ? "" : ",") + name;
  return out;
}

constexpr size_t kMaxCommandWords = 32;

// on_revoke_command: words separated by blanks, no shell and no quoting,
// the program an absolute path, % only in %u and %%.
std::string SetRevokeCommand(std::string_view value, Config& config) {
  if (value.size() > kMaxPathBytes)
    return "use a command of at most " + std::to_string(kMaxPathBytes) + " bytes";
  std::string untabbed(value);
  std::replace(untabbed.begin(), untabbed.end(), '\t', ' ');
  if (!IsValidUtf8(value) || HasControlChars(untabbed))
    return "use UTF-8 text without control characters";
  std::vector<std::string> words;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    if (i == value.size()) break;
    size_t end = i;
    while (end < value.size() && value[end] != ' ' && value[end] != '\t') ++end;
    std::string word(value.substr(i, end - i));
    for (size_t k = 0; k < word.size(); ++k) {
      char c = word[k];
      if (c == '"' || c == '\'' || c == '\\' || c == '`' || c == '$')
        return "the command is run without a shell: no quotes, backslashes, ` or $ (words are "
               "separated by spaces; put anything more in a script and name the script)";
      if (c == '%') {
        char next = k + 1 < word.size() ? word[k + 1] : '\0';
        if (next != 'u' && next != '%')
          return "use %u for the user name and %% for a '%'; no other % sequence";
        ++k;
      }
    }
    words.push_back(std::move(word));
    i = end;
  }
  if (words.empty()) return "name a program by its absolute path";
  if (words.size() > kMaxCommandWords)
    return "use at most " + std::to_string(kMaxCommandWords) + " words";
  if (words[0].front() != '/' || words[0].find('%') != std::string::npos)
    return "start with the program's absolute path (e.g. /usr/bin/doveadm auth cache flush %u)";
  config.on_revoke_command = std::string(value);
  config.on_revoke_argv = std::move(words);
  return "";
}

constexpr KeySpec kKeys[] = {
    {"store", &SetStore, &ShowString<&Config::store>},
    {"store_path", &SetPath<&Config::store_path, true>, &ShowString<&Config::store_path>},
    {"store_busy_timeout_ms", &SetNumber<int, &Config::store_busy_timeout_ms, 0, 600000>,
     &ShowNumber<int, &Config::store_busy_timeout_ms>},
    {"postgres_dsn", &SetPostgresDsn, &ShowPostgresDsn},
    {"postgres_passfile", &SetPath<&Config::postgres_passfile, true>,
     &ShowString<&Config::postgres_passfile>},
    {"postgres_connect_timeout", &SetNumber<int, &Config::postgres_connect_timeout, 2, 60>,
     &ShowNumber<int, &Config::postgres_connect_timeout>},
    {"postgres_statement_timeout", &SetNumber<int, &Config::postgres_statement_timeout, 1, 300>,
     &ShowNumber<int, &Config::postgres_statement_timeout>},
    {"key_file", &SetPath<&Config::key_file, true>, &ShowString<&Config::key_file>},
    {"runtime_dir", &SetPath<&Config::runtime_dir, false>, &ShowString<&Config::runtime_dir>},
    {"argon2_time_cost", &SetNumber<uint32_t, &Config::argon2_time_cost, 1, 1000>,
     &ShowNumber<uint32_t, &Config::argon2_time_cost>},
    {"argon2_memory_kib", &SetNumber<uint32_t, &Config::argon2_memory_kib, 8, 4194304>,
     &ShowNumber<uint32_t, &Config::argon2_memory_kib>},
    {"argon2_parallelism", &SetNumber<uint32_t, &Config::argon2_parallelism, 1, 64>,
     &ShowNumber<uint32_t, &Config::argon2_parallelism>},
    {"argon2_max_concurrent", &SetNumber<int, &Config::argon2_max_concurrent, 1, 1024>,
     &ShowNumber<int, &Config::argon2_max_concurrent>},
    {"argon2_max_wait_ms", &SetNumber<int, &Config::argon2_max_wait_ms, 0, 600000>,
     &ShowNumber<int, &Config::argon2_max_wait_ms>},
    {"deny", &SetNumber<int, &Config::deny, 0, 1000>, &ShowNumber<int, &Config::deny>},
    {"fail_interval", &SetNumber<int, &Config::fail_interval, 1, 31536000>,
     &ShowNumber<int, &Config::fail_interval>},
    {"unlock_time", &SetNumber<int, &Config::unlock_time, 0, 31536000>,
     &ShowNumber<int, &Config::unlock_time>},
    {"lockout_exempt_root", &SetBool<&Config::lockout_exempt_root>,
     &ShowBool<&Config::lockout_exempt_root>},
    {"exempt_users", &SetExemptUsers, &ShowExemptUsers},
    {"account_check_max_age_ms", &SetNumber<int, &Config::account_check_max_age_ms, 0, 10000>,
     &ShowNumber<int, &Config::account_check_max_age_ms>},
    {"password_min_length", &SetNumber<int, &Config::password_min_length, 1, 1024>,
     &ShowNumber<int, &Config::password_min_length>},
    {"password_history", &SetNumber<int, &Config::password_history, 0, 100>,
     &ShowNumber<int, &Config::password_history>},
    {"password_max_days", &SetNumber<int, &Config::password_max_days, 0, 36500>,
     &ShowNumber<int, &Config::password_max_days>},
    {"password_quality", &SetBool<&Config::password_quality>, &ShowBool<&Config::password_quality>},
    {"banned_passwords_file", &SetPath<&Config::banned_passwords_file, true>,
     &ShowString<&Config::banned_passwords_file>},
    {"totp_algorithm", &SetTotpAlgorithm, &ShowString<&Config::totp_algorithm>},
    {"totp_digits", &SetNumber<int, &Config::totp_digits, 6, 8>,
     &ShowNumber<int, &Config::totp_digits>},
    {"totp_period", &SetNumber<int, &Config::totp_period, 10, 300>,
     &ShowNumber<int, &Config::totp_period>},
    {"totp_window", &SetNumber<int, &Config::totp_window, 0, 10>,
     &ShowNumber<int, &Config::totp_window>},
    {"totp_issuer", &SetIssuer, &ShowString<&Config::totp_issuer>},
    {"recovery_codes", &SetNumber<int, &Config::recovery_codes, 1, 100>,
     &ShowNumber<int, &Config::recovery_codes>},
    {"mfa_required", &SetMfaRequired, &ShowString<&Config::mfa_required>},
    {"mfa_grace_days", &SetNumber<int, &Config::mfa_grace_days, 0, 3650>,
     &ShowNumber<int, &Config::mfa_grace_days>},
    {"app_password_max", &SetNumber<int, &Config::app_password_max, 0, 1000>,
     &ShowNumber<int, &Config::app_password_max>},
    {"app_passwords_for", &SetAppPasswordsFor, &ShowString<&Config::app_passwords_for>},
    {"app_password_main_password", &SetMainPasswordRule,
     &ShowString<&Config::app_password_main_password>},
    {"revoke_app_passwords_on_password_change",
     &SetBool<&Config::revoke_app_passwords_on_password_change>,
     &ShowBool<&Config::revoke_app_passwords_on_password_change>},
    {"on_revoke_command", &SetRevokeCommand, &ShowString<&Config::on_revoke_command>},
    {"app_password_deny", &SetNumber<int, &Config::app_password_deny, 0, 1000>,
     &ShowNumber<int, &Config::app_password_deny>},
    {"app_password_fail_interval",
     &SetNumber<int, &Config::app_password_fail_interval, 1, 31536000>,
     &ShowNumber<int, &Config::app_password_fail_interval>},
    {"app_password_unlock_time", &SetNumber<int, &Config::app_password_unlock_time, 0, 31536000>,
     &ShowNumber<int, &Config::app_password_unlock_time>},
    {"show_last_sign_in", &SetBool<&Config::show_last_sign_in>,
     &ShowBool<&Config::show_last_sign_in>},
    {"activity_retention_days", &SetNumber<int, &Config::activity_retention_days, 0, 36500>,
     &ShowNumber<int, &Config::activity_retention_days>},
    {"self_service_reset", &SetBool<&Config::self_service_reset>,
     &ShowBool<&Config::self_service_reset>},
    {"reset_methods", &SetResetMethods, &ShowResetMethods},
};
constexpr size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);

std::string AcceptedKeys() {
  std::string all;
  for (const KeySpec& spec : kKeys) {
    if (!all.empty()) all += ", ";
    all += spec.name;
  }
  return all;
}

const KeySpec* Suggest(std::string_view key) {
  const KeySpec* best = nullptr;
  size_t best_distance = kMaxSuggestDistance + 1;
  for (const KeySpec& spec : kKeys) {
    size_t d = EditDistance(key, spec.name);
    if (d < best_distance) {
      best = &spec;
      best_distance = d;
    }
  }
  return best;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string Shown(std::string_view text) { return SanitizeForLog(text, kMaxShownBytes); }

// Checks the raw bytes of one line; returns "" or the problem.
std::string CheckLineBytes(std::string_view line) {
  for (char ch : line) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\0') return "NUL byte (the config file must be plain text)";
    if (c == '\r') return "carriage return (file saved with DOS line endings?)";
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return "control character " + SanitizeForLog(std::string_view(&ch, 1)) +
             " (only tab and space may separate words)";
  }
  if (!IsValidUtf8(line)) return "not valid UTF-8 (save the file as UTF-8)";
  return "";
}

// Text after blank + '#' is a value here, not a comment: say so instead of
// letting "sqlite # default" be reported as a strange value.
bool HasTrailingComment(std::string_view value) {
  for (size_t i = 1; i < value.size(); ++i)
    if (value[i] == '#' && IsBlank(value[i - 1])) return true;
  return false;
}

class Parser {
 public:
  explicit Parser(std::string_view filename) : filename_(SanitizeForLog(filename, kMaxPathBytes)) {}

  Result<Config> Parse(std::string_view text) {
    size_t line_number = 0;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++line_number;
      Status st = ParseLine(text.substr(start, end - start), line_number);
      if (!st.ok()) return st;
      start = end + 1;
    }
    SESAME_RETURN_IF_ERROR(CheckWhole());
    return std::move(config_);
  }

 private:
  Status Error(size_t line, const std::string& message) const {
    return Status(Code::kInvalidArgument, filename_ + ":" + std::to_string(line) + ": " + message);
  }

  Status ParseLine(std::string_view line, size_t number) {
    if (number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF")
      return Error(number, "starts with a UTF-8 byte order mark: save the file without it");
    std::string bad_bytes = CheckLineBytes(line);
    if (!bad_bytes.empty()) return Error(number, bad_bytes);

    std::string_view content = Trim(line);
    if (content.empty() || content.front() == '#') return Status::Ok();

    size_t eq = content.find('=');
    if (eq == std::string_view::npos)
      return Error(number, "line has no '=' (expected 'key = value')");
    std::string_view raw_key = Trim(content.substr(0, eq));
    std::string_view value = Trim(content.substr(eq + 1));
    if (raw_key.empty())
      return Error(number, "line has no key before '=' (expected 'key = value')");

    std::string key = Lower(raw_key);
    size_t index = kKeyCount;
    for (size_t i = 0; i < kKeyCount; ++i)
      if (key == kKeys[i].name) index = i;
    if (index == kKeyCount) {
      std::string message = "unknown key '" + Shown(raw_key) + "' (";
      if (const KeySpec* near = Suggest(key))
        message += "did you mean '" + std::string(near->name) + "'? ";
      return Error(number, message + "accepted keys: " + AcceptedKeys() + ")");
    }
    const KeySpec& spec = kKeys[index];
    if (lines_[index] != 0)
      return Error(number, "duplicate key '" + std::string(spec.name) + "' (first set on line " +
                               std::to_string(lines_[index]) + ")");
    if (value.empty()) return Error(number, std::string(spec.name) + " needs a value");
    // A DSN is shown with any password in it masked.
    const std::string shown_value =
        std::string_view(spec.name) == "postgres_dsn" ? MaskDsnPassword(value) : std::string(value);
    if (HasTrailingComment(value))
      return Error(number, std::string(spec.name) + " = '" + Shown(shown_value) +
                               "' is not accepted: a '#' after a value does not start a "
                               "comment; put comments on their own line");
    std::string accepted = spec.set(value, config_);
    if (!accepted.empty())
      return Error(number, std::string(spec.name) + " = '" + Shown(shown_value) +
                               "' is not accepted: " + accepted);
    lines_[index] = number;
    return Status::Ok();
  }

  size_t LineOf(std::string_view name) const {
    for (size_t i = 0; i < kKeyCount; ++i)
      if (name == kKeys[i].name) return lines_[i];
    return 0;
  }

  // Rules between keys, checked once every line is read; the
  // app-password bucket's keys not set follow the interactive ones.
  Status CheckWhole() {
    if (config_.store == "postgres" && config_.postgres_dsn.empty())
      return Error(LineOf("store"),
                   std::string("store = postgres needs postgres_dsn, the libpq connection "
                               "string of the database (e.g. '") +
                       kPostgresDsnExample + "')");
    if (LineOf("app_password_deny") == 0) config_.app_password_deny = config_.deny;
    if (LineOf("app_password_fail_interval") == 0)
      config_.app_password_fail_interval = config_.fail_interval;
    if (LineOf("app_password_unlock_time") == 0)
      config_.app_password_unlock_time = config_.unlock_time;
    uint64_t min_memory = uint64_t{8} * config_.argon2_parallelism;
    if (config_.argon2_memory_kib < min_memory) {
      size_t line = LineOf("argon2_memory_kib");
      if (line == 0) line = LineOf("argon2_parallelism");
      size_t parallelism_line = LineOf("argon2_parallelism");
      std::string where =
          parallelism_line != 0 ? " (line " + std::to_string(parallelism_line) + ")" : "";
      return Error(line, "argon2_memory_kib = " + std::to_string(config_.argon2_memory_kib) +
                             " is not accepted: with argon2_parallelism = " +
                             std::to_string(config_.argon2_parallelism) + where +
                             " it must be at least " + std::to_string(min_memory) +
                             " (8 KiB per lane)");
    }
    return Status::Ok();
  }

  std::string filename_;
  Config config_;
  size_t lines_[kKeyCount] = {};  // line where each key was set, 0 if not set
};

}  // namespace

Result<Config> ParseConfig(std::string_view text, std::string_view filename) {
  return Parser(filename).Parse(text);
}

Result<Config> LoadConfigFile(const std::string& path) {
  Result<std::string> text = ReadTrustedFile(path, "config file", kMaxConfigBytes);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound)
      return Status(Code::kNotFound,
                    text.status().message() +
                        ": install one there (the sample is conf/sesame.conf, every key at its "
                        "default), or fix the path that names it (module argument config=, "
                        "sesame-admin --config)");
    return text.status();
  }
  Result<Config> config = ParseConfig(*text, path);
  if (!config.ok()) return config.status();
  config->source = path;
  return config;
}

bool IsExemptUser(const Config& config, std::string_view user) {
  return std::find(config.exempt_users.begin(), config.exempt_users.end(), user) !=
         config.exempt_users.end();
}

std::vector<std::string> RevokeCommandFor(const Config& config, std::string_view user) {
  std::vector<std::string> argv;
  argv.reserve(config.on_revoke_argv.size());
  for (const std::string& word : config.on_revoke_argv) {
    std::string out;
    for (size_t k = 0; k < word.size(); ++k) {
      if (word[k] == '%' && k + 1 < word.size()) {
        out += word[k + 1] == 'u' ? std::string(user) : std::string("%");
        ++k;
      } else {
        out += word[k];
      }
    }
    argv.push_back(std::move(out));
  }
  return argv;
}

std::string DescribeConfig(const Config& config) {
  std::string out;
  for (const KeySpec& spec : kKeys) {
    std::string value = spec.show(config);
    if (value.empty()) {
      out += std::string("# ") + spec.name + " is not set\n";  // empty values do not parse
    } else {
      out += std::string(spec.name) + " = " + value + "\n";
    }
  }
  return out;
}

}  // namespace sesame
