#include "core/flows/reset.h"

#include <algorithm>
#include <cctype>
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

namespace sesame {

using namespace flow_internal;  // NOLINT(google-build-using-namespace): core's own helpers

const char kResetRefusedMessage[] =
    "Your password was not reset: a code was not right, or this account has not registered "
    "what a reset needs (see 'sesame status'). Ask your administrator to reset it "
    "(sesame-admin password reset).";

namespace {

constexpr char kWhat[] = "password reset";
constexpr char kMethod[] = "reset";
constexpr size_t kMaxCodeBytes = 128;

bool Wants(const Config& config, std::string_view method) {
  return std::find(config.reset_methods.begin(), config.reset_methods.end(), method) !=
         config.reset_methods.end();
}

std::string MethodsInWords(const Config& config) {
  const bool totp = Wants(config, "totp");
  const bool recovery = Wants(config, "recovery_code");
  if (totp && recovery)
    return "a verification code from your authenticator app and one of your recovery codes";
  if (totp) return "a verification code from your authenticator app";
  return "one of your recovery codes";
}

bool IsYes(std::string_view answer) {
  while (!answer.empty() && answer.front() == ' ') answer.remove_prefix(1);
  while (!answer.empty() && answer.back() == ' ') answer.remove_suffix(1);
  std::string lower(answer);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "yes" || lower == "y";
}

// Asks for the new password twice with its own prompts, also inside the
// PAM auth group, where pam_get_authtok would ask "Password: " once.
class TwicePrompter final : public Prompter {
 public:
  explicit TwicePrompter(Prompter& inner) : inner_(inner) {}
  Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) override {
    return inner_.AskSecret(kind, prompt);
  }
  Result<SecretBuffer> AskNewPassword() override { return Prompter::AskNewPassword(); }
  Result<std::string> Ask(std::string_view prompt) override { return inner_.Ask(prompt); }
  void Info(std::string_view message) override { inner_.Info(message); }
  void Error(std::string_view message) override { inner_.Error(message); }

 private:
  Prompter& inner_;
};

// The codes were right but no new password was set: nothing wrong to
// count, the reservation is taken back.
void Release(Services& s, const RequestInfo& r, Attempt& attempt) {
  if (!attempt.open) return;
  attempt.open = false;
  Settlement settlement;
  settlement.reservation = attempt.reservation;
  settlement.kind = Settlement::Kind::kRelease;
  settlement.now = s.clock.Now();
  settlement.policy = attempt.policy;
  Result<SettleOutcome> settled = s.store.SettleAttempt(r.user, settlement, nullptr);
  if (!settled.ok()) {
    s.logger.Log(LogLevel::kError, "cannot settle the reset attempt of " + Describe(r) + ": " +
                                       settled.status().message() + "; it stays counted");
  }
}

// One step of the reset refused: the same message for every reason.
FlowResult Refuse(Services& s, Prompter& prompter, const RequestInfo& r, Attempt& attempt,
                  Decision decision, const std::string& reason, std::string_view digest = {}) {
  prompter.Error(kResetRefusedMessage);
  return Conclude(s, r, attempt, kWhat, kMethod, decision, reason, digest);
}

// Checks one typed code of `user` for `method` ("totp" or
// "recovery_code"), using it up. nullopt when it was right (and noted);
// otherwise the concluded refusal.
std::optional<FlowResult> Prove(Services& s, Prompter& prompter, const RequestInfo& r,
                                const UserRecord& user, Attempt& attempt, const std::string& method,
                                const SecretBuffer& typed, const std::string& digest) {
  const int64_t now = s.clock.Now();
  const LockGuard guard{attempt.lockout_applies, now};
  const bool is_totp = method == "totp";
  const char* name = is_totp ? "verification code" : "recovery code";
  if (typed.empty() || typed.size() > kMaxCodeBytes) {
    return Refuse(s, prompter, r, attempt, Decision::kFailure,
                  std::string(typed.empty() ? "empty " : "overlong ") + name);
  }
  if (s.host_key == nullptr) {
    return Conclude(s, r, attempt, kWhat, kMethod, Decision::kUnavailable,
                    std::string("the key file was not loaded; cannot check a ") + name);
  }
  if (is_totp) {
    if (user.totp_sealed.empty()) {
      return Refuse(s, prompter, r, attempt, Decision::kFailure,
                    "no authenticator registered; reset refused", digest);
    }
    Result<SecretBuffer> secret = Open(*s.host_key, user.totp_sealed, user.name);
    if (!secret.ok()) {
      return Conclude(s, r, attempt, kWhat, kMethod, Decision::kUnavailable,
                      "authenticator secret: " + secret.status().message());
    }
    const TotpParams params = TotpParamsOf(s.config);
    TotpMatch match = VerifyTotp(secret.value(), typed.view(), now, params, user.totp_last_step);
    if (!match.ok) {
      return Refuse(s, prompter, r, attempt, Decision::kFailure,
                    "wrong verification code (or one already used)", digest);
    }
    Result<CodeUse> use = s.store.UseTotpStep(user.name, match.step, guard);
    if (!use.ok()) {
      return Conclude(s, r, attempt, kWhat, kMethod, Decision::kUnavailable,
                      use.status().message());
    }
    if (use.value() == CodeUse::kLocked) {
      RefuseLockedMeanwhile(prompter);
      return Conclude(s, r, attempt, kWhat, kMethod, Decision::kLocked,
                      "account was locked by other attempts meanwhile; code not used");
    }
    if (use.value() == CodeUse::kAlreadyUsed) {
      return Refuse(s, prompter, r, attempt, Decision::kFailure,
                    "verification code already used (replay)", digest);
    }
    Note(s, r, kMethod, "reset-code", "verification code accepted for a password reset");
    return std::nullopt;
  }
  const SecretBuffer normalized = NormalizeRecoveryCode(typed.view());
  if (normalized.empty()) {
    return Refuse(s, prompter, r, attempt, Decision::kFailure, "not a recovery code", digest);
  }
  Result<SecretBuffer> pepper = DeriveSubkey(*s.host_key, kRecoveryCodePurpose);
  if (!pepper.ok()) {
    return Conclude(s, r, attempt, kWhat, kMethod, Decision::kUnavailable,
                    pepper.status().message());
  }
  Result<CodeUse> used = s.store.UseRecoveryCode(
      user.name, RecoveryCodeDigest(pepper.value(), normalized.view()), guard);
  if (!used.ok()) {
    return Conclude(s, r, attempt, kWhat, kMethod, Decision::kUnavailable, used.status().message());
  }
  if (used.value() == CodeUse::kLocked) {
    RefuseLockedMeanwhile(prompter);
    return Conclude(s, r, attempt, kWhat, kMethod, Decision::kLocked,
                    "account was locked by other attempts meanwhile; recovery code not used");
  }
  if (used.value() != CodeUse::kUsed) {
    return Refuse(s, prompter, r, attempt, Decision::kFailure,
                  "wrong recovery code (or one already used)", digest);
  }
  Result<int> left = s.store.CountRecoveryCodes(user.name);
  Note(s, r, kMethod, "reset-recovery-code",
       "recovery code used for a password reset (" +
           (left.ok() ? std::to_string(left.value()) : std::string("?")) + " left)");
  return std::nullopt;
}

}  // namespace

FlowResult ResetForgottenPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                                  ResetEntry entry) {
  if (!s.config.self_service_reset) {
    if (entry == ResetEntry::kSignIn) {
      return Finish(s, r, "password sign-in", "password", Decision::kFailure, "empty password",
                    kCoalesceSeconds);
    }
    prompter.Error(
        "Resetting a forgotten password is not enabled on this host (self_service_reset = no). "
        "Ask your administrator to reset it (sesame-admin password reset).");
    return Finish(s, r, kWhat, kMethod, Decision::kFailure,
                  "self-service reset is not enabled (self_service_reset = no)", kCoalesceSeconds);
  }
  if (entry == ResetEntry::kSignIn) {
    prompter.Info("Forgot your password? You can set a new one with " + MethodsInWords(s.config) +
                  ".");
    Result<std::string> answer = prompter.Ask("Reset your password now? (yes/no): ");
    if (!answer.ok()) {
      return Finish(s, r, "password sign-in", "password", Decision::kAborted,
                    "no answer to the reset offer: " + answer.status().message());
    }
    if (!IsYes(answer.value())) {
      return Finish(s, r, "password sign-in", "password", Decision::kFailure,
                    "empty password (reset declined)", kCoalesceSeconds);
    }
  }

  const bool name_ok = CheckUserName(r.user).ok();
  std::optional<UserRecord> user;
  if (name_ok) {
    Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
    if (!found.ok()) {
      prompter.Error("The password cannot be reset now; nothing was changed. Try again later.");
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, found.status().message());
    }
    user = std::move(found.value());
  }
  if (user.has_value() && StateOf(s.config, *user, s.clock.Now()).locked())
    return RefuseLocked(s, prompter, r, kWhat, kMethod, user->locked_until, "reset codes");

  // Each method in turn; the first answer opens the one attempt that the
  // whole reset counts as.
  Attempt attempt;
  for (const std::string& method : s.config.reset_methods) {
    const bool is_totp = method == "totp";
    Result<SecretBuffer> typed =
        prompter.AskSecret(SecretKind::kCode, is_totp ? "Verification code: " : "Recovery code: ");
    if (!typed.ok()) {
      // Before the first code is counted nothing was proven or reserved:
      // coalesced, so hanging up there cannot grow the store.
      if (!attempt.open) {
        return Finish(s, r, kWhat, kMethod, Decision::kAborted,
                      "no answer: " + typed.status().message(), kCoalesceSeconds);
      }
      return Conclude(s, r, attempt, kWhat, kMethod, Decision::kAborted,
                      "no answer: " + typed.status().message());
    }
    if (!user.has_value()) {
      prompter.Error(kResetRefusedMessage);
      return Finish(s, r, kWhat, kMethod, Decision::kUnknownUser,
                    name_ok ? "no such user in the store" : "not a valid user name",
                    kCoalesceSeconds);
    }
    const int64_t step = is_totp ? TotpStep(s.clock.Now(), TotpParamsOf(s.config).period) : 0;
    const std::string digest =
        WrongAttemptDigest(s.host_key, AttemptKind::kCode, r.user, typed->view(), step);
    if (!attempt.open) {
      if (std::optional<FlowResult> refused =
              Reserve(s, prompter, r, *user, kWhat, kMethod, typed->view(), digest,
                      is_totp ? "verification code" : "recovery code", &attempt)) {
        if (refused->decision == Decision::kFailure) prompter.Error(kResetRefusedMessage);
        return *refused;
      }
      // Recorded once the attempt is counted, so its events are bounded by
      // the lockout like any sign-in's.
      Note(s, r, kMethod, "reset-started",
           entry == ResetEntry::kTool ? "self-service reset started (sesame passwd --forgot)"
                                      : "self-service reset started at the sign-in prompt");
    }
    if (std::optional<FlowResult> refused =
            Prove(s, prompter, r, *user, attempt, method, typed.value(), digest)) {
      return *refused;
    }
  }
  if (user->disabled) {
    return Conclude(s, r, attempt, kWhat, kMethod, Decision::kDisabled, "account is disabled");
  }

  TwicePrompter twice(prompter);
  FlowResult changed = ChangePassword(s, twice, r, nullptr, 3);
  if (changed.decision != Decision::kSuccess) {
    Release(s, r, attempt);
    prompter.Error(
        "Your password was not reset. A recovery code you typed is used up; start again with "
        "another one.");
    return Finish(s, r, kWhat, kMethod, changed.decision,
                  "new password not set: " + changed.reason);
  }
  Note(s, r, kMethod, "reset-done", "password reset by the user with " + MethodsInWords(s.config));
  return Conclude(s, r, attempt, kWhat, kMethod, Decision::kSuccess,
                  "password reset with the registered methods; signed in");
}

Result<ResetReadiness> ResetReadinessOf(const Config& config, Store& store,
                                        const UserRecord& user) {
  ResetReadiness readiness;
  readiness.enabled = config.self_service_reset;
  if (Wants(config, "totp") && user.totp_sealed.empty()) {
    readiness.missing.push_back("an authenticator app");
    readiness.missing_methods.push_back("totp");
  }
  if (Wants(config, "recovery_code")) {
    Result<int> left = store.CountRecoveryCodes(user.name);
    if (!left.ok()) return left.status();
    if (left.value() == 0) {
      readiness.missing.push_back("recovery codes");
      readiness.missing_methods.push_back("recovery_code");
    }
  }
  readiness.ready = readiness.enabled && readiness.missing.empty();
  return readiness;
}

}  // namespace sesame
