// App passwords: making, listing and revoking them (sesame app-password,
// sesame-admin app-password), and signing in with one (PAM
// mode=app_password). The secret itself is core/crypto/app_password.h; the
// rows are Store::AddAppPassword and friends.
//
// MUST rules:
//  - a new app password is shown once and stored only as its digest; it is
//    made only after a fresh proof of the person (VerifyIdentity), or by
//    root (sesame-admin);
//  - mode=app_password asks exactly one question ("Password: ") and never
//    sleeps on a failure (no pam_fail_delay: the mail server's auth worker
//    would stall every other login);
//  - an app password signs in only as its own user, while live (not
//    revoked, not expired), for a service it allows; the main password only
//    as app_password_main_password allows for this user;
//  - failures count in the app-password lockout bucket, never in the
//    interactive one; that bucket's lock refuses the main password only;
//  - an unknown user costs what a known one costs (the digest, the lookup,
//    and a dummy argon2 where a main password would be checked): a main
//    password refused unchecked under deny_if_mfa pays a dummy argon2 too.
#ifndef SESAME_CORE_FLOWS_APP_PASSWORDS_H_
#define SESAME_CORE_FLOWS_APP_PASSWORDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/base/prompter.h"
#include "core/flows/services.h"
#include "core/flows/sign_in.h"

namespace sesame {

// What the person asked for, as typed on the command line.
struct AppPasswordRequest {
  std::string name;
  std::string services;  // "imap,smtp"; "" = every mode=app_password service
  std::string expires;   // "90d", "YYYY-MM-DD" (00:00 UTC that day), "" = never
};

// The request checked: the record to store (without digest) or
// kInvalidArgument saying which part is wrong and what is accepted.
Result<AppPasswordRecord> CheckAppPasswordRequest(const AppPasswordRequest& request,
                                                  std::string_view user, int64_t now);

// "--expires": "Nd" (1 to 3650 days from `now`) or "YYYY-MM-DD" (a date
// after today, at most 10 years ahead; the app password stops working at
// 00:00 UTC that day). Returns the time it stops working.
Result<int64_t> ParseAppPasswordExpiry(std::string_view text, int64_t now);

// May `user` make app passwords (app_passwords_for)? OK, or
// kPermissionDenied saying why and what to do (enroll an authenticator
// first), or kUnavailable when whether MFA is required cannot be read.
Status MayMakeAppPasswords(Services& s, const UserRecord& user);

// A new app password as made: the stored record and the secret as shown
// ("abcd efgh ijkl mnop qrst uvwx"; wiped on destruction).
struct MadeAppPassword {
  AppPasswordRecord record;
  SecretBuffer shown;
};

// Makes and stores one for r.user (no proof of the person: the caller has
// done it, or is root) and records the event. kInvalidArgument for a bad
// request, kAlreadyExists for a live name, kPermissionDenied at
// app_password_max, kUnavailable without the host key.
Status MakeAppPassword(Services& s, const RequestInfo& r, const AppPasswordRequest& request,
                       MadeAppPassword* out);

// Shows a new app password to the person (terminal text and QR code,
// files, clipboard). A non-OK status means it could not be shown: it is
// revoked again and the person is told.
using ShowAppPassword = std::function<Status(const MadeAppPassword&)>;

// sesame app-password create: refused before any prompt when the request is
// bad, the user may not make app passwords, or already has
// app_password_max; then VerifyIdentity, MakeAppPassword and `show`.
FlowResult CreateAppPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                             const AppPasswordRequest& request, const ShowAppPassword& show);

// Revokes r.user's live app password `name`, or all of them when `name` is
// empty, records the event (`by`: "by the user", "by an administrator"),
// then runs on_revoke_command when any was revoked. Returns how many;
// kNotFound for a name that names none.
Result<int> RevokeAppPasswordsOf(Services& s, const RequestInfo& r, std::string_view name,
                                 const std::string& by);

// Runs on_revoke_command for r.user (when set) and logs how it ended. Its
// failure is logged only: the revoke has happened.
void RunRevokeCommand(Services& s, const RequestInfo& r);

// How many of r.user's app passwords are live now (0 when none, or when
// they cannot be read: the revoke happens in the store all the same).
int LiveAppPasswordCount(Services& s, const RequestInfo& r);

// After a password change that revoked `count` live app passwords
// (Store::SetPassword with revoke_app_passwords): records the event, logs,
// runs on_revoke_command. `by`: "by a password change", ...
void NoteAppPasswordsRevoked(Services& s, const RequestInfo& r, int count, const std::string& by);

// Whether `record` lets r.service sign in: no services listed, or the PAM
// service is one of them.
bool AppPasswordAllows(const AppPasswordRecord& record, std::string_view service);

// PAM mode=app_password (auth): one "Password: " (SecretKind::kCurrentPassword).
// An app password of this user, live and allowed for r.service, signs in
// (one indexed lookup; marked used with the event, in one transaction);
// the event's method is "app-password:NAME". Otherwise the main password
// is checked only where app_password_main_password allows it for this
// user; where it does not, the person is told that an app password is
// needed and how to make one (kAppPasswordRequired). Every failure counts in
// the app-password bucket.
FlowResult AppPasswordSignIn(Services& s, Prompter& prompter, const RequestInfo& r);

}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_APP_PASSWORDS_H_
