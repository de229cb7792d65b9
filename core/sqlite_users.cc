// SQLite backend of Store, part two: lockout counters, the must-change flag
// and password history (schema version 3). The MUST rules at the top of
// core/sqlite_store.cc apply here too; the SQL is explained in
// docs/storage.md ("Lockout" and "Password history").
#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.h"
#include "core/sqlite_internal.h"

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

// True when `attempt` is one of the digests in `recent` (concatenated,
// kWrongAttemptDigestChars each). Every remembered digest is compared, in
// constant time, whatever matched.
bool Remembered(std::string_view recent, std::string_view attempt) {
  bool found = false;
  for (size_t at = 0; at + kWrongAttemptDigestChars <= recent.size();
       at += kWrongAttemptDigestChars) {
    found |= ConstantTimeEquals(recent.substr(at, kWrongAttemptDigestChars), attempt);
  }
  return found;
}

bool IsDigest(std::string_view attempt) {
  if (attempt.size() != kWrongAttemptDigestChars) return false;
  for (char c : attempt) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<FailureResult> SqliteStore::RecordFailure(std::string_view name, int64_t now,
                                                 const LockoutPolicy& policy,
                                                 std::string_view attempt) {
  if (!attempt.empty() && !IsDigest(attempt)) {
    return Status(Code::kInvalidArgument, "wrong-attempt digest for store " + path_ + " is not " +
                                              std::to_string(kWrongAttemptDigestChars) +
                                              " lower-case hex characters");
  }
  if (policy.fail_interval < 0 || policy.unlock_time < 0) {
    return Status(Code::kInvalidArgument,
                  "lockout policy for store " + path_ + " has a negative fail_interval (" +
                      std::to_string(policy.fail_interval) + ") or unlock_time (" +
                      std::to_string(policy.unlock_time) + ")");
  }
  // When a lock set now runs out. A timed lock is clamped below
  // kLockedUntilUnlocked (so it never turns into an administrator's lock)
  // and above 0 (which would read as "not locked").
  int64_t lock_until = kLockedUntilUnlocked;
  if (policy.unlock_time > 0) {
    lock_until = now > kLockedUntilUnlocked - 1 - policy.unlock_time ? kLockedUntilUnlocked - 1
                                                                     : now + policy.unlock_time;
    if (lock_until < 1) lock_until = 1;
  }

  // Three statements in one BEGIN IMMEDIATE transaction: the write lock is
  // taken at BEGIN, so no other connection writes between them and the
  // second and third see exactly the first one's result. The counter itself
  // is only ever changed in SQL (failures + 1), never from a value read into
  // this process.
  FailureResult result;
  Status st = Write("counting a failed sign-in", [&]() -> Status {
    // 0. The same wrong secret as one counted in this window: nothing to do.
    if (!attempt.empty()) {
      Stmt seen;
      SESAME_RETURN_IF_ERROR(Prepare("SELECT recent_failures, " SESAME_NEW_WINDOW
                                     ", failures, locked_until FROM users WHERE name = ?1",
                                     &seen, "counting a failed sign-in"));
      seen.BindText(1, name);
      seen.BindInt(2, now);
      seen.BindInt(3, policy.fail_interval);
      int rc = seen.Step();
      if (rc == SQLITE_DONE) return NoSuchUser(name);
      if (rc != SQLITE_ROW) return Error(rc, "counting a failed sign-in");
      if (seen.Int(1) == 0 && Remembered(seen.Text(0), attempt)) {
        result.failures = ClampToInt(seen.Int(2));
        result.locked_until = seen.Int(3);
        result.repeated = true;
        return Status::Ok();
      }
    }

    // 1. Start a new window or count one more failure in the current one,
    // and remember the digest (the newest kRememberedWrongAttempts kept).
    // Every SET expression reads the row as it was before this UPDATE.
    Stmt count;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE users SET "
                "failures = CASE WHEN " SESAME_NEW_WINDOW " THEN 1 ELSE failures + 1 END, "
                "first_failure = CASE WHEN " SESAME_NEW_WINDOW " THEN ?2 ELSE first_failure END, "
                "locked_until = CASE WHEN " SESAME_NEW_WINDOW " THEN 0 ELSE locked_until END, "
                "recent_failures = CASE WHEN " SESAME_NEW_WINDOW " THEN ?4 "
                "ELSE substr(recent_failures || ?4, -?5) END "
                "WHERE name = ?1",
                &count, "counting a failed sign-in"));
    count.BindText(1, name);
    count.BindInt(2, now);
    count.BindInt(3, policy.fail_interval);
    count.BindText(4, attempt);
    count.BindInt(5, static_cast<int64_t>(kRememberedWrongAttempts * kWrongAttemptDigestChars));
    int rc = count.Step();
    if (rc != SQLITE_DONE) return Error(rc, "counting a failed sign-in");
    if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);

    // 2. Lock when the count reached `deny` and no lock is in force. After
    // step 1 a lock that had run out is 0, so locked_until <= 0 means "not
    // locked". Only the transaction that sets the lock changes a row here.
    Stmt lock;
    SESAME_RETURN_IF_ERROR(
        Prepare("UPDATE users SET locked_until = ?3 "
                "WHERE name = ?1 AND ?2 > 0 AND failures >= ?2 AND locked_until <= 0",
                &lock, "locking an account"));
    lock.BindText(1, name);
    lock.BindInt(2, policy.deny);
    lock.BindInt(3, lock_until);
    rc = lock.Step();
    if (rc != SQLITE_DONE) return Error(rc, "locking an account");
    result.locked_now = sqlite3_changes(db_.get()) > 0;

    // 3. The outcome, read under the same write lock.
    Stmt outcome;
    SESAME_RETURN_IF_ERROR(Prepare("SELECT failures, locked_until FROM users WHERE name = ?1",
                                   &outcome, "counting a failed sign-in"));
    outcome.BindText(1, name);
    rc = outcome.Step();
    if (rc != SQLITE_ROW) return Error(rc, "counting a failed sign-in");
    result.failures = ClampToInt(outcome.Int(0));
    result.locked_until = outcome.Int(1);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return result;
}

#undef SESAME_NEW_WINDOW

Status SqliteStore::ClearFailures(std::string_view name) {
  return UpdateUser(
      "UPDATE users SET failures = 0, first_failure = 0, locked_until = 0, recent_failures = '' "
      "WHERE name = ?1",
      name, "clearing failed sign-ins", [](Stmt&) {});
}

Status SqliteStore::SetMustChange(std::string_view name, bool must_change) {
  return UpdateUser("UPDATE users SET must_change = ?2 WHERE name = ?1", name, "changing a user",
                    [&](Stmt& stmt) { stmt.BindInt(2, must_change ? 1 : 0); });
}

Status SqliteStore::SetPassword(std::string_view name, std::string_view new_hash,
                                int64_t changed_at, bool must_change, int history_keep) {
  if (history_keep < 0) {
    return Status(Code::kInvalidArgument, "password history length for store " + path_ +
                                              " is negative (" + std::to_string(history_keep) +
                                              ")");
  }
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
        // history, copied row to row inside SQL.
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
            Prepare("UPDATE users SET password_hash = ?2, password_changed = ?3, must_change = ?4 "
                    "WHERE name = ?1",
                    &set, "changing a password"));
        set.BindText(1, name);
        set.BindText(2, new_hash);
        set.BindInt(3, changed_at);
        set.BindInt(4, must_change ? 1 : 0);
        rc = set.Step();
        if (rc != SQLITE_DONE) return Error(rc, "changing a password");
        return Status::Ok();
      },
      Sync::kDurable);
}

Result<std::vector<std::string>> SqliteStore::PasswordHistory(std::string_view name) {
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
