// PostgreSQL backend of Store, part three: the authenticator secret, the
// last time step, recovery codes and MFA requirements. As in
// core/store/sqlite/sqlite_mfa.cc: a time step is taken by one UPDATE
// (totp_last_step < step), a recovery code by one DELETE; on PostgreSQL a
// concurrent transaction that changed the row first makes the UPDATE re-check
// its WHERE on the new row (READ COMMITTED), so a step or code is used once
// across every host.
#include <cstdint>
#include <string>
#include <vector>

#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {

Status PostgresStore::ReplaceRecoveryCodes(std::string_view name,
                                           const std::vector<std::string>& digests) {
  Params user;
  user.Text(name);
  Result<PgResult> r =
      Exec("DELETE FROM recovery_codes WHERE user_name = $1", user, "replacing recovery codes");
  if (!r.ok()) return r.status();
  for (const std::string& digest : digests) {
    Params add;
    add.Text(name).Text(digest);
    r = Exec("INSERT INTO recovery_codes(user_name, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
             add, "storing recovery codes");
    if (!r.ok()) return r.status();
    if (r->Affected() == 0) {
      return Status(Code::kInvalidArgument, "duplicate recovery code digest for user " +
                                                std::string(name) + " in store " + where_ +
                                                "; nothing was written");
    }
  }
  return Status::Ok();
}

Status PostgresStore::DoSetTotp(std::string_view name, std::string_view sealed,
                                const std::vector<std::string>& recovery_digests) {
  const char* kDoing = "enrolling an authenticator";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(name).Text(sealed);
    Result<PgResult> r = Exec(
        "UPDATE users SET totp_sealed = $2, totp_last_step = -1, recent_failures = '' "
        "WHERE name = $1",
        p, kDoing);
    if (!r.ok()) return r.status();
    if (r->Affected() == 0) return NoSuchUser(name);
    return ReplaceRecoveryCodes(name, recovery_digests);
  });
}

Status PostgresStore::DoEnrollTotp(std::string_view name, std::string_view expected_sealed,
                                   std::string_view sealed,
                                   const std::vector<std::string>& recovery_digests,
                                   int64_t confirmed_step) {
  const char* kDoing = "enrolling an authenticator";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(name).Text(sealed).Int(confirmed_step).Text(expected_sealed);
    Result<PgResult> r = Exec(
        "UPDATE users SET totp_sealed = $2, totp_last_step = $3, recent_failures = '' "
        "WHERE name = $1 AND totp_sealed = $4",
        p, kDoing);
    if (!r.ok()) return r.status();
    if (r->Affected() == 0) {
      SESAME_RETURN_IF_ERROR(LockUser(name, kDoing));
      return Status(Code::kAlreadyExists, "the authenticator of user " + std::string(name) +
                                              " changed during the enrollment; nothing was "
                                              "written");
    }
    return ReplaceRecoveryCodes(name, recovery_digests);
  });
}

Status PostgresStore::DoSetRecoveryCodes(std::string_view name,
                                         const std::vector<std::string>& recovery_digests) {
  const char* kDoing = "replacing recovery codes";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r =
        Exec("SELECT totp_sealed <> '' FROM users WHERE name = $1 FOR UPDATE", p, kDoing);
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoSuchUser(name);
    if (!r->Bool(0, 0)) {
      return Status(Code::kNotFound, "user " + std::string(name) +
                                         " has no authenticator; recovery codes come with one; "
                                         "nothing was written");
    }
    return ReplaceRecoveryCodes(name, recovery_digests);
  });
}

Status PostgresStore::DoSetMfaRequired(std::string_view name, bool required, int64_t now) {
  const char* kDoing = "requiring MFA";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(name).Bool(required).Int(now);
    Result<PgResult> r = Exec(
        "UPDATE users SET mfa_required = $2, mfa_required_since = CASE WHEN $2 AND "
        "mfa_required_since = 0 THEN $3 ELSE mfa_required_since END WHERE name = $1",
        p, kDoing);
    if (!r.ok()) return r.status();
    return r->Affected() == 0 ? NoSuchUser(name) : Status::Ok();
  });
}

Result<int64_t> PostgresStore::DoBeginMfaGrace(std::string_view name, int64_t now) {
  const char* kDoing = "beginning the MFA grace period";
  int64_t since = 0;
  Status st = Transaction(kDoing, [&]() -> Status {
    // One statement: begins the period unless it has begun, and says when
    // it began either way.
    Params p;
    p.Text(name).Int(now);
    Result<PgResult> r = Exec(
        "UPDATE users SET mfa_required_since = CASE WHEN mfa_required_since = 0 THEN $2 ELSE "
        "mfa_required_since END WHERE name = $1 RETURNING mfa_required_since",
        p, kDoing);
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoSuchUser(name);
    since = r->Int(0, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return since;
}

Status PostgresStore::DoSetMfaRequiredGroup(std::string_view group, bool required, int64_t now) {
  const char* kDoing = "requiring MFA of a group";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(group);
    if (required) p.Int(now);
    Result<PgResult> r =
        Exec(required ? "INSERT INTO mfa_required_groups(name, since) VALUES ($1, $2) "
                        "ON CONFLICT DO NOTHING"
                      : "DELETE FROM mfa_required_groups WHERE name = $1",
             p, kDoing);
    return r.ok() ? Status::Ok() : r.status();
  });
}

Result<std::vector<std::string>> PostgresStore::DoMfaRequiredGroups() {
  std::vector<std::string> groups;
  Status st = Read("listing groups that must use MFA", [&]() -> Status {
    Params none;
    Result<PgResult> r = Exec("SELECT name FROM mfa_required_groups ORDER BY name", none,
                              "listing groups that must use MFA");
    if (!r.ok()) return r.status();
    groups.clear();
    for (int i = 0; i < r->rows(); ++i) groups.push_back(r->Text(i, 0));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return groups;
}

Status PostgresStore::DoClearMfa(std::string_view name) {
  const char* kDoing = "removing an authenticator";
  return Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r = Exec(
        "UPDATE users SET totp_sealed = '', totp_last_step = -1, mfa_required_since = 0 "
        "WHERE name = $1",
        p, kDoing);
    if (!r.ok()) return r.status();
    if (r->Affected() == 0) return NoSuchUser(name);
    r = Exec("DELETE FROM recovery_codes WHERE user_name = $1", p, "removing recovery codes");
    return r.ok() ? Status::Ok() : r.status();
  });
}

// Inside a code use: the guard refuses ($3 = the lockout applies, $4 = now).
#define SESAME_GUARD_REFUSES "($3::boolean AND locked_until > $4)"

Result<CodeUse> PostgresStore::WhyCodeUnused(std::string_view name, const LockGuard& guard,
                                             std::string_view doing) {
  Params p;
  p.Text(name).Null().Bool(guard.applies).Int(guard.now);
  Result<PgResult> r = Exec(
      "SELECT " SESAME_GUARD_REFUSES " FROM users WHERE name = $1 AND $2::text IS NULL", p, doing);
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return NoSuchUser(name);
  return r->Bool(0, 0) ? CodeUse::kLocked : CodeUse::kAlreadyUsed;
}

Result<CodeUse> PostgresStore::UseCode(const char* sql, const Params& params, std::string_view name,
                                       const LockGuard& guard, std::string_view doing) {
  CodeUse use = CodeUse::kAlreadyUsed;
  Status st = Transaction(doing, [&]() -> Status {
    Result<PgResult> r = Exec(sql, params, doing);
    if (!r.ok()) return r.status();
    if (r->Affected() == 1) {
      use = CodeUse::kUsed;
      return Status::Ok();
    }
    Result<CodeUse> why = WhyCodeUnused(name, guard, doing);
    if (!why.ok()) return why.status();
    use = *why;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return use;
}

Result<CodeUse> PostgresStore::DoUseTotpStep(std::string_view name, int64_t step,
                                             const LockGuard& guard) {
  Params p;
  p.Text(name).Int(step).Bool(guard.applies).Int(guard.now);
  return UseCode(
      "UPDATE users SET totp_last_step = $2 WHERE name = $1 AND totp_last_step < $2 AND "
      "NOT " SESAME_GUARD_REFUSES,
      p, name, guard, "using an authenticator code");
}

Result<CodeUse> PostgresStore::DoUseRecoveryCode(std::string_view name, std::string_view digest,
                                                 const LockGuard& guard) {
  Params p;
  p.Text(name).Text(digest).Bool(guard.applies).Int(guard.now);
  return UseCode(
      "DELETE FROM recovery_codes WHERE user_name = $1 AND digest = $2 AND NOT EXISTS "
      "(SELECT 1 FROM users WHERE name = $1 AND " SESAME_GUARD_REFUSES ")",
      p, name, guard, "using a recovery code");
}

#undef SESAME_GUARD_REFUSES

Result<int> PostgresStore::DoCountRecoveryCodes(std::string_view name) {
  int count = 0;
  Status st = Read("counting recovery codes", [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r = Exec("SELECT count(*) FROM recovery_codes WHERE user_name = $1", p,
                              "counting recovery codes");
    if (!r.ok()) return r.status();
    count = ClampToInt(r->Int(0, 0));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return count;
}

}  // namespace postgres_internal
}  // namespace sesame
