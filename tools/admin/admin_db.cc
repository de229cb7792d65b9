// sesame-admin db check | migrate | copy: the store's schema version and
// integrity (PostgreSQL: its rows and their consistency); forward
// migrations (SQLite: after a backup of the file); a host's SQLite store
// copied into the PostgreSQL store, all or nothing.
//
// MUST rules:
//  - check changes nothing;
//  - SQLite: migrate makes a complete backup (0600, next to the store, never
//    over an existing file) before the first migration, and none when
//    nothing is to be done; a failed backup migrates nothing;
//  - PostgreSQL: migrate makes no backup (that is pg_dump's job, and the
//    man page says to run it first) and says so; each migration is one
//    transaction under an advisory lock (postgres_store.cc);
//  - copy writes nothing unless every row is copied (one transaction), and
//    refuses a file whose authenticator secrets do not open with this
//    host's key (the copied secrets, codes and app passwords would not work);
//  - messages name the server (DescribePostgresDsn), never a secret.
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config.h"
#include "core/crypto/key_file.h"
#include "core/crypto/secret_box.h"
#include "core/store/open/open_store.h"
#include "core/store/sqlite/sqlite_maintenance.h"
#include "core/store/sqlite/sqlite_store.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#ifdef SESAME_WITH_POSTGRES
#include "core/store/postgres/postgres_maintenance.h"
#endif

namespace sesame::admin {
namespace {

constexpr TrustRule kStoreTrust{0, true};

#ifdef SESAME_WITH_POSTGRES
static_assert(kCopiedSqliteSchemaVersion == kSqliteSchemaVersion,
              "db copy reads the SQLite schema of kCopiedSqliteSchemaVersion: teach "
              "core/store/postgres/postgres_copy.cc the new SQLite columns");
#endif

Result<Config> LoadConfig(const Invocation& inv) {
  Result<Config> config = LoadConfigFile(inv.config_path);
  if (!config.ok()) return ConfigProblem(config.status());
  return config;
}

#ifndef SESAME_WITH_POSTGRES
Status NoPostgresBackend() {
  return Status(Code::kUnavailable,
                "store = postgres, but this build of sesame-admin has no PostgreSQL backend (it "
                "was built without libpq); use a build with it");
}
#endif

// ---- SQLite ----

struct Loaded {
  Config config;
  SqliteFacts facts;
};

Result<Loaded> LoadSqlite(const Config& config) {
  Result<SqliteFacts> facts =
      InspectSqliteStore(config.store_path, kStoreTrust, config.store_busy_timeout_ms);
  // kNotFound stays: exit 3 tells the package's postinst "no store yet".
  if (!facts.ok()) return facts.status();
  return Loaded{config, *facts};
}

void PrintJson(const Loaded& l, const char* action, const std::string& backup) {
  JsonWriter j;
  j.BeginObject().Key("backend").String("sqlite").Key("store").String(l.config.store_path);
  j.Key("schema_version").Int(l.facts.schema_version);
  j.Key("current_version").Int(l.facts.known_version);
  j.Key("integrity").String(l.facts.integrity_ok ? "ok" : l.facts.integrity);
  if (action != nullptr) j.Key("action").String(action);
  if (!backup.empty()) j.Key("backup").String(backup);
  j.EndObject();
  std::printf("%s\n", j.str().c_str());
}

std::string BackupPath(const std::string& store, int version) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return store + ".v" + std::to_string(version) + "-" + stamp + ".bak";
}

int SqliteCheck(const Invocation& inv, const Config& config) {
  Result<Loaded> l = LoadSqlite(config);
  if (!l.ok()) return Fail(l.status());
  const SqliteFacts& f = l->facts;
  if (inv.json) PrintJson(*l, nullptr, "");
  if (!inv.json) {
    std::printf("store: %s\nschema version: %d (this sesame: %d)\nintegrity: %s\n",
                l->config.store_path.c_str(), f.schema_version, f.known_version,
                f.integrity_ok ? "ok" : f.integrity.c_str());
  }
  if (!f.integrity_ok)
    return Fail(Status(Code::kCorrupt, "store " + l->config.store_path +
                                           " failed its integrity check; restore it from a "
                                           "backup"));
  if (f.schema_version < f.known_version)
    return Fail(Status(Code::kUnavailable, "schema version " + std::to_string(f.schema_version) +
                                               " is older than " + std::to_string(f.known_version) +
                                               ": run `sesame-admin db migrate`"));
  if (f.schema_version > f.known_version)
    return Fail(Status(Code::kUnavailable,
                       "schema version " + std::to_string(f.schema_version) +
                           " is newer than this sesame knows; install the sesame that made it"));
  return kExitOk;
}

int SqliteMigrate(const Invocation& inv, const Config& config) {
  Result<Loaded> l = LoadSqlite(config);
  if (!l.ok()) return Fail(l.status());
  const SqliteFacts& f = l->facts;
  if (!f.integrity_ok)
    return Fail(Status(Code::kCorrupt, "store " + l->config.store_path +
                                           " failed its integrity check (" + f.integrity +
                                           "); not migrating: restore it from a backup"));
  if (f.schema_version > f.known_version)
    return Fail(Status(Code::kUnavailable,
                       "schema version " + std::to_string(f.schema_version) +
                           " is newer than this sesame knows; install the sesame that made it"));
  if (f.schema_version == f.known_version || f.schema_version == 0) {
    if (inv.json) {
      PrintJson(*l, "none", "");
    } else {
      std::printf("store %s is at schema version %d: nothing to migrate\n",
                  l->config.store_path.c_str(), f.schema_version);
    }
    return kExitOk;
  }
  const std::string backup = BackupPath(l->config.store_path, f.schema_version);
  Status copied =
      BackupSqliteStore(l->config.store_path, backup, kStoreTrust, l->config.store_busy_timeout_ms);
  if (!copied.ok()) return Fail(Status(copied.code(), copied.message() + "; nothing migrated"));
  StoreOptions options;
  options.migrate = true;
  Result<std::unique_ptr<Store>> store = OpenStore(l->config, options);
  if (!store.ok())
    return Fail(Status(store.status().code(),
                       store.status().message() + " (the backup is " + backup + ")"));
  Result<Loaded> after = LoadSqlite(config);
  if (!after.ok()) return Fail(after.status());
  if (inv.json) {
    PrintJson(*after, "migrated", backup);
  } else {
    std::printf("store %s migrated from schema version %d to %d; backup: %s\n",
                l->config.store_path.c_str(), f.schema_version, after->facts.schema_version,
                backup.c_str());
  }
  return kExitOk;
}

// ---- PostgreSQL ----

#ifdef SESAME_WITH_POSTGRES

std::string Joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

void PrintPostgresJson(const std::string& where, const PostgresFacts& f, const char* action) {
  JsonWriter j;
  j.BeginObject().Key("backend").String("postgres").Key("store").String(where);
  const PostgresConnectionInfo& c = f.connection;
  j.Key("server").BeginObject();
  j.Key("connected_to").String(c.connected_to);
  j.Key("version").String(PostgresVersionText(c.server_version));
  j.Key("tls").Bool(c.tls);
  if (c.tls) j.Key("tls_protocol").String(c.tls_protocol);
  j.Key("user").String(c.user).Key("read_only").Bool(c.read_only).EndObject();
  j.Key("schema_version").Int(f.schema_version);
  j.Key("current_version").Int(f.known_version);
  j.Key("integrity").String(f.problems.empty() ? "ok" : Joined(f.problems, "; "));
  j.Key("rows").BeginObject();
  for (const auto& [table, count] : f.rows) j.Key(table).Int(count);
  j.EndObject();
  if (action != nullptr) {
    j.Key("action").String(action);
    j.Key("backup").String("");  // none: pg_dump's job
  }
  j.EndObject();
  std::printf("%s\n", j.str().c_str());
}

int PostgresCheck(const Invocation& inv, const Config& config) {
  const std::string where = DescribePostgresDsn(config.postgres_dsn);
  Result<PostgresFacts> facts = InspectPostgresStore(PostgresOptionsOf(config));
  if (!facts.ok()) return Fail(facts.status());
  const PostgresFacts& f = *facts;
  if (inv.json) {
    PrintPostgresJson(where, f, nullptr);
  } else {
    std::printf("store: postgres %s\nserver: %s\nschema version: %d (this sesame: %d)\n",
                where.c_str(), PostgresServerText(f.connection).c_str(), f.schema_version,
                f.known_version);
    if (!f.rows.empty()) {
      std::string rows;
      for (const auto& [table, count] : f.rows)
        rows += (rows.empty() ? "" : ", ") + table + " " + std::to_string(count);
      std::printf("rows: %s\n", rows.c_str());
      std::printf("consistency: %s\n", f.problems.empty() ? "ok" : "FAILED");
      for (const std::string& problem : f.problems) std::printf("  %s\n", problem.c_str());
    }
  }
  if (f.schema_version == 0)
    return Fail(Status(Code::kUnavailable, "store postgres " + where +
                                               " is empty (no schema): run `sesame-admin init` "
                                               "to create it"));
  if (f.schema_version < kPostgresOldestUsableVersion)
    return Fail(Status(Code::kUnavailable, "schema version " + std::to_string(f.schema_version) +
                                               " is older than " + std::to_string(f.known_version) +
                                               ": run `sesame-admin db migrate` (after pg_dump)"));
  if (f.schema_version < f.known_version)
    return Fail(Status(Code::kUnavailable,
                       "schema version " + std::to_string(f.schema_version) + " is older than " +
                           std::to_string(f.known_version) +
                           "; sign-ins work meanwhile (only indexes are missing): once every "
                           "host runs this sesame, run `sesame-admin db migrate` from one "
                           "host as the owner role (after pg_dump)"));
  if (f.schema_version > f.known_version)
    return Fail(Status(Code::kUnavailable,
                       "schema version " + std::to_string(f.schema_version) +
                           " is newer than this sesame knows; install the sesame that made it"));
  if (!f.problems.empty())
    return Fail(Status(Code::kCorrupt, "store postgres " + where + " failed " +
                                           std::to_string(f.problems.size()) +
                                           " consistency check(s) (above); fix what each says"));
  return kExitOk;
}

int PostgresMigrate(const Invocation& inv, const Config& config) {
  const std::string where = DescribePostgresDsn(config.postgres_dsn);
  Result<PostgresFacts> before = InspectPostgresStore(PostgresOptionsOf(config));
  if (!before.ok()) return Fail(before.status());
  const int from = before->schema_version;
  if (from > before->known_version)
    return Fail(Status(Code::kUnavailable,
                       "store postgres " + where + " has schema version " + std::to_string(from) +
                           ", newer than this sesame knows; install the sesame that made it"));
  if (from == 0)
    return Fail(Status(Code::kUnavailable, "store postgres " + where +
                                               " is empty (no schema): nothing to migrate; run "
                                               "`sesame-admin init` to create it"));
  if (from == before->known_version) {
    if (inv.json) {
      PrintPostgresJson(where, *before, "none");
    } else {
      std::printf("store postgres %s is at schema version %d: nothing to migrate\n", where.c_str(),
                  from);
    }
    return kExitOk;
  }
  StoreOptions options;
  options.migrate = true;
  options.migrate_usable = true;
  Result<std::unique_ptr<Store>> store = OpenStore(config, options);
  if (!store.ok())
    return Fail(Status(store.status().code(),
                       store.status().message() +
                           " (each migration is one transaction: the store is at the last "
                           "version that completed; `sesame-admin db check` says which)"));
  store->reset();
  Result<PostgresFacts> after = InspectPostgresStore(PostgresOptionsOf(config));
  if (!after.ok()) return Fail(after.status());
  if (inv.json) {
    PrintPostgresJson(where, *after, "migrated");
  } else {
    std::printf(
        "store postgres %s migrated from schema version %d to %d (one transaction per version, "
        "under an advisory lock); no backup was made: sesame-admin does not back up a "
        "PostgreSQL store, take one with pg_dump before `db migrate`\n",
        where.c_str(), from, after->schema_version);
  }
  return kExitOk;
}

// "3 users" / "1 user".
std::string Counted(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

int PostgresCopy(const Invocation& inv, const Config& config) {
  const std::string& file = *inv.from_sqlite;
  const std::string where = DescribePostgresDsn(config.postgres_dsn);
  // The file's authenticator secrets are sealed under the key of its host:
  // they open here only if this host has that key.
  Result<SecretBuffer> key = LoadHostKey(config.key_file);
  if (!key.ok()) {
    return Fail(Status(key.status().code(),
                       key.status().message() +
                           " (db copy needs the key file: the copied authenticator secrets, "
                           "recovery codes and app passwords work only with the key of the "
                           "host the store comes from; copy that host's key file to " +
                           config.key_file + ")"));
  }
  CopyOptions options;
  options.merge = inv.merge;
  options.check_totp = [&](const std::string& user, const std::string& sealed) -> Status {
    Result<SecretBuffer> opened = Open(*key, sealed, user);
    if (opened.ok()) return Status::Ok();
    return Status(Code::kUnavailable,
                  "the authenticator secret of user " + user + " in " + file +
                      " does not open with key file " + config.key_file +
                      ": the file was made on a host with another key, and its authenticator "
                      "secrets, recovery codes and app passwords would not work here; nothing "
                      "copied. Use that host's key file as key_file on every host of the fleet "
                      "(copy it there), or reset those users' authenticators on that host "
                      "first (`sesame-admin mfa reset NAME`)");
  };
  SqliteCopySource source;
  source.path = file;
  source.trust = kStoreTrust;
  source.busy_timeout_ms = config.store_busy_timeout_ms;
  CopyCounts n;
  Status copied = CopySqliteIntoPostgres(source, PostgresOptionsOf(config), options, &n);
  if (!copied.ok()) return Fail(copied);

  if (inv.json) {
    JsonWriter j;
    j.BeginObject().Key("from").String(file).Key("store").String(where);
    j.Key("merge").Bool(inv.merge);
    j.Key("copied").BeginObject();
    j.Key("users").Int(n.users).Key("password_history").Int(n.password_history);
    j.Key("recovery_codes").Int(n.recovery_codes);
    j.Key("mfa_required_groups").Int(n.mfa_required_groups);
    j.Key("app_passwords").Int(n.app_passwords);
    j.Key("app_password_lockouts").Int(n.app_password_lockouts);
    j.Key("events").Int(n.events).EndObject();
    j.Key("mfa_required_groups_kept").Int(n.mfa_required_groups_kept);
    j.Key("orphans_skipped").Int(n.orphans_skipped);
    j.Key("pending_attempts_dropped").Int(n.pending_dropped);
    j.EndObject();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("copied %s into store postgres %s%s:\n", file.c_str(), where.c_str(),
              inv.merge ? " (merged)" : "");
  std::printf(
      "  %s, %s, %s, %s,\n  %s, %s, %s\n", Counted(n.users, "user", "users").c_str(),
      Counted(n.password_history, "password history entry", "password history entries").c_str(),
      Counted(n.recovery_codes, "recovery code", "recovery codes").c_str(),
      Counted(n.mfa_required_groups, "required group", "required groups").c_str(),
      Counted(n.app_passwords, "app password", "app passwords").c_str(),
      Counted(n.app_password_lockouts, "app-password lockout", "app-password lockouts").c_str(),
      Counted(n.events, "event", "events").c_str());
  if (n.mfa_required_groups_kept > 0)
    std::printf("  %s required already, kept as in the store\n",
                Counted(n.mfa_required_groups_kept, "group was", "groups were").c_str());
  if (n.orphans_skipped > 0)
    std::printf("  %s naming no user of the file, left out\n",
                Counted(n.orphans_skipped, "row", "rows").c_str());
  if (n.pending_dropped > 0)
    std::printf("  %s in progress on the file's host, not counted here\n",
                Counted(n.pending_dropped, "sign-in attempt", "sign-in attempts").c_str());
  return kExitOk;
}

#endif  // SESAME_WITH_POSTGRES

}  // namespace

int RunDbCheck(const Invocation& inv) {
  Result<Config> config = LoadConfig(inv);
  if (!config.ok()) return Fail(config.status());
  if (config->store != "postgres") return SqliteCheck(inv, *config);
#ifdef SESAME_WITH_POSTGRES
  return PostgresCheck(inv, *config);
#else
  return Fail(NoPostgresBackend());
#endif
}

int RunDbMigrate(const Invocation& inv) {
  Result<Config> config = LoadConfig(inv);
  if (!config.ok()) return Fail(config.status());
  if (config->store != "postgres") return SqliteMigrate(inv, *config);
#ifdef SESAME_WITH_POSTGRES
  return PostgresMigrate(inv, *config);
#else
  return Fail(NoPostgresBackend());
#endif
}

int RunDbCopy(const Invocation& inv) {
  if (!inv.from_sqlite.has_value() || inv.from_sqlite->empty())
    return Fail(Status(Code::kInvalidArgument,
                       "db copy needs --from-sqlite FILE: the SQLite store to copy (the "
                       "store_path of the host it comes from)"));
  Result<Config> config = LoadConfig(inv);
  if (!config.ok()) return Fail(config.status());
  if (config->store != "postgres")
    return Fail(Status(Code::kInvalidArgument,
                       inv.config_path + " says store = " + config->store +
                           ": db copy fills the PostgreSQL store a config names; run it with "
                           "--config naming a config with store = postgres"));
#ifdef SESAME_WITH_POSTGRES
  return PostgresCopy(inv, *config);
#else
  return Fail(NoPostgresBackend());
#endif
}

}  // namespace sesame::admin
