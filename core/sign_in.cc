#include "core/sign_in.h"

#include <optional>
#include <string>
#include <string_view>

#include "core/flow_internal.h"
#include "core/input_check.h"
#include "core/password_policy.h"
#include "core/recovery_codes.h"
#include "core/secret_box.h"
#include "core/totp.h"
#include "core/wrong_attempt.h"

namespace sesame {
namespace flow_internal {

std::string Describe(const RequestInfo& r) {
  std::string s = "user " + SanitizeForLog(r.user) + " (service " + SanitizeForLog(r.service);
  if (!r.remote_host.empty()) s += ", from " + SanitizeForLog(r.remote_host);
  return s + ")";
}

LogLevel LevelFor(Decision d) {
  switch (d) {
    case Decision::kSuccess:
      return LogLevel::kInfo;
    case Decision::kFailure:
    case Decision::kUnknownUser:
    case Decision::kDisabled:
    case Decision::kNewPasswordRequired:
    case Decision::kAborted:
    case Decision::kMfaRequired:
      return LogLevel::kNotice;
    case Decision::kLocked:
      return LogLevel::kWarning;
    case Decision::kUnavailable:
      return LogLevel::kError;
  }
  return LogLevel::kError;
}

const char* OutcomeName(Decision d) {
  switch (d) {
    case Decision::kSuccess:
      return "success";
    case Decision::kFailure:
      return "failure";
    case Decision::kUnknownUser:
      return "unknown-user";
    case Decision::kDisabled:
      return "disabled";
    case Decision::kLocked:
      return "locked";
    case Decision::kNewPasswordRequired:
      return "must-change";
    case Decision::kUnavailable:
      return "error";
    case Decision::kAborted:
      return "aborted";
    case Decision::kMfaRequired:
      return "mfa-required";
  }
  return "error";
}

// Records an event that is not the decision itself (a lock, an unlock).
void Note(Services& s, const RequestInfo& r, const char* method, const char* outcome,
          const std::string& detail) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = r.user;
  event.service = r.service.substr(0, 256);
  event.remote_host = r.remote_host.substr(0, 256);
  event.method = method;
  event.outcome = outcome;
  event.detail = detail;
  Status recorded = s.store.RecordEvent(event);
  if (!recorded.ok()) s.logger.Log(LogLevel::kError, "cannot record event: " + recorded.message());
}

// Logs the decision and records it as a sign-in event. A success that cannot
// be recorded turns into kUnavailable.
FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = r.user.substr(0, kMaxUserNameBytes * 4);
  event.service = r.service.substr(0, 256);
  event.remote_host = r.remote_host.substr(0, 256);
  event.method = method;
  event.outcome = OutcomeName(decision);
  event.detail = reason;
  // Unknown users are recorded too (that is what an attack looks like), but
  // with the name sanitised.
  if (decision == Decision::kUnknownUser) event.user = SanitizeForLog(r.user);
  Status recorded = s.store.RecordEvent(event);
  if (!recorded.ok()) {
    s.logger.Log(LogLevel::kError,
                 std::string("cannot record sign-in event: ") + recorded.message());
    if (decision == Decision::kSuccess) {
      decision = Decision::kUnavailable;
      reason = "sign-in event could not be recorded";
    }
  }
  s.logger.Log(LevelFor(decision), std::string(what) + " " + OutcomeName(decision) + " for " +
                                       Describe(r) + ": " + reason);
  return FlowResult{decision, std::move(reason)};
}

bool LockoutApplies(const Services& s, const UserRecord& user) {
  if (s.config.deny <= 0) return false;
  return !(s.config.lockout_exempt_root && user.name == "root");
}

LockoutPolicy PolicyOf(const Config& c) {
  return LockoutPolicy{c.deny, c.fail_interval, c.unlock_time};
}

std::string TimeLeft(int64_t seconds) {
  int64_t minutes = (seconds + 59) / 60;
  if (minutes <= 1) return "1 minute";
  return std::to_string(minutes) + " minutes";
}

// Replaces a hash made with other parameters; failures are logged only
// (the sign-in itself succeeded).
void Rehash(Services& s, const RequestInfo& r, const UserRecord& user, const SecretBuffer& pw) {
  Result<std::string> fresh = s.hasher.Hash(pw.view(), s.random);
  if (!fresh.ok()) {
    s.logger.Log(LogLevel::kWarning,
                 "cannot rehash the password of " + Describe(r) + ": " + fresh.status().message());
    return;
  }
  Result<bool> replaced = s.store.ReplacePasswordHash(r.user, user.password_hash, fresh.value(), 0);
  if (!replaced.ok()) {
    s.logger.Log(LogLevel::kWarning, "cannot store the rehashed password of " + Describe(r) + ": " +
                                         replaced.status().message());
  } else if (replaced.value()) {
    s.logger.Log(LogLevel::kInfo, "password hash of " + Describe(r) +
                                      " upgraded to the configured argon2id parameters");
  }
}

// Counts a wrong secret toward the lockout (recording a lock when this one
// locks) and finishes with kFailure. `secret` is what was typed: only its
// keyed digest reaches the store, so the same wrong secret sent again
// within the window counts once (core/wrong_attempt.h).
FlowResult CountFailure(Services& s, const RequestInfo& r, const UserRecord& user, const char* what,
                        const char* method, std::string reason, AttemptKind kind,
                        std::string_view secret) {
  if (LockoutApplies(s, user)) {
    const std::string attempt = WrongAttemptDigest(s.host_key, kind, r.user, secret);
    Result<FailureResult> counted =
        s.store.RecordFailure(r.user, s.clock.Now(), PolicyOf(s.config), attempt);
    if (!counted.ok()) {
      s.logger.Log(LogLevel::kError, "cannot count the failure of " + Describe(r) + ": " +
                                         counted.status().message());
    } else if (counted->repeated) {
      reason += " (the same as an earlier wrong attempt: not counted again; " +
                std::to_string(counted->failures) + " of " + std::to_string(s.config.deny) +
                " failures)";
    } else {
      reason += " (" + std::to_string(counted->failures) + " of " + std::to_string(s.config.deny) +
                " failures)";
      if (counted->locked_now) {
        std::string until = counted->locked_until == kLockedUntilUnlocked
                                ? "until an administrator unlocks it"
                                : "for " + std::to_string(s.config.unlock_time) + " s";
        Note(s, r, "lockout", "locked",
             std::to_string(counted->failures) + " failures; locked " + until);
        s.logger.Log(LogLevel::kWarning, "account of " + Describe(r) + " locked after " +
                                             std::to_string(counted->failures) + " failures " +
                                             until);
      }
    }
  }
  return Finish(s, r, what, method, Decision::kFailure, std::move(reason));
}

void ClearFailuresIfAny(Services& s, const RequestInfo& r, const UserRecord& user) {
  if (!LockoutApplies(s, user) || user.failures == 0) return;
  Status cleared = s.store.ClearFailures(r.user);
  if (!cleared.ok())
    s.logger.Log(LogLevel::kError,
                 "cannot reset the failure count of " + Describe(r) + ": " + cleared.message());
}

// The shared part of a sign-in and of "current password" in a change:
// prompt, look up, lockout, verify, count. On success `*out` (if given)
// holds the password and `*user_out` the record.
FlowResult CheckPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                         const CheckSpec& spec, SecretBuffer* out, UserRecord* user_out) {
  const bool name_ok = CheckUserName(r.user).ok();
  Result<SecretBuffer> password = prompter.AskSecret(spec.kind, spec.prompt);
  if (!password.ok()) {
    Decision d =
        password.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted;
    return Finish(s, r, spec.what, spec.method, d, "no password: " + password.status().message());
  }
  const SecretBuffer& pw = password.value();
  // Input that can never match is refused without hashing, whoever the
  // user is (the same cost for known and unknown users).
  const bool hopeless = pw.empty() || pw.size() > kMaxPasswordBytes;
  const std::string hopeless_reason =
      pw.empty() ? "empty password"
                 : "password longer than " + std::to_string(kMaxPasswordBytes) + " bytes";

  std::optional<UserRecord> user;
  if (name_ok) {
    Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
    if (!found.ok()) {
      return Finish(s, r, spec.what, spec.method, Decision::kUnavailable, found.status().message());
    }
    user = std::move(found.value());
  }
  if (!user.has_value()) {
    if (!hopeless) {
      Status dummy = s.hasher.DummyVerify(pw.view());
      if (!dummy.ok())
        return Finish(s, r, spec.what, spec.method, Decision::kUnavailable, dummy.message());
    }
    return Finish(s, r, spec.what, spec.method, Decision::kUnknownUser,
                  name_ok ? "no such user in the store" : "not a valid user name");
  }

  const int64_t now = s.clock.Now();
  const bool lockout = LockoutApplies(s, *user);
  if (lockout && user->locked_until != 0) {
    if (user->locked_until > now) {
      const bool forever = user->locked_until == kLockedUntilUnlocked;
      std::string when = forever ? "until an administrator unlocks it"
                                 : "for " + TimeLeft(user->locked_until - now) + " more";
      prompter.Error(forever ? "Your account is locked after too many failed sign-ins. Ask "
                               "your administrator to unlock it."
                             : "Your account is locked after too many failed sign-ins. Try "
                               "again in " +
                                   TimeLeft(user->locked_until - now) +
                                   ", or ask your administrator to unlock it.");
      return Finish(s, r, spec.what, spec.method, Decision::kLocked,
                    "account is locked " + when + "; password not checked");
    }
    // The lock has run out: lift it and record that.
    Status cleared = s.store.ClearFailures(r.user);
    if (!cleared.ok())
      return Finish(s, r, spec.what, spec.method, Decision::kUnavailable, cleared.message());
    Note(s, r, "lockout", "unlocked", "lock expired");
    s.logger.Log(LogLevel::kInfo, "lock of " + Describe(r) + " expired; lifted");
    user->failures = 0;
  }

  if (hopeless) return Finish(s, r, spec.what, spec.method, Decision::kFailure, hopeless_reason);
  if (user->password_hash.empty()) {
    Status dummy = s.hasher.DummyVerify(pw.view());
    if (!dummy.ok())
      return Finish(s, r, spec.what, spec.method, Decision::kUnavailable, dummy.message());
    return Finish(s, r, spec.what, spec.method, Decision::kFailure, "account has no password set");
  }

  Result<bool> match = s.hasher.Verify(user->password_hash, pw.view());
  if (!match.ok()) {
    return Finish(s, r, spec.what, spec.method, Decision::kUnavailable,
                  "cannot check the password: " + match.status().message());
  }
  if (!match.value()) {
    return CountFailure(s, r, *user, spec.what, spec.method, "wrong password",
                        AttemptKind::kPassword, pw.view());
  }
  if (user->disabled) {
    return Finish(s, r, spec.what, spec.method, Decision::kDisabled, "account is disabled");
  }
  // With a second factor the count is cleared only when the code is right
  // too: otherwise someone who knows the password could guess codes forever.
  if (user->totp_sealed.empty()) ClearFailuresIfAny(s, r, *user);
  if (s.hasher.NeedsRehash(user->password_hash)) Rehash(s, r, *user, pw);
  if (out != nullptr) *out = std::move(password.value());
  if (user_out != nullptr) *user_out = std::move(*user);
  return FlowResult{Decision::kSuccess, "password accepted"};
}

// The verification-code step for a user with an authenticator. `what`
// names the flow in logs; `method_prefix` goes before "totp" /
// "recovery-code" in the event ("password+totp").
FlowResult SecondFactor(Services& s, Prompter& prompter, const RequestInfo& r,
                        const UserRecord& user, const char* what,
                        const std::string& method_prefix) {
  const std::string totp_method = method_prefix + "totp";
  if (s.host_key == nullptr) {
    return Finish(s, r, what, totp_method.c_str(), Decision::kUnavailable,
                  "the key file was not loaded; cannot check a verification code");
  }
  Result<SecretBuffer> secret = Open(*s.host_key, user.totp_sealed, user.name);
  if (!secret.ok()) {
    return Finish(s, r, what, totp_method.c_str(), Decision::kUnavailable,
                  "authenticator secret: " + secret.status().message());
  }
  Result<SecretBuffer> typed = prompter.AskSecret(SecretKind::kCode, "Verification code: ");
  if (!typed.ok()) {
    return Finish(s, r, what, totp_method.c_str(), Decision::kAborted,
                  "no verification code: " + typed.status().message());
  }
  if (typed->size() > 128) {
    return Finish(s, r, what, totp_method.c_str(), Decision::kFailure,
                  "verification code longer than 128 bytes");
  }
  const int64_t now = s.clock.Now();
  TotpMatch match =
      VerifyTotp(secret.value(), typed->view(), now, TotpParamsOf(s.config), user.totp_last_step);
  if (match.ok) {
    Result<bool> first_use = s.store.UseTotpStep(user.name, match.step);
    if (!first_use.ok()) {
      return Finish(s, r, what, totp_method.c_str(), Decision::kUnavailable,
                    first_use.status().message());
    }
    if (first_use.value()) {
      ClearFailuresIfAny(s, r, user);
      return Finish(s, r, what, totp_method.c_str(), Decision::kSuccess,
                    method_prefix.empty() ? "verification code accepted"
                                          : "password and verification code accepted");
    }
    // Another sign-in took this time step first: a replay.
    return CountFailure(s, r, user, what, totp_method.c_str(),
                        "verification code already used (replay)", AttemptKind::kCode,
                        typed->view());
  }
  // Say so when the code was right but its time step was used already.
  if (user.totp_last_step >= 0 &&
      VerifyTotp(secret.value(), typed->view(), now, TotpParamsOf(s.config), -1).ok) {
    return CountFailure(s, r, user, what, totp_method.c_str(),
                        "verification code already used (replay)", AttemptKind::kCode,
                        typed->view());
  }
  const std::string normalized = NormalizeRecoveryCode(typed->view());
  if (!normalized.empty()) {
    const std::string recovery_method = method_prefix + "recovery-code";
    Result<SecretBuffer> pepper = DeriveSubkey(*s.host_key, kRecoveryCodePurpose);
    if (!pepper.ok()) {
      return Finish(s, r, what, recovery_method.c_str(), Decision::kUnavailable,
                    pepper.status().message());
    }
    Result<bool> used =
        s.store.UseRecoveryCode(user.name, RecoveryCodeDigest(pepper.value(), normalized));
    if (!used.ok()) {
      return Finish(s, r, what, recovery_method.c_str(), Decision::kUnavailable,
                    used.status().message());
    }
    if (used.value()) {
      ClearFailuresIfAny(s, r, user);
      Result<int> left = s.store.CountRecoveryCodes(user.name);
      if (left.ok() && left.value() <= 3) {
        prompter.Info("You have " + std::to_string(left.value()) +
                      " recovery code(s) left. Ask your administrator for new ones.");
      }
      return Finish(
          s, r, what, recovery_method.c_str(), Decision::kSuccess,
          std::string(method_prefix.empty() ? "recovery code" : "password and recovery code") +
              " accepted (" + (left.ok() ? std::to_string(left.value()) : std::string("?")) +
              " left)");
    }
  }
  return CountFailure(s, r, user, what, totp_method.c_str(), "wrong verification code",
                      AttemptKind::kCode, typed->view());
}

}  // namespace flow_internal

using namespace flow_internal;  // NOLINT(google-build-using-namespace): this file's own helpers

const char* DecisionName(Decision decision) { return OutcomeName(decision); }

FlowResult PasswordSignIn(Services& s, Prompter& prompter, const RequestInfo& r) {
  const CheckSpec spec{SecretKind::kCurrentPassword, "Password: ", "password sign-in", "password"};
  UserRecord user;
  FlowResult checked = CheckPassword(s, prompter, r, spec, nullptr, &user);
  if (checked.decision != Decision::kSuccess) return checked;
  if (user.totp_sealed.empty()) {
    return EnrollmentIfRequired(s, prompter, r, user, spec.what, FirstFactor::kPassword);
  }
  return SecondFactor(s, prompter, r, user, "password sign-in", "password+");
}

FlowResult SecondFactorOnly(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "second factor";
  if (!CheckUserName(r.user).ok())
    return Finish(s, r, kWhat, "totp", Decision::kUnknownUser, "not a valid user name");
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok())
    return Finish(s, r, kWhat, "totp", Decision::kUnavailable, found.status().message());
  if (!found->has_value())
    return Finish(s, r, kWhat, "totp", Decision::kUnknownUser, "no such user in the store");
  const UserRecord& user = **found;
  if (user.disabled) return Finish(s, r, kWhat, "totp", Decision::kDisabled, "account is disabled");
  if (LockoutApplies(s, user) && user.locked_until > s.clock.Now()) {
    prompter.Error(
        "Your account is locked after too many failed sign-ins. Ask your "
        "administrator to unlock it, or try again later.");
    return Finish(s, r, kWhat, "totp", Decision::kLocked, "account is locked; code not checked");
  }
  if (user.totp_sealed.empty())
    return EnrollmentIfRequired(s, prompter, r, user, kWhat, FirstFactor::kEarlierModule);
  return SecondFactor(s, prompter, r, user, kWhat, "");
}

FlowResult VerifyCurrentPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                                 SecretBuffer* current) {
  const CheckSpec spec{SecretKind::kOldPassword, "Current password: ", "current password check",
                       "password-change"};
  FlowResult checked = CheckPassword(s, prompter, r, spec, current, nullptr);
  if (checked.decision == Decision::kSuccess) {
    s.logger.Log(LogLevel::kInfo, "current password of " + Describe(r) + " verified for a change");
  }
  return checked;
}

FlowResult CheckAccount(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "account check";
  if (!CheckUserName(r.user).ok()) {
    s.logger.Log(LogLevel::kNotice, std::string(kWhat) + " unknown-user for " + Describe(r) +
                                        ": not a valid user name");
    return FlowResult{Decision::kUnknownUser, "not a valid user name"};
  }
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok()) {
    s.logger.Log(LogLevel::kError, std::string(kWhat) + " error for " + Describe(r) + ": " +
                                       found.status().message());
    return FlowResult{Decision::kUnavailable, found.status().message()};
  }
  if (!found.value().has_value()) {
    // Not ours: let the stack fall through (pam_unix for system accounts).
    if (s.logger.debug_enabled())
      s.logger.Log(LogLevel::kDebug, std::string(kWhat) + ": no such user " + Describe(r));
    return FlowResult{Decision::kUnknownUser, "no such user in the store"};
  }
  const UserRecord& user = **found;
  if (user.disabled) {
    prompter.Error("Your account is disabled. Ask your administrator to enable it.");
    return Finish(s, r, kWhat, "account", Decision::kDisabled, "account is disabled");
  }
  if (user.must_change) {
    prompter.Error(
        "You are required to change your password immediately (administrator enforced).");
    return Finish(s, r, kWhat, "account", Decision::kNewPasswordRequired,
                  "password change required (administrator reset)");
  }
  if (s.config.password_max_days > 0) {
    int64_t age = s.clock.Now() - user.password_changed;
    if (age > static_cast<int64_t>(s.config.password_max_days) * 86400) {
      const int days = s.config.password_max_days;
      prompter.Error("Your password has expired (it is older than " + std::to_string(days) +
                     (days == 1 ? " day" : " days") + "). You are required to change it now.");
      return Finish(
          s, r, kWhat, "account", Decision::kNewPasswordRequired,
          "password older than password_max_days = " + std::to_string(s.config.password_max_days));
    }
  }
  s.logger.Log(LogLevel::kInfo, std::string(kWhat) + " success for " + Describe(r));
  return FlowResult{Decision::kSuccess, "account usable"};
}

FlowResult ChangePassword(Services& s, Prompter& prompter, const RequestInfo& r,
                          const SecretBuffer* current, int tries) {
  const char* kWhat = "password change";
  const char* kMethod = "password-change";
  if (!CheckUserName(r.user).ok())
    return FlowResult{Decision::kUnknownUser, "not a valid user name"};
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok())
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, found.status().message());
  if (!found->has_value()) return FlowResult{Decision::kUnknownUser, "no such user in the store"};
  const UserRecord user = **found;
  Result<std::vector<std::string>> history = s.store.PasswordHistory(r.user);
  if (!history.ok())
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, history.status().message());

  std::string last_refusal = "no attempt";
  for (int attempt = 0; attempt < (tries < 1 ? 1 : tries); ++attempt) {
    Result<SecretBuffer> fresh = prompter.AskNewPassword();
    if (!fresh.ok()) {
      if (fresh.status().code() == Code::kInvalidArgument) {  // entries differ; already said
        last_refusal = fresh.status().message();
        continue;
      }
      return Finish(
          s, r, kWhat, kMethod,
          fresh.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted,
          "no new password: " + fresh.status().message());
    }
    PolicySubject subject{r.user, fresh->view(), current, user.password_hash, &history.value()};
    Status policy = CheckPasswordPolicy(s.config, s.hasher, subject);
    if (!policy.ok()) {
      if (policy.code() != Code::kInvalidArgument) {
        prompter.Error("The password cannot be checked now; nothing was changed.");
        return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, policy.message());
      }
      last_refusal = policy.message();
      prompter.Error(last_refusal);
      continue;
    }
    Result<std::string> hash = s.hasher.Hash(fresh->view(), s.random);
    if (!hash.ok())
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, hash.status().message());
    Status stored =
        s.store.SetPassword(r.user, hash.value(), s.clock.Now(), false, s.config.password_history);
    if (!stored.ok()) {
      prompter.Error("The new password could not be stored; nothing was changed.");
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, stored.message());
    }
    return Finish(s, r, kWhat, kMethod, Decision::kSuccess, "password changed");
  }
  return Finish(s, r, kWhat, kMethod, Decision::kFailure, "refused: " + last_refusal);
}

}  // namespace sesame
