// sesame-admin user ...: add, list, show, remove, disable, enable.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/crypto/crypt_hash.h"
#include "core/crypto/password_hash.h"
#include "core/flows/reset.h"
#include "core/policy/account_state.h"
#include "core/policy/mfa_requirement.h"
#include "core/policy/password_policy.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/common/terminal.h"

namespace sesame::admin {
namespace {

// An administrator's password for an account (add, reset) need not pass
// libpwquality or the history, but it must be long enough.
Status CheckMinLength(std::string_view pw, int min_length) {
  if (Utf8Length(pw) < static_cast<size_t>(min_length))
    return Status(Code::kInvalidArgument, "the password is shorter than " +
                                              std::to_string(min_length) +
                                              " characters (password_min_length)");
  return Status::Ok();
}

Result<SecretBuffer> ReadNewPassword(const Invocation& inv, int min_length) {
  if (inv.password_stdin) {
    Result<SecretBuffer> pw = ReadSecretLine(STDIN_FILENO, kMaxPasswordBytes);
    if (!pw.ok()) return pw.status();
    SESAME_RETURN_IF_ERROR(CheckNewPassword(pw->view()));
    SESAME_RETURN_IF_ERROR(CheckMinLength(pw->view(), min_length));
    return pw;
  }
  TerminalPrompter tty;
  Result<SecretBuffer> first = tty.AskSecret(SecretKind::kNewPassword, "New password: ");
  if (!first.ok()) return first.status();
  SESAME_RETURN_IF_ERROR(CheckNewPassword(first->view()));
  SESAME_RETURN_IF_ERROR(CheckMinLength(first->view(), min_length));
  Result<SecretBuffer> second =
      tty.AskSecret(SecretKind::kRetypeNewPassword, "Retype new password: ");
  if (!second.ok()) return second.status();
  if (!ConstantTimeEquals(first->view(), second->view()))
    return Status(Code::kInvalidArgument, "the passwords do not match; nothing was changed");
  return std::move(first.value());
}

std::string HashSummary(const std::string& phc) {
  if (phc.empty()) return "none";
  if (IsCryptHash(phc))
    return std::string(CryptHashName(phc)) + " (imported; argon2id at the next sign-in)";
  Result<PhcHash> parsed = ParsePhc(phc);
  if (!parsed.ok()) return "unknown format";
  const Argon2Params& p = parsed->params;
  return "argon2id m=" + std::to_string(p.memory_kib) + " t=" + std::to_string(p.time_cost) +
         " p=" + std::to_string(p.parallelism);
}

// "until-unlocked" or a time, as `sesame status --json` writes it.
std::string LockedUntil(const AccountState& state) {
  if (!state.locked()) return "";
  return state.locked_until == kLockedUntilUnlocked ? "until-unlocked"
                                                    : FormatTime(state.locked_until);
}

// One word for the list: what would happen at a sign-in now.
const char* StatusWord(const AccountState& state) {
  if (state.disabled) return "disabled";
  if (state.locked()) return "locked";
  if (state.change_required()) return "must-change";
  return "active";
}

// "ready", "off" (self_service_reset = no) or "needs totp,recovery_code":
// whether the user could reset a forgotten password now.
std::string ResetColumn(const ResetReadiness& reset) {
  if (!reset.enabled) return "off";
  if (reset.ready) return "ready";
  std::string needs;
  for (const std::string& m : reset.missing_methods) needs += (needs.empty() ? "" : ",") + m;
  return "needs " + needs;
}

// user show: "can reset it ...", "cannot reset it: needs an
// authenticator app and recovery codes ...", or that it is off.
std::string ResetText(const ResetReadiness& reset) {
  if (!reset.enabled) return "no self-service reset (self_service_reset = no)";
  if (reset.ready) return "can reset it with the registered methods (self_service_reset)";
  std::string missing;
  for (const std::string& m : reset.missing) missing += (missing.empty() ? "" : " and ") + m;
  return "cannot reset it: needs " + missing + " (not registered)";
}

void WriteUserJson(JsonWriter& j, const UserRecord& u, const AccountState& state,
                   const ResetReadiness* reset = nullptr) {
  j.BeginObject()
      .Key("name")
      .String(u.name)
      .Key("disabled")
      .Bool(u.disabled)
      .Key("created")
      .String(FormatTime(u.created))
      .Key("password_changed")
      .String(FormatTime(u.password_changed))
      .Key("password_hash")
      .String(HashSummary(u.password_hash))
      .Key("must_change")
      .Bool(state.change_required())
      .Key("locked")
      .Bool(state.locked())
      .Key("locked_until")
      .String(LockedUntil(state))
      .Key("failures")
      .Int(state.failures)
      .Key("mfa_enrolled")
      .Bool(!u.totp_sealed.empty());
  if (reset != nullptr) {
    j.Key("reset_ready").Bool(reset->ready).Key("reset_missing").BeginArray();
    for (const std::string& m : reset->missing_methods) j.String(m);
    j.EndArray();
  }
  j.EndObject();
}

Status CheckName(const std::string& name) {
  Status s = CheckUserName(name);
  if (!s.ok()) return Status(s.code(), "'" + SanitizeForLog(name, 80) + "': " + s.message());
  return s;
}

}  // namespace

int Fail(const Status& status) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, status.message().c_str());
  return ExitCodeFor(status);
}

int RunUserAdd(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status ok = CheckName(name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Store& store = *(*env)->store;
  Result<std::optional<UserRecord>> existing = store.GetUser(name);
  if (!existing.ok()) return Fail(existing.status());
  if (existing->has_value())
    return Fail(Status(Code::kAlreadyExists, "user " + name + " exists already"));

  Result<SecretBuffer> password = ReadNewPassword(inv, (*env)->config.password_min_length);
  if (!password.ok()) return Fail(password.status());
  SystemRandom random;
  Result<std::string> hash = (*env)->hasher->Hash(password->view(), random);
  if (!hash.ok()) return Fail(hash.status());

  UserRecord user;
  user.name = name;
  user.password_hash = hash.value();
  user.created = (*env)->clock.Now();
  user.password_changed = user.created;
  user.must_change = inv.temporary;
  user.mfa_required = inv.require_mfa;
  user.mfa_required_since = inv.require_mfa ? user.created : 0;
  Status added = store.AddUser(user);
  if (!added.ok()) return Fail(added);
  std::printf("added user %s\n", name.c_str());
  if (inv.require_mfa) {
    std::printf("%s must set up an authenticator app within %d day(s) (mfa_grace_days)\n",
                name.c_str(), (*env)->config.mfa_grace_days);
  }
  return kExitOk;
}

int RunUserList(const Invocation& inv) {
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Result<std::vector<UserRecord>> users = (*env)->store->ListUsers();
  if (!users.ok()) return Fail(users.status());
  const int64_t now = (*env)->clock.Now();
  // Whether each could reset a forgotten password (self_service_reset): an
  // admin sees who is not ready before they need it.
  std::vector<ResetReadiness> resets;
  for (const UserRecord& u : users.value()) {
    Result<ResetReadiness> reset = ResetReadinessOf((*env)->config, *(*env)->store, u);
    if (!reset.ok()) return Fail(reset.status());
    resets.push_back(std::move(reset.value()));
  }
  if (inv.json) {
    JsonWriter j;
    j.BeginArray();
    for (size_t i = 0; i < users->size(); ++i) {
      const UserRecord& u = (*users)[i];
      WriteUserJson(j, u, StateOf((*env)->config, u, now), &resets[i]);
    }
    j.EndArray();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("%-32s %-11s %-21s %-21s %-5s %s\n", "NAME", "STATUS", "CREATED", "PASSWORD CHANGED",
              "MFA", "RESET");
  for (size_t i = 0; i < users->size(); ++i) {
    const UserRecord& u = (*users)[i];
    const AccountState state = StateOf((*env)->config, u, now);
    std::printf("%-32s %-11s %-21s %-21s %-5s %s\n", u.name.c_str(), StatusWord(state),
                FormatTime(u.created).c_str(), FormatTime(u.password_changed).c_str(),
                u.totp_sealed.empty() ? "-" : "totp", ResetColumn(resets[i]).c_str());
  }
  return kExitOk;
}

int RunUserShow(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status ok = CheckName(name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Result<std::optional<UserRecord>> user = (*env)->store->GetUser(name);
  if (!user.ok()) return Fail(user.status());
  if (!user->has_value()) return Fail(Status(Code::kNotFound, "no user " + name));
  const UserRecord& u = **user;
  const Config& config = (*env)->config;
  const int64_t now = (*env)->clock.Now();
  EventFilter filter;
  filter.user = name;
  filter.limit = 5;
  Result<std::vector<SignInEvent>> events = (*env)->store->ListEvents(filter);
  if (!events.ok()) return Fail(events.status());
  Result<std::vector<AppPasswordRecord>> app_passwords = (*env)->store->ListAppPasswords(name);
  if (!app_passwords.ok()) return Fail(app_passwords.status());

  // The state the sign-in sees (core/policy/account_state.h): user show, status
  // and PAM agree.
  const AccountState state = StateOf(config, u, now);
  // A requirement that cannot be read (a group that does not exist, an NSS
  // error) is shown, not fatal: the rest is what the admin came for. The
  // sign-in of a user without an authenticator is refused meanwhile.
  Result<MfaState> read_mfa = MfaStateOf(config, *(*env)->store, u, now);
  std::string mfa_error;
  MfaState mfa_state;
  if (read_mfa.ok()) {
    mfa_state = std::move(read_mfa.value());
  } else {
    mfa_error = read_mfa.status().message();
    mfa_state.enrolled = !u.totp_sealed.empty();
  }
  const MfaState* mfa = &mfa_state;
  std::string lock_text = "not locked";
  switch (state.lock) {
    case AccountState::Lock::kOff:
      lock_text = config.deny <= 0 ? "lockout off (deny = 0)"
                                   : "lockout off (root is exempt: lockout_exempt_root)";
      break;
    case AccountState::Lock::kLocked:
      lock_text = state.locked_until == kLockedUntilUnlocked
                      ? "locked until an administrator unlocks it"
                      : "locked until " + FormatTime(state.locked_until);
      break;
    case AccountState::Lock::kNotLocked:
      break;
  }
  std::string mfa_text = "not required";
  if (!mfa_error.empty()) {
    mfa_text = "cannot tell (" + mfa_error + ")" +
               (mfa->enrolled ? "" : "; sign-in is refused until this is fixed");
  } else if (mfa->required) {
    mfa_text = "required: " + mfa->why;
    if (mfa->pending) {
      if (mfa->grace_over) {
        mfa_text +=
            "; not enrolled and the grace period is over: sign-in is refused (mfa reset "
            "gives new days, mfa enroll sets it up)";
      } else if (mfa->enroll_by == 0) {
        mfa_text += "; not enrolled: " + std::to_string(config.mfa_grace_days) +
                    " day(s) of grace from the next sign-in";
      } else {
        mfa_text += "; not enrolled: must enroll before " + FormatTime(mfa->enroll_by);
      }
    }
  }
  Result<ResetReadiness> reset = ResetReadinessOf(config, *(*env)->store, u);
  if (!reset.ok()) return Fail(reset.status());
  std::string change_text =
      state.change == AccountState::Change::kAdminReset ? "required (administrator reset)"
      : state.change == AccountState::Change::kExpired  ? "required (older than password_max_days)"
                                                        : "not required";

  if (inv.json) {
    JsonWriter j;
    j.BeginObject();
    j.Key("name").String(u.name);
    j.Key("disabled").Bool(u.disabled);
    j.Key("created").String(FormatTime(u.created));
    j.Key("password_changed").String(FormatTime(u.password_changed));
    j.Key("password_age_days").Int(state.password_age_days);
    j.Key("password_hash").String(HashSummary(u.password_hash));
    j.Key("must_change").Bool(state.change_required());
    j.Key("lockout").String(state.lock == AccountState::Lock::kOff ? "off" : "on");
    j.Key("locked").Bool(state.locked());
    j.Key("locked_until").String(LockedUntil(state));
    j.Key("failures").Int(state.failures);
    j.Key("methods").BeginArray().String("password");
    if (!u.totp_sealed.empty()) j.String("totp");
    j.EndArray();
    j.Key("recovery_codes_left").Int(mfa->recovery_codes_left);
    j.Key("mfa_required").Bool(mfa->required);
    j.Key("mfa_required_why").String(mfa->required ? mfa->why : "");
    j.Key("mfa_grace_over").Bool(mfa->grace_over);
    j.Key("mfa_error").String(mfa_error);
    j.Key("reset_ready").Bool(reset->ready);
    j.Key("reset_missing").BeginArray();
    for (const std::string& m : reset->missing_methods) j.String(m);
    j.EndArray();
    j.Key("app_passwords").BeginArray();
    for (const AppPasswordRecord& a : app_passwords.value()) WriteAppPasswordJson(j, a, now);
    j.EndArray();
    j.Key("recent_events").BeginArray();
    for (const SignInEvent& e : events.value()) {
      j.BeginObject();
      j.Key("time").String(FormatTime(e.time));
      j.Key("service").String(e.service);
      j.Key("remote_host").String(e.remote_host);
      j.Key("method").String(e.method);
      j.Key("outcome").String(e.outcome);
      j.EndObject();
    }
    j.EndArray().EndObject();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("name:             %s\n", u.name.c_str());
  std::printf("status:           %s\n", u.disabled ? "disabled" : "active");
  std::printf("created:          %s\n", FormatTime(u.created).c_str());
  std::printf("password changed: %s (%lld days ago)\n", FormatTime(u.password_changed).c_str(),
              static_cast<long long>(state.password_age_days));
  std::printf("password change:  %s\n", change_text.c_str());
  std::printf("password hash:    %s\n", HashSummary(u.password_hash).c_str());
  std::printf("lock:             %s\n", lock_text.c_str());
  std::printf("failures:         %d of %d in the current window\n", state.failures, config.deny);
  if (u.totp_sealed.empty()) {
    std::printf("methods:          password\n");
  } else {
    std::printf("methods:          password, authenticator app (TOTP); %d recovery code(s) left\n",
                mfa->recovery_codes_left);
  }
  std::printf("MFA:              %s\n", mfa_text.c_str());
  std::printf("forgotten pw:     %s\n", ResetText(*reset).c_str());
  const long live = std::count_if(app_passwords->begin(), app_passwords->end(),
                                  [now](const AppPasswordRecord& a) { return a.LiveAt(now); });
  if (app_passwords->empty()) {
    std::printf("app passwords:    none\n");
  } else {
    std::printf("app passwords:    %ld active of %zu (at most %d)\n", live, app_passwords->size(),
                config.app_password_max);
    PrintAppPasswordTable(app_passwords.value(), now, "  ");
  }
  std::printf("recent sign-ins:%s\n", events->empty() ? " none" : "");
  for (const SignInEvent& e : events.value()) {
    std::printf("  %s  %-14s %-16s %-16s %s\n", FormatTime(e.time).c_str(), e.outcome.c_str(),
                SanitizeForLog(e.service, 16).c_str(),
                SanitizeForLog(e.remote_host.empty() ? "-" : e.remote_host, 40).c_str(),
                e.method.c_str());
  }
  return kExitOk;
}

namespace {

int Change(const Invocation& inv, const char* done, Status (*change)(Store&, const std::string&)) {
  const std::string& name = inv.operands[0];
  Status ok = CheckName(name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Status s = change(*(*env)->store, name);
  if (s.code() == Code::kNotFound) return Fail(Status(Code::kNotFound, "no user " + name));
  if (!s.ok()) return Fail(s);
  std::printf("%s user %s\n", done, name.c_str());
  return kExitOk;
}

}  // namespace

int RunUserRemove(const Invocation& inv) {
  return Change(inv, "removed", [](Store& s, const std::string& n) { return s.RemoveUser(n); });
}

int RunUserDisable(const Invocation& inv) {
  return Change(inv, "disabled",
                [](Store& s, const std::string& n) { return s.SetDisabled(n, true); });
}

int RunUserEnable(const Invocation& inv) {
  return Change(inv, "enabled",
                [](Store& s, const std::string& n) { return s.SetDisabled(n, false); });
}

}  // namespace sesame::admin
