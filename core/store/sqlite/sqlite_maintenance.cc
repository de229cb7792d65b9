#include "core/store/sqlite/sqlite_maintenance.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/store/sqlite/sqlite_store.h"

namespace sesame {
namespace {

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, Closer>;

struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalizer>;

Status SqliteError(sqlite3* db, int rc, const std::string& path, const std::string& doing) {
  const std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status(Code::kCorrupt, "store " + path + " is not a valid SQLite database (" + why +
                                        "); restore it from a backup");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(Code::kBusy, "store " + path + " is busy while " + doing + "; try again");
    default:
      return Status(Code::kUnavailable, "store " + path + ": " + doing + ": " + why);
  }
}

Result<Db> OpenExisting(const std::string& path, TrustRule trust, int busy_timeout_ms) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return Status(Code::kNotFound,
                    "store " + path + " does not exist; run `sesame-admin init` to create it");
    return Status(Code::kUnavailable, "cannot check store " + path + ": " + std::strerror(errno));
  }
  SESAME_RETURN_IF_ERROR(CheckTrustedPath(path, "store", trust));
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, path, "opening it");
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  return db;
}

// Runs `sql` and collects the first column of up to `max_rows` rows.
Status Query(sqlite3* db, const std::string& path, const char* sql, const std::string& doing,
             std::string* first, int max_rows = 1) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, path, doing);
  first->clear();
  for (int row = 0; row < max_rows; ++row) {
    rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteError(db, rc, path, doing);
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    if (!first->empty()) *first += "; ";
    *first += text != nullptr ? reinterpret_cast<const char*>(text) : "";
  }
  return Status::Ok();
}

}  // namespace

Result<SqliteFacts> InspectSqliteStore(const std::string& path, TrustRule trust,
                                       int busy_timeout_ms) {
  Result<Db> db = OpenExisting(path, trust, busy_timeout_ms);
  if (!db.ok()) return db.status();
  SqliteFacts facts;
  facts.known_version = kSqliteSchemaVersion;
  std::string tables;
  SESAME_RETURN_IF_ERROR(
      Query(db->get(), path, "SELECT count(*) FROM sqlite_master", "reading the schema", &tables));
  if (tables != "0") {
    std::string has_version;
    SESAME_RETURN_IF_ERROR(Query(db->get(), path,
                                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'schema_version'",
                                 "reading the schema", &has_version));
    if (has_version != "1")
      return Status(Code::kCorrupt, "store " + path +
                                        " is a SQLite database but not a sesame store (no "
                                        "schema_version table); check the path");
    std::string version;
    SESAME_RETURN_IF_ERROR(Query(db->get(), path, "SELECT max(version) FROM schema_version",
                                 "reading the schema version", &version));
    facts.schema_version = std::atoi(version.c_str());
  }
  SESAME_RETURN_IF_ERROR(
      Query(db->get(), path, "PRAGMA quick_check", "checking its integrity", &facts.integrity, 5));
  facts.integrity_ok = facts.integrity == "ok";
  return facts;
}

Status BackupSqliteStore(const std::string& path, const std::string& backup_path, TrustRule trust,
                         int busy_timeout_ms) {
  Result<Db> db = OpenExisting(path, trust, busy_timeout_ms);
  if (!db.ok()) return db.status();
  // VACUUM INTO refuses an output file that exists (never overwrites a
  // backup); under umask 077 the file it creates is 0600.
  struct stat st;
  if (lstat(backup_path.c_str(), &st) == 0)
    return Status(Code::kAlreadyExists, "backup " + backup_path + " exists already");
  const mode_t old_mask = umask(077);
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db->get(), "VACUUM INTO ?1", -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(stmt.get(), 1, backup_path.c_str(), -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(stmt.get());
  }
  umask(old_mask);
  if (rc != SQLITE_DONE && rc != SQLITE_OK) {
    Status failed = SqliteError(db->get(), rc, path, "copying it to " + backup_path);
    unlink(backup_path.c_str());
    return failed;
  }
  if (chmod(backup_path.c_str(), 0600) != 0)
    return Status(Code::kUnavailable,
                  "cannot set the mode of backup " + backup_path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace sesame
