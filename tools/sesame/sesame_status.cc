// sesame status: what the calling user may want to know about their own
// account: whether it is active, how old the password is, whether a change
// is due, the lock state, the sign-in methods registered, the recovery
// codes left, and whether MFA is required (and until when it can still be
// set up). Read only: the grace period is not started here.
#include <cstdio>
#include <string>

#include "core/mfa_requirement.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"

namespace sesame::self {
namespace {

constexpr int64_t kDay = 86400;

struct PasswordState {
  int64_t changed = 0;
  int64_t age_days = 0;
  int64_t expires = 0;  // 0: never (password_max_days = 0)
  bool change_required = false;
  std::string change_reason;  // why a change is required; empty when none
};

enum class LockState { kOff, kNotLocked, kLocked };

struct Lock {
  LockState state = LockState::kNotLocked;
  int64_t locked_until = 0;  // when kLocked; kLockedUntilUnlocked: until an admin unlocks
  int failures = 0;          // in the current window
  int deny = 0;
  int64_t window_ends = 0;  // when failures > 0
};

struct Mfa {
  bool enrolled = false;
  int recovery_left = 0;
  bool required = false;
  std::string why;        // when required
  bool pending = false;   // required and not enrolled
  int64_t enroll_by = 0;  // when pending and the grace period has begun
  bool grace_over = false;
  int grace_days = 0;
};

// As the sign-in decides it (EnrollmentIfRequired): the grace period
// begins at the first sign-in that finds MFA required, unless an
// administrator's `mfa require` began it.
Result<Mfa> MfaOf(const Config& c, Store& store, const UserRecord& u, int64_t now) {
  Mfa m;
  m.enrolled = !u.totp_sealed.empty();
  m.grace_days = c.mfa_grace_days;
  Result<int> left = store.CountRecoveryCodes(u.name);
  if (!left.ok()) return left.status();
  m.recovery_left = left.value();
  Result<MfaRequirement> required = MfaRequirementOf(c, store, u);
  if (!required.ok()) return required.status();
  m.required = required->required;
  if (m.required) m.why = required->why;
  m.pending = m.required && !m.enrolled;
  if (m.pending) {
    m.grace_over = GraceLeft(c, u.mfa_required_since, now) <= 0;
    if (u.mfa_required_since != 0)
      m.enroll_by = u.mfa_required_since + static_cast<int64_t>(c.mfa_grace_days) * kDay;
  }
  return m;
}

std::string MfaText(const Mfa& m) {
  if (!m.required) return "no";
  std::string text = "yes: " + m.why;
  if (!m.pending) return text;
  if (m.grace_over)
    return text +
           "; not set up, and the time to set it up is over: sign-in is refused until you run "
           "'sesame mfa enroll' (or your administrator sets it up)";
  if (m.enroll_by == 0)
    return text + "; not set up: run 'sesame mfa enroll' within " + std::to_string(m.grace_days) +
           " day(s) of your next sign-in";
  return text + "; not set up: run 'sesame mfa enroll' before " + FormatTime(m.enroll_by) +
         " (sign-in is refused after that)";
}

// As CheckAccount in core/sign_in.cc decides it.
PasswordState PasswordOf(const Config& c, const UserRecord& u, int64_t now) {
  PasswordState p;
  p.changed = u.password_changed;
  if (u.password_changed > 0 && now > u.password_changed)
    p.age_days = (now - u.password_changed) / kDay;
  if (c.password_max_days > 0)
    p.expires = u.password_changed + static_cast<int64_t>(c.password_max_days) * kDay;
  if (u.must_change) {
    p.change_required = true;
    p.change_reason = "an administrator reset the password";
  } else if (p.expires != 0 && now - u.password_changed > c.password_max_days * kDay) {
    p.change_required = true;
    p.change_reason = "the password is older than " + std::to_string(c.password_max_days) +
                      " days (password_max_days)";
  }
  return p;
}

// As CheckPassword and Store::RecordFailure read the counters: an expired
// lock or window counts as none.
Lock LockOf(const Config& c, const UserRecord& u, int64_t now) {
  Lock l;
  l.deny = c.deny;
  if (c.deny <= 0 || (c.lockout_exempt_root && u.name == "root")) {
    l.state = LockState::kOff;
    return l;
  }
  if (u.locked_until != 0 && u.locked_until > now) {
    l.state = LockState::kLocked;
    l.locked_until = u.locked_until;
    l.failures = u.failures;
    return l;
  }
  const bool lock_ran_out = u.locked_until != 0;
  const bool window_open = u.first_failure != 0 && now < u.first_failure + c.fail_interval;
  if (!lock_ran_out && window_open && u.failures > 0) {
    l.failures = u.failures;
    l.window_ends = u.first_failure + c.fail_interval;
  }
  return l;
}

// For --json: the same values as `sesame-admin user show --json`.
std::string LockedUntil(int64_t t) {
  return t == kLockedUntilUnlocked ? "until-unlocked" : FormatTime(t);
}

std::string LockText(const Lock& l) {
  switch (l.state) {
    case LockState::kOff:
      return "lockout off";
    case LockState::kLocked:
      if (l.locked_until == kLockedUntilUnlocked) return "locked until an administrator unlocks it";
      return "locked until " + FormatTime(l.locked_until);
    case LockState::kNotLocked:
      break;
  }
  if (l.failures == 0) return "not locked";
  return "not locked (" + std::to_string(l.failures) + " of " + std::to_string(l.deny) +
         " failed sign-ins in the current window, which ends " + FormatTime(l.window_ends) + ")";
}

std::string ChangeText(const PasswordState& p) {
  if (p.change_required) return "yes: " + p.change_reason;
  if (p.expires == 0) return "no (passwords do not expire)";
  return "no (due " + FormatTime(p.expires) + ")";
}

void PrintJson(const std::string& user, const UserRecord& u, const PasswordState& p, const Lock& l,
               const Mfa& m) {
  JsonWriter j;
  j.BeginObject()
      .Key("user")
      .String(user)
      .Key("account")
      .String(u.disabled ? "disabled" : "active")
      .Key("password_changed")
      .String(FormatTime(p.changed))
      .Key("password_age_days")
      .Int(p.age_days)
      .Key("password_expires")
      .String(FormatTime(p.expires))
      .Key("change_required")
      .Bool(p.change_required)
      .Key("change_reason")
      .String(p.change_reason)
      .Key("lock")
      .BeginObject()
      .Key("state")
      .String(l.state == LockState::kOff      ? "off"
              : l.state == LockState::kLocked ? "locked"
                                              : "not-locked")
      .Key("locked_until")
      .String(l.state == LockState::kLocked ? LockedUntil(l.locked_until) : "")
      .Key("failures")
      .Int(l.failures)
      .Key("deny")
      .Int(l.deny)
      .Key("window_ends")
      .String(l.failures > 0 && l.window_ends > 0 ? FormatTime(l.window_ends) : "")
      .EndObject()
      .Key("methods")
      .BeginArray()
      .String("password");
  if (m.enrolled) j.String("totp");
  j.EndArray()
      .Key("recovery_codes_left")
      .Int(m.recovery_left)
      .Key("mfa_required")
      .Bool(m.required)
      .Key("mfa_required_why")
      .String(m.why)
      .Key("mfa_grace_days")
      .Int(m.grace_days)
      .Key("mfa_enroll_by")
      .String(m.enroll_by > 0 ? FormatTime(m.enroll_by) : "")
      .Key("mfa_grace_over")
      .Bool(m.grace_over)
      .EndObject();
  std::printf("%s\n", j.str().c_str());
}

}  // namespace

int RunStatus(const Invocation& inv) {
  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return Fail(env.status());
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());
  const UserRecord& u = account.value();
  const Config& config = (*env)->config;
  const int64_t now = (*env)->clock.Now();
  const PasswordState password = PasswordOf(config, u, now);
  const Lock lock = LockOf(config, u, now);
  Result<Mfa> mfa = MfaOf(config, *(*env)->store, u, now);
  if (!mfa.ok()) return Fail(mfa.status());
  const Mfa& m = mfa.value();

  if (inv.json) {
    PrintJson(inv.user, u, password, lock, m);
    return kExitOk;
  }
  std::printf("User: %s\n", inv.user.c_str());
  std::printf("Account: %s\n", u.disabled ? "disabled (ask your administrator)" : "active");
  if (password.changed > 0) {
    std::printf("Password changed: %s (%lld days ago)\n", FormatTime(password.changed).c_str(),
                static_cast<long long>(password.age_days));
  } else {
    std::printf("Password changed: never\n");
  }
  std::printf("Change required: %s\n", ChangeText(password).c_str());
  std::printf("Lock: %s\n", LockText(lock).c_str());
  std::printf("Methods: %s\n", m.enrolled ? "password, authenticator app (TOTP)" : "password");
  if (m.enrolled) {
    std::printf("Recovery codes left: %d%s\n", m.recovery_left,
                m.recovery_left < 3 ? " (make new ones: sesame recovery-codes new)" : "");
  }
  std::printf("MFA required: %s\n", MfaText(m).c_str());
  return kExitOk;
}

}  // namespace sesame::self
