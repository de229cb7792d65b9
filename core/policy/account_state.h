// An account's state as the sign-in decides it, worked out once for every
// reader: the PAM module (CheckAccount, the lockout refusal of input that
// costs no hash), `sesame-admin user show | list` and `sesame status`. Two
// copies of one rule drift; these did (`user show` called an account
// locked under deny = 0 while the same password signed in).
//
// MUST rules:
//  - pure: no store, no clock, no I/O (MfaStateOf, which needs the store and
//    NSS, is apart);
//  - the lock honours deny = 0 (off) and lockout_exempt_root, and a lock or
//    window that has run out counts as none, exactly as
//    Store::ReserveAttempt reads them;
//  - a change is required after an administrator's reset, or when the
//    password is older than password_max_days (a password never set counts
//    as changed at 0, so it is expired).
#ifndef SESAME_CORE_POLICY_ACCOUNT_STATE_H_
#define SESAME_CORE_POLICY_ACCOUNT_STATE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/store/store.h"

namespace sesame {

struct AccountState {
  bool disabled = false;

  // The password.
  int64_t password_changed = 0;
  int64_t password_age_days = 0;
  int64_t password_expires = 0;  // 0: never (password_max_days = 0)
  enum class Change { kNone, kAdminReset, kExpired };
  Change change = Change::kNone;
  bool change_required() const { return change != Change::kNone; }
  // "an administrator reset the password", "the password is older than N
  // days (password_max_days)"; empty when none is required.
  std::string change_reason;

  // The lockout.
  enum class Lock { kOff, kNotLocked, kLocked };
  Lock lock = Lock::kNotLocked;
  int64_t locked_until = 0;  // when kLocked; kLockedUntilUnlocked: until an administrator
  int failures = 0;          // in the current window (pending attempts included)
  int deny = 0;
  int64_t window_ends = 0;  // when failures > 0 and not locked
  bool locked() const { return lock == Lock::kLocked; }
};

AccountState StateOf(const Config& config, const UserRecord& user, int64_t now);

// Whether the lockout applies to `user` at all: deny > 0, and not a root
// exempted by lockout_exempt_root.
bool LockoutAppliesTo(const Config& config, const UserRecord& user);
// The same, from the user name alone (all it depends on).
bool LockoutAppliesTo(const Config& config, std::string_view user_name);

// MFA as the sign-in decides it (the requirement: core/policy/mfa_requirement.h;
// the grace period: EnrollmentIfRequired).
struct MfaState {
  bool enrolled = false;
  int recovery_codes_left = 0;
  bool required = false;
  std::string why;        // when required
  bool pending = false;   // required and not enrolled
  int64_t enroll_by = 0;  // when pending and the grace period has begun
  bool grace_over = false;
  int grace_days = 0;
};

// Reads the recovery codes and the requirement (NSS for groups): errors as
// MfaRequirementOf (kUnavailable, the caller decides how to show them).
Result<MfaState> MfaStateOf(const Config& config, Store& store, const UserRecord& user,
                            int64_t now);

}  // namespace sesame

#endif  // SESAME_CORE_POLICY_ACCOUNT_STATE_H_
