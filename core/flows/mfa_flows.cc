#include "core/flows/mfa_flows.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/base32.h"
#include "core/base/input_check.h"
#include "core/crypto/otpauth.h"
#include "core/crypto/recovery_codes.h"
#include "core/crypto/secret_box.h"
#include "core/crypto/totp.h"
#include "core/flows/flow_internal.h"
#include "core/policy/mfa_requirement.h"
#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"

namespace sesame {

using namespace flow_internal;  // NOLINT(google-build-using-namespace): core's own helpers

namespace {

constexpr int kConfirmTries = 3;
constexpr const char* kSavedPrompt = "Press Enter once you have saved the recovery codes: ";

}  // namespace

Status MakeAuthenticator(Services& s, const std::string& user, NewAuthenticator* out,
                         const SecretBuffer* given) {
  if (s.host_key == nullptr)
    return Status(Code::kUnavailable, "the key file was not loaded; cannot seal a new secret");
  Result<SecretBuffer> secret = given != nullptr ? Result<SecretBuffer>(SecretBuffer(given->view()))
                                                 : NewTotpSecret(s.random);
  if (!secret.ok()) return secret.status();
  Result<std::string> sealed = Seal(*s.host_key, secret.value(), user, s.random);
  if (!sealed.ok()) return sealed.status();
  SecretBuffer b32 = Base32Encode(secret->view());
  out->offer.issuer = TotpIssuer(s.config);
  out->offer.account = user;
  out->offer.uri = OtpauthUri(out->offer.issuer, user, b32.view(), TotpParamsOf(s.config));
  out->offer.key = GroupForReading(b32.view());
  out->secret = std::move(secret.value());
  out->sealed = std::move(sealed.value());
  return Status::Ok();
}

Status MakeRecoveryCodes(Services& s, std::vector<SecretBuffer>* codes,
                         std::vector<std::string>* digests) {
  if (s.host_key == nullptr)
    return Status(Code::kUnavailable, "the key file was not loaded; cannot make recovery codes");
  Result<std::vector<SecretBuffer>> made = NewRecoveryCodes(s.random, s.config.recovery_codes);
  if (!made.ok()) return made.status();
  Result<SecretBuffer> pepper = DeriveSubkey(*s.host_key, kRecoveryCodePurpose);
  if (!pepper.ok()) return pepper.status();
  digests->clear();
  for (const SecretBuffer& code : made.value()) {
    std::string digest =
        RecoveryCodeDigest(pepper.value(), NormalizeRecoveryCode(code.view()).view());
    if (digest.empty()) return Status(Code::kInternal, "cannot digest a recovery code");
    digests->push_back(std::move(digest));
  }
  *codes = std::move(made.value());
  return Status::Ok();
}

namespace {

void ShowRecoveryCodes(Prompter& prompter, const std::vector<SecretBuffer>& codes) {
  std::string text =
      "Recovery codes: each one works once in place of a verification code, if you lose the "
      "phone. Keep them somewhere safe; they are not shown again.\n";
  for (const SecretBuffer& code : codes) {
    text += "    ";
    text.append(code.view());
    text += "\n";
  }
  prompter.Info(text);
  WipeMemory(text.data(), text.size());
}

enum class Confirmation { kConfirmed, kSkipped, kWrong, kAborted };

// Asks for a first code from the app until one matches the new secret.
// `skippable`: an empty answer means "later" (the in-session enrollment);
// otherwise it cancels.
Confirmation ConfirmNewSecret(Services& s, Prompter& prompter, const SecretBuffer& secret,
                              bool skippable, int64_t* step) {
  const char* prompt =
      skippable ? "Verification code (empty to do this later): " : "Verification code: ";
  for (int attempt = 0; attempt < kConfirmTries; ++attempt) {
    Result<SecretBuffer> typed = prompter.AskSecret(SecretKind::kCode, prompt);
    if (!typed.ok()) return Confirmation::kAborted;
    if (typed->empty()) return Confirmation::kSkipped;
    if (typed->size() <= 128) {
      TotpMatch match =
          VerifyTotp(secret, typed->view(), s.clock.Now(), TotpParamsOf(s.config), -1);
      if (match.ok) {
        *step = match.step;
        return Confirmation::kConfirmed;
      }
    }
    if (attempt + 1 < kConfirmTries) {
      prompter.Error(
          "That code does not match. Type the code the app shows now (check that the phone's "
          "clock is right).");
    }
  }
  return Confirmation::kWrong;
}

std::string DaysLeft(int64_t seconds) {
  if (seconds < 86400) return "less than a day";
  const int64_t days = seconds / 86400;
  return std::to_string(days) + (days == 1 ? " day" : " days");
}

// Appends the offer as conversation text (PAM_TEXT_INFO): a QR code drawn
// with UTF-8 half blocks, the key and how to add it by hand. The QR code
// and the key are the secret: every copy made here is wiped, and *out
// grows once, so no earlier buffer of it is freed unwiped. The caller
// wipes *out.
void AppendOfferText(const AuthenticatorOffer& offer, std::string* out) {
  static constexpr std::string_view kScan =
      "Scan this QR code with your authenticator app (Google Authenticator, FreeOTP, Aegis, "
      "...):\n\n";
  static constexpr std::string_view kByHand = "\nor add an account by hand: ";
  static constexpr std::string_view kKey = "), time-based, key:\n    ";
  std::string drawing;
  Result<QrCode> qr = EncodeQr(offer.uri);
  if (qr.ok()) {
    drawing = RenderQrTerminal(qr.value(), false);
    std::fill(qr->modules.begin(), qr->modules.end(), false);
  } else {
    drawing = "(the QR code cannot be drawn: " + qr.status().message() + ")\n";
  }
  // Room for the caller's closing line too.
  out->reserve(out->size() + kScan.size() + drawing.size() + kByHand.size() + offer.issuer.size() +
               offer.account.size() + kKey.size() + offer.key.size() + 256);
  out->append(kScan);
  out->append(drawing);
  out->append(kByHand);
  out->append(offer.issuer);
  out->append(" (");
  out->append(offer.account);
  out->append(kKey);
  out->append(offer.key);
  out->append("\n");
  WipeMemory(drawing.data(), drawing.size());
}

}  // namespace

AuthenticatorOffer::~AuthenticatorOffer() {
  WipeMemory(uri.data(), uri.size());
  WipeMemory(key.data(), key.size());
}

std::string TotpIssuer(const Config& config) {
  if (!config.totp_issuer.empty()) return config.totp_issuer;
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "Sesame";
  return SanitizeForLog(host, 64);
}

FlowResult VerifyIdentity(Services& s, Prompter& prompter, const RequestInfo& r, UserRecord* user) {
  const CheckSpec spec{SecretKind::kCurrentPassword, "Password: ", "identity check", "password"};
  UserRecord found;
  Attempt attempt;
  FlowResult checked = CheckPassword(s, prompter, r, spec, &attempt, nullptr, &found);
  if (checked.decision != Decision::kSuccess) return checked;
  FlowResult result =
      found.totp_sealed.empty()
          ? Conclude(s, r, attempt, spec.what, spec.method, Decision::kSuccess, "password accepted")
          : SecondFactor(s, prompter, r, found, attempt, spec.what, "password+");
  if (result.decision == Decision::kSuccess) *user = std::move(found);
  return result;
}

Status ProvisionAuthenticator(Services& s, const std::string& user, const SecretBuffer* given,
                              ProvisionedAuthenticator* out) {
  SESAME_RETURN_IF_ERROR(MakeAuthenticator(s, user, &out->authenticator, given));
  std::vector<std::string> digests;
  SESAME_RETURN_IF_ERROR(MakeRecoveryCodes(s, &out->recovery_codes, &digests));
  return s.store.SetTotp(user, out->authenticator.sealed, digests);
}

FlowResult EnrollAuthenticator(Services& s, Prompter& prompter, const RequestInfo& r,
                               const ShowOffer& show) {
  const char* kWhat = "authenticator enrollment";
  const char* kMethod = "mfa-enroll";
  UserRecord user;
  FlowResult identity = VerifyIdentity(s, prompter, r, &user);
  if (identity.decision != Decision::kSuccess) return identity;
  const bool replacing = !user.totp_sealed.empty();

  NewAuthenticator fresh;
  Status made = MakeAuthenticator(s, user.name, &fresh);
  if (!made.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, made.message());
  Status shown = show(fresh.offer);
  if (!shown.ok()) {
    prompter.Error(shown.message() + "; nothing was changed.");
    return Finish(s, r, kWhat, kMethod, Decision::kAborted,
                  "the new secret could not be shown: " + shown.message());
  }
  prompter.Info(replacing ? "Then type the code the app shows, to confirm. The authenticator you "
                            "have now keeps working until then."
                          : "Then type the code the app shows, to confirm.");
  int64_t step = 0;
  switch (ConfirmNewSecret(s, prompter, fresh.secret, false, &step)) {
    case Confirmation::kConfirmed:
      break;
    case Confirmation::kSkipped:
    case Confirmation::kAborted:
      prompter.Error("Cancelled; nothing was changed.");
      return Finish(s, r, kWhat, kMethod, Decision::kAborted, "cancelled before a first code");
    case Confirmation::kWrong:
      prompter.Error("The codes did not match; nothing was changed. Run it again to start over.");
      return Finish(s, r, kWhat, kMethod, Decision::kFailure,
                    "not confirmed: " + std::to_string(kConfirmTries) + " codes did not match");
  }
  std::vector<SecretBuffer> codes;
  std::vector<std::string> digests;
  Status coded = MakeRecoveryCodes(s, &codes, &digests);
  if (!coded.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, coded.message());
  Status stored = s.store.EnrollTotp(user.name, user.totp_sealed, fresh.sealed, digests, step);
  if (!stored.ok()) {
    prompter.Error("The authenticator could not be stored; nothing was changed.");
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, stored.message());
  }
  prompter.Info(replacing ? "Your new authenticator app is set up; the old one no longer works."
                          : "Your authenticator app is set up. From now on sign-in asks for a "
                            "verification code after the password.");
  ShowRecoveryCodes(prompter, codes);
  return Finish(s, r, kWhat, kMethod, Decision::kSuccess,
                replacing ? "authenticator replaced; new recovery codes"
                          : "authenticator enrolled; recovery codes made");
}

namespace {

// For a flow that needs an authenticator set up: fills `*user` with the
// store's record of r.user and returns nothing when it has one. Otherwise
// returns the flow's result: unavailable, unknown user, or kFailure after
// telling the person `none` (before any prompt, not an event).
std::optional<FlowResult> FindEnrolledUser(Services& s, Prompter& prompter, const RequestInfo& r,
                                           const char* what, const char* method, const char* none,
                                           const char* none_reason, UserRecord* user) {
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok())
    return Finish(s, r, what, method, Decision::kUnavailable, found.status().message());
  if (!found->has_value())
    return Finish(s, r, what, method, Decision::kUnknownUser, "no such user in the store");
  if ((*found)->totp_sealed.empty()) {
    prompter.Error(none);
    return FlowResult{Decision::kFailure, none_reason};
  }
  *user = std::move(**found);
  return std::nullopt;
}

}  // namespace

FlowResult RemoveAuthenticator(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "authenticator removal";
  const char* kMethod = "mfa-remove";
  UserRecord enrolled;
  if (std::optional<FlowResult> refused =
          FindEnrolledUser(s, prompter, r, kWhat, kMethod,
                           "You have no authenticator app set up; there is nothing to remove.",
                           "no authenticator to remove", &enrolled))
    return *refused;
  Result<MfaRequirement> required = MfaRequirementOf(s.config, s.store, enrolled);
  if (!required.ok())
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, required.status().message());
  if (required->required) {
    prompter.Error("Your account must use a verification code at sign-in (" + required->why +
                   "), so the authenticator cannot be removed. To move it to a new phone, run "
                   "'sesame mfa enroll': the new app replaces the old one once it works.");
    return FlowResult{Decision::kFailure, "MFA is required: " + required->why};
  }
  UserRecord user;
  FlowResult identity = VerifyIdentity(s, prompter, r, &user);
  if (identity.decision != Decision::kSuccess) return identity;
  Status cleared = s.store.ClearMfa(user.name);
  if (!cleared.ok()) {
    prompter.Error("The authenticator could not be removed; nothing was changed.");
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, cleared.message());
  }
  prompter.Info(
      "Your authenticator app and recovery codes are removed. Sign-in asks for the password "
      "only.");
  return Finish(s, r, kWhat, kMethod, Decision::kSuccess,
                "authenticator and recovery codes removed");
}

FlowResult RenewRecoveryCodes(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "new recovery codes";
  const char* kMethod = "recovery-codes";
  UserRecord enrolled;
  if (std::optional<FlowResult> refused = FindEnrolledUser(
          s, prompter, r, kWhat, kMethod,
          "Recovery codes come with an authenticator app; set one up first with 'sesame mfa "
          "enroll'.",
          "no authenticator", &enrolled))
    return *refused;
  UserRecord user;
  FlowResult identity = VerifyIdentity(s, prompter, r, &user);
  if (identity.decision != Decision::kSuccess) return identity;
  std::vector<SecretBuffer> codes;
  std::vector<std::string> digests;
  Status coded = MakeRecoveryCodes(s, &codes, &digests);
  if (!coded.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, coded.message());
  Status stored = s.store.SetRecoveryCodes(user.name, digests);
  if (!stored.ok()) {
    prompter.Error("The new recovery codes could not be stored; the old ones still work.");
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, stored.message());
  }
  prompter.Info("Your old recovery codes no longer work.");
  ShowRecoveryCodes(prompter, codes);
  return Finish(s, r, kWhat, kMethod, Decision::kSuccess,
                std::to_string(codes.size()) + " new recovery codes; the old ones removed");
}

namespace flow_internal {

FlowResult EnrollmentIfRequired(Services& s, Prompter& prompter, const RequestInfo& r,
                                const UserRecord& user, Attempt& attempt, const char* what,
                                FirstFactor first) {
  const bool after_password = first == FirstFactor::kPassword;
  // The event's method until an authenticator is enrolled here.
  const char* method = after_password ? "password" : "none";
  const std::string accepted = after_password ? "password accepted; " : "";
  Result<MfaRequirement> required = MfaRequirementOf(s.config, s.store, user);
  if (!required.ok()) {
    return Conclude(s, r, attempt, what, method, Decision::kUnavailable,
                    "cannot tell whether MFA is required: " + required.status().message());
  }
  if (!required->required) {
    return Conclude(s, r, attempt, what, method, Decision::kSuccess,
                    accepted + "no second factor enrolled (not required)");
  }
  const int64_t now = s.clock.Now();
  int64_t since = user.mfa_required_since;
  if (since == 0 && s.config.mfa_grace_days > 0) {
    Result<int64_t> begun = s.store.BeginMfaGrace(user.name, now);
    if (!begun.ok())
      return Conclude(s, r, attempt, what, method, Decision::kUnavailable,
                      begun.status().message());
    since = begun.value();
  }
  const int64_t left = GraceLeft(s.config, since, now);
  if (left <= 0) {
    prompter.Error(
        s.config.mfa_grace_days > 0
            ? "Your account must use a verification code from an authenticator app at sign-in, "
              "and the " +
                  std::to_string(s.config.mfa_grace_days) +
                  " days to set one up have passed. Ask your administrator to set it up for you "
                  "(sesame-admin mfa enroll " +
                  SanitizeForLog(user.name) +
                  ") or to give you new days to do it (sesame-admin mfa reset " +
                  SanitizeForLog(user.name) + ")."
            : "Your account must use a verification code from an authenticator app at sign-in, "
              "and none is set up. Ask your administrator to set it up for you (sesame-admin mfa "
              "enroll " +
                  SanitizeForLog(user.name) + ").");
    return Conclude(s, r, attempt, what, method, Decision::kMfaRequired,
                    "MFA required (" + required->why +
                        ") but not enrolled, and the grace period (" +
                        std::to_string(s.config.mfa_grace_days) + " days) is over");
  }

  NewAuthenticator fresh;
  Status made = MakeAuthenticator(s, user.name, &fresh);
  if (!made.ok())
    return Conclude(s, r, attempt, what, method, Decision::kUnavailable, made.message());
  std::string offer_text =
      "Your account must now use a verification code from an authenticator app at sign-in. "
      "Set it up now, or within " +
      DaysLeft(left) + "; after that you cannot sign in without it.\n\n";
  AppendOfferText(fresh.offer, &offer_text);
  offer_text += "\nThen type the code the app shows.";
  prompter.Info(offer_text);
  WipeMemory(offer_text.data(), offer_text.size());
  int64_t step = 0;
  const std::string later =
      "You can set it up at your next sign-in or with 'sesame mfa enroll', "
      "within " +
      DaysLeft(left) + ".";
  switch (ConfirmNewSecret(s, prompter, fresh.secret, true, &step)) {
    case Confirmation::kConfirmed:
      break;
    case Confirmation::kAborted:
      return Conclude(s, r, attempt, what, method, Decision::kAborted,
                      "conversation ended during the enrollment in the session");
    case Confirmation::kSkipped:
      prompter.Info("Not set up now. " + later);
      return Conclude(s, r, attempt, what, method, Decision::kSuccess,
                      accepted + "MFA required (" + required->why +
                          "); enrollment put off, grace left: " + DaysLeft(left));
    case Confirmation::kWrong:
      prompter.Error("The codes did not match, so nothing was set up. " + later);
      return Conclude(
          s, r, attempt, what, method, Decision::kSuccess,
          accepted + "MFA required (" + required->why +
              "); enrollment not confirmed (codes did not match), grace left: " + DaysLeft(left));
  }
  std::vector<SecretBuffer> codes;
  std::vector<std::string> digests;
  Status coded = MakeRecoveryCodes(s, &codes, &digests);
  if (!coded.ok())
    return Conclude(s, r, attempt, what, method, Decision::kUnavailable, coded.message());
  Status stored = s.store.EnrollTotp(user.name, "", fresh.sealed, digests, step);
  if (!stored.ok()) {
    prompter.Error("The authenticator could not be stored. Please sign in again.");
    return Conclude(s, r, attempt, what, method, Decision::kUnavailable,
                    "enrollment in the session: " + stored.message());
  }
  Note(s, r, "mfa-enroll", "success", "authenticator enrolled in the session");
  prompter.Info(
      "Your authenticator app is set up. From now on sign-in asks for a verification code "
      "after the password.");
  ShowRecoveryCodes(prompter, codes);
  // A prompt after the codes, so that they are seen: some applications
  // (sshd's keyboard-interactive) show messages only together with a
  // prompt. The answer does not matter, nor does a conversation that ends
  // here: the enrollment is stored and both factors were proved.
  Result<std::string> seen = prompter.Ask(kSavedPrompt);
  if (seen.ok()) WipeMemory(seen->data(), seen->size());
  return Conclude(
      s, r, attempt, what, (after_password ? "password+totp" : "totp"), Decision::kSuccess,
      accepted + "authenticator enrolled in the session (MFA required: " + required->why + ")");
}

}  // namespace flow_internal
}  // namespace sesame
