// sesame status: what the calling user may want to know about their own
// account: whether it is active, how old the password is, whether a change
// is due, the lock state, the sign-in methods registered, the recovery
// codes left, and whether MFA is required (and until when it can still be
// set up), and how many app passwords are live. Read only: the grace
// period is not started here.
#include <cstdio>
#include <string>

#include "core/flows/app_passwords.h"
#include "core/flows/reset.h"
#include "core/policy/account_state.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"

namespace sesame::self {
namespace {

constexpr const char* kNotShown = "your status was not shown; nothing was changed";

using Lock = AccountState::Lock;

std::string MfaText(const MfaState& m) {
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

// For --json: the same values as `sesame-admin user show --json`.
std::string LockedUntil(int64_t t) {
  return t == kLockedUntilUnlocked ? "until-unlocked" : FormatTime(t);
}

std::string LockText(const AccountState& l) {
  switch (l.lock) {
    case Lock::kOff:
      return "lockout off";
    case Lock::kLocked:
      if (l.locked_until == kLockedUntilUnlocked) return "locked until an administrator unlocks it";
      return "locked until " + FormatTime(l.locked_until);
    case Lock::kNotLocked:
      break;
  }
  if (l.failures == 0) return "not locked";
  return "not locked (" + std::to_string(l.failures) + " of " + std::to_string(l.deny) +
         " failed sign-ins in the current window, which ends " + FormatTime(l.window_ends) + ")";
}

std::string ChangeText(const AccountState& p) {
  if (p.change_required()) return "yes: " + p.change_reason;
  if (p.password_expires == 0) return "no (passwords do not expire)";
  return "no (due " + FormatTime(p.password_expires) + ")";
}

// "yes (...)", "no: needs an authenticator app and recovery codes ...",
// or that the host does not offer it.
std::string ResetText(const ResetReadiness& reset) {
  if (!reset.enabled)
    return "not offered on this host (ask your administrator: sesame-admin password reset)";
  if (reset.ready)
    return "yes: leave the password empty at the sign-in prompt, or run sesame passwd --forgot";
  std::string missing;
  for (const std::string& m : reset.missing) missing += (missing.empty() ? "" : " and ") + m;
  std::string fix = "sesame mfa enroll";
  if (reset.missing_methods.size() == 1 && reset.missing_methods[0] == "recovery_code")
    fix = "sesame recovery-codes new";
  return "no: it needs " + missing + " (set them up: " + fix + ")";
}

void PrintJson(const std::string& user, const AccountState& p, const MfaState& m, int app_passwords,
               const ResetReadiness& reset) {
  const AccountState& l = p;
  JsonWriter j;
  j.BeginObject()
      .Key("user")
      .String(user)
      .Key("account")
      .String(p.disabled ? "disabled" : "active")
      .Key("password_changed")
      .String(FormatTime(p.password_changed))
      .Key("password_age_days")
      .Int(p.password_age_days)
      .Key("password_expires")
      .String(FormatTime(p.password_expires))
      .Key("change_required")
      .Bool(p.change_required())
      .Key("change_reason")
      .String(p.change_reason)
      .Key("lock")
      .BeginObject()
      .Key("state")
      .String(l.lock == Lock::kOff      ? "off"
              : l.lock == Lock::kLocked ? "locked"
                                        : "not-locked")
      .Key("locked_until")
      .String(l.locked() ? LockedUntil(l.locked_until) : "")
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
      .Int(m.recovery_codes_left)
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
      .Key("app_passwords")
      .Int(app_passwords)
      .Key("reset_enabled")
      .Bool(reset.enabled)
      .Key("reset_ready")
      .Bool(reset.ready)
      .Key("reset_missing")
      .BeginArray();
  for (const std::string& missing : reset.missing_methods) j.String(missing);
  j.EndArray().EndObject();
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
  // The state the sign-in sees (core/policy/account_state.h).
  const AccountState state = StateOf(config, u, now);
  Result<MfaState> mfa = MfaStateOf(config, *(*env)->store, u, now);
  if (!mfa.ok()) return Fail(mfa.status());
  const MfaState& m = mfa.value();
  Services services = (*env)->services();
  const int app_passwords = LiveAppPasswordCount(services, RequestInfo{inv.user, kService, ""});
  Result<ResetReadiness> reset = ResetReadinessOf(config, *(*env)->store, u);
  if (!reset.ok()) return Fail(reset.status());

  if (inv.json) {
    PrintJson(inv.user, state, m, app_passwords, reset.value());
    return Printed(kNotShown);
  }
  std::printf("User: %s\n", inv.user.c_str());
  std::printf("Account: %s\n", state.disabled ? "disabled (ask your administrator)" : "active");
  if (state.password_changed > 0) {
    std::printf("Password changed: %s (%lld days ago)\n",
                FormatTime(state.password_changed).c_str(),
                static_cast<long long>(state.password_age_days));
  } else {
    std::printf("Password changed: never\n");
  }
  std::printf("Change required: %s\n", ChangeText(state).c_str());
  std::printf("Lock: %s\n", LockText(state).c_str());
  std::printf("Methods: %s\n", m.enrolled ? "password, authenticator app (TOTP)" : "password");
  if (m.enrolled) {
    std::printf("Recovery codes left: %d%s\n", m.recovery_codes_left,
                m.recovery_codes_left < 3 ? " (make new ones: sesame recovery-codes new)" : "");
  }
  std::printf("MFA required: %s\n", MfaText(m).c_str());
  std::printf("App passwords: %d%s\n", app_passwords,
              app_passwords > 0 ? " (see sesame app-password list)" : "");
  std::printf("Forgotten password: %s\n", ResetText(reset.value()).c_str());
  return Printed(kNotShown);
}

}  // namespace sesame::self
