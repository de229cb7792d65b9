// The authenticator-app flows a user drives (sesame mfa enroll | remove,
// sesame recovery-codes new); the in-session enrollment at sign-in is in
// core/flows/flow_internal.h (EnrollmentIfRequired) and shares the pieces here.
//
// MUST rules:
//  - a sensitive change first proves the person: the password, then a code
//    from the current authenticator when there is one (VerifyIdentity);
//  - a new secret counts only once a first code from the app confirms it:
//    until then nothing is stored, and an existing authenticator stays;
//  - recovery codes are shown once (Prompter::Info) and stored as digests;
//  - the secret goes only to `show` and the Prompter, never to a log.
#ifndef SESAME_CORE_FLOWS_MFA_FLOWS_H_
#define SESAME_CORE_FLOWS_MFA_FLOWS_H_

#include <functional>
#include <string>
#include <vector>

#include "core/base/prompter.h"
#include "core/flows/services.h"
#include "core/flows/sign_in.h"

namespace sesame {

// What a new authenticator shows: the otpauth:// URI (for the QR code) and
// the key as grouped base32 for typing. Both hold the secret; wiped on
// destruction.
struct AuthenticatorOffer {
  std::string issuer;
  std::string account;
  std::string uri;
  std::string key;
  AuthenticatorOffer() = default;
  AuthenticatorOffer(const AuthenticatorOffer&) = delete;
  AuthenticatorOffer& operator=(const AuthenticatorOffer&) = delete;
  ~AuthenticatorOffer();
};

// Shows an offer to the person (terminal QR code, files). A non-OK status
// stops the enrollment before anything is stored; the message says why.
using ShowOffer = std::function<Status(const AuthenticatorOffer&)>;

// The issuer in new otpauth:// URIs: totp_issuer, or the host name.
std::string TotpIssuer(const Config& config);

// A new authenticator: the secret, sealed for the store (under the host key,
// bound to the user), and what to show for it.
struct NewAuthenticator {
  SecretBuffer secret;
  std::string sealed;
  AuthenticatorOffer offer;
};

// Makes one for `user`: a new secret from Random, or `given` (an
// administrator's --secret-stdin). kUnavailable without the host key.
Status MakeAuthenticator(Services& s, const std::string& user, NewAuthenticator* out,
                         const SecretBuffer* given = nullptr);

// config.recovery_codes new codes and their digests (each checked not
// empty); kUnavailable without the host key.
Status MakeRecoveryCodes(Services& s, std::vector<SecretBuffer>* codes,
                         std::vector<std::string>* digests);

struct ProvisionedAuthenticator {
  NewAuthenticator authenticator;
  std::vector<SecretBuffer> recovery_codes;
};

// sesame-admin mfa enroll: an authenticator set up by an administrator,
// with no first code to confirm it (the administrator hands it over): made
// as the user's own enrollment makes it (MakeAuthenticator,
// MakeRecoveryCodes) and stored with Store::SetTotp, replacing any earlier
// one and its recovery codes. `*out` holds what to show, once.
Status ProvisionAuthenticator(Services& s, const std::string& user, const SecretBuffer* given,
                              ProvisionedAuthenticator* out);

// The password ("Password: "), then a code from the current authenticator
// when there is one. Records the check as an event ("identity check").
// On success `*user` holds the record.
FlowResult VerifyIdentity(Services& s, Prompter& prompter, const RequestInfo& r, UserRecord* user);

// sesame mfa enroll: VerifyIdentity, a new secret through `show`, then
// "Verification code: " from the app (3 tries). Once confirmed, the new
// authenticator replaces any earlier one and new recovery codes replace
// the old ones, in one transaction; the codes are shown through Info.
FlowResult EnrollAuthenticator(Services& s, Prompter& prompter, const RequestInfo& r,
                               const ShowOffer& show);

// sesame mfa remove: refused (before any prompt) when the user has no
// authenticator, or must use MFA (then `sesame mfa enroll` moves it to a
// new phone); otherwise VerifyIdentity, then the authenticator and the
// recovery codes are removed.
FlowResult RemoveAuthenticator(Services& s, Prompter& prompter, const RequestInfo& r);

// sesame recovery-codes new: refused (before any prompt) without an
// authenticator; otherwise VerifyIdentity, then `recovery_codes` new codes
// replace the old ones and are shown once through Info.
FlowResult RenewRecoveryCodes(Services& s, Prompter& prompter, const RequestInfo& r);

}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_MFA_FLOWS_H_
