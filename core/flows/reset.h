// Forgot my password: the self-service reset (self_service_reset,
// reset_methods in sesame.conf). Written once here; driven by PAM
// mode=interactive (an empty answer at "Password: ") and by
// `sesame passwd --forgot`.
//
// MUST rules:
//  - everyone gets the same questions in the same order: the offer, then
//    each method in reset_methods ("Verification code: ", "Recovery code:
//    "), then the new password; an unknown user, one who has not
//    registered a method and one who typed a wrong code are refused at the
//    same point with the same message, so the questions reveal neither
//    which accounts exist nor what they registered;
//  - a code is counted before it is checked (one reserved attempt for the
//    whole reset, in the interactive bucket), a TOTP step is used once and a
//    recovery code is used up, each refused while a lock is in force (in
//    the statement that uses it);
//  - a locked account cannot reset (the message of a normal sign-in), a
//    disabled one is refused once the codes are proven;
//  - the new password passes the whole policy (ChangePassword) and, as a
//    change does, revokes app passwords
//    (revoke_app_passwords_on_password_change);
//  - every step is an event: reset-started, reset-code,
//    reset-recovery-code, reset-done, and the refusals.
#ifndef SESAME_CORE_FLOWS_RESET_H_
#define SESAME_CORE_FLOWS_RESET_H_

#include <string>
#include <vector>

#include "core/base/prompter.h"
#include "core/config/config.h"
#include "core/flows/services.h"
#include "core/flows/sign_in.h"
#include "core/store/store.h"

namespace sesame {

// Where a reset starts.
enum class ResetEntry {
  kSignIn,  // an empty password at the sign-in prompt: asks first whether to reset
  kTool,    // sesame passwd --forgot: the person asked for it
};

// The reset, from the offer (kSignIn) to the new password. kSuccess means
// the password was reset and the person has proven who they are: the
// sign-in goes on (the account group still runs). A "no" at the offer is
// an ordinary failed sign-in with an empty password (kFailure, not
// counted). With self_service_reset = no, kSignIn is that failure at once
// and kTool says the reset is not enabled.
FlowResult ResetForgottenPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                                  ResetEntry entry);

// Can `user` reset a forgotten password: has what reset_methods needs (an
// authenticator for totp, at least one unused recovery code for
// recovery_code). `missing` names what is not there, in words
// ("an authenticator app", "recovery codes"); `missing_methods` as
// reset_methods names them ("totp", "recovery_code"). Whether the reset is
// enabled does not change what is missing.
struct ResetReadiness {
  bool enabled = false;  // self_service_reset
  bool ready = false;    // enabled and nothing missing
  std::vector<std::string> missing;
  std::vector<std::string> missing_methods;
};
Result<ResetReadiness> ResetReadinessOf(const Config& config, Store& store, const UserRecord& user);

// The refusal everyone gets when a reset cannot be completed.
extern const char kResetRefusedMessage[];

}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_RESET_H_
