// CopySqliteIntoPostgres (postgres_maintenance.h): one host's SQLite store
// into the fleet's PostgreSQL store, all or nothing.
//
// The SQLite file is read with sqlite3 directly, read-only, in one read
// transaction (a consistent snapshot even while its host still signs
// people in); the rows go to PostgreSQL with COPY ... FROM STDIN inside ONE
// transaction, which is committed only after every table arrived whole
// (the server's row count equals the file's). The Store interface is not
// used for the rows: it has no way to add history, recovery digests or app
// passwords as they are, and one transaction per call would not be all or
// nothing. Column for column the PostgreSQL schema of version 1 is the
// SQLite schema of versions 9 and 10 (postgres_store.cc; 10 only dropped an
// index); `user` is user_name.
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/secret.h"
#include "core/store/postgres/postgres_maintenance.h"
#include "core/store/postgres/postgres_session.h"

namespace sesame {

using postgres_internal::AdminSession;
using postgres_internal::CopyField;
using postgres_internal::Params;
using postgres_internal::PgResult;

namespace {

static_assert(kPostgresSchemaVersion == 3,
              "CopySqliteIntoPostgres writes the columns of schema version 3 (those of "
              "version 1; versions 2 and 3 changed only indexes): update it");

// A copy of many events takes longer than a sign-in's statement; the
// server still bounds it.
constexpr int kCopyStatementTimeoutS = 600;
// Rows are sent to the server in pieces of about this many bytes.
constexpr size_t kCopyChunkBytes = size_t{64} * 1024;

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteStmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The SQLite file being copied, open read-only inside one read transaction.
class Source {
 public:
  explicit Source(const SqliteCopySource& source) : path_(source.path) {}

  Status Open(const SqliteCopySource& source) {
    struct stat st;
    if (lstat(path_.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        return Status(Code::kNotFound, "SQLite store " + path_ +
                                           " does not exist; name the store file of the host "
                                           "it comes from (its store_path, e.g. "
                                           "/var/lib/sesame/sesame.db)");
      }
      return Status(Code::kUnavailable,
                    "cannot check SQLite store " + path_ + ": " + std::strerror(errno));
    }
    SESAME_RETURN_IF_ERROR(CheckTrustedPath(path_, "SQLite store to copy", source.trust));
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path_.c_str(), &raw,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) return Error(rc, "opening it");
    sqlite3_busy_timeout(db_.get(), source.busy_timeout_ms);
    // One snapshot for every table: BEGIN, and the first read takes it.
    SESAME_RETURN_IF_ERROR(Run("BEGIN", "starting a read"));

    std::string tables;
    SESAME_RETURN_IF_ERROR(
        Scalar("SELECT count(*) FROM sqlite_master", "reading its schema", &tables));
    std::string has_version;
    SESAME_RETURN_IF_ERROR(
        Scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
               "name = 'schema_version'",
               "reading its schema", &has_version));
    if (has_version != "1") {
      return Status(Code::kCorrupt,
                    "SQLite store " + path_ + " is " +
                        (tables == "0" ? "an empty database" : "a SQLite database") +
                        " but not a sesame store (no schema_version table); name the store "
                        "file of the host it comes from (its store_path)");
    }
    std::string version;
    SESAME_RETURN_IF_ERROR(
        Scalar("SELECT max(version) FROM schema_version", "reading its schema version", &version));
    const int v = std::atoi(version.c_str());
    if (v < kOldestCopiedSqliteSchemaVersion || v > kCopiedSqliteSchemaVersion) {
      const std::string told = "SQLite store " + path_ + " has schema version " + version +
                               "; db copy reads versions " +
                               std::to_string(kOldestCopiedSqliteSchemaVersion) + " to " +
                               std::to_string(kCopiedSqliteSchemaVersion);
      if (v < kOldestCopiedSqliteSchemaVersion) {
        return Status(Code::kUnavailable,
                      told +
                          ": bring it up to date first with `sesame-admin db migrate` (on "
                          "its host, or here with a config whose store_path names it; it "
                          "keeps a backup), then copy again");
      }
      return Status(Code::kUnavailable,
                    told + ": it was made by a newer sesame; copy it with that version");
    }
    std::string integrity;
    SESAME_RETURN_IF_ERROR(Scalar("PRAGMA quick_check", "checking its integrity", &integrity));
    if (integrity != "ok") {
      return Status(Code::kCorrupt, "SQLite store " + path_ + " failed its integrity check (" +
                                        integrity +
                                        "); nothing copied: restore it from a backup first");
    }
    return Status::Ok();
  }

  Status Error(int rc, std::string_view doing) const {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
    const std::string where = "SQLite store " + path_;
    switch (rc & 0xff) {
      case SQLITE_NOTADB:
      case SQLITE_CORRUPT:
        return Status(Code::kCorrupt, where + " is not a valid SQLite database (" + why +
                                          "); nothing copied: name the store file of the host "
                                          "it comes from, or restore it from a backup");
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return Status(Code::kBusy, where + " is busy while " + std::string(doing) +
                                       "; another process holds its lock: try again");
      default:
        return Status(Code::kUnavailable, where + ": " + std::string(doing) + ": " + why);
    }
  }

  Result<SqliteStmt> Prepare(const char* sql, std::string_view doing) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    SqliteStmt stmt(raw);
    if (rc != SQLITE_OK) return Error(rc, doing);
    return stmt;
  }

  // The first column of the first row ("" when none).
  Status Scalar(const char* sql, std::string_view doing, std::string* out) {
    Result<SqliteStmt> stmt = Prepare(sql, doing);
    if (!stmt.ok()) return stmt.status();
    out->clear();
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt->get(), 0);
      if (text != nullptr) *out = reinterpret_cast<const char*>(text);
      return Status::Ok();
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error(rc, doing);
  }

  int64_t Count(const char* sql, std::string_view doing, Status* st) {
    std::string text;
    *st = Scalar(sql, doing, &text);
    return st->ok() ? std::strtoll(text.c_str(), nullptr, 10) : 0;
  }

  Status Run(const char* sql, std::string_view doing) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &error);
    sqlite3_free(error);
    return rc == SQLITE_OK ? Status::Ok() : Error(rc, doing);
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<sqlite3, SqliteCloser> db_;
};

// One table: the SQLite query (its columns in the order of the COPY's) and
// the COPY, and how each column is written: 't' text, 'i' integer, 'b'
// boolean (SQLite's 0/1).
struct TableCopy {
  const char* name;
  const char* select;
  const char* copy;
  const char* kinds;
};

// Rows whose user is not in the file's users table cannot satisfy the
// foreign keys: they are left out (and counted, CopyCounts::orphans_skipped).
constexpr TableCopy kUsers = {
    "users",
    "SELECT name, password_hash, disabled, created, password_changed, must_change, "
    "max(failures - pending_attempts, 0), 0, first_failure, locked_until, recent_failures, "
    "totp_sealed, totp_last_step, mfa_required, mfa_required_since FROM users ORDER BY name",
    "COPY users(name, password_hash, disabled, created, password_changed, must_change, "
    "failures, pending_attempts, first_failure, locked_until, recent_failures, totp_sealed, "
    "totp_last_step, mfa_required, mfa_required_since) FROM STDIN",
    "ttbiibiiiittibi"};
constexpr TableCopy kHistory = {
    "password_history",
    "SELECT user, hash, changed FROM password_history WHERE user IN (SELECT name FROM users) "
    "ORDER BY id",
    "COPY password_history(user_name, hash, changed) FROM STDIN", "tti"};
constexpr TableCopy kRecovery = {
    "recovery_codes",
    "SELECT user, digest FROM recovery_codes WHERE user IN (SELECT name FROM users) "
    "ORDER BY user, digest",
    "COPY recovery_codes(user_name, digest) FROM STDIN", "tt"};
constexpr TableCopy kAppPasswords = {
    "app_passwords",
    "SELECT user, name, digest, services, created, expires, last_used, last_used_from, revoked "
    "FROM app_passwords WHERE user IN (SELECT name FROM users) ORDER BY id",
    "COPY app_passwords(user_name, name, digest, services, created, expires, last_used, "
    "last_used_from, revoked) FROM STDIN",
    "ttttiiiti"};
constexpr TableCopy kAppLockout = {
    "app_password_lockout",
    "SELECT user, max(failures - pending_attempts, 0), 0, first_failure, locked_until, "
    "recent_failures FROM app_password_lockout WHERE user IN (SELECT name FROM users) "
    "ORDER BY user",
    "COPY app_password_lockout(user_name, failures, pending_attempts, first_failure, "
    "locked_until, recent_failures) FROM STDIN",
    "tiiiit"};
constexpr TableCopy kEvents = {
    "events",
    "SELECT time, user, service, remote_host, method, outcome, detail, count FROM events "
    "ORDER BY id",
    "COPY events(time, user_name, service, remote_host, method, outcome, detail, count) "
    "FROM STDIN",
    "itttttti"};

// Streams one table from `source` into `target` (inside the target's
// transaction); the number of rows the server took, which must be the
// number read.
Result<int64_t> CopyTable(Source& source, AdminSession& target, const TableCopy& table) {
  const std::string doing = std::string("copying ") + table.name;
  Result<SqliteStmt> stmt = source.Prepare(table.select, "reading " + std::string(table.name));
  if (!stmt.ok()) return stmt.status();
  const int columns = static_cast<int>(std::strlen(table.kinds));
  if (sqlite3_column_count(stmt->get()) != columns) {
    return Status(Code::kInternal, doing + ": the query and the COPY disagree on the columns");
  }
  SESAME_RETURN_IF_ERROR(target.BeginCopy(table.copy, doing));
  // From here the target is in COPY mode: a failure ends it first.
  auto give_up = [&](Status why) -> Status {
    target.AbortCopy();
    return why;
  };
  std::string rows;
  rows.reserve(kCopyChunkBytes + 4096);  // rarely grown: no stray copies of hashes
  int64_t read = 0;
  for (;;) {
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      WipeMemory(rows.data(), rows.size());
      return give_up(source.Error(rc, "reading " + std::string(table.name)));
    }
    for (int c = 0; c < columns; ++c) {
      const char end = c + 1 < columns ? '\t' : '\n';
      switch (table.kinds[c]) {
        case 'i':
          CopyField(rows, std::to_string(sqlite3_column_int64(stmt->get(), c)), end);
          break;
        case 'b':
          CopyField(rows, sqlite3_column_int64(stmt->get(), c) != 0 ? "t" : "f", end);
          break;
        default: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), c));
          const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt->get(), c));
          const std::string_view value = text != nullptr ? std::string_view(text, size) : "";
          if (value.find('\0') != std::string_view::npos) {
            WipeMemory(rows.data(), rows.size());
            return give_up(Status(Code::kCorrupt,
                                  "SQLite store " + source.path() + ": row " +
                                      std::to_string(read + 1) + " of " + table.name +
                                      " holds a NUL byte, which PostgreSQL text cannot; nothing "
                                      "copied: correct or delete that row first"));
          }
          CopyField(rows, value, end);
        }
      }
    }
    ++read;
    if (rows.size() >= kCopyChunkBytes) {
      Status sent = target.PutCopy(rows, doing);
      if (!sent.ok()) return give_up(sent);
    }
  }
  Status sent = target.PutCopy(rows, doing);
  if (!sent.ok()) return give_up(sent);
  Result<int64_t> taken = target.EndCopy(doing);
  if (!taken.ok()) return taken.status();
  if (*taken != read) {
    return Status(Code::kInternal, doing + ": read " + std::to_string(read) +
                                       " rows, the server took " + std::to_string(*taken) +
                                       "; nothing copied");
  }
  return taken;
}

// "1 user", "3 users".
std::string Counted(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "alice, bob, carol and 4 more".
std::string NameList(const std::vector<std::string>& names) {
  std::string text;
  const size_t shown = std::min<size_t>(names.size(), 5);
  for (size_t i = 0; i < shown; ++i) text += (i > 0 ? ", " : "") + names[i];
  if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

// Inside the target's transaction: the checks before any row is written.
Status CheckTarget(Source& source, AdminSession& target, const CopyOptions& options) {
  Result<int> version = postgres_internal::ReadSchemaVersion(target);
  if (!version.ok()) return version.status();
  const std::string where = "PostgreSQL store " + target.where();
  if (*version == 0) {
    return Status(Code::kUnavailable,
                  where +
                      " is empty (no schema); nothing copied: run `sesame-admin init` "
                      "with this config first (it creates the schema, and keeps a key file "
                      "that is there), then copy again");
  }
  if (*version < kPostgresSchemaVersion) {
    return Status(Code::kUnavailable, where + " has schema version " + std::to_string(*version) +
                                          "; nothing copied: run `sesame-admin db migrate` "
                                          "first, then copy again");
  }
  if (*version > kPostgresSchemaVersion) {
    return Status(Code::kUnavailable, where + " has schema version " + std::to_string(*version) +
                                          ", newer than this sesame knows; nothing copied: copy "
                                          "with the sesame that made it");
  }

  if (!options.merge) {
    // Nobody adds users, app passwords or events until this transaction
    // ends, so "empty" stays true (waits at most lock_timeout).
    Result<PgResult> locked =
        target.Exec("LOCK TABLE users, app_passwords, events IN SHARE ROW EXCLUSIVE MODE",
                    "locking the target's tables");
    if (!locked.ok()) return locked.status();
    Result<PgResult> counts = target.Exec(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM app_passwords), "
        "(SELECT count(*) FROM events)",
        "counting the target's rows");
    if (!counts.ok()) return counts.status();
    if (counts->Int(0, 0) != 0 || counts->Int(0, 1) != 0 || counts->Int(0, 2) != 0) {
      return Status(Code::kAlreadyExists,
                    where + " is not empty (" + Counted(counts->Int(0, 0), "user", "users") + ", " +
                        Counted(counts->Int(0, 1), "app password", "app passwords") + ", " +
                        Counted(counts->Int(0, 2), "event", "events") +
                        "); nothing copied: db copy fills an empty store; add --merge to add "
                        "this file's users to the ones there");
    }
  }

  // The file's users: each one's authenticator is checked, and with merge
  // none may be in the target already.
  std::set<std::string> present;
  if (options.merge) {
    Result<PgResult> names = target.Exec("SELECT name FROM users", "reading the target's users");
    if (!names.ok()) return names.status();
    for (int i = 0; i < names->rows(); ++i) present.insert(names->Text(i, 0));
  }
  Result<SqliteStmt> users =
      source.Prepare("SELECT name, totp_sealed FROM users ORDER BY name", "reading users");
  if (!users.ok()) return users.status();
  std::vector<std::string> clashes;
  for (;;) {
    int rc = sqlite3_step(users->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return source.Error(rc, "reading users");
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(users->get(), 0));
    const auto* sealed = reinterpret_cast<const char*>(sqlite3_column_text(users->get(), 1));
    const std::string user = name != nullptr ? name : "";
    if (present.count(user) != 0) clashes.push_back(user);
    if (sealed != nullptr && sealed[0] != '\0' && options.check_totp) {
      std::string copy = sealed;
      Status st = options.check_totp(user, copy);
      WipeMemory(copy.data(), copy.size());
      SESAME_RETURN_IF_ERROR(st);
    }
  }
  if (!clashes.empty()) {
    return Status(Code::kAlreadyExists,
                  std::string(clashes.size() == 1 ? "user " : "users ") + NameList(clashes) +
                      " of " + source.path() + (clashes.size() == 1 ? " is" : " are") + " in " +
                      where +
                      " already; nothing copied: --merge adds only users the store does not "
                      "have (remove one of the two accounts, e.g. `sesame-admin user remove "
                      "NAME` on the host the file comes from, then copy again)");
  }
  return Status::Ok();
}

Status CopyRows(Source& source, AdminSession& target, const CopyOptions& options,
                CopyCounts* counts) {
  SESAME_RETURN_IF_ERROR(CheckTarget(source, target, options));

  Status st;
  counts->orphans_skipped = source.Count(
      "SELECT (SELECT count(*) FROM password_history WHERE user NOT IN "
      "(SELECT name FROM users)) + (SELECT count(*) FROM recovery_codes WHERE user "
      "NOT IN (SELECT name FROM users)) + (SELECT count(*) FROM app_passwords WHERE "
      "user NOT IN (SELECT name FROM users)) + (SELECT count(*) FROM "
      "app_password_lockout WHERE user NOT IN (SELECT name FROM users))",
      "counting rows without a user", &st);
  SESAME_RETURN_IF_ERROR(st);
  counts->pending_dropped = source.Count(
      "SELECT (SELECT coalesce(sum(pending_attempts), 0) FROM users) + (SELECT "
      "coalesce(sum(pending_attempts), 0) FROM app_password_lockout WHERE user IN "
      "(SELECT name FROM users))",
      "counting pending attempts", &st);
  SESAME_RETURN_IF_ERROR(st);

  struct Step {
    const TableCopy* table;
    int64_t* count;
  };
  for (const Step& step :
       {Step{&kUsers, &counts->users}, Step{&kHistory, &counts->password_history},
        Step{&kRecovery, &counts->recovery_codes}, Step{&kAppPasswords, &counts->app_passwords},
        Step{&kAppLockout, &counts->app_password_lockouts}, Step{&kEvents, &counts->events}}) {
    Result<int64_t> copied = CopyTable(source, target, *step.table);
    if (!copied.ok()) return copied.status();
    *step.count = *copied;
  }

  // Required groups: few rows; one in the target already keeps its row
  // (and its `since`).
  Result<SqliteStmt> groups = source.Prepare(
      "SELECT name, since FROM mfa_required_groups ORDER BY name", "reading required groups");
  if (!groups.ok()) return groups.status();
  for (;;) {
    int rc = sqlite3_step(groups->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return source.Error(rc, "reading required groups");
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(groups->get(), 0));
    Params p;
    p.Text(name != nullptr ? name : "").Int(sqlite3_column_int64(groups->get(), 1));
    Result<PgResult> added = target.Exec(
        "INSERT INTO mfa_required_groups(name, since) VALUES ($1, $2) ON CONFLICT (name) DO "
        "NOTHING",
        p, "copying required groups");
    if (!added.ok()) return added.status();
    if (added->Affected() > 0) {
      ++counts->mfa_required_groups;
    } else {
      ++counts->mfa_required_groups_kept;
    }
  }
  return Status::Ok();
}

}  // namespace

Status CopySqliteIntoPostgres(const SqliteCopySource& source_options,
                              const PostgresOptions& target_options, const CopyOptions& options,
                              CopyCounts* counts) {
  *counts = CopyCounts{};
  Source source(source_options);
  SESAME_RETURN_IF_ERROR(source.Open(source_options));

  Result<std::unique_ptr<AdminSession>> opened = AdminSession::Open(
      target_options, std::max(target_options.statement_timeout_s, kCopyStatementTimeoutS));
  if (!opened.ok()) return opened.status();
  AdminSession& target = **opened;
  Result<PgResult> begun = target.Exec("BEGIN", "starting the copy");
  if (!begun.ok()) return begun.status();

  CopyCounts copied;
  Status st = CopyRows(source, target, options, &copied);
  if (st.ok()) {
    Result<PgResult> committed = target.Exec("COMMIT", "committing the copy");
    if (committed.ok()) {
      *counts = copied;
      return Status::Ok();
    }
    st = committed.status();
    if (PQstatus(target.conn()) != CONNECTION_OK) {
      return Status(st.code(), st.message() +
                                   "; the connection broke at COMMIT, so whether the copy was "
                                   "committed is not known: look (`sesame-admin user list`) "
                                   "before copying again");
    }
  }
  // Nothing of the copy stays: the transaction is rolled back (a broken
  // connection has rolled it back already).
  if (PQtransactionStatus(target.conn()) != PQTRANS_IDLE) {
    Result<PgResult> rolled_back = target.Exec("ROLLBACK", "rolling the copy back");
    (void)rolled_back;
  }
  return st;
}

}  // namespace sesame
