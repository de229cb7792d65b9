// SQLite backend of Store: opening, schema and migrations, users and events
// (lockout counters and password history: core/store/sqlite/sqlite_users.cc; authenticator
// and recovery codes: core/store/sqlite/sqlite_mfa.cc). Schema,
// versions and pragmas: docs/storage.md.
//
// MUST rules:
//  - values reach SQL only as bound parameters; SQL text is constant;
//  - every write runs in its own BEGIN IMMEDIATE transaction, rolled back on
//    any failure, so a change is applied whole or not at all;
//  - a busy database is kBusy with a message naming the file, never a bare
//    "database is locked";
//  - a new store file is created 0600 with O_EXCL|O_NOFOLLOW before SQLite
//    sees it; an existing one passes CheckTrustedPath before it is opened.
#include "core/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <limits>
#include <utility>

#include "core/store/backend_common.h"
#include "core/store/sqlite/sqlite_internal.h"

namespace sesame {
namespace sqlite_internal {

int ClampToInt(int64_t value) {
  return static_cast<int>(
      std::clamp<int64_t>(value, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

namespace {

// One forward migration: the SQL that takes the schema from `from_version`
// to `from_version + 1`. The runner bumps schema_version in the same
// transaction. Append only; never edit a shipped entry.
constexpr SchemaMigration kMigrations[] = {
    {0,
     "CREATE TABLE schema_version(version INTEGER NOT NULL);"
     "INSERT INTO schema_version(version) VALUES (0);"
     "CREATE TABLE users("
     "  name TEXT PRIMARY KEY,"
     "  password_hash TEXT NOT NULL,"
     "  disabled INTEGER NOT NULL DEFAULT 0,"
     "  created INTEGER NOT NULL);"
     "CREATE TABLE events("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  time INTEGER NOT NULL,"
     "  user TEXT NOT NULL,"
     "  service TEXT NOT NULL,"
     "  remote_host TEXT NOT NULL,"
     "  method TEXT NOT NULL,"
     "  outcome TEXT NOT NULL,"
     "  detail TEXT NOT NULL);"},
    {1,
     "ALTER TABLE users ADD COLUMN password_changed INTEGER NOT NULL DEFAULT 0;"
     "UPDATE users SET password_changed = created;"
     "CREATE INDEX events_user_time ON events(user, time);"},
    {2,
     "ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE users ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE users ADD COLUMN first_failure INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE users ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE password_history("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
     "  hash TEXT NOT NULL,"
     "  changed INTEGER NOT NULL);"
     "CREATE INDEX password_history_user ON password_history(user, id);"},
    {3,
     "ALTER TABLE users ADD COLUMN totp_sealed TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT -1;"
     "CREATE TABLE recovery_codes("
     "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
     "  digest TEXT NOT NULL,"
     "  PRIMARY KEY(user, digest)) WITHOUT ROWID;"},
    {4,
     "ALTER TABLE users ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE users ADD COLUMN mfa_required_since INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE mfa_required_groups("
     "  name TEXT PRIMARY KEY,"
     "  since INTEGER NOT NULL) WITHOUT ROWID;"},
    {5, "ALTER TABLE users ADD COLUMN recent_failures TEXT NOT NULL DEFAULT '';"},
    {6,
     "ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE users ADD COLUMN pending_attempts INTEGER NOT NULL DEFAULT 0;"},
    // App passwords (core/store/sqlite/sqlite_app_passwords.cc): a unique
    // index on the digest (a sign-in is one indexed lookup), live names
    // unique per user, and the app-password lockout bucket.
    {7,
     "CREATE TABLE app_passwords("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
     "  name TEXT NOT NULL,"
     "  digest TEXT NOT NULL,"
     "  services TEXT NOT NULL DEFAULT '',"
     "  created INTEGER NOT NULL,"
     "  expires INTEGER NOT NULL DEFAULT 0,"
     "  last_used INTEGER NOT NULL DEFAULT 0,"
     "  last_used_from TEXT NOT NULL DEFAULT '',"
     "  revoked INTEGER NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX app_passwords_digest ON app_passwords(digest);"
     "CREATE UNIQUE INDEX app_passwords_live_name ON app_passwords(user, name) "
     "  WHERE revoked = 0;"
     "CREATE INDEX app_passwords_user ON app_passwords(user, id);"
     "CREATE TABLE app_password_lockout("
     "  user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,"
     "  failures INTEGER NOT NULL DEFAULT 0,"
     "  pending_attempts INTEGER NOT NULL DEFAULT 0,"
     "  first_failure INTEGER NOT NULL DEFAULT 0,"
     "  locked_until INTEGER NOT NULL DEFAULT 0,"
     "  recent_failures TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"},
    // Sign-in activity: pruning takes the oldest events by time, and the
    // listings mark a remote host the user never signed in from before
    // (only successes are indexed for that).
    {8,
     "CREATE INDEX events_time ON events(time);"
     "CREATE INDEX events_user_host_success ON events(user, remote_host, id) "
     "  WHERE outcome = 'success';"},
    // The new-host mark is now one pass over each listed user's events
    // (MarkNewHosts), so every sign-in's write and every pruned event
    // maintain one B-tree fewer (docs/storage.md, "Sign-in activity").
    {9, "DROP INDEX IF EXISTS events_user_host_success;"},
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSqliteSchemaVersion,
              "one migration per schema version");

// Column list shared by the user queries (string literal concatenation keeps
// every SQL text a compile-time constant).
#define SESAME_USER_COLUMNS                                                                      \
  "name, password_hash, disabled, created, password_changed, must_change, failures, "            \
  "first_failure, locked_until, totp_sealed, totp_last_step, mfa_required, mfa_required_since, " \
  "pending_attempts"

UserRecord ReadUser(const Stmt& stmt) {
  UserRecord user;
  user.name = stmt.Text(0);
  user.password_hash = stmt.Text(1);
  user.disabled = stmt.Int(2) != 0;
  user.created = stmt.Int(3);
  user.password_changed = stmt.Int(4);
  user.must_change = stmt.Int(5) != 0;
  user.failures = ClampToInt(stmt.Int(6));
  user.first_failure = stmt.Int(7);
  user.locked_until = stmt.Int(8);
  user.totp_sealed = stmt.Text(9);
  user.totp_last_step = stmt.Int(10);
  user.mfa_required = stmt.Int(11) != 0;
  user.mfa_required_since = stmt.Int(12);
  user.pending_attempts = ClampToInt(stmt.Int(13));
  return user;
}

// The directory holding `path`, spelled so CheckTrustedPath accepts it (it
// refuses a path ending in "."): a bare file name gives the working directory.
std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == 0) return "/";
  if (slash != std::string::npos) return path.substr(0, slash);
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof(cwd)) != nullptr ? std::string(cwd) : std::string(".");
}

// Creates `path` 0600 (whatever the umask) without following a symlink.
// Returns OK also when another process created it first.
Status CreateStoreFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status(Code::kUnavailable, "cannot create store " + path + ": " + std::strerror(errno));
  }
  int rc = fchmod(fd, 0600);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    return Status(Code::kUnavailable,
                  "cannot set mode 0600 on store " + path + ": " + std::strerror(saved));
  }
  return Status::Ok();
}

}  // namespace

Status SqliteStore::Error(int rc, std::string_view doing) const {
  const std::string where = "store " + path_;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(Code::kBusy, where + " is busy (waited " + std::to_string(busy_timeout_ms_) +
                                     " ms) while " + std::string(doing) +
                                     "; another process holds its lock: try again");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status(Code::kCorrupt, where + " is not a valid SQLite database (" +
                                        sqlite3_errmsg(db_.get()) +
                                        "); restore it from a backup or move it away and run "
                                        "`sesame-admin init`");
    default:
      return Status(Code::kUnavailable,
                    where + ": " + std::string(doing) + ": " + sqlite3_errmsg(db_.get()));
  }
}

int64_t SqliteStore::HaltedHolderGraceMs(int busy_timeout_ms) {
  const int64_t grace = std::min<int64_t>(1000, std::max(busy_timeout_ms, 0) / 4);
  // Under a quarter second a holder merely paused for a moment could be
  // taken for one halted on purpose: below a 1 s timeout, nobody is ended.
  return grace >= 250 ? grace : 0;
}

int SqliteStore::OnBusy(void* self, int count) {
  auto* store = static_cast<SqliteStore*>(self);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now_ms = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  if (count == 0) {
    store->busy_since_ms_ = now_ms;
    store->halted_holder_.Reset();
  }
  const int64_t waited = now_ms - store->busy_since_ms_;
  if (waited >= store->busy_timeout_ms_) return 0;
  const int64_t grace = HaltedHolderGraceMs(store->busy_timeout_ms_);
  if (grace > 0 && waited >= grace) store->halted_holder_.Look(store->path_, now_ms);
  // The naps of sqlite3_busy_timeout: short at first, then 100 ms.
  static constexpr int kNapsMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  constexpr int kNaps = static_cast<int>(sizeof kNapsMs / sizeof kNapsMs[0]);
  const int64_t nap =
      std::min<int64_t>(count < kNaps ? kNapsMs[count] : 100, store->busy_timeout_ms_ - waited);
  sqlite3_sleep(static_cast<int>(nap));
  return 1;
}

Status SqliteStore::NoSuchUser(std::string_view name) const {
  return Status(Code::kNotFound, "no user " + std::string(name) + " in store " + path_);
}

Status SqliteStore::CheckUserExists(std::string_view name, std::string_view doing) {
  Stmt exists;
  SESAME_RETURN_IF_ERROR(Prepare("SELECT 1 FROM users WHERE name = ?1", &exists, doing));
  exists.BindText(1, name);
  int rc = exists.Step();
  if (rc == SQLITE_DONE) return NoSuchUser(name);
  return rc == SQLITE_ROW ? Status::Ok() : Error(rc, doing);
}

SqliteStore::~SqliteStore() {
  // Before db_ closes (members go after this body).
  for (auto& entry : statements_) sqlite3_finalize(entry.second.stmt);
}

Status SqliteStore::Prepare(const char* sql, Stmt* stmt, std::string_view doing) {
  CachedStmt& cached = statements_[std::string_view(sql)];
  if (cached.in_use) {
    // The same SQL twice at once (nested): a statement of its own.
    int rc = sqlite3_prepare_v2(db_.get(), sql, -1, stmt->out(), nullptr);
    return rc == SQLITE_OK ? Status::Ok() : Error(rc, doing);
  }
  if (cached.stmt == nullptr) {
    int rc =
        sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &cached.stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(cached.stmt);
      cached.stmt = nullptr;
      return Error(rc, doing);
    }
  }
  stmt->Lend(cached.stmt, &cached.in_use);
  return Status::Ok();
}

Status SqliteStore::Exec(const char* sql, std::string_view doing) {
  int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, doing);
}

Status SqliteStore::Run(const char* sql, std::string_view doing) {
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(Prepare(sql, &stmt, doing));
  int rc = stmt.Step();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, doing);
}

Result<int> SqliteStore::ReadVersion() {
  Stmt stmt;
  int rc = sqlite3_prepare_v2(db_.get(), "SELECT max(version), count(*) FROM schema_version", -1,
                              stmt.out(), nullptr);
  if (rc == SQLITE_ERROR) {
    // No schema_version table (rare path): an empty database is version 0;
    // anything else is not ours.
    Stmt tables;
    SESAME_RETURN_IF_ERROR(
        Prepare("SELECT count(*) FROM sqlite_master", &tables, "reading schema"));
    rc = tables.Step();
    if (rc != SQLITE_ROW) return Error(rc, "reading schema");
    if (tables.Int(0) == 0) return 0;
    return Status(Code::kCorrupt, "store " + path_ +
                                      " is a SQLite database but not a sesame store (no readable "
                                      "schema_version table); check the path");
  }
  if (rc != SQLITE_OK) return Error(rc, "reading the schema version");
  rc = stmt.Step();
  if (rc != SQLITE_ROW) return Error(rc, "reading the schema version");
  if (stmt.Int(1) != 1 || sqlite3_column_type(stmt.get(), 0) != SQLITE_INTEGER || stmt.Int(0) < 1 ||
      stmt.Int(0) > std::numeric_limits<int>::max()) {
    return Status(Code::kCorrupt, "store " + path_ +
                                      " has a malformed schema_version table (expected one "
                                      "positive integer row); restore it from a backup");
  }
  return static_cast<int>(stmt.Int(0));
}

Status SqliteStore::Migrate() {
  for (;;) {
    bool done = false;
    Status st = Write("migrating the schema", [&]() -> Status {
      // Read again under the write lock: another process may have migrated.
      Result<int> version = ReadVersion();
      if (!version.ok()) return version.status();
      if (*version >= kSqliteSchemaVersion) {
        done = true;
        return Status::Ok();
      }
      const SchemaMigration* m = nullptr;
      for (const SchemaMigration& candidate : kMigrations) {
        if (candidate.from_version == *version) m = &candidate;
      }
      if (m == nullptr) {
        return Status(Code::kInternal, "no migration from schema version " +
                                           std::to_string(*version) + " for store " + path_);
      }
      SESAME_RETURN_IF_ERROR(
          Exec(m->sql, "migrating the schema from version " + std::to_string(m->from_version)));
      Stmt bump;
      SESAME_RETURN_IF_ERROR(
          Prepare("UPDATE schema_version SET version = ?1", &bump, "migrating the schema"));
      bump.BindInt(1, m->from_version + 1);
      int rc = bump.Step();
      return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "migrating the schema");
    });
    if (!st.ok() || done) return st;
  }
}

Status SqliteStore::Init(const SqliteOptions& options) {
  // A writer waits for another (sqlite_lock_holder.h: and ends one that is
  // halted while it holds the lock).
  sqlite3_busy_handler(db_.get(), &SqliteStore::OnBusy, this);
  // journal_mode is the first statement that reads the file, so a file that
  // is not a database fails here (SQLITE_NOTADB -> kCorrupt). WAL persists in
  // the file; on a database already in WAL this is a no-op.
  SESAME_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL", "setting the journal mode"));
  SESAME_RETURN_IF_ERROR(
      Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", "setting pragmas"));
  // The automatic checkpoint runs in the commit that takes the write-ahead
  // log past this many pages, so one write in (this / pages a write adds)
  // pays for it: the log and the database synced, every page changed since
  // the last one copied back (10-60 ms on disk). A sign-in adds ~5 pages,
  // ~8 while it prunes in passing (kPruneInPassingBatch event: the row and
  // its two index entries): at SQLite's default of 1,000 that was about
  // one sign-in in 90, enough to be the p99; at 4,000 it is about one in
  // 400 (and the log grows to 16 MiB). docs/storage.md, docs/benchmarks.md.
  SESAME_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint=4000", "setting pragmas"));
  // RemoveUser relies on ON DELETE CASCADE; the pragma is silently a no-op
  // in a SQLite built without foreign keys, so check that it took.
  Stmt fk;
  SESAME_RETURN_IF_ERROR(Prepare("PRAGMA foreign_keys", &fk, "checking pragmas"));
  int fk_rc = fk.Step();
  if (fk_rc != SQLITE_ROW) return Error(fk_rc, "checking pragmas");
  if (fk.Int(0) != 1) {
    return Status(Code::kUnavailable, "store " + path_ +
                                          ": this SQLite library does not enforce foreign keys "
                                          "(PRAGMA foreign_keys stays off); sesame needs them");
  }

  Result<int> version = ReadVersion();
  if (!version.ok()) return version.status();
  Result<SchemaStep> step = DecideSchemaStep("store " + path_, *version, kSqliteSchemaVersion,
                                             options.create, options.migrate);
  if (!step.ok()) return step.status();
  if (*step == SchemaStep::kUpToDate) return Status::Ok();
  return Migrate();
}

Status SqliteStore::DoStillUsable() {
  int moved = 0;
  if (sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
      moved != 0) {
    return Status(Code::kUnavailable, "store " + path_ + " was moved, replaced or removed");
  }
  return CheckTrustedPath(path_, "store", trust_);
}

Result<std::optional<UserRecord>> SqliteStore::DoGetUser(std::string_view name) {
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(Prepare("SELECT " SESAME_USER_COLUMNS " FROM users WHERE name = ?1", &stmt,
                                 "reading a user"));
  stmt.BindText(1, name);
  int rc = stmt.Step();
  if (rc == SQLITE_DONE) return std::optional<UserRecord>();
  if (rc != SQLITE_ROW) return Error(rc, "reading a user");
  return std::optional<UserRecord>(ReadUser(stmt));
}

Result<std::vector<UserRecord>> SqliteStore::DoListUsers() {
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(
      Prepare("SELECT " SESAME_USER_COLUMNS " FROM users ORDER BY name", &stmt, "listing users"));
  std::vector<UserRecord> users;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) users.push_back(ReadUser(stmt));
  if (rc != SQLITE_DONE) return Error(rc, "listing users");
  return users;
}

Status SqliteStore::DoAddUser(const UserRecord& user) {
  return Write("adding a user", [&]() -> Status {
    Stmt stmt;
    SESAME_RETURN_IF_ERROR(
        Prepare("INSERT INTO users(" SESAME_USER_COLUMNS
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                &stmt, "adding a user"));
    stmt.BindText(1, user.name);
    stmt.BindText(2, user.password_hash);
    stmt.BindInt(3, user.disabled ? 1 : 0);
    stmt.BindInt(4, user.created);
    stmt.BindInt(5, user.password_changed);
    stmt.BindInt(6, user.must_change ? 1 : 0);
    stmt.BindInt(7, user.failures);
    stmt.BindInt(8, user.first_failure);
    stmt.BindInt(9, user.locked_until);
    stmt.BindText(10, user.totp_sealed);
    stmt.BindInt(11, user.totp_last_step);
    stmt.BindInt(12, user.mfa_required ? 1 : 0);
    stmt.BindInt(13, user.mfa_required_since);
    stmt.BindInt(14, user.pending_attempts);
    int rc = stmt.Step();
    if (rc == SQLITE_CONSTRAINT &&
        sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Status(Code::kAlreadyExists,
                    "user " + user.name + " already exists in store " + path_);
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "adding a user");
  });
}

#undef SESAME_USER_COLUMNS

// The user's password_history and recovery_codes rows go with it: ON DELETE CASCADE (Init sets
// foreign_keys=ON on every connection). Events are kept.
Status SqliteStore::DoRemoveUser(std::string_view name) {
  return Write("removing a user", [&]() -> Status {
    Stmt stmt;
    SESAME_RETURN_IF_ERROR(Prepare("DELETE FROM users WHERE name = ?1", &stmt, "removing a user"));
    stmt.BindText(1, name);
    int rc = stmt.Step();
    if (rc != SQLITE_DONE) return Error(rc, "removing a user");
    if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);
    return Status::Ok();
  });
}

Status SqliteStore::DoSetDisabled(std::string_view name, bool disabled) {
  return UpdateUser("UPDATE users SET disabled = ?2 WHERE name = ?1", name, "changing a user",
                    [&](Stmt& stmt) { stmt.BindInt(2, disabled ? 1 : 0); });
}

Result<bool> SqliteStore::DoReplacePasswordHash(std::string_view name,
                                                std::string_view expected_hash,
                                                std::string_view new_hash, int64_t changed_at) {
  bool replaced = false;
  Status st = Write("replacing a password hash", [&]() -> Status {
    Stmt stmt;
    SESAME_RETURN_IF_ERROR(
        Prepare(changed_at != 0 ? "UPDATE users SET password_hash = ?3, password_changed = ?4 "
                                  "WHERE name = ?1 AND password_hash = ?2"
                                : "UPDATE users SET password_hash = ?3 "
                                  "WHERE name = ?1 AND password_hash = ?2",
                &stmt, "replacing a password hash"));
    stmt.BindText(1, name);
    stmt.BindText(2, expected_hash);
    stmt.BindText(3, new_hash);
    if (changed_at != 0) stmt.BindInt(4, changed_at);
    int rc = stmt.Step();
    if (rc != SQLITE_DONE) return Error(rc, "replacing a password hash");
    replaced = sqlite3_changes(db_.get()) > 0;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return replaced;
}

Status SqliteStore::InsertEvent(const SignInEvent& event, int64_t coalesce_seconds) {
  const char* kDoing = "recording a sign-in event";
  if (coalesce_seconds > 0) {
    // The newest equal event of the window takes this one (index
    // events_user_time narrows it to the user's recent rows).
    Stmt merge;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE events SET count = count + 1, time = max(time, ?1) WHERE id = ("
                "SELECT id FROM events WHERE user = ?2 AND time >= ?8 AND service = ?3 AND "
                "remote_host = ?4 AND method = ?5 AND outcome = ?6 AND detail = ?7 "
                "ORDER BY time DESC, id DESC LIMIT 1)",
                &merge, kDoing));
    merge.BindInt(1, event.time);
    merge.BindText(2, event.user);
    merge.BindText(3, event.service);
    merge.BindText(4, event.remote_host);
    merge.BindText(5, event.method);
    merge.BindText(6, event.outcome);
    merge.BindText(7, event.detail);
    merge.BindInt(8, event.time > std::numeric_limits<int64_t>::min() + coalesce_seconds
                         ? event.time - coalesce_seconds
                         : event.time);
    int rc = merge.Step();
    if (rc != SQLITE_DONE) return Error(rc, kDoing);
    if (sqlite3_changes(db_.get()) > 0) return Status::Ok();
  }
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(Prepare(
      "INSERT INTO events(time, user, service, remote_host, method, outcome, detail, count) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      &stmt, kDoing));
  stmt.BindInt(1, event.time);
  stmt.BindText(2, event.user);
  stmt.BindText(3, event.service);
  stmt.BindText(4, event.remote_host);
  stmt.BindText(5, event.method);
  stmt.BindText(6, event.outcome);
  stmt.BindText(7, event.detail);
  stmt.BindInt(8, event.count < 1 ? 1 : event.count);
  int rc = stmt.Step();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, kDoing);
}

Status SqliteStore::DoRecordEvent(const SignInEvent& event, int64_t coalesce_seconds,
                                  int64_t prune_before) {
  const char* kDoing = "recording a sign-in event";
  return Write(kDoing, [&]() -> Status {
    SESAME_RETURN_IF_ERROR(PruneInPassing(prune_before, kDoing));
    return InsertEvent(event, coalesce_seconds);
  });
}

Status SqliteStore::DeleteOldEvents(int64_t older_than, int64_t batch, std::string_view doing,
                                    int64_t* deleted) {
  // The oldest `batch` by index events_time: bounded work, whatever the
  // size of the table. One text for PruneEvents and pruning in passing,
  // so one cached statement.
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(
      Prepare("DELETE FROM events WHERE id IN (SELECT id FROM events "
              "WHERE time < ?1 ORDER BY time LIMIT ?2)",
              &stmt, doing));
  stmt.BindInt(1, older_than);
  stmt.BindInt(2, batch);
  int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, doing);
  *deleted = sqlite3_changes(db_.get());
  return Status::Ok();
}

Status SqliteStore::PruneInPassing(int64_t prune_before, std::string_view doing) {
  if (prune_before <= 0) return Status::Ok();
  int64_t deleted = 0;
  return DeleteOldEvents(prune_before, kPruneInPassingBatch, doing, &deleted);
}

namespace {

// The conditions of an EventFilter but the user (bound by the caller as
// ?1): ?2 since, ?3 until (NULL: none), ?4 service (NULL: any), ?5 and ?6
// the outcomes and methods, each list joined as US name US name US (NULL:
// any; CheckEventFilter keeps control characters out of the names).
#define SESAME_EVENT_CONDITIONS                                           \
  " e.time >= ?2 AND (?3 IS NULL OR e.time < ?3)"                         \
  " AND (?4 IS NULL OR e.service = ?4)"                                   \
  " AND (?5 IS NULL OR instr(?5, char(31) || e.outcome || char(31)) > 0)" \
  " AND (?6 IS NULL OR instr(?6, char(31) || e.method || char(31)) > 0) AND e.id > ?9"

// ?9 after_id (?7 is not used: the new-host mark is MarkNewHosts').
#define SESAME_EVENT_COLUMNS                                                               \
  "SELECT e.id, e.time, e.user, e.service, e.remote_host, e.method, e.outcome, e.detail, " \
  "e.count FROM events e WHERE "

// Binds ?1 to ?6 and ?9 for the texts above; `joined` keeps the lists alive
// until the statement is done.
void BindEventFilter(Stmt& stmt, const EventFilter& filter, std::string (&joined)[2]) {
  if (filter.user.has_value()) stmt.BindText(1, *filter.user);
  stmt.BindInt(2, filter.since);
  if (filter.until.has_value()) stmt.BindInt(3, *filter.until);
  if (filter.service.has_value()) stmt.BindText(4, *filter.service);
  if (!filter.outcomes.empty()) {
    joined[0] = JoinForEventFilter(filter.outcomes);
    stmt.BindText(5, joined[0]);
  }
  if (!filter.methods.empty()) {
    joined[1] = JoinForEventFilter(filter.methods);
    stmt.BindText(6, joined[1]);
  }
  stmt.BindInt(9, filter.after_id);
}

}  // namespace

Result<std::vector<SignInEvent>> SqliteStore::DoListEvents(const EventFilter& filter) {
  // Two constant texts rather than "?1 IS NULL OR user = ?1", so the user
  // query can use index events_user_time (the other: events_time).
  static constexpr char kByUser[] = SESAME_EVENT_COLUMNS
      "e.user = ?1 AND" SESAME_EVENT_CONDITIONS " ORDER BY e.time DESC, e.id DESC LIMIT ?8";
  static constexpr char kAll[] =
      SESAME_EVENT_COLUMNS SESAME_EVENT_CONDITIONS " ORDER BY e.time DESC, e.id DESC LIMIT ?8";
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(
      Prepare(filter.user.has_value() ? kByUser : kAll, &stmt, "listing sign-in events"));
  std::string joined[2];
  BindEventFilter(stmt, filter, joined);
  const uint64_t max_limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  stmt.BindInt(8, filter.limit == 0
                      ? -1
                      : static_cast<int64_t>(std::min<uint64_t>(filter.limit, max_limit)));
  std::vector<SignInEvent> events;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    SignInEvent e;
    e.id = stmt.Int(0);
    e.time = stmt.Int(1);
    e.user = stmt.Text(2);
    e.service = stmt.Text(3);
    e.remote_host = stmt.Text(4);
    e.method = stmt.Text(5);
    e.outcome = stmt.Text(6);
    e.detail = stmt.Text(7);
    e.count = stmt.Int(8);
    events.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(rc, "listing sign-in events");
  if (filter.mark_new_hosts) {
    // Through index events_user_time: the user's events, not the table.
    // Outside the listing's read, so a success recorded meanwhile has a
    // larger id than any listed event and changes no mark; an event pruned
    // meanwhile is as if the listing had come a moment later.
    Stmt first;
    SESAME_RETURN_IF_ERROR(Prepare(
        "SELECT remote_host, min(id) FROM events WHERE user = ?1 AND outcome = 'success' AND "
        "remote_host <> '' GROUP BY remote_host",
        &first, "marking new remote hosts"));
    SESAME_RETURN_IF_ERROR(
        MarkNewHosts(events, [&](const std::string& user) -> Result<FirstSuccessByHost> {
          first.Reset();
          first.BindText(1, user);
          FirstSuccessByHost found;
          int step;
          while ((step = first.Step()) == SQLITE_ROW) found.emplace(first.Text(0), first.Int(1));
          if (step != SQLITE_DONE) return Error(step, "marking new remote hosts");
          return found;
        }));
  }
  if (!filter.newest_first) std::reverse(events.begin(), events.end());
  return events;
}

Result<int64_t> SqliteStore::DoCountEvents(const EventFilter& filter) {
  static constexpr char kByUser[] =
      "SELECT coalesce(sum(e.count), 0) FROM events e WHERE e.user = ?1 "
      "AND" SESAME_EVENT_CONDITIONS;
  static constexpr char kAll[] =
      "SELECT coalesce(sum(e.count), 0) FROM events e WHERE" SESAME_EVENT_CONDITIONS;
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(
      Prepare(filter.user.has_value() ? kByUser : kAll, &stmt, "counting sign-in events"));
  std::string joined[2];
  BindEventFilter(stmt, filter, joined);
  int rc = stmt.Step();
  if (rc != SQLITE_ROW) return Error(rc, "counting sign-in events");
  return stmt.Int(0);
}

#undef SESAME_EVENT_COLUMNS
#undef SESAME_EVENT_CONDITIONS

Result<int64_t> SqliteStore::DoPruneEvents(int64_t older_than, int64_t batch) {
  const char* kDoing = "pruning old sign-in events";
  int64_t deleted = 0;
  Status st = Write(
      kDoing, [&]() -> Status { return DeleteOldEvents(older_than, batch, kDoing, &deleted); });
  if (!st.ok()) return st;
  return deleted;
}

Result<int> SqliteStore::DoSchemaVersion() { return ReadVersion(); }

}  // namespace sqlite_internal

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const SqliteOptions& options) {
  using sqlite_internal::CreateStoreFile;
  using sqlite_internal::DbPtr;
  using sqlite_internal::DirName;
  using sqlite_internal::SqliteStore;
  if (path.empty()) return Status(Code::kInvalidArgument, "store path is empty");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status(Code::kUnavailable, "cannot check store " + path + ": " + std::strerror(errno));
    }
    if (!options.create) {
      return Status(Code::kNotFound,
                    "store " + path + " does not exist; run `sesame-admin init` to create it");
    }
    // Refuse before creating anything in a directory others can write.
    TrustRule dir_rule = options.trust;
    dir_rule.secret = false;
    SESAME_RETURN_IF_ERROR(CheckTrustedPath(DirName(path), "store directory", dir_rule));
    SESAME_RETURN_IF_ERROR(CreateStoreFile(path));
  }
  SESAME_RETURN_IF_ERROR(CheckTrustedPath(path, "store", options.trust));

  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return Status(Code::kUnavailable, "cannot open store " + path + ": " + why);
  }
  auto store =
      std::make_unique<SqliteStore>(path, std::move(db), options.busy_timeout_ms, options.trust);
  SESAME_RETURN_IF_ERROR(store->Init(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sesame
