// PostgreSQL backend of Store, part four: app passwords (their lockout
// bucket is in postgres_users.cc). As core/store/sqlite/sqlite_app_passwords.cc;
// the cap and the name are checked with the user's row locked, so two hosts
// creating at once cannot pass app_password_max together.
#include <cstdint>
#include <string>
#include <vector>

#include "core/store/backend_common.h"
#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {

namespace {

// Ended (revoked or expired) app passwords a user keeps for `list`.
constexpr int64_t kEndedAppPasswordsKept = 50;

#define SESAME_APP_PASSWORD_COLUMNS \
  "id, user_name, name, digest, services, created, expires, last_used, last_used_from, revoked"

// The SESAME_APP_PASSWORD_COLUMNS of `row`, from column `at` on.
AppPasswordRecord ReadAppPassword(const PgResult& r, int row, int at = 0) {
  AppPasswordRecord record;
  record.id = r.Int(row, at + 0);
  record.user = r.Text(row, at + 1);
  record.name = r.Text(row, at + 2);
  record.digest = r.Text(row, at + 3);
  record.services = SplitAppPasswordServices(r.Text(row, at + 4));
  record.created = r.Int(row, at + 5);
  record.expires = r.Int(row, at + 6);
  record.last_used = r.Int(row, at + 7);
  record.last_used_from = r.Text(row, at + 8);
  record.revoked = r.Int(row, at + 9);
  return record;
}

}  // namespace

Status PostgresStore::DoAddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) {
  const char* kDoing = "adding an app password";
  int64_t id = 0;
  Status st = Transaction(kDoing, [&]() -> Status {
    SESAME_RETURN_IF_ERROR(LockUser(record.user, kDoing));
    Params expire;
    expire.Text(record.user).Text(record.name).Int(now);
    Result<PgResult> r = Exec(
        "UPDATE app_passwords SET revoked = $3 WHERE user_name = $1 AND name = $2 AND "
        "revoked = 0 AND expires <> 0 AND expires <= $3",
        expire, kDoing);
    if (!r.ok()) return r.status();

    Params taken;
    taken.Text(record.user).Text(record.name);
    r = Exec("SELECT 1 FROM app_passwords WHERE user_name = $1 AND name = $2 AND revoked = 0",
             taken, kDoing);
    if (!r.ok()) return r.status();
    if (r->rows() > 0) {
      return Status(Code::kAlreadyExists,
                    "user " + record.user + " already has an app password named \"" + record.name +
                        "\"; choose another name, or revoke that one first");
    }

    Params live;
    live.Text(record.user).Int(now);
    r = Exec(
        "SELECT count(*) FROM app_passwords WHERE user_name = $1 AND revoked = 0 AND "
        "(expires = 0 OR expires > $2)",
        live, kDoing);
    if (!r.ok()) return r.status();
    const int64_t count = r->Int(0, 0);
    if (count >= max_live) {
      return Status(Code::kPermissionDenied,
                    "user " + record.user + " has " + std::to_string(count) +
                        " app passwords, the most allowed (app_password_max = " +
                        std::to_string(max_live) + "); revoke one first");
    }

    Params insert;
    insert.Text(record.user)
        .Text(record.name)
        .Text(record.digest)
        .Text(JoinAppPasswordServices(record.services))
        .Int(now)
        .Int(record.expires);
    r = Exec(
        "INSERT INTO app_passwords(user_name, name, digest, services, created, expires) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING RETURNING id",
        insert, kDoing);
    if (!r.ok()) return r.status();
    if (r->rows() == 0) {
      return Status(Code::kInternal,
                    "a new app password has the digest of an existing one; the random source "
                    "is broken; nothing was stored");
    }
    id = r->Int(0, 0);

    Params prune;
    prune.Text(record.user).Int(now).Int(kEndedAppPasswordsKept);
    r = Exec(
        "DELETE FROM app_passwords WHERE user_name = $1 AND id IN (SELECT id FROM app_passwords "
        "WHERE user_name = $1 AND (revoked <> 0 OR (expires <> 0 AND expires <= $2)) "
        "ORDER BY id DESC OFFSET $3)",
        prune, kDoing);
    return r.ok() ? Status::Ok() : r.status();
  });
  if (!st.ok()) return st;
  record.id = id;
  record.created = now;
  record.last_used = 0;
  record.last_used_from.clear();
  record.revoked = 0;
  return Status::Ok();
}

Result<std::vector<AppPasswordRecord>> PostgresStore::DoListAppPasswords(std::string_view user) {
  const char* kDoing = "listing app passwords";
  std::vector<AppPasswordRecord> records;
  Status st = Read(kDoing, [&]() -> Status {
    // One statement: the user's existence and the list, from one snapshot
    // (the first row says whether the user exists).
    Params p;
    p.Text(user);
    Result<PgResult> r = Exec(
        "SELECT true, NULL::bigint, NULL, NULL, NULL, NULL, NULL::bigint, NULL::bigint, "
        "NULL::bigint, NULL, NULL::bigint, 0 FROM users WHERE name = $1 UNION ALL "
        "SELECT false, " SESAME_APP_PASSWORD_COLUMNS
        ", 1 FROM app_passwords "
        "WHERE user_name = $1 ORDER BY 12, 2",
        p, kDoing);
    if (!r.ok()) return r.status();
    records.clear();
    if (r->rows() == 0 || !r->Bool(0, 0)) return NoSuchUser(user);
    // Columns shifted by one (the leading flag).
    for (int i = 1; i < r->rows(); ++i) records.push_back(ReadAppPassword(*r, i, 1));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return records;
}

Result<std::optional<AppPasswordRecord>> PostgresStore::DoFindAppPassword(std::string_view digest) {
  const char* kDoing = "looking up an app password";
  std::optional<AppPasswordRecord> found;
  Status st = Read(kDoing, [&]() -> Status {
    Params p;
    p.Text(digest);
    Result<PgResult> r = Exec(
        "SELECT " SESAME_APP_PASSWORD_COLUMNS " FROM app_passwords WHERE digest = $1", p, kDoing);
    if (!r.ok()) return r.status();
    found.reset();
    if (r->rows() > 0) found = ReadAppPassword(*r, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return found;
}

Result<int> PostgresStore::DoRevokeAppPasswords(std::string_view user, std::string_view name,
                                                int64_t now) {
  const char* kDoing = "revoking app passwords";
  int revoked = 0;
  Status st = Transaction(kDoing, [&]() -> Status {
    SESAME_RETURN_IF_ERROR(LockUser(user, kDoing));
    Params p;
    p.Text(user).Text(name).Int(now);
    Result<PgResult> r = Exec(
        "UPDATE app_passwords SET revoked = $3 WHERE user_name = $1 AND revoked = 0 AND "
        "(expires = 0 OR expires > $3) AND ($2 = '' OR name = $2)",
        p, kDoing);
    if (!r.ok()) return r.status();
    revoked = ClampToInt(r->Affected());
    if (!name.empty() && revoked == 0) {
      return Status(Code::kNotFound, "user " + std::string(user) + " has no app password named \"" +
                                         std::string(name) +
                                         "\" (see the names with app-password list)");
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return revoked;
}

Result<LockoutRecord> PostgresStore::DoAppPasswordLockout(std::string_view user) {
  const char* kDoing = "reading the app-password lockout";
  LockoutRecord record;
  Status st = Read(kDoing, [&]() -> Status {
    Params p;
    p.Text(user);
    Result<PgResult> r = Exec(
        "SELECT l.failures, l.pending_attempts, l.first_failure, l.locked_until, l.user_name IS "
        "NOT NULL FROM users u LEFT JOIN app_password_lockout l ON l.user_name = u.name "
        "WHERE u.name = $1",
        p, kDoing);
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoSuchUser(user);
    record = LockoutRecord{};
    if (r->Bool(0, 4)) {
      record.failures = ClampToInt(r->Int(0, 0));
      record.pending_attempts = ClampToInt(r->Int(0, 1));
      record.first_failure = r->Int(0, 2);
      record.locked_until = r->Int(0, 3);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return record;
}

#undef SESAME_APP_PASSWORD_COLUMNS

}  // namespace postgres_internal
}  // namespace sesame
