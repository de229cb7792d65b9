// Shared pieces of the flows in core/flows/sign_in.cc and core/flows/mfa_flows.cc. Not
// an interface for anything outside core/.
#ifndef SESAME_CORE_FLOWS_FLOW_INTERNAL_H_
#define SESAME_CORE_FLOWS_FLOW_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/prompter.h"
#include "core/flows/services.h"
#include "core/flows/sign_in.h"

namespace sesame {
namespace flow_internal {

// "user NAME (service S, from HOST)", sanitised for a log line.
std::string Describe(const RequestInfo& r);

// Each write below that records an event also prunes in passing: at most
// kPruneInPassingBatch events older than activity_retention_days, in the
// same transaction (core/flows/activity.h).

// Records an event that is not the decision itself (a lock, an enrollment).
void Note(Services& s, const RequestInfo& r, const char* method, const char* outcome,
          const std::string& detail);

// Refusals that cost the refuser nothing (empty or overlong input, a name
// that cannot be an account, a locked account, a repeat) are coalesced into
// one event per this many seconds (Store::RecordEvent), so a client cannot
// grow the store as fast as it can connect.
inline constexpr int64_t kCoalesceSeconds = 60;

// Logs the decision and records it as a sign-in event (coalesced when
// `coalesce_seconds` > 0). A success that cannot be recorded turns into
// kUnavailable.
FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason, int64_t coalesce_seconds = 0);

// A sign-in attempt reserved in the store (Store::ReserveAttempt: counted
// as a failure before its secret is checked) and not settled yet. Every
// path that opens one ends it through Conclude, exactly once.
struct Attempt {
  bool open = false;
  Reservation reservation;
  bool lockout_applies = true;
  LockoutPolicy policy;  // as reserved (deny 0 when the lockout does not apply)
  // Set before the attempt is concluded: a success also reads the "Last
  // sign-in" line's answer with its write (Settlement::last_sign_in), into
  // last_sign_in, or the reason it could not into last_sign_in_error.
  bool read_last_sign_in = false;
  std::optional<LastSignIn> last_sign_in;
  std::string last_sign_in_error;
};

// Ends a decision: settles `attempt` when it is open — kSuccess as a
// success, kFailure as a wrong secret (`wrong_digest` remembered),
// anything else as a reservation taken back (nothing was found wrong) —
// and records the event in the same transaction; logs. A success that
// cannot be recorded turns into kUnavailable. A wrong attempt whose
// reservation set the lock records and logs the lock. With no open attempt
// it is Finish.
FlowResult Conclude(Services& s, const RequestInfo& r, Attempt& attempt, const char* what,
                    const char* method, Decision decision, std::string reason,
                    std::string_view wrong_digest = {});

// The success of an app password (mode=app_password): marks it used and
// records the event in one store transaction (Settlement::app_password_id);
// kFailure when it was revoked or expired meanwhile, kUnavailable when that
// cannot be written. `policy` is the user's app-password bucket.
FlowResult ConcludeAppPassword(Services& s, const RequestInfo& r, const char* what,
                               const std::string& method, const LockoutPolicy& policy,
                               int64_t app_password_id, std::string reason);

// The lockout applies to this user: deny > 0 and not an exempt root.
bool LockoutApplies(const Services& s, const UserRecord& user);

// ---- attempt.cc ----

// The lockout policy a user's attempts are reserved under: deny 0 (count,
// never lock, ignore a recorded lock) when the lockout does not apply.
// In `bucket`: kAppPassword uses the app_password_deny, _fail_interval and
// _unlock_time keys (mode=app_password).
LockoutPolicy PolicyFor(const Services& s, std::string_view user_name,
                        LockBucket bucket = LockBucket::kInteractive);
inline LockoutPolicy PolicyFor(const Services& s, const UserRecord& user,
                               LockBucket bucket = LockBucket::kInteractive) {
  return PolicyFor(s, std::string_view(user.name), bucket);
}

// "1 minute", "N minutes" (rounded up).
std::string TimeLeft(int64_t seconds);

// "N of DENY failures" (the policy's deny).
std::string FailuresOf(const LockoutPolicy& policy, int failures);

// Tells the person the account is locked (and for how long) and finishes
// with kLocked (coalesced); `what_not` says what was not checked.
// In the app-password bucket it says that only the main password is refused.
FlowResult RefuseLocked(Services& s, Prompter& prompter, const RequestInfo& r, const char* what,
                        const char* method, int64_t locked_until, const std::string& what_not,
                        LockBucket bucket = LockBucket::kInteractive);

// Tells the person that other attempts locked the account meanwhile.
void RefuseLockedMeanwhile(Prompter& prompter);

// Reserves an attempt for `user` (Store::ReserveAttempt) before its secret
// is checked, waiting (argon2_max_wait_ms at most) while the window is full
// of attempts being checked. Returns the refusal when there is one: the
// store cannot count it (then nothing is checked, so the answer never
// depends on the secret), a lock in force, or a repeat of a remembered
// wrong secret (then a dummy hash for a password, so a known user costs
// what an unknown one does). Otherwise `*attempt` is open. `first`, when
// given, is the store's answer already had with the record
// (Store::GetUserForSignInAndReserve, under PolicyFor(s, user, bucket)):
// it stands for the first ReserveAttempt.
std::optional<FlowResult> Reserve(Services& s, Prompter& prompter, const RequestInfo& r,
                                  const UserRecord& user, const char* what, const char* method,
                                  std::string_view secret, std::string_view digest,
                                  const char* secret_name, Attempt* attempt,
                                  LockBucket bucket = LockBucket::kInteractive,
                                  std::optional<Result<Reservation>> first = std::nullopt);

// ---- sign_in.cc ----

// Replaces a hash made with other parameters after a success; failures
// are logged only.
void Rehash(Services& s, const RequestInfo& r, const UserRecord& user, const SecretBuffer& pw);

struct CheckSpec {
  SecretKind kind;
  const char* prompt;
  const char* what;    // for logs: "password sign-in"
  const char* method;  // for events: "password"
  // An empty answer offers the forgotten-password reset (self_service_reset;
  // core/flows/reset.h): the sign-in prompt only.
  bool offer_reset = false;
};

// Prompt, look up, reserve the attempt (refusing a locked account or a
// repeated wrong password before any hashing), verify. On success
// `*attempt` is open (the caller concludes it), `*out` (if given) holds the
// password and `*user_out` (if given) the record. Every other outcome is
// concluded here.
//
// When the answer is empty, spec.offer_reset is set and self_service_reset
// is on, the reset runs instead (ResetForgottenPassword) and `*reset` is
// set: its result is final (kSuccess means the password was reset and the
// person proved who they are; `*attempt` is closed).
FlowResult CheckPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                         const CheckSpec& spec, Attempt* attempt, SecretBuffer* out,
                         UserRecord* user_out, bool* reset = nullptr);

// The verification-code step for a user with an authenticator; concludes
// every outcome. `attempt` is the one the password opened, or a closed one
// (mode=mfa_only): then the code's own attempt is reserved once it is
// typed. `method_prefix` goes before "totp" / "recovery-code".
FlowResult SecondFactor(Services& s, Prompter& prompter, const RequestInfo& r,
                        const UserRecord& user, Attempt& attempt, const char* what,
                        const std::string& method_prefix);

// Which first factor came before the second: this module's password, or an
// earlier module's (mode=mfa_only). It decides the event's method and
// wording ("password+totp" and "password accepted; ..." or "totp").
enum class FirstFactor { kPassword, kEarlierModule };

// For a user without an authenticator who has passed the first factor:
// success when MFA is not required of them (logged); when it is,
// enrollment in the session within the grace period, refusal
// (kMfaRequired) after it. Concludes `attempt` with every outcome. Defined
// in core/flows/mfa_flows.cc.
FlowResult EnrollmentIfRequired(Services& s, Prompter& prompter, const RequestInfo& r,
                                const UserRecord& user, Attempt& attempt, const char* what,
                                FirstFactor first);

}  // namespace flow_internal
}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_FLOW_INTERNAL_H_
