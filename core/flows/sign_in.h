// The sign-in and password flows, written once for every front end.
//
// MUST rules:
//  - an unknown user costs the same argon2 work as a known one (DummyVerify)
//    and is asked the same questions;
//  - any doubt denies: a store, key or hash that cannot be used is
//    kUnavailable, never success;
//  - a locked account is refused before its password is checked, and a
//    wrong password counts toward the lock atomically in the store;
//  - every decision is logged (no secret) and recorded as a sign-in event; a
//    success whose event cannot be recorded is not a success;
//  - a password longer than kMaxPasswordBytes is refused before any hashing.
#ifndef SESAME_CORE_FLOWS_SIGN_IN_H_
#define SESAME_CORE_FLOWS_SIGN_IN_H_

#include <optional>
#include <string>

#include "core/base/prompter.h"
#include "core/flows/services.h"
#include "core/store/store.h"

namespace sesame {

enum class Decision {
  kSuccess,
  kFailure,              // wrong secret (or empty / overlong input), policy refusal
  kUnknownUser,          // no such account in the store
  kDisabled,             // account disabled by an administrator
  kLocked,               // too many failures (lockout)
  kNewPasswordRequired,  // account: must change (admin reset) or expired
  kUnavailable,          // store, key, hash or argon2 slot could not be used
  kAborted,              // the conversation failed or the person gave up
  kMfaRequired,          // must use MFA, not enrolled, and the grace period is over
  kAppPasswordRequired,  // mode=app_password: the main password is not accepted for this
                         // user (app_password_main_password); an app password is needed
};

const char* DecisionName(Decision decision);

struct FlowResult {
  Decision decision = Decision::kUnavailable;
  std::string reason;  // for logs; never a secret
  // A sign-in's success: the account state its own write saw
  // (SettleOutcome::account), for the account check of the same PAM
  // handle (account_check_max_age_ms). Not set otherwise.
  std::optional<AccountFlags> account = {};
};

// auth: asks "Password: " (SecretKind::kCurrentPassword) and checks it;
// then, for a user with an authenticator, "Verification code: "
// (SecretKind::kCode): a TOTP code (each time step accepted once, across
// processes) or one of the user's recovery codes (used up). A wrong code
// counts toward the lockout like a wrong password. A user without an
// authenticator signs in with the password alone, and that is logged.
// A disabled account is refused here too (after the password check, so the
// answer reveals nothing to someone who does not know the password).
// Rehashes a hash made with other parameters (or imported from shadow)
// after a success. After a success, tells the previous sign-in and the
// failed attempts since (show_last_sign_in; core/flows/activity.h).
FlowResult PasswordSignIn(Services& services, Prompter& prompter, const RequestInfo& request);

// mode=mfa_only: the second factor alone, for stacking after pam_unix. A
// user without an authenticator passes (logged); unknown users are
// kUnknownUser.
FlowResult SecondFactorOnly(Services& services, Prompter& prompter, const RequestInfo& request);

// account: the account may be used now: exists, not disabled, and its
// password need not be changed first (kNewPasswordRequired, with a message
// saying why: an administrator's reset, or older than password_max_days).
// `known`: the state a successful sign-in of this user read moments ago
// (FlowResult::account), decided on instead of reading the store again.
FlowResult CheckAccount(Services& services, Prompter& prompter, const RequestInfo& request,
                        const AccountFlags* known = nullptr);

// First step of a password change: asks "Current password: "
// (SecretKind::kOldPassword) and checks it like a sign-in (lockout applies,
// failures count). On success `*current` holds the password.
FlowResult VerifyCurrentPassword(Services& services, Prompter& prompter, const RequestInfo& request,
                                 SecretBuffer* current);

// Second step: asks for the new password (Prompter::AskNewPassword), checks
// the policy (password_policy.h) and stores it, up to `tries` times when the
// policy refuses or the two entries differ. `current` is the verified
// current password, or null when the caller may change it without (root).
// Keeps the history, clears the must-change flag, records an event.
FlowResult ChangePassword(Services& services, Prompter& prompter, const RequestInfo& request,
                          const SecretBuffer* current, int tries);

}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_SIGN_IN_H_
