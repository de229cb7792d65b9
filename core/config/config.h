// Config: the policy from /etc/security/sesame.conf.
//
// Format: one `key = value` per line; blank lines and lines whose first
// non-blank character is `#` are ignored; keys are case-insensitive; values
// are trimmed. An unknown key, a bad value, a duplicate key, a line without
// `=`, a NUL byte, a control character or a non-UTF-8 byte is an error that
// names the file, the line and what is accepted. A PAM module denies; it
// never guesses.
//
// ParseConfig takes text only. Opening the file safely is LoadConfigFile's
// job (see safe_file.h).
#ifndef SESAME_CORE_CONFIG_CONFIG_H_
#define SESAME_CORE_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace sesame {

inline constexpr const char* kDefaultConfigPath = "/etc/security/sesame.conf";
inline constexpr size_t kMaxConfigBytes = size_t{64} * 1024;

struct Config {
  std::string source = "(defaults)";  // file the values came from, for messages

  std::string store = "sqlite";
  std::string store_path = "/var/lib/sesame/sesame.db";
  int store_busy_timeout_ms = 5000;
  // store = postgres (core/store/postgres/). postgres_dsn is a libpq
  // connection string ("host=... dbname=... user=...") or a postgresql://
  // URI, required with store = postgres. The config does not look inside
  // it: the backend (PQconninfoParse) refuses one that holds a password,
  // which belongs in postgres_passfile, a libpq passfile that must be
  // root's and not readable by group or others (the key file's rule).
  std::string postgres_dsn;            // empty: not set
  std::string postgres_passfile;       // empty: none
  int postgres_connect_timeout = 3;    // seconds to connect (libpq's minimum is 2)
  int postgres_statement_timeout = 5;  // seconds one statement may take; then it fails closed
  std::string key_file = "/etc/security/sesame.key";
  std::string runtime_dir = "/run/sesame";

  uint32_t argon2_time_cost = 3;
  uint32_t argon2_memory_kib = 65536;
  uint32_t argon2_parallelism = 1;
  int argon2_max_concurrent = 4;
  int argon2_max_wait_ms = 10000;

  // Lockout, as pam_faillock (deny 0: no lockout; unlock_time 0: until an
  // administrator unlocks).
  int deny = 5;
  int fail_interval = 900;
  int unlock_time = 600;
  bool lockout_exempt_root = false;

  // Accounts pam_sesame leaves to the next module (PAM_USER_UNKNOWN, as for
  // a user not in the store) before it opens the key or the store, so a
  // broken store never locks them out: root by default. Empty: none
  // ("exempt_users = none"). See IsExemptUser.
  std::vector<std::string> exempt_users = {"root"};
  // The account check (pam_acct_mgmt) right after a successful sign-in on
  // the same PAM handle decides on the account state that sign-in's own
  // write read, when it is at most this many ms old; 0: it always reads
  // the store again.
  int account_check_max_age_ms = 1000;

  // Password policy for new passwords.
  int password_min_length = 12;       // characters (UTF-8 code points)
  int password_history = 5;           // earlier passwords that may not be reused
  int password_max_days = 0;          // 0: passwords never expire
  bool password_quality = true;       // libpwquality checks (/etc/security/pwquality.conf)
  std::string banned_passwords_file;  // empty: none

  // Authenticator apps (RFC 6238). Most apps handle only SHA1/6/30.
  std::string totp_algorithm = "SHA1";  // SHA1, SHA256 or SHA512
  int totp_digits = 6;
  int totp_period = 30;
  int totp_window = 1;      // steps accepted before and after the current one
  std::string totp_issuer;  // empty: the host name
  int recovery_codes = 10;  // made at enrollment

  // Who must use MFA besides those an administrator names
  // (sesame-admin mfa require): "no", "all", or "group:NAME".
  std::string mfa_required = "no";
  int mfa_grace_days = 7;  // days to enroll in-session once required; 0: none

  // App passwords (mode=app_password, sesame app-password).
  int app_password_max = 25;                    // live ones per user; 0: none may be made
  std::string app_passwords_for = "mfa_users";  // who may make them: "mfa_users" or "all"
  // In mode=app_password, whose main password is accepted: "allow" (all),
  // "deny_if_mfa" (users without MFA only) or "deny" (nobody's).
  std::string app_password_main_password = "deny_if_mfa";
  bool revoke_app_passwords_on_password_change = true;
  // Run after app passwords are revoked: as written, and split into words
  // at load (no shell; %u is the user name, %% a '%').
  std::string on_revoke_command;
  std::vector<std::string> on_revoke_argv;
  // The app-password lockout bucket; each one not set takes the value of
  // deny, fail_interval or unlock_time.
  int app_password_deny = 5;
  int app_password_fail_interval = 900;
  int app_password_unlock_time = 600;

  // Sign-in activity: the "Last sign-in" line after an interactive
  // sign-in, and how many days events are kept (0: all of them).
  bool show_last_sign_in = true;
  int activity_retention_days = 90;

  // Forgotten password (self-service reset at the sign-in prompt and
  // sesame passwd --forgot): off by default. reset_methods is what a reset
  // must prove, in this order: "totp", "recovery_code" (one or both).
  bool self_service_reset = false;
  std::vector<std::string> reset_methods = {"totp", "recovery_code"};
};

// on_revoke_command's words with %u replaced by `user` (a name already
// checked by CheckUserName) and %% by '%'.
std::vector<std::string> RevokeCommandFor(const Config& config, std::string_view user);

// The account exempt when no configuration can be used (a missing or
// unsafe config file, a bad line, bad module arguments): pam_sesame cannot
// read exempt_users then, and root must still reach pam_unix.
inline constexpr const char* kFallbackExemptUser = "root";

// Whether `user` is in config.exempt_users (names compared exactly).
bool IsExemptUser(const Config& config, std::string_view user);

// Parses config text. `filename` is used in messages only.
Result<Config> ParseConfig(std::string_view text, std::string_view filename);

// Opens `path` as a trusted root file (ReadTrustedFile) and parses it.
Result<Config> LoadConfigFile(const std::string& path);

// The effective values as "key = value" lines, one per accepted key, in a
// fixed order (for the `debug` option and `sesame-admin`). Paths are shown as
// they are; ParseConfig accepts the output.
std::string DescribeConfig(const Config& config);

}  // namespace sesame

#endif  // SESAME_CORE_CONFIG_CONFIG_H_
