// Logging and recording each decision of the flows (flow_internal.h):
// Finish, Conclude (which settles the attempt with the event), Note.
#include <string>
#include <string_view>

#include "core/base/input_check.h"
#include "core/flows/flow_internal.h"
#include "core/flows/sign_in.h"

namespace sesame {
namespace flow_internal {

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
  }
  return "error";
}

// Records an event that is not the decision itself (a lock, an unlock).
void Note(Services& s, const RequestInfo& r, const char* method, const char* outcome,
          const std::string& detail) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = r.user;
  event.service = r.service.substr(0, 256);
  event.remote_host = r.remote_host.substr(0, 256);
  event.method = method;
  event.outcome = outcome;
  event.detail = detail;
  Status recorded = s.store.RecordEvent(event);
  if (!recorded.ok()) s.logger.Log(LogLevel::kError, "cannot record event: " + recorded.message());
}

namespace {

SignInEvent EventOf(Services& s, const RequestInfo& r, const char* method, Decision decision,
                    const std::string& reason, bool coalesced = false) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = r.user.substr(0, kMaxUserNameBytes * 4);
  event.service = r.service.substr(0, 256);
  event.remote_host = r.remote_host.substr(0, 256);
  event.method = method;
  event.outcome = OutcomeName(decision);
  event.detail = reason;
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
  if (!recorded.ok()) {
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

std::string FailuresOf(const Services& s, int failures) {
  return std::to_string(failures) + " of " + std::to_string(s.config.deny) + " failures";
}

FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason, int64_t coalesce_seconds) {
  SignInEvent event = EventOf(s, r, method, decision, reason, coalesce_seconds > 0);
  Status recorded = s.store.RecordEvent(event, coalesce_seconds);
  return Decided(s, r, what, decision, std::move(reason), recorded);
}

FlowResult Conclude(Services& s, const RequestInfo& r, Attempt& attempt, const char* what,
                    const char* method, Decision decision, std::string reason,
                    std::string_view wrong_digest) {
  if (!attempt.open) return Finish(s, r, what, method, decision, std::move(reason));
  attempt.open = false;
  Settlement settlement;
  settlement.reservation = attempt.reservation;
  settlement.kind = decision == Decision::kSuccess   ? Settlement::Kind::kSuccess
                    : decision == Decision::kFailure ? Settlement::Kind::kWrong
                                                     : Settlement::Kind::kRelease;
  settlement.attempt = wrong_digest;
  settlement.now = s.clock.Now();
  settlement.policy = attempt.policy;
  const bool counted = settlement.kind == Settlement::Kind::kWrong;
  // A success is recorded in the settlement's own transaction (a success
  // whose event cannot be recorded is not a success). A wrong secret is
  // recorded after it, so that the event can say how it was counted.
  SignInEvent event = EventOf(s, r, method, decision, reason);
  Result<SettleOutcome> settled =
      s.store.SettleAttempt(r.user, settlement, counted ? nullptr : &event);
  Status recorded = settled.ok() ? Status::Ok() : settled.status();
  if (counted) {
    if (settled.ok() && attempt.lockout_applies) {
      reason += settled->repeated ? " (the same as an earlier wrong attempt: not counted again; " +
                                        FailuresOf(s, settled->failures) + ")"
                                  : " (" + FailuresOf(s, attempt.reservation.failures) + ")";
    }
    event.detail = reason;
    Status written = s.store.RecordEvent(event);
    if (recorded.ok()) recorded = written;
    if (settled.ok() && settled->locked_until != 0) {
      const std::string until = settled->locked_until == kLockedUntilUnlocked
                                    ? "until an administrator unlocks it"
                                    : "for " + std::to_string(s.config.unlock_time) + " s";
      Note(s, r, "lockout", "locked",
           std::to_string(settled->failures) + " failures; locked " + until);
      s.logger.Log(LogLevel::kWarning, "account of " + Describe(r) + " locked after " +
                                           std::to_string(settled->failures) + " failures " +
                                           until);
    }
  }
  return Decided(s, r, what, decision, std::move(reason), recorded);
}

}  // namespace flow_internal

const char* DecisionName(Decision decision) { return flow_internal::OutcomeName(decision); }

}  // namespace sesame
