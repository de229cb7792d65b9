// SQLite backend of Store, part four: app passwords (schema version 8). The
// MUST rules at the top of core/store/sqlite/sqlite_store.cc apply here too;
// the tables are explained in docs/storage.md ("App passwords").
//
// A sign-in finds an app password by one lookup of the unique index on its
// digest. Adding one checks the per-user cap and the name inside the same
// BEGIN IMMEDIATE transaction as the INSERT, so two tools adding at once
// cannot pass the cap together. The app-password lockout bucket
// (app_password_lockout) is counted by ReserveAttempt/SettleAttempt in
// sqlite_users.cc; it is only read here.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/backend_common.h"
#include "core/store/sqlite/sqlite_internal.h"

namespace sesame {
namespace sqlite_internal {

namespace {

// Ended app passwords (revoked, or expired) kept per user for `list`; older
// ones are deleted when a new one is added, so making and revoking app
// passwords in a loop cannot grow the store without bound.
constexpr int64_t kEndedAppPasswordsKept = 50;

#define SESAME_APP_PASSWORD_COLUMNS \
  "id, user, name, digest, services, created, expires, last_used, last_used_from, revoked"

AppPasswordRecord ReadAppPassword(const Stmt& stmt) {
  AppPasswordRecord record;
  record.id = stmt.Int(0);
  record.user = stmt.Text(1);
  record.name = stmt.Text(2);
  record.digest = stmt.Text(3);
  record.services = SplitAppPasswordServices(stmt.Text(4));
  record.created = stmt.Int(5);
  record.expires = stmt.Int(6);
  record.last_used = stmt.Int(7);
  record.last_used_from = stmt.Text(8);
  record.revoked = stmt.Int(9);
  return record;
}

}  // namespace

Status SqliteStore::DoAddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) {
  const char* kDoing = "adding an app password";
  int64_t id = 0;
  // Durable: the person is about to paste the secret into a mail client.
  Status st = Write(
      kDoing,
      [&]() -> Status {
        SESAME_RETURN_IF_ERROR(CheckUserExists(record.user, kDoing));
        // An expired one with this name gives the name up.
        Stmt expire;
        SESAME_RETURN_IF_ERROR(
            Prepare("UPDATE app_passwords SET revoked = ?3 WHERE user = ?1 AND name = ?2 AND "
                    "revoked = 0 AND expires <> 0 AND expires <= ?3",
                    &expire, kDoing));
        expire.BindText(1, record.user);
        expire.BindText(2, record.name);
        expire.BindInt(3, now);
        int rc = expire.Step();
        if (rc != SQLITE_DONE) return Error(rc, kDoing);

        Stmt taken;
        SESAME_RETURN_IF_ERROR(
            Prepare("SELECT 1 FROM app_passwords WHERE user = ?1 AND name = ?2 AND revoked = 0",
                    &taken, kDoing));
        taken.BindText(1, record.user);
        taken.BindText(2, record.name);
        rc = taken.Step();
        if (rc == SQLITE_ROW) {
          return Status(Code::kAlreadyExists,
                        "user " + record.user + " already has an app password named \"" +
                            record.name + "\"; choose another name, or revoke that one first");
        }
        if (rc != SQLITE_DONE) return Error(rc, kDoing);

        Stmt live;
        SESAME_RETURN_IF_ERROR(
            Prepare("SELECT count(*) FROM app_passwords WHERE user = ?1 AND revoked = 0 AND "
                    "(expires = 0 OR expires > ?2)",
                    &live, kDoing));
        live.BindText(1, record.user);
        live.BindInt(2, now);
        rc = live.Step();
        if (rc != SQLITE_ROW) return Error(rc, kDoing);
        const int64_t count = live.Int(0);
        if (count >= max_live) {
          return Status(Code::kPermissionDenied,
                        "user " + record.user + " has " + std::to_string(count) +
                            " app passwords, the most allowed (app_password_max = " +
                            std::to_string(max_live) + "); revoke one first");
        }

        Stmt insert;
        SESAME_RETURN_IF_ERROR(
            Prepare("INSERT INTO app_passwords(user, name, digest, services, created, expires) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &insert, kDoing));
        insert.BindText(1, record.user);
        insert.BindText(2, record.name);
        insert.BindText(3, record.digest);
        const std::string services = JoinAppPasswordServices(record.services);
        insert.BindText(4, services);
        insert.BindInt(5, now);
        insert.BindInt(6, record.expires);
        rc = insert.Step();
        if (rc == SQLITE_CONSTRAINT) {
          // Not the name (checked above under the same lock): the digest.
          // 112 random bits do not collide; a broken Random does.
          return Status(Code::kInternal,
                        "a new app password has the digest of an existing one; the random "
                        "source is broken; nothing was stored");
        }
        if (rc != SQLITE_DONE) return Error(rc, kDoing);
        id = sqlite3_last_insert_rowid(db_.get());

        Stmt prune;
        SESAME_RETURN_IF_ERROR(Prepare(
            "DELETE FROM app_passwords WHERE user = ?1 AND id IN (SELECT id FROM app_passwords "
            "WHERE user = ?1 AND (revoked <> 0 OR (expires <> 0 AND expires <= ?2)) "
            "ORDER BY id DESC LIMIT -1 OFFSET ?3)",
            &prune, kDoing));
        prune.BindText(1, record.user);
        prune.BindInt(2, now);
        prune.BindInt(3, kEndedAppPasswordsKept);
        rc = prune.Step();
        return rc == SQLITE_DONE ? Status::Ok() : Error(rc, kDoing);
      },
      Sync::kDurable);
  if (!st.ok()) return st;
  record.id = id;
  record.created = now;
  record.last_used = 0;
  record.last_used_from.clear();
  record.revoked = 0;
  return Status::Ok();
}

Result<std::vector<AppPasswordRecord>> SqliteStore::DoListAppPasswords(std::string_view user) {
  const char* kDoing = "listing app passwords";
  std::vector<AppPasswordRecord> records;
  // One read transaction: the user's existence and the rows agree.
  Status st = Run("BEGIN", kDoing);
  if (!st.ok()) return st;
  RollbackGuard guard(db_.get());
  SESAME_RETURN_IF_ERROR(CheckUserExists(user, kDoing));
  Stmt list;
  SESAME_RETURN_IF_ERROR(Prepare("SELECT " SESAME_APP_PASSWORD_COLUMNS
                                 " FROM app_passwords WHERE user = ?1 ORDER BY id",
                                 &list, kDoing));
  list.BindText(1, user);
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) records.push_back(ReadAppPassword(list));
  if (rc != SQLITE_DONE) return Error(rc, kDoing);
  SESAME_RETURN_IF_ERROR(Run("COMMIT", kDoing));
  return records;
}

Result<std::optional<AppPasswordRecord>> SqliteStore::DoFindAppPassword(std::string_view digest) {
  const char* kDoing = "looking up an app password";
  Stmt find;
  SESAME_RETURN_IF_ERROR(Prepare("SELECT " SESAME_APP_PASSWORD_COLUMNS
                                 " FROM app_passwords WHERE digest = ?1",
                                 &find, kDoing));
  find.BindText(1, digest);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return std::optional<AppPasswordRecord>();
  if (rc != SQLITE_ROW) return Error(rc, kDoing);
  return std::optional<AppPasswordRecord>(ReadAppPassword(find));
}

Result<int> SqliteStore::DoRevokeAppPasswords(std::string_view user, std::string_view name,
                                              int64_t now) {
  const char* kDoing = "revoking app passwords";
  int revoked = 0;
  // Durable: a revoked app password must not come back after a power cut.
  Status st = Write(
      kDoing,
      [&]() -> Status {
        SESAME_RETURN_IF_ERROR(CheckUserExists(user, kDoing));
        // Live ones only (?3 = now): an expired one is over already, so it
        // is neither counted nor named here.
        Stmt revoke;
        SESAME_RETURN_IF_ERROR(Prepare(
            name.empty() ? "UPDATE app_passwords SET revoked = ?3 WHERE user = ?1 AND revoked = 0 "
                           "AND (expires = 0 OR expires > ?3)"
                         : "UPDATE app_passwords SET revoked = ?3 WHERE user = ?1 AND revoked = 0 "
                           "AND (expires = 0 OR expires > ?3) AND name = ?2",
            &revoke, kDoing));
        revoke.BindText(1, user);
        if (!name.empty()) revoke.BindText(2, name);
        revoke.BindInt(3, now);
        int rc = revoke.Step();
        if (rc != SQLITE_DONE) return Error(rc, kDoing);
        revoked = sqlite3_changes(db_.get());
        if (!name.empty() && revoked == 0) {
          return Status(Code::kNotFound, "user " + std::string(user) +
                                             " has no app password named \"" + std::string(name) +
                                             "\" (see the names with app-password list)");
        }
        return Status::Ok();
      },
      Sync::kDurable);
  if (!st.ok()) return st;
  return revoked;
}

Result<LockoutRecord> SqliteStore::DoAppPasswordLockout(std::string_view user) {
  const char* kDoing = "reading the app-password lockout";
  LockoutRecord record;
  Status st = Run("BEGIN", kDoing);
  if (!st.ok()) return st;
  RollbackGuard guard(db_.get());
  SESAME_RETURN_IF_ERROR(CheckUserExists(user, kDoing));
  Stmt read;
  SESAME_RETURN_IF_ERROR(
      Prepare("SELECT failures, pending_attempts, first_failure, locked_until "
              "FROM app_password_lockout WHERE user = ?1",
              &read, kDoing));
  read.BindText(1, user);
  int rc = read.Step();
  if (rc == SQLITE_ROW) {
    record.failures = ClampToInt(read.Int(0));
    record.pending_attempts = ClampToInt(read.Int(1));
    record.first_failure = read.Int(2);
    record.locked_until = read.Int(3);
  } else if (rc != SQLITE_DONE) {
    return Error(rc, kDoing);
  }
  SESAME_RETURN_IF_ERROR(Run("COMMIT", kDoing));
  return record;
}

#undef SESAME_APP_PASSWORD_COLUMNS

}  // namespace sqlite_internal
}  // namespace sesame
