#include "core/config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace sesame {
namespace {

constexpr const char* kFile = "/etc/security/sesame.conf";

Status ParseError(std::string_view text) {
  Result<Config> r = ParseConfig(text, kFile);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  if (r.ok()) return Status::Ok();
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status();
}

// The message starts with "FILE:LINE: " and contains `needle`.
void ExpectError(std::string_view text, int line, const std::string& needle) {
  Status st = ParseError(text);
  std::string prefix = std::string(kFile) + ":" + std::to_string(line) + ": ";
  EXPECT_EQ(st.message().rfind(prefix, 0), 0u) << st.message();
  EXPECT_NE(st.message().find(needle), std::string::npos)
      << "message: " << st.message() << "\nwanted: " << needle;
}

TEST(ConfigTest, EmptyTextGivesDefaults) {
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Config defaults;
  EXPECT_EQ(r->store, "sqlite");
  EXPECT_EQ(r->store_path, "/var/lib/sesame/sesame.db");
  EXPECT_EQ(r->store_busy_timeout_ms, 5000);
  EXPECT_EQ(r->postgres_dsn, "");
  EXPECT_EQ(r->postgres_passfile, "");
  EXPECT_EQ(r->postgres_connect_timeout, 3);
  EXPECT_EQ(r->postgres_statement_timeout, 5);
  EXPECT_EQ(r->key_file, "/etc/security/sesame.key");
  EXPECT_EQ(r->runtime_dir, "/run/sesame");
  EXPECT_EQ(r->argon2_time_cost, 3u);
  EXPECT_EQ(r->argon2_memory_kib, 65536u);
  EXPECT_EQ(r->argon2_parallelism, 1u);
  EXPECT_EQ(r->argon2_max_concurrent, 4);
  EXPECT_EQ(r->argon2_max_wait_ms, 10000);
  EXPECT_EQ(r->account_check_max_age_ms, 1000);
  EXPECT_EQ(DescribeConfig(*r), DescribeConfig(defaults));
}

TEST(ConfigTest, CommentsAndBlankLinesAreIgnored) {
  Result<Config> r = ParseConfig(
      "# a comment\n\n   \n\t\n  # indented comment = with equals\n#store = postgres\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store, "sqlite");
}

TEST(ConfigTest, EveryKeySet) {
  const char* text =
      "store = sqlite\n"
      "store_path = /srv/sesame/db.sqlite\n"
      "store_busy_timeout_ms = 0\n"
      "postgres_dsn = host=db.example.org dbname=sesame user=sesame sslmode=verify-full\n"
      "postgres_passfile = /etc/security/sesame.pgpass\n"
      "postgres_connect_timeout = 60\n"
      "postgres_statement_timeout = 300\n"
      "key_file = /srv/sesame/host.key\n"
      "runtime_dir = /run/other\n"
      "argon2_time_cost = 1000\n"
      "argon2_memory_kib = 4194304\n"
      "argon2_parallelism = 64\n"
      "argon2_max_concurrent = 1024\n"
      "argon2_max_wait_ms = 600000\n"
      "deny = 0\n"
      "fail_interval = 31536000\n"
      "unlock_time = 0\n"
      "lockout_exempt_root = yes\n"
      "exempt_users = root,backup\n"
      "account_check_max_age_ms = 10000\n"
      "password_min_length = 1024\n"
      "password_history = 100\n"
      "password_max_days = 36500\n"
      "password_quality = no\n"
      "banned_passwords_file = /etc/security/banned\n"
      "totp_algorithm = SHA512\n"
      "totp_digits = 8\n"
      "totp_period = 60\n"
      "totp_window = 0\n"
      "totp_issuer = Example Mail\n"
      "recovery_codes = 100\n"
      "mfa_required = group:mfa-users\n"
      "mfa_grace_days = 3650\n"
      "app_password_max = 1000\n"
      "app_passwords_for = all\n"
      "app_password_main_password = deny\n"
      "revoke_app_passwords_on_password_change = no\n"
      "on_revoke_command = /usr/bin/doveadm auth cache flush %u\n"
      "app_password_deny = 20\n"
      "app_password_fail_interval = 60\n"
      "app_password_unlock_time = 0\n"
      "show_last_sign_in = no\n"
      "activity_retention_days = 0\n"
      "self_service_reset = yes\n"
      "reset_methods = recovery_code\n";
  Result<Config> r = ParseConfig(text, kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store, "sqlite");
  EXPECT_EQ(r->store_path, "/srv/sesame/db.sqlite");
  EXPECT_EQ(r->store_busy_timeout_ms, 0);
  EXPECT_EQ(r->postgres_dsn, "host=db.example.org dbname=sesame user=sesame sslmode=verify-full");
  EXPECT_EQ(r->postgres_passfile, "/etc/security/sesame.pgpass");
  EXPECT_EQ(r->postgres_connect_timeout, 60);
  EXPECT_EQ(r->postgres_statement_timeout, 300);
  EXPECT_EQ(r->key_file, "/srv/sesame/host.key");
  EXPECT_EQ(r->runtime_dir, "/run/other");
  EXPECT_EQ(r->argon2_time_cost, 1000u);
  EXPECT_EQ(r->argon2_memory_kib, 4194304u);
  EXPECT_EQ(r->argon2_parallelism, 64u);
  EXPECT_EQ(r->argon2_max_concurrent, 1024);
  EXPECT_EQ(r->argon2_max_wait_ms, 600000);
  EXPECT_EQ(r->deny, 0);
  EXPECT_EQ(r->fail_interval, 31536000);
  EXPECT_EQ(r->unlock_time, 0);
  EXPECT_TRUE(r->lockout_exempt_root);
  EXPECT_EQ(r->exempt_users, (std::vector<std::string>{"root", "backup"}));
  EXPECT_EQ(r->account_check_max_age_ms, 10000);
  EXPECT_EQ(r->password_min_length, 1024);
  EXPECT_EQ(r->password_history, 100);
  EXPECT_EQ(r->password_max_days, 36500);
  EXPECT_FALSE(r->password_quality);
  EXPECT_EQ(r->banned_passwords_file, "/etc/security/banned");
  EXPECT_EQ(r->totp_algorithm, "SHA512");
  EXPECT_EQ(r->totp_digits, 8);
  EXPECT_EQ(r->totp_period, 60);
  EXPECT_EQ(r->totp_window, 0);
  EXPECT_EQ(r->totp_issuer, "Example Mail");
  EXPECT_EQ(r->recovery_codes, 100);
  EXPECT_EQ(r->mfa_required, "group:mfa-users");
  EXPECT_EQ(r->mfa_grace_days, 3650);
  EXPECT_EQ(r->app_password_max, 1000);
  EXPECT_EQ(r->app_passwords_for, "all");
  EXPECT_EQ(r->app_password_main_password, "deny");
  EXPECT_FALSE(r->revoke_app_passwords_on_password_change);
  EXPECT_EQ(r->on_revoke_command, "/usr/bin/doveadm auth cache flush %u");
  EXPECT_EQ(r->on_revoke_argv,
            (std::vector<std::string>{"/usr/bin/doveadm", "auth", "cache", "flush", "%u"}));
  EXPECT_EQ(r->app_password_deny, 20);
  EXPECT_TRUE(r->self_service_reset);
  EXPECT_EQ(r->reset_methods, std::vector<std::string>{"recovery_code"});
  EXPECT_EQ(r->app_password_fail_interval, 60);
  EXPECT_EQ(r->app_password_unlock_time, 0);
  EXPECT_FALSE(r->show_last_sign_in);
  EXPECT_EQ(r->activity_retention_days, 0);
  // ParseConfig does not know the file it came from: only LoadConfigFile sets it.
  EXPECT_EQ(r->source, "(defaults)");
  // DescribeConfig lists every key and parses back to the same values.
  EXPECT_EQ(DescribeConfig(*r), text);
  Result<Config> again = ParseConfig(DescribeConfig(*r), kFile);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(DescribeConfig(*again), text);
}

TEST(ConfigTest, KeysAreCaseInsensitiveAndWhitespaceIsTrimmed) {
  Result<Config> r = ParseConfig(
      "STORE_PATH=/a/b\n\tArgon2_Time_Cost\t=\t7\t\n  Key_File   =   /k  \nRUNTIME_DIR = /r",
      kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store_path, "/a/b");
  EXPECT_EQ(r->argon2_time_cost, 7u);
  EXPECT_EQ(r->key_file, "/k");
  EXPECT_EQ(r->runtime_dir, "/r");  // last line without a newline
}

TEST(ConfigTest, ValueMayContainEquals) {
  Result<Config> r = ParseConfig("store_path = /var/lib/a=b/c==d.db\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store_path, "/var/lib/a=b/c==d.db");
}

TEST(ConfigTest, Boundaries) {
  EXPECT_TRUE(ParseConfig("argon2_time_cost = 1", kFile).ok());
  EXPECT_TRUE(ParseConfig("argon2_time_cost = 0001", kFile).ok());
  EXPECT_TRUE(ParseConfig("argon2_memory_kib = 8", kFile).ok());
  EXPECT_TRUE(ParseConfig("argon2_max_wait_ms = 0", kFile).ok());
  ExpectError("argon2_time_cost = 0", 1, "use a whole number from 1 to 1000");
  ExpectError("argon2_time_cost = 1001", 1, "use a whole number from 1 to 1000");
  ExpectError("argon2_memory_kib = 7", 1, "from 8 to 4194304");
  ExpectError("argon2_memory_kib = 4194305", 1, "from 8 to 4194304");
  ExpectError("argon2_parallelism = 65", 1, "from 1 to 64");
  ExpectError("argon2_parallelism = 0", 1, "from 1 to 64");
  ExpectError("argon2_max_concurrent = 1025", 1, "from 1 to 1024");
  ExpectError("argon2_max_concurrent = 0", 1, "from 1 to 1024");
  ExpectError("argon2_max_wait_ms = 600001", 1, "from 0 to 600000");
  EXPECT_TRUE(ParseConfig("account_check_max_age_ms = 0", kFile).ok());
  ExpectError("account_check_max_age_ms = 10001", 1, "from 0 to 10000");
  ExpectError("account_check_max_age_ms = -1", 1, "from 0 to 10000");
  ExpectError("store_busy_timeout_ms = 600001", 1, "from 0 to 600000");
}

TEST(ConfigTest, BadNumbers) {
  ExpectError("\n\nargon2_time_cost = abc\n", 3,
              "argon2_time_cost = 'abc' is not accepted: use a whole number from 1 to 1000");
  for (const char* bad : {"-1", "+3", "0x10", "3 4", "3.0", "1e3", "3k", " 3a",
                          "99999999999999999999999999", "18446744073709551617", "４"}) {
    ExpectError(std::string("argon2_time_cost = ") + bad, 1, "use a whole number from 1 to 1000");
  }
}

TEST(ConfigTest, StoreValues) {
  ExpectError("store = mysql", 1, "store = 'mysql' is not accepted: use 'sqlite' or 'postgres'");
  ExpectError("store = SQLite", 1, "use 'sqlite' or 'postgres'");
  ExpectError("store = Postgres", 1, "use 'sqlite' or 'postgres'");
  ExpectError("store = postgresql", 1, "use 'sqlite' or 'postgres'");
  // Accepted whether or not this build has the backend: OpenStore says so.
  Result<Config> r = ParseConfig("store = postgres\npostgres_dsn = host=db dbname=sesame\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store, "postgres");
  EXPECT_EQ(r->postgres_dsn, "host=db dbname=sesame");
}

TEST(ConfigTest, PostgresStoreNeedsADsn) {
  // The error names the store line, the key and an example.
  ExpectError("# fleet\nstore = postgres\n", 2,
              "store = postgres needs postgres_dsn, the libpq connection string of the database "
              "(e.g. 'postgres_dsn = host=db.example.org dbname=sesame user=sesame')");
  ExpectError("store = postgres\npostgres_passfile = /etc/security/sesame.pgpass\n", 1,
              "needs postgres_dsn");
  // A DSN without store = postgres is kept, not an error (set up before the switch).
  Result<Config> r = ParseConfig("postgres_dsn = host=db\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store, "sqlite");
  EXPECT_EQ(r->postgres_dsn, "host=db");
  ExpectError("store = postgres\npostgres_dsn =\n", 2, "postgres_dsn needs a value");
}

TEST(ConfigTest, PostgresDsnValues) {
  for (const char* good :
       {"host=db.example.org dbname=sesame user=sesame", "host=/run/postgresql dbname=sesame",
        "host=db1,db2 port=5432,5433 target_session_attrs=read-write dbname=sesame",
        "service=sesame", "postgresql://sesame@db.example.org:5432/sesame?sslmode=verify-full",
        "postgres://db.example.org/sesame", "postgresql:///sesame?host=/run/postgresql",
        "application_name='sesame pam' host=db"}) {
    Result<Config> r = ParseConfig(std::string("postgres_dsn = ") + good, kFile);
    ASSERT_TRUE(r.ok()) << good << ": " << r.status().message();
    EXPECT_EQ(r->postgres_dsn, good);
  }
  // The config does not look for a password: the backend refuses one
  // (PQconninfoParse), so it is accepted here.
  EXPECT_TRUE(ParseConfig("postgres_dsn = host=db password=secret", kFile).ok());

  ExpectError("postgres_dsn = sesame", 1,
              "postgres_dsn = 'sesame' is not accepted: use a libpq connection string (e.g. "
              "'postgres_dsn = host=db.example.org dbname=sesame user=sesame') or a "
              "postgresql:// URI");
  ExpectError("postgres_dsn = db.example.org:5432", 1, "use a libpq connection string");
  ExpectError("postgres_dsn = host=db\tdbname=sesame", 1,
              "use a connection string without control characters");
  ExpectError("postgres_dsn = host=db\x01 dbname=x", 1, "control character");
  ExpectError(std::string("postgres_dsn = host=db") + '\0' + " dbname=x", 1, "NUL byte");
  ExpectError("postgres_dsn = host=db\r\n", 1, "carriage return");
  ExpectError("postgres_dsn = host=" + std::string(5000, 'a'), 1, "at most 4095 bytes");
  ExpectError("postgres_dsn = host=db # the fleet", 1, "does not start a comment");
}

TEST(ConfigTest, PostgresPassfileAndTimeouts) {
  ExpectError(
      "postgres_passfile = sesame.pgpass", 1,
      "postgres_passfile = 'sesame.pgpass' is not accepted: use an absolute path to a file");
  ExpectError("postgres_passfile = /etc/security/", 1, "not ending in '/'");
  EXPECT_TRUE(ParseConfig("postgres_connect_timeout = 2", kFile).ok());
  EXPECT_TRUE(ParseConfig("postgres_statement_timeout = 1", kFile).ok());
  // libpq takes connect_timeout 1 as 2: the config does not pretend otherwise.
  ExpectError("postgres_connect_timeout = 1", 1, "use a whole number from 2 to 60");
  ExpectError("postgres_connect_timeout = 0", 1, "use a whole number from 2 to 60");
  ExpectError("postgres_connect_timeout = 61", 1, "use a whole number from 2 to 60");
  ExpectError("postgres_statement_timeout = 0", 1, "use a whole number from 1 to 300");
  ExpectError("postgres_statement_timeout = 301", 1, "use a whole number from 1 to 300");
  ExpectError("postgres_statement_timeout = 5s", 1, "use a whole number from 1 to 300");
}

TEST(ConfigTest, PostgresConfigDescribesAndParsesBack) {
  const char* text =
      "store = postgres\n"
      "postgres_dsn = postgresql://sesame@db.example.org/sesame?sslmode=verify-full\n"
      "postgres_statement_timeout = 2\n";
  Result<Config> r = ParseConfig(text, kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string described = DescribeConfig(*r);
  EXPECT_EQ(described.rfind("store = postgres\n", 0), 0u) << described;
  EXPECT_NE(described.find("store_busy_timeout_ms = 5000\n"
                           "postgres_dsn = "
                           "postgresql://sesame@db.example.org/sesame?sslmode=verify-full\n"
                           "# postgres_passfile is not set\npostgres_connect_timeout = 3\n"
                           "postgres_statement_timeout = 2\n"),
            std::string::npos)
      << described;
  Result<Config> again = ParseConfig(described, kFile);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(DescribeConfig(*again), described);
}

TEST(ConfigTest, Paths) {
  ExpectError("store_path = relative/db", 1, "store_path = 'relative/db' is not accepted");
  ExpectError("key_file = sesame.key", 1, "absolute path");
  ExpectError("runtime_dir = run/sesame", 1, "absolute path to a directory");
  ExpectError("key_file = /etc/security/", 1, "not ending in '/'");
  EXPECT_TRUE(ParseConfig("runtime_dir = /run/sesame/", kFile).ok());
  ExpectError("store_path = /" + std::string(5000, 'a'), 1, "at most 4095 bytes");
}

TEST(ConfigTest, YesNoValues) {
  ExpectError("password_quality = true", 1,
              "password_quality = 'true' is not accepted: use 'yes' or 'no'");
  ExpectError("lockout_exempt_root = 1", 1, "use 'yes' or 'no'");
  Result<Config> r = ParseConfig("password_quality = no\nlockout_exempt_root = yes\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->password_quality);
  EXPECT_TRUE(r->lockout_exempt_root);
  ExpectError("deny = 1001", 1, "use a whole number from 0 to 1000");
  ExpectError("banned_passwords_file = words.txt", 1, "absolute path");
}

TEST(ConfigTest, TotpValues) {
  ExpectError("totp_algorithm = sha1", 1, "use SHA1, SHA256 or SHA512");
  ExpectError("totp_digits = 7\ntotp_digits = 9", 2, "duplicate key");
  ExpectError("totp_digits = 9", 1, "use a whole number from 6 to 8");
  ExpectError("totp_period = 5", 1, "from 10 to 300");
  ExpectError("totp_issuer = a\x1b[31m", 1, "control");
  ExpectError("recovery_codes = 0", 1, "from 1 to 100");
}

TEST(ConfigTest, MfaRequiredValues) {
  for (const char* good : {"no", "all", "group:wheel", "group:mail-users", "group:x$"}) {
    Result<Config> r = ParseConfig(std::string("mfa_required = ") + good + "\n", kFile);
    ASSERT_TRUE(r.ok()) << good << ": " << r.status().message();
    EXPECT_EQ(r->mfa_required, good);
  }
  ExpectError("mfa_required = yes", 1, "use 'no', 'all' or 'group:NAME'");
  ExpectError("mfa_required = group:", 1, "the group name is empty");
  ExpectError("mfa_required = group:-x", 1, "may not start with '-'");
  ExpectError("mfa_required = group:a/b", 1, "not allowed");
  ExpectError("mfa_required = group:" + std::string(33, 'g'), 1, "longer than 32 bytes");
  ExpectError("mfa_required = @wheel", 1, "group:NAME");
  ExpectError("mfa_grace_days = 3651", 1, "from 0 to 3650");
  ExpectError("mfa_grace_days = -1", 1, "from 0 to 3650");
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mfa_required, "no");
  EXPECT_EQ(r->mfa_grace_days, 7);
}

TEST(ConfigTest, UnsetOptionalPathIsDescribedAsAComment) {
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok());
  std::string described = DescribeConfig(*r);
  EXPECT_NE(described.find("# banned_passwords_file is not set\n"), std::string::npos);
  EXPECT_NE(described.find("# postgres_dsn is not set\n"), std::string::npos);
  EXPECT_NE(described.find("# postgres_passfile is not set\n"), std::string::npos);
  EXPECT_TRUE(ParseConfig(described, kFile).ok());
}

TEST(ConfigTest, UnknownKeyWithSuggestion) {
  ExpectError("store = sqlite\n\n\n\n\n\nstroe = sqlite\n", 7,
              "unknown key 'stroe' (did you mean 'store'? accepted keys: store, store_path, ");
  ExpectError("argon2_time_cots = 3", 1, "did you mean 'argon2_time_cost'?");
  ExpectError("KEYFILE = /k", 1, "did you mean 'key_file'?");
  Status st = ParseError("colour = blue");
  EXPECT_EQ(st.message().find("did you mean"), std::string::npos) << st.message();
  EXPECT_NE(
      st.message().find(
          "accepted keys: store, store_path, store_busy_timeout_ms, postgres_dsn, "
          "postgres_passfile, postgres_connect_timeout, "
          "postgres_statement_timeout, key_file, runtime_dir, argon2_time_cost, argon2_memory_kib, "
          "argon2_parallelism, argon2_max_concurrent, argon2_max_wait_ms, "
          "deny, fail_interval, unlock_time, lockout_exempt_root, "
          "exempt_users, account_check_max_age_ms, password_min_length, password_history, "
          "password_max_days, "
          "password_quality, banned_passwords_file, totp_algorithm, "
          "totp_digits, totp_period, totp_window, totp_issuer, "
          "recovery_codes, mfa_required, mfa_grace_days, app_password_max, "
          "app_passwords_for, app_password_main_password, "
          "revoke_app_passwords_on_password_change, on_revoke_command, "
          "app_password_deny, app_password_fail_interval, "
          "app_password_unlock_time, show_last_sign_in, "
          "activity_retention_days, self_service_reset, reset_methods)"),
      std::string::npos)
      << st.message();
  ExpectError("postgres_dns = host=db", 1, "did you mean 'postgres_dsn'?");
}

TEST(ConfigTest, DuplicateKey) {
  ExpectError("# x\nstore = sqlite\n\n\n\n\n\n\nSTORE = sqlite\n", 9,
              "duplicate key 'store' (first set on line 2)");
}

TEST(ConfigTest, LineWithoutEquals) {
  ExpectError("store = sqlite\n\n\nstore_path /x\n", 4, "line has no '=' (expected 'key = value')");
  ExpectError(" = value", 1, "no key before '='");
}

TEST(ConfigTest, EmptyValue) {
  ExpectError("store_path =", 1, "store_path needs a value");
  ExpectError("argon2_time_cost = \t ", 1, "argon2_time_cost needs a value");
}

TEST(ConfigTest, InlineCommentIsExplained) {
  ExpectError("store = sqlite # default", 1, "put comments on their own line");
}

TEST(ConfigTest, BadBytes) {
  ExpectError(std::string("# ok\n\n\n\nstore = sq\0lite\n", 20), 5, "NUL byte");
  ExpectError(std::string("# comment with \0 NUL\n", 21), 1, "NUL byte");
  ExpectError("store = sqlite\r\n", 1, "carriage return (file saved with DOS line endings?)");
  ExpectError("\n\n\n\n\nstore = sql\x01ite\n", 6, "control character \\x01");
  ExpectError("store = sqlite\x7f", 1, "control character \\x7f");
  ExpectError("store = sqlite\n\n\n\n\nstore_path = /a\xff\xfe\n", 6, "not valid UTF-8");
  ExpectError("\xEF\xBB\xBFstore = sqlite\n", 1, "byte order mark");
  // Messages never carry the raw bytes.
  Status st = ParseError("store = sql\x1b[31mite\n");
  EXPECT_EQ(st.message().find('\x1b'), std::string::npos);
  st = ParseError("sto\x1bre = sqlite\n");
  EXPECT_EQ(st.message().find('\x1b'), std::string::npos);
}

TEST(ConfigTest, ValuesInMessagesAreEscaped) {
  Status st = ParseError("argon2_time_cost = \"x\\y\"");
  EXPECT_EQ(st.message().find("\"x"), std::string::npos) << st.message();
  st = ParseError("st\xc3\xa9re = 1");  // valid UTF-8, unknown key
  EXPECT_NE(st.message().find("st\\xc3\\xa9re"), std::string::npos) << st.message();
}

TEST(ConfigTest, MemoryMustCoverParallelism) {
  ExpectError("argon2_parallelism = 4\nargon2_memory_kib = 31\n", 2,
              "argon2_memory_kib = 31 is not accepted: with argon2_parallelism = 4 (line 1) it "
              "must be at least 32");
  // Checked after the whole file: order does not matter, the line is memory's.
  ExpectError("\nargon2_memory_kib = 100\n\nargon2_parallelism = 13\n", 2, "at least 104");
  EXPECT_TRUE(ParseConfig("argon2_memory_kib = 32\nargon2_parallelism = 4\n", kFile).ok());
}

TEST(ConfigTest, FileNameInMessages) {
  Result<Config> r = ParseConfig("a = b", "/tmp/other.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("/tmp/other.conf:1: ", 0), 0u) << r.status().message();
}

TEST(ConfigTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(12345);
  std::string noise(1 << 20, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  EXPECT_FALSE(ParseConfig(noise, kFile).ok());

  // Printable garbage, many lines, mostly without '='.
  std::string printable;
  const char alphabet[] = "abcdefgh_ =#\t\n/0123456789";
  while (printable.size() < (1u << 20)) printable += alphabet[rng() % (sizeof alphabet - 1)];
  EXPECT_FALSE(ParseConfig(printable, kFile).ok());

  // One huge line that looks like a key.
  EXPECT_FALSE(ParseConfig(std::string(1 << 20, 'k') + " = 1", kFile).ok());
  EXPECT_FALSE(ParseConfig("store_path = /" + std::string(1 << 20, 'p'), kFile).ok());
  EXPECT_FALSE(ParseConfig(std::string(1 << 20, '='), kFile).ok());

  // Mutations of a valid file: each must parse or fail cleanly.
  const std::string valid =
      "store = sqlite\nstore_path = /var/lib/sesame/sesame.db\nargon2_time_cost = 3\n"
      "argon2_memory_kib = 65536\nargon2_parallelism = 1\nargon2_max_wait_ms = 10000\n";
  for (int i = 0; i < 20000; ++i) {
    std::string text = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(pos, 1, static_cast<char>(rng()));
          break;
        case 1:
          if (pos < text.size()) text.erase(pos, 1);
          break;
        default:
          if (pos < text.size()) text[pos] = static_cast<char>(rng());
      }
    }
    Result<Config> r = ParseConfig(text, kFile);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind(std::string(kFile) + ":", 0), 0u);
    }
  }
}

// LoadConfigFile: real files, as root, in a private temp dir.
class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("SESAME_TEST_TMPDIR");
    std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
    mkdir(root.c_str(), 0700);  // may exist already
    std::string templ = root + "/config_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << templ;
    dir_ = templ;
  }
  void TearDown() override {
    if (!path_.empty()) unlink(path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  void Write(const std::string& text, mode_t mode) {
    path_ = dir_ + "/sesame.conf";
    std::ofstream(path_, std::ios::binary) << text;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(ConfigFileTest, LoadsAndSetsSource) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the config must be owned by root)";
  Write("argon2_time_cost = 5\n", 0644);
  Result<Config> r = LoadConfigFile(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->argon2_time_cost, 5u);
  EXPECT_EQ(r->source, path_);
}

TEST_F(ConfigFileTest, ErrorsNameTheFile) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the config must be owned by root)";
  Write("# x\nargon2_time_cost = 0\n", 0644);
  Result<Config> r = LoadConfigFile(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(path_ + ":2: ", 0), 0u) << r.status().message();
}

TEST_F(ConfigFileTest, UnsafeOrMissingFileRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the config must be owned by root)";
  Write("", 0666);
  Result<Config> r = LoadConfigFile(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  r = LoadConfigFile(dir_ + "/missing.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(ConfigFileTest, TooLargeRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the config must be owned by root)";
  Write(std::string(kMaxConfigBytes + 1, '#'), 0644);
  Result<Config> r = LoadConfigFile(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(ConfigTest, AppPasswordDefaults) {
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->app_password_max, 25);
  EXPECT_EQ(r->app_passwords_for, "mfa_users");
  EXPECT_EQ(r->app_password_main_password, "deny_if_mfa");
  EXPECT_TRUE(r->revoke_app_passwords_on_password_change);
  EXPECT_TRUE(r->on_revoke_command.empty());
  EXPECT_TRUE(r->on_revoke_argv.empty());
  EXPECT_EQ(r->app_password_deny, 5);
  EXPECT_EQ(r->app_password_fail_interval, 900);
  EXPECT_EQ(r->app_password_unlock_time, 600);
}

TEST(ConfigTest, ActivityKeys) {
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->show_last_sign_in);
  EXPECT_EQ(r->activity_retention_days, 90);
  r = ParseConfig("show_last_sign_in = no\nactivity_retention_days = 36500\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->show_last_sign_in);
  EXPECT_EQ(r->activity_retention_days, 36500);
  ExpectError("activity_retention_days = -1", 1, "activity_retention_days");
  ExpectError("activity_retention_days = 36501", 1, "activity_retention_days");
  ExpectError("show_last_sign_in = maybe", 1, "show_last_sign_in");
}

TEST(ConfigTest, SelfServiceResetIsOffByDefaultAndAsksBothMethods) {
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->self_service_reset);
  EXPECT_EQ(r->reset_methods, (std::vector<std::string>{"totp", "recovery_code"}));
}

// Any non-empty subset, each once, kept in the order a reset asks (the
// code first), whatever order it is written in.
TEST(ConfigTest, ResetMethodsAreASubsetInAskingOrder) {
  struct Case {
    const char* text;
    std::vector<std::string> methods;
  };
  for (const Case& c : {Case{"totp", {"totp"}}, Case{"recovery_code", {"recovery_code"}},
                        Case{"recovery_code, totp", {"totp", "recovery_code"}},
                        Case{"totp,recovery_code", {"totp", "recovery_code"}}}) {
    SCOPED_TRACE(c.text);
    Result<Config> r = ParseConfig(std::string("reset_methods = ") + c.text + "\n", kFile);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->reset_methods, c.methods);
  }
  for (const char* bad :
       {"", "totp,", ",totp", "totp,totp", "password", "TOTP", "sms", "totp recovery_code"}) {
    SCOPED_TRACE(bad);
    Result<Config> r = ParseConfig(std::string("reset_methods = ") + bad + "\n", kFile);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("reset_methods"), std::string::npos)
        << r.status().message();
  }
  Result<Config> shown = ParseConfig("reset_methods = recovery_code,totp\n", kFile);
  ASSERT_TRUE(shown.ok());
  EXPECT_NE(DescribeConfig(*shown).find("reset_methods = totp,recovery_code\n"), std::string::npos);
}

// The app-password bucket's keys not set follow the interactive ones; set,
// they are their own.
TEST(ConfigTest, AppPasswordBucketFollowsTheLockoutUnlessSet) {
  Result<Config> follows = ParseConfig("deny = 3\nfail_interval = 60\nunlock_time = 0\n", kFile);
  ASSERT_TRUE(follows.ok()) << follows.status().message();
  EXPECT_EQ(follows->app_password_deny, 3);
  EXPECT_EQ(follows->app_password_fail_interval, 60);
  EXPECT_EQ(follows->app_password_unlock_time, 0);
  // Keys after or before: the order of the lines does not matter.
  Result<Config> own =
      ParseConfig("app_password_deny = 20\ndeny = 3\napp_password_unlock_time = 30\n", kFile);
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_EQ(own->deny, 3);
  EXPECT_EQ(own->app_password_deny, 20);
  EXPECT_EQ(own->app_password_fail_interval, 900);
  EXPECT_EQ(own->app_password_unlock_time, 30);
}

TEST(ConfigTest, AppPasswordValuesRefused) {
  const char* bad[] = {
      "app_passwords_for = everyone\n",
      "app_passwords_for = MFA_USERS\n",
      "app_password_main_password = maybe\n",
      "app_password_max = 1001\n",
      "app_password_max = -1\n",
      "revoke_app_passwords_on_password_change = true\n",
      "app_password_deny = 1001\n",
      "app_password_fail_interval = 0\n",
      "on_revoke_command = doveadm auth cache flush %u\n",   // not an absolute path
      "on_revoke_command = /bin/sh -c \"echo %u\"\n",        // quotes: no shell here
      "on_revoke_command = /usr/bin/doveadm flush $USER\n",  // no variables
      "on_revoke_command = /usr/bin/doveadm flush `id`\n",   // no command substitution
      "on_revoke_command = /usr/bin/doveadm flush %s\n",     // only %u and %%
      "on_revoke_command = /usr/bin/doveadm flush 100%\n",   // a lone %
      "on_revoke_command = %u\n",                            // the program is not a user
      "on_revoke_command = /usr/bin/x \\%u\n",               // no backslashes
  };
  for (const char* text : bad) {
    Result<Config> r = ParseConfig(text, kFile);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(":1: "), std::string::npos) << r.status().message();
    }
  }
  std::string many = "on_revoke_command = /bin/true";
  for (int i = 0; i < 32; ++i) many += " w";
  EXPECT_FALSE(ParseConfig(many + "\n", kFile).ok());
  std::string long_one = "on_revoke_command = /bin/" + std::string(5000, 'x') + "\n";
  EXPECT_FALSE(ParseConfig(long_one, kFile).ok());
}

TEST(ConfigTest, RevokeCommandSplitsWordsAndFillsInTheUser) {
  Result<Config> r =
      ParseConfig("on_revoke_command = /usr/local/bin/flush\t--user=%u   100%%  %u%u\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(
      RevokeCommandFor(*r, "alice"),
      (std::vector<std::string>{"/usr/local/bin/flush", "--user=alice", "100%", "alicealice"}));
  // The text is kept as written (for DescribeConfig), and parses back.
  Result<Config> again = ParseConfig(DescribeConfig(*r), kFile);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->on_revoke_argv, r->on_revoke_argv);
  Result<Config> none = ParseConfig("", kFile);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(RevokeCommandFor(*none, "alice").empty());
}

TEST(ConfigTest, ExemptUsersDefaultToRootAndTakeAList) {
  Result<Config> r = ParseConfig("", kFile);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exempt_users, (std::vector<std::string>{"root"}));
  EXPECT_TRUE(IsExemptUser(*r, "root"));
  EXPECT_FALSE(IsExemptUser(*r, "Root"));
  EXPECT_FALSE(IsExemptUser(*r, "alice"));

  r = ParseConfig("exempt_users = root, backup ,nagios\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exempt_users, (std::vector<std::string>{"root", "backup", "nagios"}));
  EXPECT_TRUE(IsExemptUser(*r, "nagios"));
  EXPECT_NE(DescribeConfig(*r).find("exempt_users = root,backup,nagios\n"), std::string::npos);

  r = ParseConfig("exempt_users = none\n", kFile);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->exempt_users.empty());
  EXPECT_FALSE(IsExemptUser(*r, "root"));
  // DescribeConfig's output parses back to the same list.
  Result<Config> again = ParseConfig(DescribeConfig(*r), kFile);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->exempt_users.empty());
}

TEST(ConfigTest, ExemptUsersValuesRefused) {
  const char* kUse = "use user names separated by commas (e.g. 'root, backup'), or 'none'";
  ExpectError("exempt_users = root,,backup", 1, kUse);
  ExpectError("exempt_users = root,", 1, kUse);
  ExpectError("exempt_users = root backup", 1, kUse);
  ExpectError("exempt_users = root, root", 1, "'root' is named twice");
  ExpectError("exempt_users = root, none", 1, "'none' must stand alone");
  ExpectError("exempt_users = -root", 1, kUse);
}

}  // namespace
}  // namespace sesame

namespace sesame {
namespace {

// A password in postgres_dsn is refused when the store opens, but the
// module's debug line (DescribeConfig) and a message about the line must
// never show it: syslog is readable by more people than the config.
TEST(ConfigDsnPasswordTest, NeverShownInTheDescriptionOrAMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"host=db dbname=s user=s password=s3cret-1", "password=***"},
      {"host=db password = 's3cret 1' dbname=s user=s", "password = ***"},
      {"password=s3cret-1", "password=***"},
      {"postgresql://sesame:s3cret-1@db.example.org/sesame", "sesame:***@db.example.org"},
      {"postgresql://db.example.org/sesame?user=s&password=s3cret-1&sslmode=verify-full",
       "password=***&sslmode"},
  };
  for (const auto& [dsn, masked] : cases) {
    Result<Config> r = ParseConfig(std::string("store = postgres\npostgres_dsn = ") + dsn + "\n",
                                   "/etc/security/sesame.conf");
    ASSERT_TRUE(r.ok()) << dsn << ": " << r.status().message();
    const std::string described = DescribeConfig(*r);
    EXPECT_EQ(described.find("s3cret"), std::string::npos) << described;
    EXPECT_NE(described.find(masked), std::string::npos) << described;
  }
  // Refused lines are quoted in the message: masked too.
  Result<Config> bad =
      ParseConfig("postgres_dsn = host=db password=s3cret-1 # note\n", "/etc/security/sesame.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("s3cret"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("password=***"), std::string::npos)
      << bad.status().message();
  // Nothing else is changed: a DSN without a password is shown as written.
  Result<Config> plain =
      ParseConfig("store = postgres\npostgres_dsn = host=db passwordless=1 dbname=s user=s\n", "f");
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(DescribeConfig(*plain).find("host=db passwordless=1 dbname=s user=s"),
            std::string::npos);
}

}  // namespace
}  // namespace sesame
