// SQLite backend of Store, part two: lockout counters, the must-change flag
// and password history (schema version 3). The MUST rules at the top of
// core/store/sqlite/sqlite_store.cc apply here too; the SQL is explained in
// docs/storage.md ("Lockout" and "Password history").
#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/backend_common.h"
#include "core/store/sqlite/sqlite_internal.h"

namespace sesame {
namespace sqlite_internal {

// The "start a new window" condition of RecordFailure, over the row as it
// was before the UPDATE (?2 = now, ?3 = fail_interval): no window yet, the
// window has passed, or an earlier lock has run out. `first_failure + ?3`
// cannot wrap: SQLite turns an overflowing integer sum into a REAL.
// A lock still in force is never lifted by a later failure, however old
// the window: only time (unlock_time) or an administrator lifts it.
#define SESAME_NEW_WINDOW                                    \
  "(failures <= 0 OR first_failure = 0 OR "                  \
  "(?2 >= first_failure + ?3 AND NOT locked_until > ?2) OR " \
  "(locked_until > 0 AND locked_until <= ?2))"

namespace {

// The statements of ReserveAttempt and SettleAttempt, once per bucket: the
// interactive counters are columns of `users` (keyed by name), the
// app-password ones a row of `app_password_lockout` (keyed by user). Every
// text is a compile-time constant (the MUST rules of sqlite_store.cc).
struct BucketSql {
  const char* ensure_row;  // null: the row is the user's own
  const char* seen;
  const char* lock_now;
  const char* count;
  const char* outcome;
  const char* settle_seen;
  const char* success;
  const char* wrong;
  const char* lock;
  const char* release;
  const char* after;
};

#define SESAME_BUCKET_SQL(T, K)                                                          \
  "SELECT ?4 > 0 AND locked_until > ?2, " SESAME_NEW_WINDOW                              \
  ", recent_failures, failures, locked_until, locked_until > 0 AND locked_until <= ?2, " \
  "?4 > 0 AND failures >= ?4, pending_attempts > 0 FROM " T " WHERE " K " = ?1",         \
      "UPDATE " T " SET locked_until = ?2 WHERE " K " = ?1",                             \
      "UPDATE " T                                                                        \
      " SET "                                                                            \
      "failures = CASE WHEN " SESAME_NEW_WINDOW                                          \
      " THEN 1 ELSE failures + 1 END, "                                                  \
      "pending_attempts = CASE WHEN " SESAME_NEW_WINDOW                                  \
      " THEN 1 ELSE pending_attempts + 1 END, "                                          \
      "first_failure = CASE WHEN " SESAME_NEW_WINDOW                                     \
      " THEN ?2 ELSE first_failure END, "                                                \
      "locked_until = CASE WHEN " SESAME_NEW_WINDOW                                      \
      " THEN 0 ELSE locked_until END, "                                                  \
      "recent_failures = CASE WHEN " SESAME_NEW_WINDOW                                   \
      " THEN '' ELSE recent_failures END "                                               \
      "WHERE " K " = ?1",                                                                \
      "SELECT failures, first_failure FROM " T " WHERE " K " = ?1",                      \
      "SELECT recent_failures FROM " T " WHERE " K " = ?1 AND first_failure = ?2",       \
      "UPDATE " T                                                                        \
      " SET "                                                                            \
      "pending_attempts = max(pending_attempts - (first_failure = ?2), 0), "             \
      "failures = max(pending_attempts - (first_failure = ?2), 0), "                     \
      "first_failure = CASE WHEN pending_attempts - (first_failure = ?2) > 0 "           \
      "THEN first_failure ELSE 0 END, locked_until = 0, recent_failures = '' "           \
      "WHERE " K                                                                         \
      " = ?1 AND (failures <> 0 OR pending_attempts <> 0 OR "                            \
      "first_failure <> 0 OR locked_until <> 0 OR recent_failures <> '')",               \
      "UPDATE " T                                                                        \
      " SET pending_attempts = max(pending_attempts - 1, 0), "                           \
      "recent_failures = CASE WHEN ?2 = '' THEN recent_failures "                        \
      "ELSE substr(recent_failures || ?2, -?3) END WHERE " K " = ?1",                    \
      "UPDATE " T " SET locked_until = ?3 WHERE " K                                      \
      " = ?1 AND ?2 > 0 AND "                                                            \
      "failures >= ?2 AND NOT locked_until > ?4",                                        \
      "UPDATE " T                                                                        \
      " SET failures = max(failures - 1, 0), "                                           \
      "pending_attempts = max(pending_attempts - 1, 0) WHERE " K " = ?1",                \
      "SELECT failures FROM " T " WHERE " K " = ?1"

const BucketSql& SqlFor(LockBucket bucket) {
  static constexpr BucketSql kInteractive = {nullptr, SESAME_BUCKET_SQL("users", "name")};
  static constexpr BucketSql kAppPassword = {
      "INSERT OR IGNORE INTO app_password_lockout(user) SELECT name FROM users WHERE name = ?1",
      SESAME_BUCKET_SQL("app_password_lockout", "user")};
  return bucket == LockBucket::kAppPassword ? kAppPassword : kInteractive;
}

#undef SESAME_BUCKET_SQL

}  // namespace

Result<Reservation> SqliteStore::DoReserveAttempt(std::string_view name, int64_t now,
                                                  const LockoutPolicy& policy,
                                                  std::string_view attempt) {
  const char* kDoing = "reserving a sign-in attempt";
  const BucketSql& sql = SqlFor(policy.bucket);

  // All in one BEGIN IMMEDIATE transaction: the write lock is taken at
  // BEGIN, so no other connection writes between the statements and each
  // sees exactly the previous one's result. The counters themselves are
  // only ever changed in SQL (failures + 1), never from a value read into
  // this process.
  Reservation result;
  Status st = Write(kDoing, [&]() -> Status {
    int rc;
    if (sql.ensure_row != nullptr) {
      // The bucket's row, made at its first attempt (none for no such user).
      Stmt ensure;
      SESAME_RETURN_IF_ERROR(Prepare(sql.ensure_row, &ensure, kDoing));
      ensure.BindText(1, name);
      rc = ensure.Step();
      if (rc != SQLITE_DONE) return Error(rc, kDoing);
    }
    // 1. What the row says now. ?4 = deny: with the lockout off a recorded
    // lock is ignored, and nothing fills.
    Stmt seen;
    SESAME_RETURN_IF_ERROR(Prepare(sql.seen, &seen, kDoing));
    seen.BindText(1, name);
    seen.BindInt(2, now);
    seen.BindInt(3, policy.fail_interval);
    seen.BindInt(4, policy.deny);
    rc = seen.Step();
    if (rc == SQLITE_DONE) return NoSuchUser(name);
    if (rc != SQLITE_ROW) return Error(rc, kDoing);
    result.failures = ClampToInt(seen.Int(3));
    if (seen.Int(0) != 0) {
      result.verdict = Reservation::Verdict::kLocked;
      result.locked_until = seen.Int(4);
      return Status::Ok();
    }
    const bool new_window = seen.Int(1) != 0;
    result.lock_expired = seen.Int(5) != 0;
    if (!new_window && !attempt.empty() && RememberedWrongAttempt(seen.Text(2), attempt)) {
      result.verdict = Reservation::Verdict::kRepeated;
      return Status::Ok();
    }
    if (!new_window && seen.Int(6) != 0) {
      if (seen.Int(7) != 0) {
        result.verdict = Reservation::Verdict::kFull;
        return Status::Ok();
      }
      // Full with nothing pending: deny was lowered since these failures
      // were counted. Lock now.
      Stmt lock;
      SESAME_RETURN_IF_ERROR(Prepare(sql.lock_now, &lock, kDoing));
      lock.BindText(1, name);
      lock.BindInt(2, LockUntil(now, policy));
      rc = lock.Step();
      if (rc != SQLITE_DONE) return Error(rc, kDoing);
      result.verdict = Reservation::Verdict::kLocked;
      result.locked_until = LockUntil(now, policy);
      return Status::Ok();
    }

    // 2. Start a new window or count one more in the current one. Every SET
    // expression reads the row as it was before this UPDATE.
    Stmt count;
    SESAME_RETURN_IF_ERROR(Prepare(sql.count, &count, kDoing));
    count.BindText(1, name);
    count.BindInt(2, now);
    count.BindInt(3, policy.fail_interval);
    rc = count.Step();
    if (rc != SQLITE_DONE) return Error(rc, kDoing);
    if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);

    // 3. The outcome, read under the same write lock.
    Stmt outcome;
    SESAME_RETURN_IF_ERROR(Prepare(sql.outcome, &outcome, kDoing));
    outcome.BindText(1, name);
    rc = outcome.Step();
    if (rc != SQLITE_ROW) return Error(rc, kDoing);
    result.failures = ClampToInt(outcome.Int(0));
    result.window = outcome.Int(1);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return result;
}

Result<SettleOutcome> SqliteStore::DoSettleAttempt(std::string_view name,
                                                   const Settlement& settlement,
                                                   const SignInEvent* event) {
  const char* kDoing = "settling a sign-in attempt";
  const Reservation& r = settlement.reservation;
  // An app password's success has no reservation (Settlement).
  const bool reserved =
      r.verdict == Reservation::Verdict::kReserved && settlement.app_password_id == 0;
  const BucketSql& sql = SqlFor(settlement.policy.bucket);
  SettleOutcome outcome;
  Status st = Write(kDoing, [&]() -> Status {
    if (settlement.kind == Settlement::Kind::kSuccess && settlement.app_password_id != 0) {
      // A sign-in with an app password: marked used only while it is still
      // live and still this user's, in this transaction; revoked or expired
      // meanwhile (or never theirs), nothing is written and the sign-in is
      // not a success.
      Stmt use;
      SESAME_RETURN_IF_ERROR(
          Prepare("UPDATE app_passwords SET last_used = ?2, last_used_from = ?3 WHERE id = ?1 AND "
                  "user = ?4 AND revoked = 0 AND (expires = 0 OR expires > ?2)",
                  &use, kDoing));
      use.BindInt(1, settlement.app_password_id);
      use.BindInt(2, settlement.now);
      use.BindText(3, event != nullptr ? std::string_view(event->remote_host) : std::string_view());
      use.BindText(4, name);
      int rc = use.Step();
      if (rc != SQLITE_DONE) return Error(rc, kDoing);
      if (sqlite3_changes(db_.get()) == 0) {
        outcome.app_password_gone = true;
        return Status::Ok();
      }
    }
    if (reserved) {
      // Still the reservation's window? (?2 = its first_failure)
      Stmt seen;
      SESAME_RETURN_IF_ERROR(Prepare(sql.settle_seen, &seen, kDoing));
      seen.BindText(1, name);
      seen.BindInt(2, r.window);
      int rc = seen.Step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, kDoing);
      const bool mine = rc == SQLITE_ROW;
      Settlement::Kind kind = settlement.kind;
      if (mine && kind == Settlement::Kind::kWrong && !settlement.attempt.empty() &&
          RememberedWrongAttempt(seen.Text(0), settlement.attempt)) {
        outcome.repeated = true;
        kind = Settlement::Kind::kRelease;
      }
      Stmt stmt;
      rc = SQLITE_DONE;
      switch (kind) {
        case Settlement::Kind::kSuccess:
          // Attempts of others still pending stay counted. Only a row with
          // something to change is written (most sign-ins have nothing to
          // clear, and an unchanged row costs no page).
          SESAME_RETURN_IF_ERROR(Prepare(sql.success, &stmt, kDoing));
          stmt.BindText(1, name);
          stmt.BindInt(2, r.window);
          rc = stmt.Step();
          break;
        case Settlement::Kind::kWrong:
          if (!mine) break;
          SESAME_RETURN_IF_ERROR(Prepare(sql.wrong, &stmt, kDoing));
          stmt.BindText(1, name);
          stmt.BindText(2, settlement.attempt);
          stmt.BindInt(3,
                       static_cast<int64_t>(kRememberedWrongAttempts * kWrongAttemptDigestChars));
          rc = stmt.Step();
          if (rc != SQLITE_DONE) break;
          {
            // The lock, when this failure completes the count and none is in
            // force. Only the settlement that sets it changes a row here.
            Stmt lock;
            SESAME_RETURN_IF_ERROR(Prepare(sql.lock, &lock, "locking an account"));
            lock.BindText(1, name);
            lock.BindInt(2, settlement.policy.deny);
            lock.BindInt(3, LockUntil(settlement.now, settlement.policy));
            lock.BindInt(4, settlement.now);
            rc = lock.Step();
            if (rc == SQLITE_DONE && sqlite3_changes(db_.get()) > 0)
              outcome.locked_until = LockUntil(settlement.now, settlement.policy);
          }
          break;
        case Settlement::Kind::kRelease:
          if (!mine) break;
          SESAME_RETURN_IF_ERROR(Prepare(sql.release, &stmt, kDoing));
          stmt.BindText(1, name);
          rc = stmt.Step();
          break;
      }
      if (rc != SQLITE_DONE) return Error(rc, kDoing);
      Stmt after;
      SESAME_RETURN_IF_ERROR(Prepare(sql.after, &after, kDoing));
      after.BindText(1, name);
      rc = after.Step();
      if (rc == SQLITE_ROW) outcome.failures = ClampToInt(after.Int(0));
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, kDoing);
      if (settlement.kind == Settlement::Kind::kSuccess) {
        Stmt account;
        SESAME_RETURN_IF_ERROR(
            Prepare("SELECT disabled, must_change, password_changed FROM users WHERE name = ?1",
                    &account, kDoing));
        account.BindText(1, name);
        rc = account.Step();
        if (rc == SQLITE_ROW)
          outcome.account = AccountFlags{account.Int(0) != 0, account.Int(1) != 0, account.Int(2)};
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, kDoing);
      }
    }
    // Retention in passing: before the event, so never the event itself.
    SESAME_RETURN_IF_ERROR(PruneInPassing(settlement.prune_before, kDoing));
    if (event == nullptr) return Status::Ok();
    return InsertEvent(*event, 0);
  });
  if (!st.ok()) return st;
  return outcome;
}

#undef SESAME_NEW_WINDOW

Status SqliteStore::DoClearFailures(std::string_view name) {
  const char* kDoing = "clearing failed sign-ins";
  return Write(kDoing, [&]() -> Status {
    Stmt clear;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE users SET failures = 0, pending_attempts = 0, first_failure = 0, "
                "locked_until = 0, recent_failures = '' WHERE name = ?1",
                &clear, kDoing));
    clear.BindText(1, name);
    int rc = clear.Step();
    if (rc != SQLITE_DONE) return Error(rc, kDoing);
    if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);
    // And the app-password bucket: an administrator's unlock lifts both.
    Stmt app;
    SESAME_RETURN_IF_ERROR(
        Prepare("DELETE FROM app_password_lockout WHERE user = ?1", &app, kDoing));
    app.BindText(1, name);
    rc = app.Step();
    return rc == SQLITE_DONE ? Status::Ok() : Error(rc, kDoing);
  });
}

Status SqliteStore::DoSetMustChange(std::string_view name, bool must_change) {
  return UpdateUser("UPDATE users SET must_change = ?2 WHERE name = ?1", name, "changing a user",
                    [&](Stmt& stmt) { stmt.BindInt(2, must_change ? 1 : 0); });
}

Status SqliteStore::DoSetPassword(std::string_view name, std::string_view new_hash,
                                  int64_t changed_at, bool must_change, int history_keep,
                                  bool revoke_app_passwords) {
  return Write(
      "changing a password",
      [&]() -> Status {
        // Existence first, so a missing user is kNotFound, not a silent no-op.
        Stmt exists;
        SESAME_RETURN_IF_ERROR(
            Prepare("SELECT 1 FROM users WHERE name = ?1", &exists, "changing a password"));
        exists.BindText(1, name);
        int rc = exists.Step();
        if (rc == SQLITE_DONE) return NoSuchUser(name);
        if (rc != SQLITE_ROW) return Error(rc, "changing a password");

        // The current hash (unless empty: no password set) goes into the
        // history, copied row to row inside SQL. The remembered wrong
        // secrets are forgotten (below): one of them may be the new one.
        Stmt keep;
        SESAME_RETURN_IF_ERROR(
            Prepare("INSERT INTO password_history(user, hash, changed) "
                    "SELECT name, password_hash, password_changed FROM users "
                    "WHERE name = ?1 AND password_hash <> ''",
                    &keep, "recording password history"));
        keep.BindText(1, name);
        rc = keep.Step();
        if (rc != SQLITE_DONE) return Error(rc, "recording password history");

        // Keep the newest `history_keep` entries (id order: AUTOINCREMENT ids
        // only grow); LIMIT 0 keeps none.
        Stmt trim;
        SESAME_RETURN_IF_ERROR(
            Prepare("DELETE FROM password_history WHERE user = ?1 AND id NOT IN ("
                    "SELECT id FROM password_history WHERE user = ?1 ORDER BY id DESC LIMIT ?2)",
                    &trim, "trimming password history"));
        trim.BindText(1, name);
        trim.BindInt(2, history_keep);
        rc = trim.Step();
        if (rc != SQLITE_DONE) return Error(rc, "trimming password history");

        Stmt set;
        SESAME_RETURN_IF_ERROR(
            Prepare("UPDATE users SET password_hash = ?2, password_changed = ?3, must_change = ?4, "
                    "recent_failures = '' WHERE name = ?1",
                    &set, "changing a password"));
        set.BindText(1, name);
        set.BindText(2, new_hash);
        set.BindInt(3, changed_at);
        set.BindInt(4, must_change ? 1 : 0);
        rc = set.Step();
        if (rc != SQLITE_DONE) return Error(rc, "changing a password");

        Stmt forget;
        SESAME_RETURN_IF_ERROR(
            Prepare("UPDATE app_password_lockout SET recent_failures = '' WHERE user = ?1", &forget,
                    "changing a password"));
        forget.BindText(1, name);
        rc = forget.Step();
        if (rc != SQLITE_DONE) return Error(rc, "changing a password");

        if (revoke_app_passwords) {
          Stmt revoke;
          SESAME_RETURN_IF_ERROR(
              Prepare("UPDATE app_passwords SET revoked = ?2 WHERE user = ?1 AND revoked = 0",
                      &revoke, "revoking app passwords"));
          revoke.BindText(1, name);
          revoke.BindInt(2, changed_at);
          rc = revoke.Step();
          if (rc != SQLITE_DONE) return Error(rc, "revoking app passwords");
        }
        return Status::Ok();
      },
      Sync::kDurable);
}

Result<std::vector<std::string>> SqliteStore::DoPasswordHistory(std::string_view name) {
  Stmt stmt;
  SESAME_RETURN_IF_ERROR(
      Prepare("SELECT hash FROM password_history WHERE user = ?1 ORDER BY id DESC", &stmt,
              "reading password history"));
  stmt.BindText(1, name);
  std::vector<std::string> hashes;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) hashes.push_back(stmt.Text(0));
  if (rc != SQLITE_DONE) return Error(rc, "reading password history");
  return hashes;
}

}  // namespace sqlite_internal
}  // namespace sesame
