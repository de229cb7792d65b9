// Shared pieces of the flows in core/sign_in.cc and core/mfa_flows.cc. Not
// an interface for anything outside core/.
#ifndef SESAME_CORE_FLOW_INTERNAL_H_
#define SESAME_CORE_FLOW_INTERNAL_H_

#include <string>

#include "core/prompter.h"
#include "core/services.h"
#include "core/sign_in.h"

namespace sesame {
namespace flow_internal {

// "user NAME (service S, from HOST)", sanitised for a log line.
std::string Describe(const RequestInfo& r);

// Records an event that is not the decision itself (a lock, an enrollment).
void Note(Services& s, const RequestInfo& r, const char* method, const char* outcome,
          const std::string& detail);

// Logs the decision and records it as a sign-in event. A success that cannot
// be recorded turns into kUnavailable.
FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason);

struct CheckSpec {
  SecretKind kind;
  const char* prompt;
  const char* what;    // for logs: "password sign-in"
  const char* method;  // for events: "password"
};

// Prompt, look up, lockout, verify, count. On success `*out` (if given)
// holds the password and `*user_out` (if given) the record. Finishes (logs
// and records) every outcome but success, which the caller finishes.
FlowResult CheckPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                         const CheckSpec& spec, SecretBuffer* out, UserRecord* user_out);

// The verification-code step for a user with an authenticator; finishes
// every outcome. `method_prefix` goes before "totp" / "recovery-code".
FlowResult SecondFactor(Services& s, Prompter& prompter, const RequestInfo& r,
                        const UserRecord& user, const char* what, const std::string& method_prefix);

// Which first factor came before the second: this module's password, or an
// earlier module's (mode=mfa_only). It decides the event's method and
// wording ("password+totp" and "password accepted; ..." or "totp").
enum class FirstFactor { kPassword, kEarlierModule };

// For a user without an authenticator who has passed the first factor:
// success when MFA is not required of them (logged); when it is,
// enrollment in the session within the grace period, refusal
// (kMfaRequired) after it. Finishes every outcome. Defined in
// core/mfa_flows.cc.
FlowResult EnrollmentIfRequired(Services& s, Prompter& prompter, const RequestInfo& r,
                                const UserRecord& user, const char* what, FirstFactor first);

}  // namespace flow_internal
}  // namespace sesame

#endif  // SESAME_CORE_FLOW_INTERNAL_H_
