#include "core/flows/sign_in.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/input_check.h"
#include "core/crypto/recovery_codes.h"
#include "core/crypto/secret_box.h"
#include "core/crypto/totp.h"
#include "core/crypto/wrong_attempt.h"
#include "core/flows/flow_internal.h"
#include "core/policy/account_state.h"
#include "core/policy/password_policy.h"

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

namespace {

SignInEvent EventOf(Services& s, const RequestInfo& r, const char* method, Decision decision,
                    const std::string& reason, bool coalesced = false) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = r.user.substr(0, kMaxUserNameBytes * 4);
  event.service = r.service.substr(0, 256);
  event.remote_host = r.remote_host.substr(0, 256);
  event.method = method;
  event.outcome = OutcomeName(decision);
  event.detail = reason;
  // Unknown users are recorded too (that is what an attack looks like), but
  // with the name sanitised. Refusals that cost nothing share one name
  // (the log line has the real one), so that coalescing bounds them
  // however the attacker varies the names.
  if (decision == Decision::kUnknownUser) {
    const bool valid = CheckUserName(r.user).ok();
    event.user = !valid ? "(invalid name)" : coalesced ? "(unknown user)" : SanitizeForLog(r.user);
  }
  return event;
}

// The end of Finish and Conclude: a success that could not be recorded is
// not a success; the decision is logged.
FlowResult Decided(Services& s, const RequestInfo& r, const char* what, Decision decision,
                   std::string reason, const Status& recorded) {
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

std::string FailuresOf(const Services& s, int failures) {
  return std::to_string(failures) + " of " + std::to_string(s.config.deny) + " failures";
}

}  // namespace

FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason, int64_t coalesce_seconds) {
  SignInEvent event = EventOf(s, r, method, decision, reason, coalesce_seconds > 0);
  Status recorded = s.store.RecordEvent(event, coalesce_seconds);
  return Decided(s, r, what, decision, std::move(reason), recorded);
}

FlowResult Conclude(Services& s, const RequestInfo& r, Attempt& attempt, const char* what,
                    const char* method, Decision decision, std::string reason,
                    std::string_view wrong_digest) {
  if (!attempt.open) return Finish(s, r, what, method, decision, std::move(reason));
  attempt.open = false;
  Settlement settlement;
  settlement.reservation = attempt.reservation;
  settlement.kind = decision == Decision::kSuccess   ? Settlement::Kind::kSuccess
                    : decision == Decision::kFailure ? Settlement::Kind::kWrong
                                                     : Settlement::Kind::kRelease;
  settlement.attempt = wrong_digest;
  settlement.now = s.clock.Now();
  settlement.policy = attempt.policy;
  const bool counted = settlement.kind == Settlement::Kind::kWrong;
  // A success is recorded in the settlement's own transaction (a success
  // whose event cannot be recorded is not a success). A wrong secret is
  // recorded after it, so that the event can say how it was counted.
  SignInEvent event = EventOf(s, r, method, decision, reason);
  Result<SettleOutcome> settled =
      s.store.SettleAttempt(r.user, settlement, counted ? nullptr : &event);
  Status recorded = settled.ok() ? Status::Ok() : settled.status();
  if (counted) {
    if (settled.ok() && attempt.lockout_applies) {
      reason += settled->repeated ? " (the same as an earlier wrong attempt: not counted again; " +
                                        FailuresOf(s, settled->failures) + ")"
                                  : " (" + FailuresOf(s, attempt.reservation.failures) + ")";
    }
    event.detail = reason;
    Status written = s.store.RecordEvent(event);
    if (recorded.ok()) recorded = written;
    if (settled.ok() && settled->locked_until != 0) {
      const std::string until = settled->locked_until == kLockedUntilUnlocked
                                    ? "until an administrator unlocks it"
                                    : "for " + std::to_string(s.config.unlock_time) + " s";
      Note(s, r, "lockout", "locked",
           std::to_string(settled->failures) + " failures; locked " + until);
      s.logger.Log(LogLevel::kWarning, "account of " + Describe(r) + " locked after " +
                                           std::to_string(settled->failures) + " failures " +
                                           until);
    }
  }
  return Decided(s, r, what, decision, std::move(reason), recorded);
}

bool LockoutApplies(const Services& s, const UserRecord& user) {
  return LockoutAppliesTo(s.config, user);
}

namespace {

// The lockout policy a user's attempts are reserved under: deny 0 (count,
// never lock, ignore a recorded lock) when the lockout does not apply.
LockoutPolicy PolicyFor(const Services& s, const UserRecord& user) {
  return LockoutPolicy{LockoutApplies(s, user) ? s.config.deny : 0, s.config.fail_interval,
                       s.config.unlock_time};
}

std::string TimeLeft(int64_t seconds) {
  int64_t minutes = (seconds + 59) / 60;
  if (minutes <= 1) return "1 minute";
  return std::to_string(minutes) + " minutes";
}

// Tells the person the account is locked (and for how long) and finishes
// with kLocked; `what_not` says what was not checked.
FlowResult RefuseLocked(Services& s, Prompter& prompter, const RequestInfo& r, const char* what,
                        const char* method, int64_t locked_until, const std::string& what_not) {
  const int64_t now = s.clock.Now();
  const bool forever = locked_until == kLockedUntilUnlocked;
  prompter.Error(forever ? "Your account is locked after too many failed sign-ins. Ask your "
                           "administrator to unlock it."
                         : "Your account is locked after too many failed sign-ins. Try again in " +
                               TimeLeft(locked_until - now) +
                               ", or ask your administrator to unlock it.");
  const std::string when = forever ? "until an administrator unlocks it"
                                   : "for " + TimeLeft(locked_until - now) + " more";
  return Finish(s, r, what, method, Decision::kLocked,
                "account is locked " + when + "; " + what_not + " not checked", kCoalesceSeconds);
}

// A lock set by other attempts while this one was being proved.
void RefuseLockedMeanwhile(Prompter& prompter) {
  prompter.Error(
      "Your account was locked by other failed sign-ins while you signed in. Try again later, "
      "or ask your administrator to unlock it.");
}

// Reserves an attempt for `user` (Store::ReserveAttempt) before its secret
// is checked. Returns the refusal when there is one: the store cannot
// count it (then nothing is checked, so the answer never depends on the
// secret), a lock in force, or a repeat of a remembered wrong secret (then
// a dummy hash, so a known user costs what an unknown one does).
std::optional<FlowResult> Reserve(Services& s, Prompter& prompter, const RequestInfo& r,
                                  const UserRecord& user, const char* what, const char* method,
                                  std::string_view secret, std::string_view digest,
                                  const char* secret_name, Attempt* attempt) {
  attempt->lockout_applies = LockoutApplies(s, user);
  attempt->policy = PolicyFor(s, user);
  // While the window is full of attempts still being checked, wait for
  // them (a success among them clears the count), polling, at most
  // argon2_max_wait_ms: the same bound as for an argon2 slot.
  const int64_t start = s.clock.MonotonicMillis();
  Result<Reservation> reserved = Status(Code::kInternal, "not reserved");
  for (int64_t round = 0;; ++round) {
    reserved = s.store.ReserveAttempt(r.user, s.clock.Now(), attempt->policy, digest);
    if (!reserved.ok() || reserved->verdict != Reservation::Verdict::kFull) break;
    const int64_t waited = s.clock.MonotonicMillis() - start;
    if (waited >= s.config.argon2_max_wait_ms) {
      return Finish(s, r, what, method, Decision::kUnavailable,
                    std::to_string(reserved->failures) +
                        " attempts for this account are being "
                        "checked at once (deny = " +
                        std::to_string(s.config.deny) + "); none settled within " +
                        std::to_string(s.config.argon2_max_wait_ms) +
                        " ms (argon2_max_wait_ms), so the " + secret_name + " was not checked");
    }
    s.clock.SleepMillis(
        std::min<int64_t>(std::min<int64_t>(2 + round, 20), s.config.argon2_max_wait_ms - waited));
  }
  if (!reserved.ok()) {
    return Finish(s, r, what, method, Decision::kUnavailable,
                  "cannot count the attempt, so the " + std::string(secret_name) +
                      " was not checked: " + reserved.status().message());
  }
  switch (reserved->verdict) {
    case Reservation::Verdict::kLocked:
      return RefuseLocked(s, prompter, r, what, method, reserved->locked_until, secret_name);
    case Reservation::Verdict::kRepeated: {
      if (secret_name == std::string_view("password")) {
        Status dummy = s.hasher.DummyVerify(secret);
        if (!dummy.ok()) return Finish(s, r, what, method, Decision::kUnavailable, dummy.message());
      }
      return Finish(s, r, what, method, Decision::kFailure,
                    "wrong " + std::string(secret_name) +
                        " (the same as an earlier wrong attempt: not counted again; " +
                        FailuresOf(s, reserved->failures) + ")");
    }
    case Reservation::Verdict::kFull:
    case Reservation::Verdict::kReserved:
      break;
  }
  attempt->open = true;
  attempt->reservation = reserved.value();
  if (reserved->lock_expired) {
    Note(s, r, "lockout", "unlocked", "lock expired");
    s.logger.Log(LogLevel::kInfo, "lock of " + Describe(r) + " expired; lifted");
  }
  return std::nullopt;
}

}  // namespace

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

FlowResult CheckPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                         const CheckSpec& spec, Attempt* attempt, SecretBuffer* out,
                         UserRecord* user_out) {
  const bool name_ok = CheckUserName(r.user).ok();
  Result<SecretBuffer> password = prompter.AskSecret(spec.kind, spec.prompt);
  if (!password.ok()) {
    Decision d =
        password.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted;
    return Finish(s, r, spec.what, spec.method, d, "no password: " + password.status().message());
  }
  const SecretBuffer& pw = password.value();
  // Input that can never match is refused without hashing, whoever the
  // user is (the same cost for known and unknown users), and not counted.
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
                  name_ok ? "no such user in the store" : "not a valid user name",
                  hopeless || !name_ok ? kCoalesceSeconds : 0);
  }

  if (hopeless) {
    if (StateOf(s.config, *user, s.clock.Now()).locked()) {
      return RefuseLocked(s, prompter, r, spec.what, spec.method, user->locked_until, "password");
    }
    return Finish(s, r, spec.what, spec.method, Decision::kFailure, hopeless_reason,
                  kCoalesceSeconds);
  }

  const std::string digest =
      WrongAttemptDigest(s.host_key, AttemptKind::kPassword, r.user, pw.view());
  if (std::optional<FlowResult> refused = Reserve(s, prompter, r, *user, spec.what, spec.method,
                                                  pw.view(), digest, "password", attempt)) {
    return *refused;
  }

  if (user->password_hash.empty()) {
    Status dummy = s.hasher.DummyVerify(pw.view());
    if (!dummy.ok())
      return Conclude(s, r, *attempt, spec.what, spec.method, Decision::kUnavailable,
                      dummy.message());
    return Conclude(s, r, *attempt, spec.what, spec.method, Decision::kFailure,
                    "account has no password set", digest);
  }
  Result<bool> match = s.hasher.Verify(user->password_hash, pw.view());
  if (!match.ok()) {
    return Conclude(s, r, *attempt, spec.what, spec.method, Decision::kUnavailable,
                    "cannot check the password: " + match.status().message());
  }
  if (!match.value()) {
    return Conclude(s, r, *attempt, spec.what, spec.method, Decision::kFailure, "wrong password",
                    digest);
  }
  if (user->disabled) {
    return Conclude(s, r, *attempt, spec.what, spec.method, Decision::kDisabled,
                    "account is disabled");
  }
  if (s.hasher.NeedsRehash(user->password_hash)) Rehash(s, r, *user, pw);
  if (out != nullptr) *out = std::move(password.value());
  if (user_out != nullptr) *user_out = std::move(*user);
  return FlowResult{Decision::kSuccess, "password accepted"};
}

FlowResult SecondFactor(Services& s, Prompter& prompter, const RequestInfo& r,
                        const UserRecord& user, Attempt& attempt, const char* what,
                        const std::string& method_prefix) {
  const std::string totp_method = method_prefix + "totp";
  const char* method = totp_method.c_str();
  if (s.host_key == nullptr) {
    return Conclude(s, r, attempt, what, method, Decision::kUnavailable,
                    "the key file was not loaded; cannot check a verification code");
  }
  Result<SecretBuffer> secret = Open(*s.host_key, user.totp_sealed, user.name);
  if (!secret.ok()) {
    return Conclude(s, r, attempt, what, method, Decision::kUnavailable,
                    "authenticator secret: " + secret.status().message());
  }
  Result<SecretBuffer> typed = prompter.AskSecret(SecretKind::kCode, "Verification code: ");
  if (!typed.ok()) {
    return Conclude(s, r, attempt, what, method, Decision::kAborted,
                    "no verification code: " + typed.status().message());
  }
  const int64_t now = s.clock.Now();
  const TotpParams params = TotpParamsOf(s.config);
  // The digest of this code as typed now: the same wrong code in another
  // time step is another attempt (wrong_attempt.h).
  const std::string digest = WrongAttemptDigest(s.host_key, AttemptKind::kCode, r.user,
                                                typed->view(), TotpStep(now, params.period));
  if (!attempt.open) {
    // mode=mfa_only: the code is the attempt.
    if (std::optional<FlowResult> refused =
            Reserve(s, prompter, r, user, what, method, typed->view(), digest, "verification code",
                    &attempt)) {
      return *refused;
    }
  }
  if (typed->size() > 128) {
    return Conclude(s, r, attempt, what, method, Decision::kFailure,
                    "verification code longer than 128 bytes");
  }
  // A code is used only while no lock is in force (checked in the same
  // statement as the use): other attempts may have locked the account
  // while this one was being typed.
  const LockGuard guard{attempt.lockout_applies, now};
  TotpMatch match = VerifyTotp(secret.value(), typed->view(), now, params, user.totp_last_step);
  if (match.ok) {
    Result<CodeUse> use = s.store.UseTotpStep(user.name, match.step, guard);
    if (!use.ok()) {
      return Conclude(s, r, attempt, what, method, Decision::kUnavailable, use.status().message());
    }
    switch (use.value()) {
      case CodeUse::kUsed:
        return Conclude(s, r, attempt, what, method, Decision::kSuccess,
                        method_prefix.empty() ? "verification code accepted"
                                              : "password and verification code accepted");
      case CodeUse::kLocked:
        RefuseLockedMeanwhile(prompter);
        return Conclude(s, r, attempt, what, method, Decision::kLocked,
                        "account was locked by other attempts meanwhile; code not used");
      case CodeUse::kAlreadyUsed:
        // Another sign-in took this time step first: a replay.
        return Conclude(s, r, attempt, what, method, Decision::kFailure,
                        "verification code already used (replay)", digest);
    }
  }
  // Say so when the code was right but its time step was used already.
  if (user.totp_last_step >= 0 && VerifyTotp(secret.value(), typed->view(), now, params, -1).ok) {
    return Conclude(s, r, attempt, what, method, Decision::kFailure,
                    "verification code already used (replay)", digest);
  }
  const std::string normalized = NormalizeRecoveryCode(typed->view());
  if (!normalized.empty()) {
    const std::string recovery_method = method_prefix + "recovery-code";
    Result<SecretBuffer> pepper = DeriveSubkey(*s.host_key, kRecoveryCodePurpose);
    if (!pepper.ok()) {
      return Conclude(s, r, attempt, what, recovery_method.c_str(), Decision::kUnavailable,
                      pepper.status().message());
    }
    Result<CodeUse> used =
        s.store.UseRecoveryCode(user.name, RecoveryCodeDigest(pepper.value(), normalized), guard);
    if (!used.ok()) {
      return Conclude(s, r, attempt, what, recovery_method.c_str(), Decision::kUnavailable,
                      used.status().message());
    }
    if (used.value() == CodeUse::kLocked) {
      RefuseLockedMeanwhile(prompter);
      return Conclude(s, r, attempt, what, recovery_method.c_str(), Decision::kLocked,
                      "account was locked by other attempts meanwhile; recovery code not used");
    }
    if (used.value() == CodeUse::kUsed) {
      Result<int> left = s.store.CountRecoveryCodes(user.name);
      if (left.ok() && left.value() <= 3) {
        prompter.Info("You have " + std::to_string(left.value()) +
                      " recovery code(s) left. Ask your administrator for new ones.");
      }
      return Conclude(
          s, r, attempt, what, recovery_method.c_str(), Decision::kSuccess,
          std::string(method_prefix.empty() ? "recovery code" : "password and recovery code") +
              " accepted (" + (left.ok() ? std::to_string(left.value()) : std::string("?")) +
              " left)");
    }
  }
  return Conclude(s, r, attempt, what, method, Decision::kFailure, "wrong verification code",
                  digest);
}

}  // namespace flow_internal

using namespace flow_internal;  // NOLINT(google-build-using-namespace): this file's own helpers

const char* DecisionName(Decision decision) { return OutcomeName(decision); }

FlowResult PasswordSignIn(Services& s, Prompter& prompter, const RequestInfo& r) {
  const CheckSpec spec{SecretKind::kCurrentPassword, "Password: ", "password sign-in", "password"};
  UserRecord user;
  Attempt attempt;
  FlowResult checked = CheckPassword(s, prompter, r, spec, &attempt, nullptr, &user);
  if (checked.decision != Decision::kSuccess) return checked;
  if (user.totp_sealed.empty()) {
    return EnrollmentIfRequired(s, prompter, r, user, attempt, spec.what, FirstFactor::kPassword);
  }
  return SecondFactor(s, prompter, r, user, attempt, "password sign-in", "password+");
}

FlowResult SecondFactorOnly(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "second factor";
  if (!CheckUserName(r.user).ok())
    return Finish(s, r, kWhat, "totp", Decision::kUnknownUser, "not a valid user name",
                  kCoalesceSeconds);
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok())
    return Finish(s, r, kWhat, "totp", Decision::kUnavailable, found.status().message());
  if (!found->has_value())
    return Finish(s, r, kWhat, "totp", Decision::kUnknownUser, "no such user in the store");
  const UserRecord& user = **found;
  if (user.disabled) return Finish(s, r, kWhat, "totp", Decision::kDisabled, "account is disabled");
  // Refused before the prompt when the record shows a lock; the reservation
  // after the code is typed checks again, atomically.
  if (StateOf(s.config, user, s.clock.Now()).locked())
    return RefuseLocked(s, prompter, r, kWhat, "totp", user.locked_until, "verification code");
  Attempt attempt;  // reserved by SecondFactor once the code is typed
  if (user.totp_sealed.empty())
    return EnrollmentIfRequired(s, prompter, r, user, attempt, kWhat, FirstFactor::kEarlierModule);
  return SecondFactor(s, prompter, r, user, attempt, kWhat, "");
}

FlowResult VerifyCurrentPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                                 SecretBuffer* current) {
  const CheckSpec spec{SecretKind::kOldPassword, "Current password: ", "current password check",
                       "password-change"};
  Attempt attempt;
  UserRecord user;
  FlowResult checked = CheckPassword(s, prompter, r, spec, &attempt, current, &user);
  if (checked.decision != Decision::kSuccess) return checked;
  // The password was right. Without a second factor that is a success (the
  // count is cleared, as at sign-in); with one, the reservation is only
  // taken back: someone who knows the password must not clear the count
  // of wrong codes by changing it.
  Settlement settlement;
  settlement.reservation = attempt.reservation;
  settlement.kind =
      user.totp_sealed.empty() ? Settlement::Kind::kSuccess : Settlement::Kind::kRelease;
  Result<SettleOutcome> settled = s.store.SettleAttempt(r.user, settlement, nullptr);
  if (!settled.ok()) {
    s.logger.Log(LogLevel::kError, "cannot settle the attempt of " + Describe(r) + ": " +
                                       settled.status().message() + "; it stays counted");
  }
  s.logger.Log(LogLevel::kInfo, "current password of " + Describe(r) + " verified for a change");
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
  const AccountState state = StateOf(s.config, user, s.clock.Now());
  switch (state.change) {
    case AccountState::Change::kAdminReset:
      prompter.Error(
          "You are required to change your password immediately (administrator enforced).");
      return Finish(s, r, kWhat, "account", Decision::kNewPasswordRequired,
                    "password change required (administrator reset)");
    case AccountState::Change::kExpired: {
      const int days = s.config.password_max_days;
      prompter.Error("Your password has expired (it is older than " + std::to_string(days) +
                     (days == 1 ? " day" : " days") + "). You are required to change it now.");
      return Finish(s, r, kWhat, "account", Decision::kNewPasswordRequired,
                    "password older than password_max_days = " + std::to_string(days));
    }
    case AccountState::Change::kNone:
      break;
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
