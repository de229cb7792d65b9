// The account check (pam_acct_mgmt) and the password change, for every
// front end (sign_in.h).
#include <string>
#include <vector>

#include "core/base/input_check.h"
#include "core/flows/app_passwords.h"
#include "core/flows/flow_internal.h"
#include "core/flows/sign_in.h"
#include "core/policy/account_state.h"
#include "core/policy/password_policy.h"

namespace sesame {

using namespace flow_internal;  // NOLINT(google-build-using-namespace): core's own helpers

namespace {

// What the account check reads of a record, from a sign-in's AccountFlags.
std::optional<UserRecord> RecordOf(const std::string& name, const AccountFlags& known) {
  UserRecord user;
  user.name = name;
  user.disabled = known.disabled;
  user.must_change = known.must_change;
  user.password_changed = known.password_changed;
  return user;
}

}  // namespace

FlowResult CheckAccount(Services& s, Prompter& prompter, const RequestInfo& r,
                        const AccountFlags* known) {
  const char* kWhat = "account check";
  if (!CheckUserName(r.user).ok()) {
    s.logger.Log(LogLevel::kNotice, std::string(kWhat) + " unknown-user for " + Describe(r) +
                                        ": not a valid user name");
    return FlowResult{Decision::kUnknownUser, "not a valid user name"};
  }
  Result<std::optional<UserRecord>> found =
      known != nullptr ? Result<std::optional<UserRecord>>(RecordOf(r.user, *known))
                       : s.store.GetUser(r.user);
  if (known != nullptr && s.logger.debug_enabled()) {
    s.logger.Log(LogLevel::kDebug, std::string(kWhat) + " of " + Describe(r) +
                                       " on the state its sign-in read (account_check_max_age_ms)");
  }
  if (!found.ok()) {
    s.logger.Log(LogLevel::kError, std::string(kWhat) + " error for " + Describe(r) + ": " +
                                       found.status().message());
    return FlowResult{Decision::kUnavailable, found.status().message()};
  }
  if (!found.value().has_value()) {
    // Not ours: let the stack fall through (pam_unix for system accounts).
    if (s.logger.debug_enabled())
      s.logger.Log(LogLevel::kDebug, std::string(kWhat) + ": no such user " + Describe(r));
    return FlowResult{Decision::kUnknownUser, "no such user in the store"};
  }
  const UserRecord& user = **found;
  if (user.disabled) {
    prompter.Error("Your account is disabled. Ask your administrator to enable it.");
    return Finish(s, r, kWhat, "account", Decision::kDisabled, "account is disabled");
  }
  const AccountState state = StateOf(s.config, user, s.clock.Now());
  switch (state.change) {
    case AccountState::Change::kAdminReset:
      prompter.Error(
          "You are required to change your password immediately (administrator enforced).");
      return Finish(s, r, kWhat, "account", Decision::kNewPasswordRequired,
                    "password change required (administrator reset)");
    case AccountState::Change::kExpired: {
      const int days = s.config.password_max_days;
      prompter.Error("Your password has expired (it is older than " + std::to_string(days) +
                     (days == 1 ? " day" : " days") + "). You are required to change it now.");
      return Finish(s, r, kWhat, "account", Decision::kNewPasswordRequired,
                    "password older than password_max_days = " + std::to_string(days));
    }
    case AccountState::Change::kNone:
      break;
  }
  s.logger.Log(LogLevel::kInfo, std::string(kWhat) + " success for " + Describe(r));
  return FlowResult{Decision::kSuccess, "account usable"};
}

FlowResult ChangePassword(Services& s, Prompter& prompter, const RequestInfo& r,
                          const SecretBuffer* current, int tries) {
  const char* kWhat = "password change";
  const char* kMethod = "password-change";
  if (!CheckUserName(r.user).ok())
    return FlowResult{Decision::kUnknownUser, "not a valid user name"};
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok())
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, found.status().message());
  if (!found->has_value()) return FlowResult{Decision::kUnknownUser, "no such user in the store"};
  const UserRecord user = **found;
  Result<std::vector<std::string>> history = s.store.PasswordHistory(r.user);
  if (!history.ok())
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, history.status().message());

  std::string last_refusal = "no attempt";
  for (int attempt = 0; attempt < (tries < 1 ? 1 : tries); ++attempt) {
    Result<SecretBuffer> fresh = prompter.AskNewPassword();
    if (!fresh.ok()) {
      if (fresh.status().code() == Code::kInvalidArgument) {  // entries differ; already said
        last_refusal = fresh.status().message();
        continue;
      }
      return Finish(
          s, r, kWhat, kMethod,
          fresh.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted,
          "no new password: " + fresh.status().message());
    }
    PolicySubject subject{r.user, fresh->view(), current, user.password_hash, &history.value()};
    Status policy = CheckPasswordPolicy(s.config, s.hasher, subject, s.file_reader);
    if (!policy.ok()) {
      if (policy.code() != Code::kInvalidArgument) {
        prompter.Error("The password cannot be checked now; nothing was changed.");
        return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, policy.message());
      }
      last_refusal = policy.message();
      prompter.Error(last_refusal);
      continue;
    }
    Result<std::string> hash = s.hasher.Hash(fresh->view(), s.random);
    if (!hash.ok())
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, hash.status().message());
    // A new password ends the app passwords made under the old one, in the
    // same transaction (revoke_app_passwords_on_password_change).
    const bool revoke = s.config.revoke_app_passwords_on_password_change;
    const int live = revoke ? LiveAppPasswordCount(s, r) : 0;
    Status stored = s.store.SetPassword(r.user, hash.value(), s.clock.Now(), false,
                                        s.config.password_history, revoke);
    if (!stored.ok()) {
      prompter.Error("The new password could not be stored; nothing was changed.");
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, stored.message());
    }
    if (live > 0) {
      prompter.Info("Your " + std::to_string(live) + " app password" +
                    (live == 1 ? " was" : "s were") +
                    " revoked with the old password. Make new ones for your mail apps with: "
                    "sesame app-password create NAME");
      NoteAppPasswordsRevoked(s, r, live, "by the password change");
    }
    return Finish(s, r, kWhat, kMethod, Decision::kSuccess, "password changed");
  }
  return Finish(s, r, kWhat, kMethod, Decision::kFailure, "refused: " + last_refusal);
}

}  // namespace sesame
