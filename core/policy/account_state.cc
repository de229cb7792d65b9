#include "core/policy/account_state.h"

#include "core/policy/mfa_requirement.h"

namespace sesame {
namespace {

constexpr int64_t kDay = 86400;

}  // namespace

bool LockoutAppliesTo(const Config& config, std::string_view user_name) {
  if (config.deny <= 0) return false;
  return !(config.lockout_exempt_root && user_name == "root");
}

bool LockoutAppliesTo(const Config& config, const UserRecord& user) {
  return LockoutAppliesTo(config, std::string_view(user.name));
}

AccountState StateOf(const Config& config, const UserRecord& user, int64_t now) {
  AccountState s;
  s.disabled = user.disabled;

  s.password_changed = user.password_changed;
  if (user.password_changed > 0 && now > user.password_changed)
    s.password_age_days = (now - user.password_changed) / kDay;
  const int64_t max_age = static_cast<int64_t>(config.password_max_days) * kDay;
  if (config.password_max_days > 0) s.password_expires = user.password_changed + max_age;
  if (user.must_change) {
    s.change = AccountState::Change::kAdminReset;
    s.change_reason = "an administrator reset the password";
  } else if (config.password_max_days > 0 && now - user.password_changed > max_age) {
    s.change = AccountState::Change::kExpired;
    s.change_reason = "the password is older than " + std::to_string(config.password_max_days) +
                      (config.password_max_days == 1 ? " day" : " days") + " (password_max_days)";
  }

  s.deny = config.deny;
  if (!LockoutAppliesTo(config, user)) {
    s.lock = AccountState::Lock::kOff;
    return s;
  }
  if (user.locked_until != 0 && user.locked_until > now) {
    s.lock = AccountState::Lock::kLocked;
    s.locked_until = user.locked_until;
    s.failures = user.failures;
    return s;
  }
  // Not locked. The window counts only while it is open and no lock of it
  // has run out (Store::ReserveAttempt starts a new one then).
  const bool lock_ran_out = user.locked_until != 0;
  const bool window_open = user.first_failure != 0 && user.failures > 0 &&
                           now - user.first_failure < config.fail_interval;
  if (!lock_ran_out && window_open) {
    s.failures = user.failures;
    s.window_ends = user.first_failure + config.fail_interval;
  }
  return s;
}

Result<MfaState> MfaStateOf(const Config& config, Store& store, const UserRecord& user,
                            int64_t now) {
  MfaState m;
  m.enrolled = !user.totp_sealed.empty();
  m.grace_days = config.mfa_grace_days;
  Result<int> left = store.CountRecoveryCodes(user.name);
  if (!left.ok()) return left.status();
  m.recovery_codes_left = left.value();
  Result<MfaRequirement> required = MfaRequirementOf(config, store, user);
  if (!required.ok()) return required.status();
  m.required = required->required;
  if (m.required) m.why = required->why;
  m.pending = m.required && !m.enrolled;
  if (m.pending) {
    m.grace_over = GraceLeft(config, user.mfa_required_since, now) <= 0;
    if (user.mfa_required_since != 0)
      m.enroll_by = user.mfa_required_since + static_cast<int64_t>(config.mfa_grace_days) * kDay;
  }
  return m;
}

}  // namespace sesame
