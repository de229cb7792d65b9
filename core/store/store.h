// Store: accounts and sign-in activity. One interface, several backends
// (sqlite now; postgres later), one conformance test suite.
//
// MUST rules for every backend:
//  - every change is one transaction; counters change in the database
//    (UPDATE ... SET n = n + 1), never read-modify-written in the process;
//  - a busy database is waited for (bounded), and a timeout is kBusy with a
//    message, never a half-applied change;
//  - names are compared byte for byte (callers validate them first).
#ifndef SESAME_CORE_STORE_STORE_H_
#define SESAME_CORE_STORE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/crypto/wrong_attempt.h"

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
  int failures = 0;              // interactive failures in the current window,
                                 // pending attempts included (Store::ReserveAttempt)
  int pending_attempts = 0;      // reserved attempts not settled yet
  int64_t first_failure = 0;     // when the current window started (0: none)
  int64_t locked_until = 0;      // 0: not locked; kLockedUntilUnlocked: until an admin unlocks
  // Authenticator app (TOTP): the secret sealed with secret_box.h (empty:
  // not enrolled) and the last time step accepted (-1: none yet).
  std::string totp_sealed = {};
  int64_t totp_last_step = -1;
  // MFA required of this user by an administrator (`sesame-admin mfa
  // require NAME`); the config and required groups can require it too
  // (core/policy/mfa_requirement.h).
  bool mfa_required = false;
  // When the grace period for enrolling began (unix seconds; 0: not begun).
  // It begins when an administrator requires MFA of the user, or at the
  // first sign-in that finds the config or a group requires it.
  int64_t mfa_required_since = 0;
  // Filled only by Store::GetUserForSignIn: the groups whose members must
  // use MFA (Store::MfaRequiredGroups), read with the record, so as old as
  // it. nullopt: not read; MfaRequirementOf then asks the store.
  std::optional<std::vector<std::string>> mfa_required_groups = {};
};

// As pam_faillock: `deny` failures within `fail_interval` seconds lock the
// account for `unlock_time` seconds (0: until an administrator unlocks).
// Which counters an attempt counts toward. Interactive sign-ins (password,
// code) and app-password sign-ins (mode=app_password, a mail client) have
// one each, so a client hammering with a revoked app password never locks
// the user out of ssh.
enum class LockBucket { kInteractive, kAppPassword };

struct LockoutPolicy {
  int deny = 5;
  int64_t fail_interval = 900;
  int64_t unlock_time = 600;
  LockBucket bucket = LockBucket::kInteractive;
};

// One app password (core/crypto/app_password.h). Never the secret: only its
// digest, which no reader shows.
struct AppPasswordRecord {
  int64_t id = 0;  // assigned by the store
  std::string user;
  std::string name;                   // unique among the user's live ones
  std::string digest;                 // kAppPasswordDigestChars hex; unique in the store
  std::vector<std::string> services;  // empty: every mode=app_password service
  int64_t created = 0;
  int64_t expires = 0;  // 0: never
  int64_t last_used = 0;
  std::string last_used_from;  // PAM_RHOST of the last sign-in
  int64_t revoked = 0;         // when it was revoked (0: not)
  // Live at `now`: not revoked and not expired.
  bool LiveAt(int64_t now) const { return revoked == 0 && (expires == 0 || expires > now); }
};

// An app-password bucket's counters (the interactive ones are UserRecord's).
struct LockoutRecord {
  int failures = 0;
  int pending_attempts = 0;
  int64_t first_failure = 0;
  int64_t locked_until = 0;
};

// What ReserveAttempt found and did. An attempt (a sign-in, or the proof of
// the current password before a change) is counted as a failure BEFORE its
// secret is checked and stays pending until SettleAttempt says how it
// ended, so however many arrive at once no more than `deny` secrets are
// checked in one window: failures (pending ones included) never pass deny.
struct Reservation {
  enum class Verdict {
    kReserved,  // counted and pending: check the secret, then settle
    kLocked,    // a lock is in force: refuse without checking the secret
    kRepeated,  // the same wrong secret as one counted in this window:
                // refuse without checking it and without counting it again
    kFull,      // failures in the window, pending ones included, have reached
                // deny and some are still pending: nothing reserved; wait for
                // them to settle (a success clears the count) and try again
  };
  Verdict verdict = Verdict::kReserved;
  int failures = 0;           // failures in the window (pending ones and this one included)
  int64_t window = 0;         // first_failure of that window (kReserved)
  int64_t locked_until = 0;   // kLocked: the lock in force
  bool lock_expired = false;  // an earlier lock had run out and this reservation lifted it
};

// What Store::GetUserForSignInAndReserve found and did.
struct SignInStart {
  std::optional<UserRecord> user;  // GetUserForSignIn's record; nullopt: no such user
  // Set when `user` is: ReserveAttempt's answer (its error, when it could
  // not count the attempt; the record still stands).
  std::optional<Result<Reservation>> reservation;
};

// The sign-in before a user's newest successful one, and the failed
// attempts since it (Store::ReadLastSignIn): what the "Last sign-in" line
// at a sign-in tells.
struct LastSignIn {
  bool found = false;  // false: no earlier sign-in is kept
  int64_t time = 0;
  std::string service;
  std::string remote_host;
  int64_t failures_since = 0;  // refused attempts after it (the counts summed)
};

// What Settlement::last_sign_in asks for: ReadLastSignIn's arguments.
struct LastSignInQuery {
  std::vector<std::string> methods;
  std::vector<std::string> failure_outcomes;
};

// How an attempt ended, for SettleAttempt.
struct Settlement {
  enum class Kind {
    kSuccess,  // signed in: the count, the lock and remembered digests
               // cleared (but for other attempts still pending)
    kWrong,    // the secret was wrong: it stays a failure; `attempt` (a
               // digest, or empty) is remembered; the lock is set when the
               // count has reached deny
    kRelease,  // no secret was found wrong (right so far, given up, or not
               // checked): the reservation is taken back
  };
  Kind kind = Kind::kWrong;
  Reservation reservation;   // as ReserveAttempt returned it
  std::string_view attempt;  // kWrong: digest of the wrong secret, or empty
  int64_t now = 0;           // kWrong: when a lock set now begins
  LockoutPolicy policy;      // the bucket; kWrong: deny and unlock_time of a lock set now
  // kSuccess of a sign-in with an app password: its id, and `event` must
  // be given. There is no reservation (an app password is not guessable,
  // so it is not counted, and a right one neither clears nor waits for the
  // bucket's count): `reservation` is ignored. The transaction marks it
  // used (last_used = now, last_used_from = the event's remote host) and
  // records the event, only while it is still live; otherwise nothing is
  // written (not even the event) and the outcome says so.
  int64_t app_password_id = 0;
  // Retention in passing (activity_retention_days): > 0 also deletes the
  // oldest events whose time is before this, at most kPruneInPassingBatch
  // of them, in the same transaction (SettleAttempt); <= 0 deletes
  // nothing.
  int64_t prune_before = 0;
  // kSuccess with an event, not null: also answers ReadLastSignIn(name,
  // *last_sign_in) as it stands after this write, into
  // SettleOutcome::last_sign_in. On a server backend, when the event is a
  // success of one of the query's methods and the query names the failure
  // outcomes (the "Last sign-in" line's case), in the write's own
  // statement: one round trip for both.
  const LastSignInQuery* last_sign_in = nullptr;
};

// What the account check (pam_acct_mgmt) needs of a user's row, as one
// transaction saw it (SettleOutcome::account).
struct AccountFlags {
  bool disabled = false;
  bool must_change = false;
  int64_t password_changed = 0;
};

struct SettleOutcome {
  // kWrong with a digest remembered already in the window (the same wrong
  // secret again, e.g. a code typed twice in one time step): taken back
  // instead, "not counted again".
  bool repeated = false;
  int failures = 0;          // failures in the window after settling
  int64_t locked_until = 0;  // the lock this settlement set (0: none)
  // kSuccess with app_password_id: it was revoked or expired meanwhile, so
  // nothing was written and the sign-in is not a success.
  bool app_password_gone = false;
  // Settlement::last_sign_in's answer; when it could not be read (the
  // write stands), nullopt and the reason in last_sign_in_error.
  std::optional<LastSignIn> last_sign_in = {};
  std::string last_sign_in_error = {};
  // kSuccess of a reserved attempt: the user's disabled, must_change and
  // password_changed as this settlement's own transaction saw them after
  // its write (nullopt when the user is gone). What the account check of
  // the same PAM handle may use instead of reading them again
  // (account_check_max_age_ms).
  std::optional<AccountFlags> account = {};
};

// The lock a use of a one-time code (a TOTP step, a recovery code) must
// respect, checked in the same statement as the use: a lock in force
// (locked_until > now) refuses the code.
struct LockGuard {
  bool applies = true;  // false: the lockout is off for this user (deny = 0, exempt)
  int64_t now = 0;
};

enum class CodeUse {
  kUsed,         // accepted now, and never again
  kAlreadyUsed,  // that time step (or a later one) was used, or no such recovery code
  kLocked,       // a lock is in force (LockGuard): nothing used
};

// The most events one PruneEvents call deletes.
inline constexpr int64_t kMaxPruneBatch = 10000;

// The most events one write that records a sign-in deletes in passing
// (Settlement::prune_before, RecordEvent's prune_before): as many as such a
// write adds, so the table stops growing, and no more, because the sign-in
// pays for it: ~0.1 ms on a connection just opened (SQLite: 9 pages read,
// three B-trees descended, for the row and its two index entries; 12 for
// four before schema version 10) and ~3 pages of write-ahead log; a second
// one costs a few reads and pages more. A
// backlog (retention turned on or shortened) is not for sign-ins to drain:
// `sesame-admin activity prune` does that, daily from
// sesame-activity-prune.timer. 2 (draining one event a sign-in) moved the
// p99 more: docs/benchmarks.md, "Retention of sign-in events".
inline constexpr int64_t kPruneInPassingBatch = 1;

// How many digests of recent wrong secrets a user's row keeps (the "same
// wrong secret counts once" rule); their form (kWrongAttemptDigestChars
// lower-case hex characters) is core/crypto/wrong_attempt.h's.
inline constexpr int kRememberedWrongAttempts = 4;

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
  int64_t count = 1;    // how many times it happened (coalesced, see RecordEvent); time is the last
  // Set by ListEvents only when EventFilter::mark_new_hosts: remote_host is
  // not empty and the user had no success from it in any earlier event
  // (smaller id) the store still keeps.
  bool new_host = false;
};

// Which events ListEvents and CountEvents take: all the conditions hold.
struct EventFilter {
  std::optional<std::string> user;
  int64_t since = 0;                   // unix seconds, inclusive
  std::optional<int64_t> until;        // unix seconds, exclusive; nullopt: no bound
  std::optional<std::string> service;  // exactly this service
  std::vector<std::string> outcomes;   // one of these outcomes; empty: any
  std::vector<std::string> methods;    // one of these methods (exact); empty: any
  int64_t after_id = 0;                // only events with a larger id (recorded later)
  size_t limit = 0;                    // ListEvents: the newest N; 0 = all
  bool newest_first = false;           // ListEvents: newest first instead of oldest first
  bool mark_new_hosts = false;         // ListEvents: fill SignInEvent::new_host
};

class Store {
 public:
  virtual ~Store() = default;

  // nullopt when there is no such user.
  Result<std::optional<UserRecord>> GetUser(std::string_view name) { return DoGetUser(name); }
  // GetUser with UserRecord::mfa_required_groups filled: what a sign-in
  // needs to decide whether MFA is required, in one statement on a server
  // backend (one round trip fewer per sign-in). The same answer as GetUser
  // then MfaRequiredGroups.
  Result<std::optional<UserRecord>> GetUserForSignIn(std::string_view name) {
    return DoGetUserForSignIn(name);
  }
  // What a password sign-in does once the password is typed: GetUserForSignIn
  // then, when there is such a user, ReserveAttempt with these arguments.
  // The same answers as those two calls one after the other (the record is
  // as it was before the reservation); a server backend answers the usual
  // case, a reservation that needs no look at remembered wrong secrets or
  // at a full window, in one statement (one round trip fewer per sign-in).
  // kInvalidArgument, with nothing read or changed, for what ReserveAttempt
  // refuses as malformed.
  Result<SignInStart> GetUserForSignInAndReserve(std::string_view name, int64_t now,
                                                 const LockoutPolicy& policy,
                                                 std::string_view attempt);
  Result<std::vector<UserRecord>> ListUsers() { return DoListUsers(); }
  // kAlreadyExists when the name is taken.
  Status AddUser(const UserRecord& user) { return DoAddUser(user); }
  // kNotFound when there is no such user. Sign-in events are kept.
  Status RemoveUser(std::string_view name) { return DoRemoveUser(name); }
  // kNotFound when there is no such user.
  Status SetDisabled(std::string_view name, bool disabled) { return DoSetDisabled(name, disabled); }
  // Replaces the hash only if the stored one is still `expected_hash`
  // (compare-and-set, so a rehash never undoes a concurrent change). Returns
  // false when it was not replaced. `changed_at` set to nonzero also updates
  // password_changed (a real change, not a rehash).
  Result<bool> ReplacePasswordHash(std::string_view name, std::string_view expected_hash,
                                   std::string_view new_hash, int64_t changed_at) {
    return DoReplacePasswordHash(name, expected_hash, new_hash, changed_at);
  }

  // Reserves an attempt before its secret is checked, in one transaction:
  //  1. a lock in force (deny > 0 and locked_until > now) is kLocked and
  //     changes nothing;
  //  2. a new window starts when there is none, when the window has passed
  //     (now >= first_failure + fail_interval) and no lock is in force, or
  //     when an earlier lock has run out (0 < locked_until <= now; then
  //     lock_expired): failures = 0, pending = 0, first_failure = now,
  //     locked_until = 0, remembered digests forgotten (attempts still
  //     pending from the old window no longer count);
  //  3. `attempt` (a keyed digest, WrongAttemptDigest, kWrongAttemptDigestChars
  //     characters, or empty) that is one of the last kRememberedWrongAttempts
  //     remembered in the current window is kRepeated and changes nothing
  //     (a client retrying what it has saved counts once);
  //  4. failures >= deny (deny > 0) in the current window: kFull while some
  //     are pending; with none pending (deny was lowered) the lock is set
  //     now and the answer is kLocked;
  //  5. otherwise failures + 1 and pending + 1, counted in the database.
  // deny <= 0 counts but never locks or fills, and ignores a recorded lock
  // (the lockout is off, or the user is exempt). kNotFound for no such
  // user; kInvalidArgument for a malformed digest or a negative interval.
  Result<Reservation> ReserveAttempt(std::string_view name, int64_t now,
                                     const LockoutPolicy& policy, std::string_view attempt);
  // Ends a kReserved attempt and records `event` (when not null), in one
  // transaction. "Its window" means first_failure is still the
  // reservation's; a settlement for a window that is gone changes no
  // counter. With settlement.prune_before > 0 the same transaction also
  // deletes the oldest events whose time is before it, at most
  // kPruneInPassingBatch (as PruneEvents would, but never `event`, which is
  // recorded after the deletion), whether or not `event` is given and
  // whatever the kind; a settlement that writes nothing (app_password_gone)
  // deletes nothing. A failed deletion fails the whole settlement, as a
  // failed insert does (one transaction; nothing half-written).
  //  - kSuccess: the attempts still pending stay counted (failures =
  //    pending - 1 for this one); the rest is cleared: lock, remembered
  //    digests, and the window when nothing is pending;
  //  - kWrong: pending - 1 (the failure stays counted); `attempt` is
  //    remembered (the newest kRememberedWrongAttempts kept), or, when it
  //    is remembered already, the reservation is taken back as for kRelease
  //    and `repeated` is set; then, when failures >= deny (deny > 0) and no
  //    lock is in force, locked_until = now + unlock_time
  //    (kLockedUntilUnlocked when unlock_time is 0), reported in the outcome;
  //  - kRelease: failures - 1 and pending - 1 (not below 0).
  // A reservation that was not kReserved changes no counter. No such user
  // (removed meanwhile): no counter changes, the event is still recorded.
  Result<SettleOutcome> SettleAttempt(std::string_view name, const Settlement& settlement,
                                      const SignInEvent* event);
  // failures = 0, first_failure = 0, locked_until = 0, and the remembered
  // wrong-secret digests forgotten (a success, an expired lock, or an
  // administrator's unlock). kNotFound for no such user.
  Status ClearFailures(std::string_view name) { return DoClearFailures(name); }

  // A real password change, in one transaction: the current hash (if any)
  // goes into the history, the history keeps only the newest
  // `history_keep` entries (0: none kept), the hash becomes `new_hash`,
  // password_changed = changed_at, must_change = `must_change`; with
  // `revoke_app_passwords`, every live app password of the user is revoked
  // (revoked = changed_at) in the same transaction. The remembered wrong
  // secrets of both lockout buckets are forgotten (one may be the new
  // password). kNotFound for no such user.
  Status SetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                     bool must_change, int history_keep, bool revoke_app_passwords = false);
  // Earlier hashes, newest first.
  Result<std::vector<std::string>> PasswordHistory(std::string_view name) {
    return DoPasswordHistory(name);
  }
  // kNotFound for no such user.
  Status SetMustChange(std::string_view name, bool must_change) {
    return DoSetMustChange(name, must_change);
  }

  // Enrolls (or replaces) the authenticator: totp_sealed = `sealed`,
  // totp_last_step = -1, and the recovery codes are replaced by `recovery
  // _digests` (may be empty), all in one transaction. kNotFound.
  Status SetTotp(std::string_view name, std::string_view sealed,
                 const std::vector<std::string>& recovery_digests);
  // The user's own enrollment, confirmed by a first code: like SetTotp, but
  // only if the stored secret is still `expected_sealed` ("" for a user
  // without one; compare-and-set, so two sessions enrolling at once do not
  // silently replace each other: kAlreadyExists, nothing written), and
  // totp_last_step = `confirmed_step`, so the code that confirmed it cannot
  // sign in again. kNotFound.
  Status EnrollTotp(std::string_view name, std::string_view expected_sealed,
                    std::string_view sealed, const std::vector<std::string>& recovery_digests,
                    int64_t confirmed_step);
  // Replaces the recovery codes only (the authenticator stays). kNotFound
  // for no such user or a user without an authenticator (nothing written).
  Status SetRecoveryCodes(std::string_view name, const std::vector<std::string>& recovery_digests);
  // Removes the authenticator and every recovery code, and restarts the
  // grace period (mfa_required_since = 0): a user who must use MFA and
  // lost the phone may enroll again at the next sign-in. kNotFound.
  Status ClearMfa(std::string_view name) { return DoClearMfa(name); }
  // An administrator requires MFA of the user (or no longer does). Requiring
  // begins the grace period at `now` unless it has begun already. kNotFound.
  Status SetMfaRequired(std::string_view name, bool required, int64_t now) {
    return DoSetMfaRequired(name, required, now);
  }
  // Begins the grace period at `now` unless it has begun already, in one
  // statement; returns when it began. kNotFound.
  Result<int64_t> BeginMfaGrace(std::string_view name, int64_t now) {
    return DoBeginMfaGrace(name, now);
  }
  // Groups whose members must use MFA (`sesame-admin mfa require @GROUP`).
  // Adding a group that is there already, or removing one that is not,
  // changes nothing and is not an error.
  Status SetMfaRequiredGroup(std::string_view group, bool required, int64_t now) {
    return DoSetMfaRequiredGroup(group, required, now);
  }
  Result<std::vector<std::string>> MfaRequiredGroups() { return DoMfaRequiredGroups(); }
  // Accepts time step `step` once, across processes, unless `guard` refuses:
  // in one UPDATE, totp_last_step = step only if totp_last_step < step and
  // no lock the guard refuses is in force. kNotFound.
  Result<CodeUse> UseTotpStep(std::string_view name, int64_t step, const LockGuard& guard) {
    return DoUseTotpStep(name, step, guard);
  }
  // Uses a recovery code once: deletes the row (user, digest) in one
  // statement that also checks `guard`. kAlreadyUsed when there is no such
  // row. kNotFound for no such user.
  Result<CodeUse> UseRecoveryCode(std::string_view name, std::string_view digest,
                                  const LockGuard& guard) {
    return DoUseRecoveryCode(name, digest, guard);
  }
  // Recovery codes left. 0 for no such user.
  Result<int> CountRecoveryCodes(std::string_view name) { return DoCountRecoveryCodes(name); }

  // Records an event. With `coalesce_seconds` > 0, an event equal in user,
  // service, remote host, method, outcome and detail to the newest such
  // event of the last `coalesce_seconds` is not a new row: that row's
  // count goes up by one and its time becomes event.time (for refusals
  // that cost the refuser nothing, so a client cannot grow the store as
  // fast as it can connect). With `prune_before` > 0, the same transaction
  // first deletes the oldest events whose time is before it, at most
  // kPruneInPassingBatch (retention in passing, as Settlement::prune_before;
  // a failed deletion fails the whole write); <= 0 deletes nothing.
  Status RecordEvent(const SignInEvent& event, int64_t coalesce_seconds, int64_t prune_before) {
    return DoRecordEvent(event, coalesce_seconds, prune_before);
  }
  Status RecordEvent(const SignInEvent& event, int64_t coalesce_seconds) {
    return DoRecordEvent(event, coalesce_seconds, 0);
  }
  Status RecordEvent(const SignInEvent& event) { return DoRecordEvent(event, 0, 0); }
  // The events the filter takes, by time then id: oldest first, or newest
  // first with newest_first; within the newest `limit` when set.
  // kInvalidArgument for an outcome or method that is empty or holds a
  // control character.
  Result<std::vector<SignInEvent>> ListEvents(const EventFilter& filter);
  // How many times the events the filter takes happened: the sum of their
  // counts (limit, newest_first and mark_new_hosts are ignored).
  Result<int64_t> CountEvents(const EventFilter& filter);
  // For `user`, whose newest success with one of `methods` is the sign-in
  // that just succeeded: the success with one of `methods` before that one
  // (by time, then id), and the sum of the counts of the events with one
  // of `failure_outcomes` and one of `methods` recorded after it (all of
  // them when there is none). The same as ListEvents (newest first, limit
  // 2) then CountEvents (since its time, after its id), which is what the
  // default does; a backend may answer in one statement. kInvalidArgument
  // as ListEvents for a method or outcome.
  Result<LastSignIn> ReadLastSignIn(std::string_view user, const std::vector<std::string>& methods,
                                    const std::vector<std::string>& failure_outcomes);
  // Deletes at most `batch` (1..kMaxPruneBatch) of the oldest events whose
  // time is before `older_than`, in one transaction; returns how many. A
  // caller that must delete all of them calls it until it returns less
  // than `batch`: no transaction holds the store for long.
  Result<int64_t> PruneEvents(int64_t older_than, int64_t batch);

  // App passwords. AddAppPassword stores `record` (its id is assigned) in
  // one transaction that also refuses: no such user (kNotFound), a live
  // app password of the user with the same name (kAlreadyExists; an expired
  // one of that name is revoked to make room), `max_live` live ones already
  // (kPermissionDenied naming app_password_max). The name, the digest and
  // the services are checked in front (kInvalidArgument).
  Status AddAppPassword(AppPasswordRecord& record, int max_live, int64_t now);
  // The user's app passwords, live or not, oldest first.
  Result<std::vector<AppPasswordRecord>> ListAppPasswords(std::string_view user) {
    return DoListAppPasswords(user);
  }
  // The app password whose digest this is, whoever's and whatever its
  // state: one indexed lookup. nullopt when none.
  Result<std::optional<AppPasswordRecord>> FindAppPassword(std::string_view digest);
  // Revokes the user's live app password `name`, or all of them when
  // `name` is empty (revoked = now), in one statement; returns how many.
  // kNotFound for a name that names no live one.
  Result<int> RevokeAppPasswords(std::string_view user, std::string_view name, int64_t now) {
    return DoRevokeAppPasswords(user, name, now);
  }
  // The counters of the app-password bucket (all zero when it never
  // counted anything). kNotFound for no such user.
  Result<LockoutRecord> AppPasswordLockout(std::string_view user) {
    return DoAppPasswordLockout(user);
  }

  Result<int> SchemaVersion() { return DoSchemaVersion(); }

  // For a connection kept open between uses (the PAM module keeps idle ones
  // for its next call, pam_module/store_pool.h): OK when this connection
  // may serve another call: it still reaches the store it was opened for,
  // and that store still passes the checks it passed when it was opened.
  // Otherwise the caller drops the connection and opens the store again,
  // which says what is wrong. (SQLite: the path still names the very file
  // that is open, still root's, not writable by others, no symlink. A
  // server backend: the connection is alive and still talks to a primary.)
  Status StillUsable() { return DoStillUsable(); }

 protected:
  // The backend's side: each is called only with arguments the public
  // method checked.
  virtual Result<std::optional<UserRecord>> DoGetUser(std::string_view name) = 0;
  // Default: DoGetUser, then DoMfaRequiredGroups when the user exists.
  virtual Result<std::optional<UserRecord>> DoGetUserForSignIn(std::string_view name);
  // Default: DoGetUserForSignIn, then DoReserveAttempt when the user exists
  // (a StoreWrapper keeps it: its hooks see those two calls).
  virtual Result<SignInStart> DoGetUserForSignInAndReserve(std::string_view name, int64_t now,
                                                           const LockoutPolicy& policy,
                                                           std::string_view attempt);
  virtual Result<std::vector<UserRecord>> DoListUsers() = 0;
  virtual Status DoAddUser(const UserRecord& user) = 0;
  virtual Status DoRemoveUser(std::string_view name) = 0;
  virtual Status DoSetDisabled(std::string_view name, bool disabled) = 0;
  virtual Result<bool> DoReplacePasswordHash(std::string_view name, std::string_view expected_hash,
                                             std::string_view new_hash, int64_t changed_at) = 0;
  virtual Result<Reservation> DoReserveAttempt(std::string_view name, int64_t now,
                                               const LockoutPolicy& policy,
                                               std::string_view attempt) = 0;
  virtual Result<SettleOutcome> DoSettleAttempt(std::string_view name, const Settlement& settlement,
                                                const SignInEvent* event) = 0;
  virtual Status DoClearFailures(std::string_view name) = 0;
  virtual Status DoSetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                               bool must_change, int history_keep, bool revoke_app_passwords) = 0;
  virtual Result<std::vector<std::string>> DoPasswordHistory(std::string_view name) = 0;
  virtual Status DoSetMustChange(std::string_view name, bool must_change) = 0;
  virtual Status DoSetTotp(std::string_view name, std::string_view sealed,
                           const std::vector<std::string>& recovery_digests) = 0;
  virtual Status DoEnrollTotp(std::string_view name, std::string_view expected_sealed,
                              std::string_view sealed,
                              const std::vector<std::string>& recovery_digests,
                              int64_t confirmed_step) = 0;
  virtual Status DoSetRecoveryCodes(std::string_view name,
                                    const std::vector<std::string>& recovery_digests) = 0;
  virtual Status DoClearMfa(std::string_view name) = 0;
  virtual Status DoSetMfaRequired(std::string_view name, bool required, int64_t now) = 0;
  virtual Result<int64_t> DoBeginMfaGrace(std::string_view name, int64_t now) = 0;
  virtual Status DoSetMfaRequiredGroup(std::string_view group, bool required, int64_t now) = 0;
  virtual Result<std::vector<std::string>> DoMfaRequiredGroups() = 0;
  virtual Result<CodeUse> DoUseTotpStep(std::string_view name, int64_t step,
                                        const LockGuard& guard) = 0;
  virtual Result<CodeUse> DoUseRecoveryCode(std::string_view name, std::string_view digest,
                                            const LockGuard& guard) = 0;
  virtual Result<int> DoCountRecoveryCodes(std::string_view name) = 0;
  virtual Status DoRecordEvent(const SignInEvent& event, int64_t coalesce_seconds,
                               int64_t prune_before) = 0;
  virtual Result<std::vector<SignInEvent>> DoListEvents(const EventFilter& filter) = 0;
  virtual Result<int64_t> DoCountEvents(const EventFilter& filter) = 0;
  virtual Result<LastSignIn> DoReadLastSignIn(std::string_view user,
                                              const std::vector<std::string>& methods,
                                              const std::vector<std::string>& failure_outcomes);
  virtual Result<int64_t> DoPruneEvents(int64_t older_than, int64_t batch) = 0;
  virtual Status DoAddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) = 0;
  virtual Result<std::vector<AppPasswordRecord>> DoListAppPasswords(std::string_view user) = 0;
  virtual Result<std::optional<AppPasswordRecord>> DoFindAppPassword(std::string_view digest) = 0;
  virtual Result<int> DoRevokeAppPasswords(std::string_view user, std::string_view name,
                                           int64_t now) = 0;
  virtual Result<LockoutRecord> DoAppPasswordLockout(std::string_view user) = 0;
  virtual Result<int> DoSchemaVersion() = 0;
  virtual Status DoStillUsable() = 0;
};

// When a lock set at `now` runs out, for every backend: now + unlock_time,
// clamped below kLockedUntilUnlocked (a timed lock never turns into an
// administrator's lock) and above 0 (which would read as "not locked");
// kLockedUntilUnlocked when unlock_time is 0.
int64_t LockUntil(int64_t now, const LockoutPolicy& policy);

// The checks Store's public methods run before a backend sees the
// arguments (kInvalidArgument naming what is wrong; nothing is written).
// A digest of a wrong secret: kWrongAttemptDigestChars lower-case hex
// characters, or empty.
Status CheckWrongAttemptDigest(std::string_view attempt);
// No negative fail_interval or unlock_time.
Status CheckLockoutPolicy(const LockoutPolicy& policy);
// An app password about to be stored: a valid name and services, a digest of
// kAppPasswordDigestChars lower-case hex characters.
Status CheckAppPasswordRecord(const AppPasswordRecord& record);
// A digest to look up: kAppPasswordDigestChars lower-case hex characters.
Status CheckAppPasswordDigest(std::string_view digest);
// An event filter's outcomes and methods: none empty, none with a control
// character.
Status CheckEventFilter(const EventFilter& filter);
// Recovery code digests: none empty, none twice (the digests are secrets'
// hashes: never named in the message).
Status CheckRecoveryDigests(std::string_view user, const std::vector<std::string>& digests);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_STORE_H_
