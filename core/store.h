// Store: accounts and sign-in activity. One interface, several backends
// (sqlite now; postgres later), one conformance test suite.
//
// MUST rules for every backend:
//  - every change is one transaction; counters change in the database
//    (UPDATE ... SET n = n + 1), never read-modify-written in the process;
//  - a busy database is waited for (bounded), and a timeout is kBusy with a
//    message, never a half-applied change;
//  - names are compared byte for byte (callers validate them first).
#ifndef SESAME_CORE_STORE_H_
#define SESAME_CORE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sesame {

// locked_until value of a lock that only an administrator lifts.
inline constexpr int64_t kLockedUntilUnlocked = std::numeric_limits<int64_t>::max();

struct UserRecord {
  std::string name;
  std::string password_hash;  // PHC or crypt(3) string; empty = no password set
  bool disabled = false;
  int64_t created = 0;           // unix seconds
  int64_t password_changed = 0;  // unix seconds
  bool must_change = false;      // change forced at next sign-in (admin reset)
  int failures = 0;              // interactive failures in the current window
  int64_t first_failure = 0;     // when the current window started (0: none)
  int64_t locked_until = 0;      // 0: not locked; kLockedUntilUnlocked: until an admin unlocks
  // Authenticator app (TOTP): the secret sealed with secret_box.h (empty:
  // not enrolled) and the last time step accepted (-1: none yet).
  std::string totp_sealed = {};
  int64_t totp_last_step = -1;
  // MFA required of this user by an administrator (`sesame-admin mfa
  // require NAME`); the config and required groups can require it too
  // (core/mfa_requirement.h).
  bool mfa_required = false;
  // When the grace period for enrolling began (unix seconds; 0: not begun).
  // It begins when an administrator requires MFA of the user, or at the
  // first sign-in that finds the config or a group requires it.
  int64_t mfa_required_since = 0;
};

// As pam_faillock: `deny` failures within `fail_interval` seconds lock the
// account for `unlock_time` seconds (0: until an administrator unlocks).
struct LockoutPolicy {
  int deny = 5;
  int64_t fail_interval = 900;
  int64_t unlock_time = 600;
};

struct FailureResult {
  int failures = 0;          // count in the window after this failure
  bool locked_now = false;   // this failure locked the account
  int64_t locked_until = 0;  // as UserRecord::locked_until
  // The same wrong secret as one counted earlier in this window: nothing
  // changed, `failures` and `locked_until` are the current values.
  bool repeated = false;
};

// How many digests of recent wrong secrets a user's row keeps (the "same
// wrong secret counts once" rule), and their form: lower-case hex, as
// core/wrong_attempt.h makes them.
inline constexpr int kRememberedWrongAttempts = 4;
inline constexpr size_t kWrongAttemptDigestChars = 32;

// What happened at one decision. Strings, not enums, so later kinds of
// method and outcome need no schema change.
struct SignInEvent {
  int64_t id = 0;  // assigned by the store
  int64_t time = 0;
  std::string user;
  std::string service;
  std::string remote_host;
  std::string method;   // "password", ...
  std::string outcome;  // "success", "failure", "unknown-user", "disabled", "error", ...
  std::string detail;   // short reason, never a secret
};

struct EventFilter {
  std::optional<std::string> user;
  int64_t since = 0;  // unix seconds, inclusive
  size_t limit = 0;   // newest N; 0 = all
};

class Store {
 public:
  virtual ~Store() = default;

  // nullopt when there is no such user.
  virtual Result<std::optional<UserRecord>> GetUser(std::string_view name) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  // kAlreadyExists when the name is taken.
  virtual Status AddUser(const UserRecord& user) = 0;
  // kNotFound when there is no such user. Sign-in events are kept.
  virtual Status RemoveUser(std::string_view name) = 0;
  // kNotFound when there is no such user.
  virtual Status SetDisabled(std::string_view name, bool disabled) = 0;
  // Replaces the hash only if the stored one is still `expected_hash`
  // (compare-and-set, so a rehash never undoes a concurrent change). Returns
  // false when it was not replaced. `changed_at` set to nonzero also updates
  // password_changed (a real change, not a rehash).
  virtual Result<bool> ReplacePasswordHash(std::string_view name, std::string_view expected_hash,
                                           std::string_view new_hash, int64_t changed_at) = 0;

  // Counts one failure, atomically in the database (8 processes failing at
  // once count 8). In one transaction: if there is no window yet, or the
  // window has passed (now >= first_failure + fail_interval) and no lock is
  // in force (locked_until <= now), or an earlier lock has run out
  // (0 < locked_until <= now): failures = 1, first_failure
  // = now, locked_until = 0; otherwise failures + 1. Then, if failures >=
  // deny (deny > 0) and the account is not locked: locked_until = now +
  // unlock_time (or kLockedUntilUnlocked when unlock_time is 0) and
  // locked_now = true. kNotFound for no such user.
  //
  // `attempt` is the keyed digest of the wrong secret (WrongAttemptDigest,
  // kWrongAttemptDigestChars characters) or empty. When it is one of the
  // last kRememberedWrongAttempts digests counted in the current window
  // (no new window starts now), the failure is not counted again: nothing
  // changes and `repeated` is set, so a client retrying the secret it has
  // saved counts once. Otherwise it is counted as above and remembered (the
  // oldest forgotten); a new window forgets the earlier ones. An empty
  // `attempt` is always counted. Anything else is kInvalidArgument.
  virtual Result<FailureResult> RecordFailure(std::string_view name, int64_t now,
                                              const LockoutPolicy& policy,
                                              std::string_view attempt) = 0;
  // Counts a failure with no digest: always counted.
  Result<FailureResult> RecordFailure(std::string_view name, int64_t now,
                                      const LockoutPolicy& policy) {
    return RecordFailure(name, now, policy, std::string_view());
  }
  // failures = 0, first_failure = 0, locked_until = 0, and the remembered
  // wrong-secret digests forgotten (a success, an expired lock, or an
  // administrator's unlock). kNotFound for no such user.
  virtual Status ClearFailures(std::string_view name) = 0;

  // A real password change, in one transaction: the current hash (if any)
  // goes into the history, the history keeps only the newest
  // `history_keep` entries (0: none kept), the hash becomes `new_hash`,
  // password_changed = changed_at, must_change = `must_change`.
  // kNotFound for no such user.
  virtual Status SetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                             bool must_change, int history_keep) = 0;
  // Earlier hashes, newest first.
  virtual Result<std::vector<std::string>> PasswordHistory(std::string_view name) = 0;
  // kNotFound for no such user.
  virtual Status SetMustChange(std::string_view name, bool must_change) = 0;

  // Enrolls (or replaces) the authenticator: totp_sealed = `sealed`,
  // totp_last_step = -1, and the recovery codes are replaced by `recovery
  // _digests` (may be empty), all in one transaction. kNotFound.
  virtual Status SetTotp(std::string_view name, std::string_view sealed,
                         const std::vector<std::string>& recovery_digests) = 0;
  // The user's own enrollment, confirmed by a first code: like SetTotp, but
  // only if the stored secret is still `expected_sealed` ("" for a user
  // without one; compare-and-set, so two sessions enrolling at once do not
  // silently replace each other: kAlreadyExists, nothing written), and
  // totp_last_step = `confirmed_step`, so the code that confirmed it cannot
  // sign in again. kNotFound.
  virtual Status EnrollTotp(std::string_view name, std::string_view expected_sealed,
                            std::string_view sealed,
                            const std::vector<std::string>& recovery_digests,
                            int64_t confirmed_step) = 0;
  // Replaces the recovery codes only (the authenticator stays). kNotFound
  // for no such user or a user without an authenticator (nothing written).
  virtual Status SetRecoveryCodes(std::string_view name,
                                  const std::vector<std::string>& recovery_digests) = 0;
  // Removes the authenticator and every recovery code, and restarts the
  // grace period (mfa_required_since = 0): a user who must use MFA and
  // lost the phone may enroll again at the next sign-in. kNotFound.
  virtual Status ClearMfa(std::string_view name) = 0;
  // An administrator requires MFA of the user (or no longer does). Requiring
  // begins the grace period at `now` unless it has begun already. kNotFound.
  virtual Status SetMfaRequired(std::string_view name, bool required, int64_t now) = 0;
  // Begins the grace period at `now` unless it has begun already, in one
  // statement; returns when it began. kNotFound.
  virtual Result<int64_t> BeginMfaGrace(std::string_view name, int64_t now) = 0;
  // Groups whose members must use MFA (`sesame-admin mfa require @GROUP`).
  // Adding a group that is there already, or removing one that is not,
  // changes nothing and is not an error.
  virtual Status SetMfaRequiredGroup(std::string_view group, bool required, int64_t now) = 0;
  virtual Result<std::vector<std::string>> MfaRequiredGroups() = 0;
  // Accepts time step `step` once, across processes: in one UPDATE,
  // totp_last_step = step only if totp_last_step < step. Returns false when
  // that step (or a later one) was used already (a replay). kNotFound.
  virtual Result<bool> UseTotpStep(std::string_view name, int64_t step) = 0;
  // Uses a recovery code once: deletes the row (user, digest) and returns
  // whether there was one. kNotFound for no such user.
  virtual Result<bool> UseRecoveryCode(std::string_view name, std::string_view digest) = 0;
  // Recovery codes left. 0 for no such user.
  virtual Result<int> CountRecoveryCodes(std::string_view name) = 0;

  virtual Status RecordEvent(const SignInEvent& event) = 0;
  // Oldest first (within the newest `limit` when set).
  virtual Result<std::vector<SignInEvent>> ListEvents(const EventFilter& filter) = 0;

  virtual Result<int> SchemaVersion() = 0;

  // For a connection kept open between uses (the PAM module keeps idle ones
  // for the next PAM handle of its process): OK when the path still names
  // the very file that is open and still passes the checks it passed when
  // it was opened (owner, mode, no symlink). Otherwise the caller drops the
  // connection and opens the store again, which says what is wrong.
  virtual Status StillUsable() = 0;
};

}  // namespace sesame

#endif  // SESAME_CORE_STORE_H_
