// PostgreSQL backend of Store, part two: lockout counters, the must-change
// flag and password history. The same statements as the SQLite backend's
// (core/store/sqlite/sqlite_users.cc), but where SQLite's BEGIN IMMEDIATE
// takes the one write lock of the file, here each transaction that decides
// from what it read first locks the user's row (SELECT ... FOR UPDATE):
// hosts racing on one user queue on that row, and every counter still
// changes in SQL (failures + 1), never from a value read into the process.
// docs/storage.md ("PostgreSQL") explains the SQL.
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/backend_common.h"
#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {

// "Start a new window", over the row as it was before the UPDATE ($2 =
// now, $3 = fail_interval): no window yet, the window has passed, or an
// earlier lock has run out. A lock in force is never lifted by a failure.
// The sum is numeric: bigint would overflow on a hand-edited first_failure.
#define SESAME_NEW_WINDOW                                                            \
  "(failures <= 0 OR first_failure = 0 OR "                                          \
  "($2::numeric >= first_failure::numeric + $3::numeric AND NOT locked_until > $2) " \
  "OR (locked_until > 0 AND locked_until <= $2))"

// One more attempt counted ($2 = now, $3 = fail_interval): in a new
// window (SESAME_NEW_WINDOW) or in this one.
#define SESAME_COUNT_SET                            \
  "failures = CASE WHEN " SESAME_NEW_WINDOW         \
  " THEN 1 ELSE failures + 1 END, "                 \
  "pending_attempts = CASE WHEN " SESAME_NEW_WINDOW \
  " THEN 1 ELSE pending_attempts + 1 END, "         \
  "first_failure = CASE WHEN " SESAME_NEW_WINDOW    \
  " THEN $2 ELSE first_failure END, "               \
  "locked_until = CASE WHEN " SESAME_NEW_WINDOW     \
  " THEN 0 ELSE locked_until END, "                 \
  "recent_failures = CASE WHEN " SESAME_NEW_WINDOW " THEN '' ELSE recent_failures END "

namespace {

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

#define SESAME_BUCKET_SQL(T, K)                                                                  \
  "SELECT $4::integer > 0 AND locked_until > $2, " SESAME_NEW_WINDOW                             \
  ", recent_failures, failures, locked_until, locked_until > 0 AND locked_until <= $2, "         \
  "$4::integer > 0 AND failures >= $4::integer, pending_attempts > 0 FROM " T " WHERE " K        \
  " = $1 FOR UPDATE",                                                                            \
      "UPDATE " T " SET locked_until = $2 WHERE " K " = $1",                                     \
      "UPDATE " T " SET " SESAME_COUNT_SET "WHERE " K " = $1 RETURNING failures, first_failure", \
      nullptr,                                                                                   \
      "SELECT recent_failures, first_failure = $2 FROM " T " WHERE " K " = $1 FOR UPDATE",       \
      "UPDATE " T                                                                                \
      " SET "                                                                                    \
      "pending_attempts = GREATEST(pending_attempts - (first_failure = $2)::integer, 0), "       \
      "failures = GREATEST(pending_attempts - (first_failure = $2)::integer, 0), "               \
      "first_failure = CASE WHEN pending_attempts - (first_failure = $2)::integer > 0 "          \
      "THEN first_failure ELSE 0 END, locked_until = 0, recent_failures = '' "                   \
      "WHERE " K                                                                                 \
      " = $1 AND (failures <> 0 OR pending_attempts <> 0 OR "                                    \
      "first_failure <> 0 OR locked_until <> 0 OR recent_failures <> '') RETURNING failures",    \
      "UPDATE " T                                                                                \
      " SET pending_attempts = GREATEST(pending_attempts - 1, 0), "                              \
      "recent_failures = CASE WHEN $2 = '' THEN recent_failures "                                \
      "ELSE right(recent_failures || $2, $3::integer) END WHERE " K " = $1",                     \
      "UPDATE " T " SET locked_until = $3 WHERE " K                                              \
      " = $1 AND $2::integer > 0 AND "                                                           \
      "failures >= $2::integer AND NOT locked_until > $4",                                       \
      "UPDATE " T                                                                                \
      " SET failures = GREATEST(failures - 1, 0), "                                              \
      "pending_attempts = GREATEST(pending_attempts - 1, 0) WHERE " K " = $1",                   \
      "SELECT failures FROM " T " WHERE " K " = $1"

// A reserved attempt that succeeded, in ONE statement (autocommit, one
// round trip: this is every sign-in's write): the bucket cleared as
// BucketSql::success says, at most kPruneInPassingBatch old events pruned
// (SESAME_PRUNE_IN_PASSING_WHERE), and the event inserted when $12.
// Data-modifying WITH parts all run, once, on one snapshot, so the DELETE
// never sees the row the INSERT adds.
// $1 name, $2 window, $3 prune_before, $4..$11 the event.
#define SESAME_SUCCESS_CTES(T, K) \
  "WITH cleared AS (UPDATE " T                                                                    \
  " SET pending_attempts = GREATEST(pending_attempts - (first_failure = $2)::integer, 0), "       \
  "failures = GREATEST(pending_attempts - (first_failure = $2)::integer, 0), "                    \
  "first_failure = CASE WHEN pending_attempts - (first_failure = $2)::integer > 0 "               \
  "THEN first_failure ELSE 0 END, locked_until = 0, recent_failures = '' WHERE " K                \
  " = $1 AND (failures <> 0 OR pending_attempts <> 0 OR first_failure <> 0 OR locked_until <> 0 " \
  "OR recent_failures <> '') RETURNING failures), "                                               \
  "pruned AS (DELETE FROM events WHERE " SESAME_PRUNE_IN_PASSING_WHERE("$3") " RETURNING id), "   \
  "added AS (INSERT INTO events(time, user_name, service, remote_host, method, outcome, detail, " \
  "count) SELECT $4::bigint, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, "      \
  "$11::bigint WHERE $12::boolean RETURNING id), "                                                \
  "account AS (SELECT disabled, must_change, password_changed FROM users WHERE name = $1) "
// Columns 3-5: SettleOutcome::account (NULL when the user is gone), read
// once (a WITH part used more than once is computed once).
#define SESAME_SUCCESS_COLUMNS                                                          \
  "SELECT coalesce((SELECT failures FROM cleared), 0), (SELECT count(*) FROM pruned), " \
  "(SELECT count(*) FROM added), (SELECT disabled FROM account), "                      \
  "(SELECT must_change FROM account), (SELECT password_changed FROM account)"
// With Settlement::last_sign_in ($13 methods, $14 failure outcomes, each
// joined as JoinForEventFilter, NULL: any), the same statement also
// answers ReadLastSignIn. The statement's snapshot does not hold the event
// it adds, so the sign-in before this one is the newest success it sees
// (OFFSET 0 here, OFFSET 1 in ReadLastSignIn, which runs after the write);
// the failures since it are the same rows.
#define SESAME_SUCCESS_LAST_SQL(T, K)                                \
  SESAME_SUCCESS_CTES(T, K)                                          \
  ", " SESAME_LAST_SIGN_IN_BEFORE("$13", "0") SESAME_SUCCESS_COLUMNS \
      ", " SESAME_LAST_SIGN_IN_COLUMNS("$13", "$14") SESAME_LAST_SIGN_IN_FROM

}  // namespace

const char* SuccessSqlFor(LockBucket bucket, bool last_sign_in) {
  static constexpr char kInteractive[] =
      SESAME_SUCCESS_CTES("users", "name") SESAME_SUCCESS_COLUMNS;
  static constexpr char kAppPassword[] =
      SESAME_SUCCESS_CTES("app_password_lockout", "user_name") SESAME_SUCCESS_COLUMNS;
  static constexpr char kInteractiveLast[] = SESAME_SUCCESS_LAST_SQL("users", "name");
  static constexpr char kAppPasswordLast[] =
      SESAME_SUCCESS_LAST_SQL("app_password_lockout", "user_name");
  if (bucket == LockBucket::kAppPassword) return last_sign_in ? kAppPasswordLast : kAppPassword;
  return last_sign_in ? kInteractiveLast : kInteractive;
}

namespace {

#undef SESAME_SUCCESS_LAST_SQL
#undef SESAME_SUCCESS_COLUMNS
#undef SESAME_SUCCESS_CTES

const BucketSql& SqlFor(LockBucket bucket) {
  static constexpr BucketSql kInteractive = {nullptr, SESAME_BUCKET_SQL("users", "name")};
  static constexpr BucketSql kAppPassword = {
      "INSERT INTO app_password_lockout(user_name) SELECT name FROM users WHERE name = $1 "
      "ON CONFLICT DO NOTHING",
      SESAME_BUCKET_SQL("app_password_lockout", "user_name")};
  return bucket == LockBucket::kAppPassword ? kAppPassword : kInteractive;
}

#undef SESAME_BUCKET_SQL

}  // namespace

// The usual reservation in ONE statement ($1 name, $2 now, $3
// fail_interval, $4 deny): no lock recorded at all, and either a new
// window or one this attempt can be counted in without a look at the
// remembered wrong secrets (there are none) or at a full window. The row
// lock and the conditions are the UPDATE's own, re-checked on the newest
// row version when it waited (READ COMMITTED), so this is the
// transaction's answer for that row. When it changes no row (no such
// user, a lock, remembered secrets, a full window) nothing was written,
// and ReserveInTransaction decides.
#define SESAME_COUNT_USUAL                                       \
  "UPDATE users SET " SESAME_COUNT_SET                           \
  "WHERE name = $1 AND locked_until = 0 AND (" SESAME_NEW_WINDOW \
  " OR (recent_failures = '' AND NOT ($4::integer > 0 AND failures >= $4::integer))) "

bool PostgresStore::ReadyForWrite() {
  bool ready = conn_ != nullptr && pid_ == getpid() && dead_.ok() &&
               PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
  if (ready) {
    pollfd waiting{PQsocket(conn_), POLLIN, 0};
    ready = waiting.fd >= 0 && poll(&waiting, 1, 0) == 0;
  }
  return ready;
}

Result<Reservation> PostgresStore::DoReserveAttempt(std::string_view name, int64_t now,
                                                    const LockoutPolicy& policy,
                                                    std::string_view attempt) {
  // The usual case in one statement, on a connection ReadyForWrite (like
  // every sign-in's write it is not retried on a connection that breaks
  // while it runs: that sign-in fails closed; the next one reconnects).
  // Otherwise the transaction, which a connection found broken opens
  // again and runs again.
  if (policy.bucket == LockBucket::kInteractive && ReadyForWrite()) {
    static constexpr char kCountUsual[] = SESAME_COUNT_USUAL "RETURNING failures, first_failure";
    Params p;
    p.Text(name).Int(now).Int(policy.fail_interval).Int(policy.deny);
    Result<PgResult> counted = Exec(kCountUsual, p, "reserving a sign-in attempt");
    if (!counted.ok()) return counted.status();
    if (counted->rows() == 1) {
      Reservation result;
      result.failures = ClampToInt(counted->Int(0, 0));
      result.window = counted->Int(0, 1);
      return result;
    }
  }
  return ReserveInTransaction(name, now, policy, attempt);
}

Result<SignInStart> PostgresStore::DoGetUserForSignInAndReserve(std::string_view name, int64_t now,
                                                                const LockoutPolicy& policy,
                                                                std::string_view attempt) {
  if (policy.bucket != LockBucket::kInteractive)
    return Store::DoGetUserForSignInAndReserve(name, now, policy, attempt);
  if (conn_ == nullptr) {
    // The first call of this store object (sshd's session process): a new
    // connection is ready for anything.
    last_failure_ = Failure::kNone;
    SESAME_RETURN_IF_ERROR(Connect());
  }
  // A kept connection that may be broken goes the default way: the read
  // opens it again unseen (Read), then the reservation.
  if (!ReadyForWrite()) return Store::DoGetUserForSignInAndReserve(name, now, policy, attempt);
  // GetUserForSignIn's record and the usual reservation in ONE statement.
  // Every part of a statement reads one snapshot, and a data-modifying WITH
  // changes nothing the main query sees: the record is the row as it was
  // before this reservation (as GetUserForSignIn then ReserveAttempt would
  // read it), and the UPDATE finds no user the SELECT does not. The counted
  // columns are NULL when the UPDATE changed no row.
  static constexpr char kReadAndCountUsual[] =
      "WITH counted AS (" SESAME_COUNT_USUAL
      "RETURNING failures, first_failure) SELECT " SESAME_USER_COLUMNS ", " SESAME_REQUIRED_GROUPS
      ", (SELECT failures FROM counted), (SELECT first_failure FROM counted) FROM users WHERE "
      "name = $1";
  Params p;
  p.Text(name).Int(now).Int(policy.fail_interval).Int(policy.deny);
  Result<PgResult> r = Exec(kReadAndCountUsual, p, "reading a user and reserving an attempt");
  if (!r.ok()) return r.status();
  SignInStart start;
  if (r->rows() == 0) return start;  // no such user; nothing counted
  start.user = ReadUserForSignIn(*r, 0);
  if (r->IsNull(0, kUserColumns + 1)) {
    start.reservation = ReserveInTransaction(name, now, policy, attempt);
  } else {
    Reservation reserved;
    reserved.failures = ClampToInt(r->Int(0, kUserColumns + 1));
    reserved.window = r->Int(0, kUserColumns + 2);
    start.reservation = reserved;
  }
  return start;
}

#undef SESAME_COUNT_USUAL

Result<Reservation> PostgresStore::ReserveInTransaction(std::string_view name, int64_t now,
                                                        const LockoutPolicy& policy,
                                                        std::string_view attempt) {
  const char* kDoing = "reserving a sign-in attempt";
  const BucketSql& sql = SqlFor(policy.bucket);
  Reservation result;
  Status st = Transaction(kDoing, [&]() -> Status {
    result = Reservation{};
    if (sql.ensure_row != nullptr) {
      Params p;
      p.Text(name);
      Result<PgResult> r = Exec(sql.ensure_row, p, kDoing);
      if (!r.ok()) return r.status();
    }
    // 1. What the row says now, with the row locked until COMMIT.
    Params seen_params;
    seen_params.Text(name).Int(now).Int(policy.fail_interval).Int(policy.deny);
    Result<PgResult> seen = Exec(sql.seen, seen_params, kDoing);
    if (!seen.ok()) return seen.status();
    if (seen->rows() == 0) return NoSuchUser(name);
    result.failures = ClampToInt(seen->Int(0, 3));
    if (seen->Bool(0, 0)) {
      result.verdict = Reservation::Verdict::kLocked;
      result.locked_until = seen->Int(0, 4);
      return Status::Ok();
    }
    const bool new_window = seen->Bool(0, 1);
    result.lock_expired = seen->Bool(0, 5);
    if (!new_window && !attempt.empty() && RememberedWrongAttempt(seen->Text(0, 2), attempt)) {
      result.verdict = Reservation::Verdict::kRepeated;
      return Status::Ok();
    }
    if (!new_window && seen->Bool(0, 6)) {
      if (seen->Bool(0, 7)) {
        result.verdict = Reservation::Verdict::kFull;
        return Status::Ok();
      }
      // Full with nothing pending: deny was lowered. Lock now.
      Params lock;
      lock.Text(name).Int(LockUntil(now, policy));
      Result<PgResult> locked = Exec(sql.lock_now, lock, kDoing);
      if (!locked.ok()) return locked.status();
      result.verdict = Reservation::Verdict::kLocked;
      result.locked_until = LockUntil(now, policy);
      return Status::Ok();
    }
    // 2. A new window or one more in this one; RETURNING is the outcome.
    // The body's last statement: COMMIT goes in the same round trip.
    Params count;
    count.Text(name).Int(now).Int(policy.fail_interval);
    Result<PgResult> counted = Exec(sql.count, count, kDoing, /*commit=*/true);
    if (!counted.ok()) return counted.status();
    if (counted->rows() == 0) return NoSuchUser(name);
    result.failures = ClampToInt(counted->Int(0, 0));
    result.window = counted->Int(0, 1);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return result;
}

Result<SettleOutcome> PostgresStore::DoSettleAttempt(std::string_view name,
                                                     const Settlement& settlement,
                                                     const SignInEvent* event) {
  const char* kDoing = "settling a sign-in attempt";
  const Reservation& r = settlement.reservation;
  const bool reserved =
      r.verdict == Reservation::Verdict::kReserved && settlement.app_password_id == 0;
  const BucketSql& sql = SqlFor(settlement.policy.bucket);
  SettleOutcome outcome;
  if (reserved && settlement.kind == Settlement::Kind::kSuccess) {
    // Every sign-in's write: one statement, one round trip. Not retried on
    // a broken connection (it may have run): the same sign-in's
    // ReserveAttempt, one transaction earlier, has found a dead kept
    // connection and opened a new one already.
    SESAME_RETURN_IF_ERROR(Connect());
    Params p;
    p.Text(name).Int(r.window).Int(settlement.prune_before);
    if (event != nullptr) {
      p.Int(event->time)
          .Text(event->user)
          .Text(event->service)
          .Text(event->remote_host)
          .Text(event->method)
          .Text(event->outcome)
          .Text(event->detail)
          .Int(event->count < 1 ? 1 : event->count)
          .Bool(true);
    } else {
      p.Int(0).Text("").Text("").Text("").Text("").Text("").Text("").Int(1).Bool(false);
    }
    const bool last = settlement.last_sign_in != nullptr && event != nullptr;
    if (last) {
      AddLastSignInParams(p, settlement.last_sign_in->methods,
                          settlement.last_sign_in->failure_outcomes);
    }
    Result<PgResult> done = Exec(SuccessSqlFor(settlement.policy.bucket, last), p, kDoing);
    if (!done.ok()) return done.status();
    outcome.failures = ClampToInt(done->Int(0, 0));
    if (!done->IsNull(0, 3))
      outcome.account = AccountFlags{done->Bool(0, 3), done->Bool(0, 4), done->Int(0, 5)};
    if (last) outcome.last_sign_in = LastSignInFrom(*done, 6);
    return outcome;
  }
  Status st = Transaction(kDoing, [&]() -> Status {
    outcome = SettleOutcome{};
    if (settlement.kind == Settlement::Kind::kSuccess && settlement.app_password_id != 0) {
      // Marked used only while still live and this user's; otherwise
      // nothing is written and the sign-in is not a success.
      Params use;
      use.Int(settlement.app_password_id)
          .Int(settlement.now)
          .Text(event != nullptr ? std::string_view(event->remote_host) : std::string_view())
          .Text(name);
      Result<PgResult> used = Exec(
          "UPDATE app_passwords SET last_used = $2, last_used_from = $3 WHERE id = $1 AND "
          "user_name = $4 AND revoked = 0 AND (expires = 0 OR expires > $2)",
          use, kDoing);
      if (!used.ok()) return used.status();
      if (used->Affected() == 0) {
        outcome.app_password_gone = true;
        return Status::Ok();
      }
    }
    if (reserved) {
      Settlement::Kind kind = settlement.kind;
      bool mine = false;
      if (kind != Settlement::Kind::kSuccess) {
        // Still the reservation's window? Read with the row locked, so the
        // window cannot change before this transaction's UPDATE.
        Params seen_params;
        seen_params.Text(name).Int(r.window);
        Result<PgResult> seen = Exec(sql.settle_seen, seen_params, kDoing);
        if (!seen.ok()) return seen.status();
        mine = seen->rows() > 0 && seen->Bool(0, 1);
        if (mine && kind == Settlement::Kind::kWrong && !settlement.attempt.empty() &&
            RememberedWrongAttempt(seen->Text(0, 0), settlement.attempt)) {
          outcome.repeated = true;
          kind = Settlement::Kind::kRelease;
        }
      }
      Result<PgResult> changed = PgResult();
      switch (kind) {
        case Settlement::Kind::kSuccess: {
          // The UPDATE's own WHERE decides (evaluated on the locked row);
          // only a row with something to clear is written.
          Params p;
          p.Text(name).Int(r.window);
          changed = Exec(sql.success, p, kDoing);
          // No row written means there was nothing to clear: no failures.
          if (changed.ok()) {
            outcome.failures = changed->rows() > 0 ? ClampToInt(changed->Int(0, 0)) : 0;
          }
          break;
        }
        case Settlement::Kind::kWrong: {
          if (!mine) break;
          Params p;
          p.Text(name)
              .Text(settlement.attempt)
              .Int(static_cast<int64_t>(kRememberedWrongAttempts * kWrongAttemptDigestChars));
          changed = Exec(sql.wrong, p, kDoing);
          if (!changed.ok()) break;
          Params lock;
          lock.Text(name)
              .Int(settlement.policy.deny)
              .Int(LockUntil(settlement.now, settlement.policy))
              .Int(settlement.now);
          changed = Exec(sql.lock, lock, "locking an account");
          if (changed.ok() && changed->Affected() > 0)
            outcome.locked_until = LockUntil(settlement.now, settlement.policy);
          break;
        }
        case Settlement::Kind::kRelease: {
          if (!mine) break;
          Params p;
          p.Text(name);
          changed = Exec(sql.release, p, kDoing);
          break;
        }
      }
      if (!changed.ok()) return changed.status();
      if (kind == Settlement::Kind::kSuccess) {
        SESAME_RETURN_IF_ERROR(PruneInPassing(settlement.prune_before));
        if (event == nullptr) return Status::Ok();
        return InsertEvent(*event, 0);
      }
      Params after_params;
      after_params.Text(name);
      Result<PgResult> after = Exec(sql.after, after_params, kDoing);
      if (!after.ok()) return after.status();
      if (after->rows() > 0) outcome.failures = ClampToInt(after->Int(0, 0));
    }
    SESAME_RETURN_IF_ERROR(PruneInPassing(settlement.prune_before));
    if (event == nullptr) return Status::Ok();
    return InsertEvent(*event, 0);
  });
  if (!st.ok()) return st;
  return outcome;
}

#undef SESAME_COUNT_SET
#undef SESAME_NEW_WINDOW

Status PostgresStore::DoClearFailures(std::string_view name) {
  const char* kDoing = "clearing failed sign-ins";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> cleared = Exec(
        "UPDATE users SET failures = 0, pending_attempts = 0, first_failure = 0, "
        "locked_until = 0, recent_failures = '' WHERE name = $1",
        p, kDoing);
    if (!cleared.ok()) return cleared.status();
    if (cleared->Affected() == 0) return NoSuchUser(name);
    // And the app-password bucket: an administrator's unlock lifts both.
    Result<PgResult> app = Exec("DELETE FROM app_password_lockout WHERE user_name = $1", p, kDoing);
    return app.ok() ? Status::Ok() : app.status();
  });
}

Status PostgresStore::DoSetMustChange(std::string_view name, bool must_change) {
  return Transaction("changing a user", [&]() -> Status {
    Params p;
    p.Text(name).Bool(must_change);
    Result<PgResult> r =
        Exec("UPDATE users SET must_change = $2 WHERE name = $1", p, "changing a user");
    if (!r.ok()) return r.status();
    return r->Affected() == 0 ? NoSuchUser(name) : Status::Ok();
  });
}

Status PostgresStore::DoSetPassword(std::string_view name, std::string_view new_hash,
                                    int64_t changed_at, bool must_change, int history_keep,
                                    bool revoke_app_passwords) {
  const char* kDoing = "changing a password";
  return Transaction(kDoing, [&]() -> Status {
    SESAME_RETURN_IF_ERROR(LockUser(name, kDoing));
    Params user;
    user.Text(name);
    // The current hash (unless empty: no password set) goes into the
    // history, copied row to row inside SQL.
    Result<PgResult> r = Exec(
        "INSERT INTO password_history(user_name, hash, changed) "
        "SELECT name, password_hash, password_changed FROM users "
        "WHERE name = $1 AND password_hash <> ''",
        user, "recording password history");
    if (!r.ok()) return r.status();
    Params trim;
    trim.Text(name).Int(history_keep);
    r = Exec(
        "DELETE FROM password_history WHERE user_name = $1 AND id NOT IN ("
        "SELECT id FROM password_history WHERE user_name = $1 ORDER BY id DESC LIMIT $2)",
        trim, "trimming password history");
    if (!r.ok()) return r.status();
    Params set;
    set.Text(name).Text(new_hash).Int(changed_at).Bool(must_change);
    r = Exec(
        "UPDATE users SET password_hash = $2, password_changed = $3, must_change = $4, "
        "recent_failures = '' WHERE name = $1",
        set, kDoing);
    if (!r.ok()) return r.status();
    r = Exec("UPDATE app_password_lockout SET recent_failures = '' WHERE user_name = $1", user,
             kDoing);
    if (!r.ok()) return r.status();
    if (revoke_app_passwords) {
      Params revoke;
      revoke.Text(name).Int(changed_at);
      r = Exec("UPDATE app_passwords SET revoked = $2 WHERE user_name = $1 AND revoked = 0", revoke,
               "revoking app passwords");
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
}

Result<std::vector<std::string>> PostgresStore::DoPasswordHistory(std::string_view name) {
  std::vector<std::string> hashes;
  Status st = Read("reading password history", [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r =
        Exec("SELECT hash FROM password_history WHERE user_name = $1 ORDER BY id DESC", p,
             "reading password history");
    if (!r.ok()) return r.status();
    hashes.clear();
    for (int i = 0; i < r->rows(); ++i) hashes.push_back(r->Text(i, 0));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return hashes;
}

}  // namespace postgres_internal
}  // namespace sesame
