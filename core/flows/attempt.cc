// Reserving an attempt before its secret is checked, and refusing a locked
// account (flow_internal.h; the store's side: Store::ReserveAttempt).
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "core/flows/flow_internal.h"
#include "core/policy/account_state.h"

namespace sesame {
namespace flow_internal {

bool LockoutApplies(const Services& s, const UserRecord& user) {
  return LockoutAppliesTo(s.config, user);
}

LockoutPolicy PolicyFor(const Services& s, std::string_view user_name, LockBucket bucket) {
  const Config& c = s.config;
  const bool exempt = c.lockout_exempt_root && user_name == "root";
  if (bucket == LockBucket::kAppPassword) {
    return LockoutPolicy{exempt ? 0 : c.app_password_deny, c.app_password_fail_interval,
                         c.app_password_unlock_time, bucket};
  }
  return LockoutPolicy{LockoutAppliesTo(c, user_name) ? c.deny : 0, c.fail_interval, c.unlock_time,
                       bucket};
}

std::string TimeLeft(int64_t seconds) {
  int64_t minutes = (seconds + 59) / 60;
  if (minutes <= 1) return "1 minute";
  return std::to_string(minutes) + " minutes";
}

// Tells the person the account is locked (and for how long) and finishes
// with kLocked; `what_not` says what was not checked.
FlowResult RefuseLocked(Services& s, Prompter& prompter, const RequestInfo& r, const char* what,
                        const char* method, int64_t locked_until, const std::string& what_not,
                        LockBucket bucket) {
  const int64_t now = s.clock.Now();
  const bool forever = locked_until == kLockedUntilUnlocked;
  if (bucket == LockBucket::kAppPassword) {
    // Only the main password is refused; app passwords still sign in.
    prompter.Error(
        std::string("Too many failed sign-ins to this service: it does not take your main "
                    "password ") +
        (forever ? "until an administrator unlocks it" : "for " + TimeLeft(locked_until - now)) +
        ". App passwords still work.");
    const std::string when = forever ? "until an administrator unlocks them"
                                     : "for " + TimeLeft(locked_until - now) + " more";
    return Finish(s, r, what, method, Decision::kLocked,
                  "app-password sign-ins are locked " + when + "; " + what_not + " not checked",
                  kCoalesceSeconds);
  }
  prompter.Error(forever ? "Your account is locked after too many failed sign-ins. Ask your "
                           "administrator to unlock it."
                         : "Your account is locked after too many failed sign-ins. Try again in " +
                               TimeLeft(locked_until - now) +
                               ", or ask your administrator to unlock it.");
  const std::string when = forever ? "until an administrator unlocks it"
                                   : "for " + TimeLeft(locked_until - now) + " more";
  return Finish(s, r, what, method, Decision::kLocked,
                "account is locked " + when + "; " + what_not + " not checked", kCoalesceSeconds);
}

// A lock set by other attempts while this one was being proved.
void RefuseLockedMeanwhile(Prompter& prompter) {
  prompter.Error(
      "Your account was locked by other failed sign-ins while you signed in. Try again later, "
      "or ask your administrator to unlock it.");
}

// Reserves an attempt for `user` (Store::ReserveAttempt) before its secret
// is checked. Returns the refusal when there is one: the store cannot
// count it (then nothing is checked, so the answer never depends on the
// secret), a lock in force, or a repeat of a remembered wrong secret (then
// a dummy hash, so a known user costs what an unknown one does).
std::optional<FlowResult> Reserve(Services& s, Prompter& prompter, const RequestInfo& r,
                                  const UserRecord& user, const char* what, const char* method,
                                  std::string_view secret, std::string_view digest,
                                  const char* secret_name, Attempt* attempt, LockBucket bucket,
                                  std::optional<Result<Reservation>> first) {
  attempt->policy = PolicyFor(s, user, bucket);
  attempt->lockout_applies = attempt->policy.deny > 0;
  // While the window is full of attempts still being checked, wait for
  // them (a success among them clears the count), polling, at most
  // argon2_max_wait_ms: the same bound as for an argon2 slot.
  const int64_t start = s.clock.MonotonicMillis();
  Result<Reservation> reserved = Status(Code::kInternal, "not reserved");
  for (int64_t round = 0;; ++round) {
    if (round == 0 && first.has_value()) {
      reserved = std::move(*first);
    } else {
      reserved = s.store.ReserveAttempt(r.user, s.clock.Now(), attempt->policy, digest);
    }
    if (!reserved.ok() || reserved->verdict != Reservation::Verdict::kFull) break;
    const int64_t waited = s.clock.MonotonicMillis() - start;
    if (waited >= s.config.argon2_max_wait_ms) {
      return Finish(s, r, what, method, Decision::kUnavailable,
                    std::to_string(reserved->failures) +
                        " attempts for this account are being "
                        "checked at once (" +
                        (bucket == LockBucket::kAppPassword ? "app_password_deny" : "deny") +
                        " = " + std::to_string(attempt->policy.deny) + "); none settled within " +
                        std::to_string(s.config.argon2_max_wait_ms) +
                        " ms (argon2_max_wait_ms), so the " + secret_name + " was not checked");
    }
    s.clock.SleepMillis(
        std::min<int64_t>(std::min<int64_t>(2 + round, 20), s.config.argon2_max_wait_ms - waited));
  }
  if (!reserved.ok()) {
    return Finish(s, r, what, method, Decision::kUnavailable,
                  "cannot count the attempt, so the " + std::string(secret_name) +
                      " was not checked: " + reserved.status().message());
  }
  switch (reserved->verdict) {
    case Reservation::Verdict::kLocked:
      return RefuseLocked(s, prompter, r, what, method, reserved->locked_until, secret_name,
                          bucket);
    case Reservation::Verdict::kRepeated: {
      if (secret_name == std::string_view("password")) {
        Status dummy = s.hasher.DummyVerify(secret);
        if (!dummy.ok()) return Finish(s, r, what, method, Decision::kUnavailable, dummy.message());
      }
      return Finish(s, r, what, method, Decision::kFailure,
                    "wrong " + std::string(secret_name) +
                        " (the same as an earlier wrong attempt: not counted again; " +
                        FailuresOf(attempt->policy, reserved->failures) + ")",
                    // A client retrying what it saved costs nothing: one event a minute.
                    bucket == LockBucket::kAppPassword ? kCoalesceSeconds : 0);
    }
    case Reservation::Verdict::kFull:
    case Reservation::Verdict::kReserved:
      break;
  }
  attempt->open = true;
  attempt->reservation = reserved.value();
  if (reserved->lock_expired) {
    Note(s, r, "lockout", "unlocked", "lock expired");
    s.logger.Log(LogLevel::kInfo, "lock of " + Describe(r) + " expired; lifted");
  }
  return std::nullopt;
}

}  // namespace flow_internal
}  // namespace sesame
