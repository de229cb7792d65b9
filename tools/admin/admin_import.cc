// sesame-admin import-shadow [NAME...]: adopt /etc/shadow password hashes.
//
// Each imported account keeps its crypt(3) hash until its first successful
// sign-in, which replaces it with argon2id (PasswordHasher::NeedsRehash).
// One line per account on stdout, "imported NAME (ALGORITHM)" or "skipped
// NAME: REASON"; a hash is never printed. Without NAMEs every shadow entry is
// considered except system accounts (uid < 1000), which must be named.
// Exit 0 when every account was imported or skipped for a stated reason, 3
// when a NAME is not in /etc/shadow, 1 (or what the status maps to) when the
// store or the shadow database fails.
#include <pwd.h>
#include <shadow.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/crypto/crypt_hash.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"

namespace sesame::admin {
namespace {

// Below this uid an account is a system account (Debian's UID_MIN).
constexpr uid_t kFirstRegularUid = 1000;    // Debian: 0-999 system accounts
constexpr uid_t kFirstReservedUid = 60000;  // Debian: 60000-65535 reserved (nobody = 65534)
constexpr int64_t kSecondsPerDay = 86400;

struct ShadowEntry {
  std::string name;
  std::string hash;         // sp_pwdp: never printed
  long last_change_days{};  // sp_lstchg: days since 1970; 0 or -1 when unknown
};

ShadowEntry CopyEntry(const spwd& sp) {
  return ShadowEntry{sp.sp_namp != nullptr ? sp.sp_namp : "",
                     sp.sp_pwdp != nullptr ? sp.sp_pwdp : "", sp.sp_lstchg};
}

Status ShadowError(int err) {
  if (err == EACCES || err == EPERM)
    return Status(Code::kPermissionDenied, "cannot read /etc/shadow (permission denied)");
  return Status(Code::kUnavailable,
                "cannot read the shadow database (errno " + std::to_string(err) + ")");
}

// Every shadow entry. End of the database and "no entry" both come back as
// NULL; only a permission or I/O error is a failure.
Result<std::vector<ShadowEntry>> ReadAllShadow() {
  std::vector<ShadowEntry> out;
  setspent();
  for (;;) {
    errno = 0;
    const spwd* sp = getspent();
    if (sp == nullptr) {
      const int err = errno;
      endspent();
      if (err == EACCES || err == EPERM || err == EIO) return ShadowError(err);
      return out;
    }
    out.push_back(CopyEntry(*sp));
  }
}

// nullopt when there is no such entry.
Result<std::optional<ShadowEntry>> ReadShadow(const std::string& name) {
  errno = 0;
  const spwd* sp = getspnam(name.c_str());
  if (sp == nullptr) {
    const int err = errno;
    if (err == EACCES || err == EPERM || err == EIO) return ShadowError(err);
    return std::optional<ShadowEntry>();
  }
  return std::optional<ShadowEntry>(CopyEntry(*sp));
}

// password_changed from sp_lstchg; `now` when unknown (0, -1) or in the
// future.
int64_t ChangedAt(long days, int64_t now) {
  if (days <= 0 || days > now / kSecondsPerDay) return now;
  return static_cast<int64_t>(days) * kSecondsPerDay;
}

void Skipped(const std::string& shown, const std::string& why) {
  std::printf("skipped %s: %s\n", shown.c_str(), why.c_str());
}

// Imports one entry (or says why not). A store failure is returned; every
// other outcome is printed and OK.
Status ImportOne(AdminEnv& env, const ShadowEntry& entry, bool named) {
  const std::string shown = SanitizeForLog(entry.name, 80);
  if (!named) {
    const passwd* pw = getpwnam(entry.name.c_str());
    if (pw == nullptr) {
      Skipped(shown, "not in the passwd database; name it to import it");
      return Status::Ok();
    }
    if (pw->pw_uid < kFirstRegularUid || pw->pw_uid >= kFirstReservedUid) {
      Skipped(shown,
              "system account (uid " + std::to_string(pw->pw_uid) + "); name it to import it");
      return Status::Ok();
    }
  }
  Status name_ok = CheckUserName(entry.name);
  if (!name_ok.ok()) {
    Skipped(shown, name_ok.message());
    return Status::Ok();
  }
  Status hash_ok = CheckImportableHash(entry.hash);
  if (!hash_ok.ok()) {
    Skipped(shown, hash_ok.message());
    return Status::Ok();
  }
  Result<std::optional<UserRecord>> existing = env.store->GetUser(entry.name);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    Skipped(shown, "exists in the store; kept");
    return Status::Ok();
  }

  UserRecord user;
  user.name = entry.name;
  user.password_hash = entry.hash;
  user.created = env.clock.Now();
  user.password_changed = ChangedAt(entry.last_change_days, user.created);
  // sp_lstchg = 0 is shadow's "must change at next login" (passwd -e):
  // keep that meaning.
  user.must_change = entry.last_change_days == 0;
  Status added = env.store->AddUser(user);
  if (added.code() == Code::kAlreadyExists) {  // added meanwhile by someone else
    Skipped(shown, "exists in the store; kept");
    return Status::Ok();
  }
  if (!added.ok()) return added.WithContext("cannot import " + shown);
  std::printf("imported %s (%s)%s\n", shown.c_str(), CryptHashName(entry.hash),
              user.must_change ? "; a change is required at the next sign-in (as in shadow)" : "");
  return Status::Ok();
}

// Fail(), after what stdout holds so far (the lines stay in order when
// both streams go to one place).
int FailAfterOutput(const Status& status) {
  std::fflush(stdout);
  return Fail(status);
}

}  // namespace

int RunImportShadow(const Invocation& inv) {
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());

  if (inv.operands.empty()) {
    Result<std::vector<ShadowEntry>> all = ReadAllShadow();
    if (!all.ok()) return FailAfterOutput(all.status());
    for (const ShadowEntry& entry : all.value()) {
      Status s = ImportOne(**env, entry, /*named=*/false);
      if (!s.ok()) return FailAfterOutput(s);
    }
    return kExitOk;
  }

  bool missing = false;
  std::set<std::string> seen;
  for (const std::string& name : inv.operands) {
    if (!seen.insert(name).second) continue;  // named twice: once is enough
    Result<std::optional<ShadowEntry>> entry = ReadShadow(name);
    if (!entry.ok()) return FailAfterOutput(entry.status());
    if (!entry->has_value()) {
      std::fflush(stdout);
      std::fprintf(stderr, "%s: error: %s: not in /etc/shadow\n", kTool,
                   SanitizeForLog(name, 80).c_str());
      missing = true;
      continue;
    }
    Status s = ImportOne(**env, **entry, /*named=*/true);
    if (!s.ok()) return FailAfterOutput(s);
  }
  return missing ? kExitNotFound : kExitOk;
}

}  // namespace sesame::admin
