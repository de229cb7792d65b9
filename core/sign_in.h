// The sign-in flows, written once for every front end.
//
// MUST rules:
//  - an unknown user costs the same argon2 work as a known one (DummyVerify)
//    and is asked the same questions;
//  - any doubt denies: a store, key or hash that cannot be used is
//    kUnavailable, never success;
//  - every decision is logged (no secret) and recorded as a sign-in event; a
//    success whose event cannot be recorded is not a success;
//  - a password longer than kMaxPasswordBytes is refused before any hashing.
#ifndef SESAME_CORE_SIGN_IN_H_
#define SESAME_CORE_SIGN_IN_H_

#include <string>

#include "core/prompter.h"
#include "core/services.h"

namespace sesame {

enum class Decision {
  kSuccess,
  kFailure,      // wrong secret (or empty / overlong input)
  kUnknownUser,  // no such account in the store
  kDisabled,     // account disabled by an administrator
  kUnavailable,  // store, key, hash or argon2 slot could not be used
  kAborted,      // the conversation failed or the person gave up
};

const char* DecisionName(Decision decision);

struct FlowResult {
  Decision decision = Decision::kUnavailable;
  std::string reason;  // for logs; never a secret
};

// auth: asks "Password: " (SecretKind::kCurrentPassword) and checks it.
// A disabled account is refused here too (after the password check, so the
// answer reveals nothing to someone who does not know the password).
// Rehashes a hash made with other parameters after a success.
FlowResult PasswordSignIn(Services& services, Prompter& prompter, const RequestInfo& request);

// account: the account may be used now (exists, not disabled).
FlowResult CheckAccount(Services& services, Prompter& prompter, const RequestInfo& request);

}  // namespace sesame

#endif  // SESAME_CORE_SIGN_IN_H_
