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
#include "core/flows/activity.h"
#include "core/flows/flow_internal.h"
#include "core/flows/reset.h"
#include "core/policy/account_state.h"
#include "core/policy/password_policy.h"

namespace sesame {
namespace flow_internal {

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
                         UserRecord* user_out, bool* reset) {
  const bool name_ok = CheckUserName(r.user).ok();
  Result<SecretBuffer> password = prompter.AskSecret(spec.kind, spec.prompt);
  if (!password.ok()) {
    Decision d =
        password.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted;
    return Finish(s, r, spec.what, spec.method, d, "no password: " + password.status().message());
  }
  const SecretBuffer& pw = password.value();
  if (pw.empty() && spec.offer_reset && s.config.self_service_reset && reset != nullptr) {
    *reset = true;
    return ResetForgottenPassword(s, prompter, r, ResetEntry::kSignIn);
  }
  // Input that can never match is refused without hashing, whoever the
  // user is (the same cost for known and unknown users), and not counted.
  const bool hopeless = pw.empty() || pw.size() > kMaxPasswordBytes;
  const std::string hopeless_reason =
      pw.empty() ? "empty password"
                 : "password longer than " + std::to_string(kMaxPasswordBytes) + " bytes";

  const std::string digest =
      name_ok && !hopeless
          ? WrongAttemptDigest(s.host_key, AttemptKind::kPassword, r.user, pw.view())
          : "";
  std::optional<UserRecord> user;
  // A password worth checking is reserved with the read (one round trip on
  // a server backend); Reserve takes that answer as its first.
  std::optional<Result<Reservation>> reserved;
  if (name_ok && hopeless) {
    Result<std::optional<UserRecord>> found = s.store.GetUserForSignIn(r.user);
    if (!found.ok()) {
      return Finish(s, r, spec.what, spec.method, Decision::kUnavailable, found.status().message());
    }
    user = std::move(found.value());
  } else if (name_ok) {
    Result<SignInStart> start = s.store.GetUserForSignInAndReserve(
        r.user, s.clock.Now(), PolicyFor(s, std::string_view(r.user)), digest);
    if (!start.ok()) {
      return Finish(s, r, spec.what, spec.method, Decision::kUnavailable, start.status().message());
    }
    user = std::move(start->user);
    reserved = std::move(start->reservation);
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

  if (std::optional<FlowResult> refused =
          Reserve(s, prompter, r, *user, spec.what, spec.method, pw.view(), digest, "password",
                  attempt, LockBucket::kInteractive, std::move(reserved))) {
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
  const SecretBuffer normalized = NormalizeRecoveryCode(typed->view());
  if (!normalized.empty()) {
    const std::string recovery_method = method_prefix + "recovery-code";
    Result<SecretBuffer> pepper = DeriveSubkey(*s.host_key, kRecoveryCodePurpose);
    if (!pepper.ok()) {
      return Conclude(s, r, attempt, what, recovery_method.c_str(), Decision::kUnavailable,
                      pepper.status().message());
    }
    Result<CodeUse> used = s.store.UseRecoveryCode(
        user.name, RecoveryCodeDigest(pepper.value(), normalized.view()), guard);
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

FlowResult PasswordSignIn(Services& s, Prompter& prompter, const RequestInfo& r) {
  const CheckSpec spec{SecretKind::kCurrentPassword, "Password: ", "password sign-in", "password",
                       /*offer_reset=*/true};
  UserRecord user;
  Attempt attempt;
  attempt.read_last_sign_in = s.config.show_last_sign_in;
  bool reset = false;
  FlowResult checked = CheckPassword(s, prompter, r, spec, &attempt, nullptr, &user, &reset);
  if (reset || checked.decision != Decision::kSuccess) return checked;
  FlowResult result =
      user.totp_sealed.empty()
          ? EnrollmentIfRequired(s, prompter, r, user, attempt, spec.what, FirstFactor::kPassword)
          : SecondFactor(s, prompter, r, user, attempt, "password sign-in", "password+");
  // The success is recorded: what follows only tells the person, and
  // cannot undo it (activity.h).
  if (result.decision == Decision::kSuccess)
    TellLastSignIn(s, prompter, r, attempt.last_sign_in, attempt.last_sign_in_error);
  return result;
}

FlowResult SecondFactorOnly(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "second factor";
  if (!CheckUserName(r.user).ok())
    return Finish(s, r, kWhat, "totp", Decision::kUnknownUser, "not a valid user name",
                  kCoalesceSeconds);
  Result<std::optional<UserRecord>> found = s.store.GetUserForSignIn(r.user);
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

}  // namespace sesame
