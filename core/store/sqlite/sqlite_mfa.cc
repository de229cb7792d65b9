// SQLite backend of Store, part three: the authenticator app (TOTP) secret,
// the last accepted time step and the recovery codes (schema version 4). The
// MUST rules at the top of core/store/sqlite/sqlite_store.cc apply here too; the SQL is
// explained in docs/storage.md ("Authenticator and recovery codes").
//
// Single use across processes is decided inside SQLite: a time step is taken
// by one conditional UPDATE and a recovery code by one DELETE, each in a
// BEGIN IMMEDIATE transaction, so of several processes presenting the same
// code at once exactly one sees a changed row.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/sqlite/sqlite_internal.h"

namespace sesame {
namespace sqlite_internal {

Status SqliteStore::ReplaceRecoveryCodes(std::string_view name,
                                         const std::vector<std::string>& digests) {
  Stmt clear;
  SESAME_RETURN_IF_ERROR(
      Prepare("DELETE FROM recovery_codes WHERE user = ?1", &clear, "replacing recovery codes"));
  clear.BindText(1, name);
  int rc = clear.Step();
  if (rc != SQLITE_DONE) return Error(rc, "replacing recovery codes");

  Stmt add;
  SESAME_RETURN_IF_ERROR(Prepare("INSERT INTO recovery_codes(user, digest) VALUES (?1, ?2)", &add,
                                 "storing recovery codes"));
  for (const std::string& digest : digests) {
    add.Reset();
    add.BindText(1, name);
    add.BindText(2, digest);
    rc = add.Step();
    if (rc == SQLITE_CONSTRAINT &&
        sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      // The digest itself is not named: it is a secret's hash.
      return Status(Code::kInvalidArgument, "duplicate recovery code digest for user " +
                                                std::string(name) + " in store " + path_ +
                                                "; nothing was written");
    }
    if (rc != SQLITE_DONE) return Error(rc, "storing recovery codes");
  }
  return Status::Ok();
}

Status SqliteStore::DoSetTotp(std::string_view name, std::string_view sealed,
                              const std::vector<std::string>& recovery_digests) {
  return Write("enrolling an authenticator", [&]() -> Status {
    Stmt set;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE users SET totp_sealed = ?2, totp_last_step = -1, recent_failures = '' "
                "WHERE name = ?1",
                &set, "enrolling an authenticator"));
    set.BindText(1, name);
    set.BindText(2, sealed);
    int rc = set.Step();
    if (rc != SQLITE_DONE) return Error(rc, "enrolling an authenticator");
    if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);
    return ReplaceRecoveryCodes(name, recovery_digests);
  });
}

Status SqliteStore::DoEnrollTotp(std::string_view name, std::string_view expected_sealed,
                                 std::string_view sealed,
                                 const std::vector<std::string>& recovery_digests,
                                 int64_t confirmed_step) {
  return Write(
      "enrolling an authenticator",
      [&]() -> Status {
        // Only over the secret the caller saw: two sessions enrolling at once
        // must not silently replace each other's secret.
        Stmt set;
        SESAME_RETURN_IF_ERROR(
            Prepare("UPDATE users SET totp_sealed = ?2, totp_last_step = ?3, recent_failures = '' "
                    "WHERE name = ?1 AND totp_sealed = ?4",
                    &set, "enrolling an authenticator"));
        set.BindText(1, name);
        set.BindText(2, sealed);
        set.BindInt(3, confirmed_step);
        set.BindText(4, expected_sealed);
        int rc = set.Step();
        if (rc != SQLITE_DONE) return Error(rc, "enrolling an authenticator");
        if (sqlite3_changes(db_.get()) == 0) {
          SESAME_RETURN_IF_ERROR(CheckUserExists(name, "enrolling an authenticator"));
          return Status(Code::kAlreadyExists,
                        "the authenticator of user " + std::string(name) +
                            " changed during the enrollment; nothing was written");
        }
        return ReplaceRecoveryCodes(name, recovery_digests);
      },
      Sync::kDurable);
}

Status SqliteStore::DoSetRecoveryCodes(std::string_view name,
                                       const std::vector<std::string>& recovery_digests) {
  return Write("replacing recovery codes", [&]() -> Status {
    Stmt check;
    SESAME_RETURN_IF_ERROR(Prepare("SELECT totp_sealed <> '' FROM users WHERE name = ?1", &check,
                                   "replacing recovery codes"));
    check.BindText(1, name);
    int rc = check.Step();
    if (rc == SQLITE_DONE) return NoSuchUser(name);
    if (rc != SQLITE_ROW) return Error(rc, "replacing recovery codes");
    if (check.Int(0) == 0) {
      return Status(Code::kNotFound,
                    "user " + std::string(name) +
                        " has no authenticator; recovery codes come with one; nothing was "
                        "written");
    }
    return ReplaceRecoveryCodes(name, recovery_digests);
  });
}

Status SqliteStore::DoSetMfaRequired(std::string_view name, bool required, int64_t now) {
  return UpdateUser(
      "UPDATE users SET mfa_required = ?2, mfa_required_since = CASE WHEN ?2 = 1 AND "
      "mfa_required_since = 0 THEN ?3 ELSE mfa_required_since END WHERE name = ?1",
      name, "requiring MFA", [&](Stmt& stmt) {
        stmt.BindInt(2, required ? 1 : 0);
        stmt.BindInt(3, now);
      });
}

Result<int64_t> SqliteStore::DoBeginMfaGrace(std::string_view name, int64_t now) {
  int64_t since = 0;
  Status st = Write("beginning the MFA grace period", [&]() -> Status {
    Stmt begin;
    SESAME_RETURN_IF_ERROR(Prepare(
        "UPDATE users SET mfa_required_since = ?2 WHERE name = ?1 AND mfa_required_since = 0",
        &begin, "beginning the MFA grace period"));
    begin.BindText(1, name);
    begin.BindInt(2, now);
    int rc = begin.Step();
    if (rc != SQLITE_DONE) return Error(rc, "beginning the MFA grace period");
    Stmt read;
    SESAME_RETURN_IF_ERROR(Prepare("SELECT mfa_required_since FROM users WHERE name = ?1", &read,
                                   "beginning the MFA grace period"));
    read.BindText(1, name);
    rc = read.Step();
    if (rc == SQLITE_DONE) return NoSuchUser(name);
    if (rc != SQLITE_ROW) return Error(rc, "beginning the MFA grace period");
    since = read.Int(0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return since;
}

Status SqliteStore::DoSetMfaRequiredGroup(std::string_view group, bool required, int64_t now) {
  return Write("requiring MFA of a group", [&]() -> Status {
    Stmt stmt;
    SESAME_RETURN_IF_ERROR(
        Prepare(required ? "INSERT OR IGNORE INTO mfa_required_groups(name, since) VALUES (?1, ?2)"
                         : "DELETE FROM mfa_required_groups WHERE name = ?1",
                &stmt, "requiring MFA of a group"));
    stmt.BindText(1, group);
    if (required) stmt.BindInt(2, now);
    int rc = stmt.Step();
    return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "requiring MFA of a group");
  });
}

Result<std::vector<std::string>> SqliteStore::DoMfaRequiredGroups() {
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(Prepare("SELECT name FROM mfa_required_groups ORDER BY name", &stmt,
                                 "listing groups that must use MFA"));
  std::vector<std::string> groups;
  for (;;) {
    int rc = stmt.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(rc, "listing groups that must use MFA");
    groups.push_back(stmt.Text(0));
  }
  return groups;
}

Status SqliteStore::DoClearMfa(std::string_view name) {
  return Write("removing an authenticator", [&]() -> Status {
    Stmt set;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE users SET totp_sealed = '', totp_last_step = -1, mfa_required_since = 0 "
                "WHERE name = ?1",
                &set, "removing an authenticator"));
    set.BindText(1, name);
    int rc = set.Step();
    if (rc != SQLITE_DONE) return Error(rc, "removing an authenticator");
    if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);

    Stmt clear;
    SESAME_RETURN_IF_ERROR(
        Prepare("DELETE FROM recovery_codes WHERE user = ?1", &clear, "removing recovery codes"));
    clear.BindText(1, name);
    rc = clear.Step();
    return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "removing recovery codes");
  });
}

// The guard's condition, as SQL over the users row: ?3 = applies, ?4 = now.
#define SESAME_GUARD_REFUSES "(?3 AND locked_until > ?4)"

Result<CodeUse> SqliteStore::WhyCodeUnused(std::string_view name, const LockGuard& guard,
                                           std::string_view doing) {
  Stmt why;
  SESAME_RETURN_IF_ERROR(
      Prepare("SELECT " SESAME_GUARD_REFUSES " FROM users WHERE name = ?1", &why, doing));
  why.BindText(1, name);
  why.BindInt(3, guard.applies ? 1 : 0);
  why.BindInt(4, guard.now);
  int rc = why.Step();
  if (rc == SQLITE_DONE) return NoSuchUser(name);
  if (rc != SQLITE_ROW) return Error(rc, doing);
  return why.Int(0) != 0 ? CodeUse::kLocked : CodeUse::kAlreadyUsed;
}

Result<CodeUse> SqliteStore::DoUseTotpStep(std::string_view name, int64_t step,
                                           const LockGuard& guard) {
  const char* kDoing = "using an authenticator code";
  CodeUse use = CodeUse::kAlreadyUsed;
  Status st = Write(kDoing, [&]() -> Status {
    // The comparison, the lock check and the write are one statement: of
    // several processes presenting the same step, only the first changes
    // the row, and none does while a lock is in force.
    Stmt take;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE users SET totp_last_step = ?2 WHERE name = ?1 AND "
                "totp_last_step < ?2 AND NOT " SESAME_GUARD_REFUSES,
                &take, kDoing));
    take.BindText(1, name);
    take.BindInt(2, step);
    take.BindInt(3, guard.applies ? 1 : 0);
    take.BindInt(4, guard.now);
    int rc = take.Step();
    if (rc != SQLITE_DONE) return Error(rc, kDoing);
    if (sqlite3_changes(db_.get()) == 1) {
      use = CodeUse::kUsed;
      return Status::Ok();
    }
    // No row changed: a lock, a replay, or no such user (same write lock,
    // so the answer is about the row the UPDATE saw).
    Result<CodeUse> why = WhyCodeUnused(name, guard, kDoing);
    if (!why.ok()) return why.status();
    use = why.value();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return use;
}

Result<CodeUse> SqliteStore::DoUseRecoveryCode(std::string_view name, std::string_view digest,
                                               const LockGuard& guard) {
  const char* kDoing = "using a recovery code";
  CodeUse use = CodeUse::kAlreadyUsed;
  Status st = Write(
      kDoing,
      [&]() -> Status {
        Stmt take;
        SESAME_RETURN_IF_ERROR(
            Prepare("DELETE FROM recovery_codes WHERE user = ?1 AND digest = ?2 AND NOT EXISTS "
                    "(SELECT 1 FROM users WHERE name = ?1 AND " SESAME_GUARD_REFUSES ")",
                    &take, kDoing));
        take.BindText(1, name);
        take.BindText(2, digest);
        take.BindInt(3, guard.applies ? 1 : 0);
        take.BindInt(4, guard.now);
        int rc = take.Step();
        if (rc != SQLITE_DONE) return Error(rc, kDoing);
        if (sqlite3_changes(db_.get()) == 1) {
          use = CodeUse::kUsed;
          return Status::Ok();
        }
        Result<CodeUse> why = WhyCodeUnused(name, guard, kDoing);
        if (!why.ok()) return why.status();
        use = why.value();
        return Status::Ok();
      },
      Sync::kDurable);
  if (!st.ok()) return st;
  return use;
}

#undef SESAME_GUARD_REFUSES

Result<int> SqliteStore::DoCountRecoveryCodes(std::string_view name) {
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(Prepare("SELECT count(*) FROM recovery_codes WHERE user = ?1", &stmt,
                                 "counting recovery codes"));
  stmt.BindText(1, name);
  int rc = stmt.Step();
  if (rc != SQLITE_ROW) return Error(rc, "counting recovery codes");
  return ClampToInt(stmt.Int(0));
}

}  // namespace sqlite_internal
}  // namespace sesame
