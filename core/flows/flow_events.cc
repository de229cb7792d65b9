// Logging and recording each decision of the flows (flow_internal.h):
// Finish, Conclude (which settles the attempt with the event), Note.
#include <string>
#include <string_view>

#include "core/base/input_check.h"
#include "core/flows/activity.h"
#include "core/flows/flow_internal.h"
#include "core/flows/sign_in.h"

namespace sesame {
namespace flow_internal {

namespace {
// What an event keeps of the service and the remote host (from the PAM
// application), and of a reason. Stored as valid UTF-8 (ValidUtf8Prefix): a
// PostgreSQL store refuses other text, and a sign-in whose event cannot be
// written is not a success.
constexpr size_t kMaxEventFieldBytes = 256;
constexpr size_t kMaxEventDetailBytes = 4096;
}  // namespace

std::string Describe(const RequestInfo& r) {
  std::string s = "user " + SanitizeForLog(r.user) + " (service " + SanitizeForLog(r.service);
  if (!r.remote_host.empty()) s += ", from " + SanitizeForLog(r.remote_host);
  return s + ")";
}

LogLevel LevelFor(Decision d) {
  switch (d) {
    case Decision::kSuccess:
      return LogLevel::kInfo;
    case Decision::kFailure:
    case Decision::kUnknownUser:
    case Decision::kDisabled:
    case Decision::kNewPasswordRequired:
    case Decision::kAborted:
    case Decision::kMfaRequired:
    case Decision::kAppPasswordRequired:
      return LogLevel::kNotice;
    case Decision::kLocked:
      return LogLevel::kWarning;
    case Decision::kUnavailable:
      return LogLevel::kError;
  }
  return LogLevel::kError;
}

const char* OutcomeName(Decision d) {
  switch (d) {
    case Decision::kSuccess:
      return "success";
    case Decision::kFailure:
      return "failure";
    case Decision::kUnknownUser:
      return "unknown-user";
    case Decision::kDisabled:
      return "disabled";
    case Decision::kLocked:
      return "locked";
    case Decision::kNewPasswordRequired:
      return "must-change";
    case Decision::kUnavailable:
      return "error";
    case Decision::kAborted:
      return "aborted";
    case Decision::kMfaRequired:
      return "mfa-required";
    case Decision::kAppPasswordRequired:
      return "app-password-required";
  }
  return "error";
}

// Records an event that is not the decision itself (a lock, an unlock).
void Note(Services& s, const RequestInfo& r, const char* method, const char* outcome,
          const std::string& detail) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = ValidUtf8Prefix(r.user, kMaxUserNameBytes * 4);
  event.service = ValidUtf8Prefix(r.service, kMaxEventFieldBytes);
  event.remote_host = ValidUtf8Prefix(r.remote_host, kMaxEventFieldBytes);
  event.method = method;
  event.outcome = outcome;
  event.detail = ValidUtf8Prefix(detail, kMaxEventDetailBytes);
  Status recorded = s.store.RecordEvent(event, 0, PruneInPassingBefore(s.config, event.time));
  if (!recorded.ok()) s.logger.Log(LogLevel::kError, "cannot record event: " + recorded.message());
}

namespace {

SignInEvent EventOf(Services& s, const RequestInfo& r, const char* method, Decision decision,
                    const std::string& reason, bool coalesced = false) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = ValidUtf8Prefix(r.user, kMaxUserNameBytes * 4);
  event.service = ValidUtf8Prefix(r.service, kMaxEventFieldBytes);
  event.remote_host = ValidUtf8Prefix(r.remote_host, kMaxEventFieldBytes);
  event.method = method;
  event.outcome = OutcomeName(decision);
  event.detail = ValidUtf8Prefix(reason, kMaxEventDetailBytes);
  // Unknown users are recorded too (that is what an attack looks like), but
  // with the name sanitised. Refusals that cost nothing share one name
  // (the log line has the real one), so that coalescing bounds them
  // however the attacker varies the names.
  if (decision == Decision::kUnknownUser) {
    const bool valid = CheckUserName(r.user).ok();
    event.user = !valid ? "(invalid name)" : coalesced ? "(unknown user)" : SanitizeForLog(r.user);
  }
  return event;
}

// The end of Finish and Conclude: a success that could not be recorded is
// not a success; the decision is logged.
FlowResult Decided(Services& s, const RequestInfo& r, const char* what, Decision decision,
                   std::string reason, const Status& recorded) {
  if (!recorded.ok() && decision == Decision::kUnavailable) {
    // The store failed the decision already (and a store that did not
    // answer fails the rest of the call at once with the same message): one
    // line, the decision's, says both.
    if (reason.find(recorded.message()) == std::string::npos)
      reason += "; the event was not recorded either: " + recorded.message();
  } else if (!recorded.ok()) {
    s.logger.Log(LogLevel::kError,
                 std::string("cannot record sign-in event: ") + recorded.message());
    if (decision == Decision::kSuccess) {
      decision = Decision::kUnavailable;
      reason = "sign-in event could not be recorded";
    }
  }
  s.logger.Log(LevelFor(decision), std::string(what) + " " + OutcomeName(decision) + " for " +
                                       Describe(r) + ": " + reason);
  return FlowResult{decision, std::move(reason)};
}

}  // namespace

std::string FailuresOf(const LockoutPolicy& policy, int failures) {
  return std::to_string(failures) + " of " + std::to_string(policy.deny) +
         (policy.bucket == LockBucket::kAppPassword ? " app-password failures" : " failures");
}

FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason, int64_t coalesce_seconds) {
  SignInEvent event = EventOf(s, r, method, decision, reason, coalesce_seconds > 0);
  Status recorded =
      s.store.RecordEvent(event, coalesce_seconds, PruneInPassingBefore(s.config, event.time));
  return Decided(s, r, what, decision, std::move(reason), recorded);
}

FlowResult Conclude(Services& s, const RequestInfo& r, Attempt& attempt, const char* what,
                    const char* method, Decision decision, std::string reason,
                    std::string_view wrong_digest) {
  if (!attempt.open) return Finish(s, r, what, method, decision, std::move(reason));
  attempt.open = false;
  Settlement settlement;
  settlement.reservation = attempt.reservation;
  // A main password refused by app_password_main_password counts as a
  // failure in the app-password bucket, as a wrong one does.
  settlement.kind = decision == Decision::kSuccess ? Settlement::Kind::kSuccess
                    : decision == Decision::kFailure || decision == Decision::kAppPasswordRequired
                        ? Settlement::Kind::kWrong
                        : Settlement::Kind::kRelease;
  settlement.attempt = wrong_digest;
  settlement.now = s.clock.Now();
  settlement.policy = attempt.policy;
  const bool counted = settlement.kind == Settlement::Kind::kWrong;
  // A success is recorded in the settlement's own transaction (a success
  // whose event cannot be recorded is not a success). A wrong secret is
  // recorded after it, so that the event can say how it was counted.
  // Either way the write that records the event prunes in passing.
  SignInEvent event = EventOf(s, r, method, decision, reason);
  const int64_t prune_before = PruneInPassingBefore(s.config, event.time);
  if (!counted) settlement.prune_before = prune_before;
  if (attempt.read_last_sign_in && settlement.kind == Settlement::Kind::kSuccess)
    settlement.last_sign_in = &LastSignInQueryForSignIn();
  Result<SettleOutcome> settled =
      s.store.SettleAttempt(r.user, settlement, counted ? nullptr : &event);
  if (settled.ok() && settlement.last_sign_in != nullptr) {
    attempt.last_sign_in = settled->last_sign_in;
    attempt.last_sign_in_error = settled->last_sign_in_error;
  }
  Status recorded = settled.ok() ? Status::Ok() : settled.status();
  if (counted) {
    if (settled.ok() && attempt.lockout_applies) {
      reason += settled->repeated
                    ? " (the same as an earlier wrong attempt: not counted again; " +
                          FailuresOf(attempt.policy, settled->failures) + ")"
                    : " (" + FailuresOf(attempt.policy, attempt.reservation.failures) + ")";
    }
    event.detail = reason;
    Status written = s.store.RecordEvent(event, 0, prune_before);
    if (recorded.ok()) recorded = written;
    if (settled.ok() && settled->locked_until != 0) {
      const bool app = attempt.policy.bucket == LockBucket::kAppPassword;
      const std::string until = settled->locked_until == kLockedUntilUnlocked
                                    ? "until an administrator unlocks it"
                                    : "for " + std::to_string(attempt.policy.unlock_time) + " s";
      if (app) {
        Note(s, r, "app-password-lockout", "locked",
             std::to_string(settled->failures) +
                 " app-password failures; the main password is refused in mode=app_password " +
                 until + " (app passwords still work)");
        s.logger.Log(LogLevel::kWarning, "app-password sign-ins of " + Describe(r) +
                                             " locked after " + std::to_string(settled->failures) +
                                             " failures " + until +
                                             " (main password refused there; app passwords "
                                             "and other services unaffected)");
      } else {
        Note(s, r, "lockout", "locked",
             std::to_string(settled->failures) + " failures; locked " + until);
        s.logger.Log(LogLevel::kWarning, "account of " + Describe(r) + " locked after " +
                                             std::to_string(settled->failures) + " failures " +
                                             until);
      }
    }
  }
  FlowResult result = Decided(s, r, what, decision, std::move(reason), recorded);
  if (result.decision == Decision::kSuccess && settled.ok()) result.account = settled->account;
  return result;
}

FlowResult ConcludeAppPassword(Services& s, const RequestInfo& r, const char* what,
                               const std::string& method, const LockoutPolicy& policy,
                               int64_t app_password_id, std::string reason) {
  Settlement settlement;
  settlement.kind = Settlement::Kind::kSuccess;
  settlement.now = s.clock.Now();
  settlement.policy = policy;
  settlement.app_password_id = app_password_id;
  SignInEvent event = EventOf(s, r, method.c_str(), Decision::kSuccess, reason);
  settlement.prune_before = PruneInPassingBefore(s.config, event.time);
  Result<SettleOutcome> settled = s.store.SettleAttempt(r.user, settlement, &event);
  if (settled.ok() && settled->app_password_gone) {
    return Finish(s, r, what, method.c_str(), Decision::kFailure,
                  "the app password was revoked or expired while it was being checked");
  }
  return Decided(s, r, what, Decision::kSuccess, std::move(reason),
                 settled.ok() ? Status::Ok() : settled.status());
}

}  // namespace flow_internal

const char* DecisionName(Decision decision) { return flow_internal::OutcomeName(decision); }

}  // namespace sesame
