#include "core/sign_in.h"

#include <optional>
#include <string>

#include "core/input_check.h"

namespace sesame {
namespace {

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
    case Decision::kAborted:
      return LogLevel::kNotice;
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
    case Decision::kUnavailable:
      return "error";
    case Decision::kAborted:
      return "aborted";
  }
  return "error";
}

// Logs the decision and records it as a sign-in event. A success that cannot
// be recorded turns into kUnavailable.
FlowResult Finish(Services& s, const RequestInfo& r, const char* what, const char* method,
                  Decision decision, std::string reason) {
  SignInEvent event;
  event.time = s.clock.Now();
  event.user = r.user.substr(0, kMaxUserNameBytes * 4);
  event.service = r.service.substr(0, 256);
  event.remote_host = r.remote_host.substr(0, 256);
  event.method = method;
  event.outcome = OutcomeName(decision);
  event.detail = reason;
  // Unknown users and bad names are recorded too (that is what an attack
  // looks like), but with the name sanitised.
  if (decision == Decision::kUnknownUser) event.user = SanitizeForLog(r.user);
  Status recorded = s.store.RecordEvent(event);
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

// Replaces a hash made with other parameters; failures are logged only
// (the sign-in itself succeeded).
void Rehash(Services& s, const RequestInfo& r, const UserRecord& user, const SecretBuffer& pw) {
  Result<std::string> fresh = s.hasher.Hash(pw.view(), s.random);
  if (!fresh.ok()) {
    s.logger.Log(LogLevel::kWarning,
                 "cannot rehash the password of " + Describe(r) + ": " + fresh.status().message());
    return;
  }
  Result<bool> replaced = s.store.ReplacePasswordHash(r.user, user.password_hash, fresh.value(), 0);
  if (!replaced.ok()) {
    s.logger.Log(LogLevel::kWarning, "cannot store the rehashed password of " + Describe(r) + ": " +
                                         replaced.status().message());
  } else if (replaced.value()) {
    s.logger.Log(LogLevel::kInfo, "password hash of " + Describe(r) +
                                      " upgraded to the configured argon2id parameters");
  }
}

}  // namespace

const char* DecisionName(Decision decision) { return OutcomeName(decision); }

FlowResult PasswordSignIn(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "password sign-in";
  const char* kMethod = "password";
  const bool name_ok = CheckUserName(r.user).ok();

  Result<SecretBuffer> password = prompter.AskSecret(SecretKind::kCurrentPassword, "Password: ");
  if (!password.ok()) {
    Decision d =
        password.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted;
    return Finish(s, r, kWhat, kMethod, d, "no password: " + password.status().message());
  }
  const SecretBuffer& pw = password.value();
  // Input that can never match is refused without hashing, whoever the
  // user is (the same cost for known and unknown users).
  const bool hopeless = pw.empty() || pw.size() > kMaxPasswordBytes;
  const std::string hopeless_reason =
      pw.empty() ? "empty password"
                 : "password longer than " + std::to_string(kMaxPasswordBytes) + " bytes";

  std::optional<UserRecord> user;
  if (name_ok) {
    Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
    if (!found.ok()) {
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, found.status().message());
    }
    user = std::move(found.value());
  }
  if (!user.has_value()) {
    if (!hopeless) {
      Status dummy = s.hasher.DummyVerify(pw.view());
      if (!dummy.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, dummy.message());
    }
    return Finish(s, r, kWhat, kMethod, Decision::kUnknownUser,
                  name_ok ? "no such user in the store" : "not a valid user name");
  }
  if (hopeless) return Finish(s, r, kWhat, kMethod, Decision::kFailure, hopeless_reason);
  if (user->password_hash.empty()) {
    Status dummy = s.hasher.DummyVerify(pw.view());
    if (!dummy.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, dummy.message());
    return Finish(s, r, kWhat, kMethod, Decision::kFailure, "account has no password set");
  }

  Result<bool> match = s.hasher.Verify(user->password_hash, pw.view());
  if (!match.ok()) {
    return Finish(s, r, kWhat, kMethod, Decision::kUnavailable,
                  "cannot check the password: " + match.status().message());
  }
  if (!match.value()) return Finish(s, r, kWhat, kMethod, Decision::kFailure, "wrong password");
  if (user->disabled) {
    return Finish(s, r, kWhat, kMethod, Decision::kDisabled, "account is disabled");
  }

  if (s.hasher.NeedsRehash(user->password_hash)) Rehash(s, r, *user, pw);
  return Finish(s, r, kWhat, kMethod, Decision::kSuccess, "password accepted");
}

FlowResult CheckAccount(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "account check";
  if (!CheckUserName(r.user).ok()) {
    s.logger.Log(LogLevel::kNotice, std::string(kWhat) + " unknown-user for " + Describe(r) +
                                        ": not a valid user name");
    return FlowResult{Decision::kUnknownUser, "not a valid user name"};
  }
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
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
  if (found.value()->disabled) {
    prompter.Error("Your account is disabled. Ask your administrator to enable it.");
    return Finish(s, r, kWhat, "account", Decision::kDisabled, "account is disabled");
  }
  s.logger.Log(LogLevel::kInfo, std::string(kWhat) + " success for " + Describe(r));
  return FlowResult{Decision::kSuccess, "account usable"};
}

}  // namespace sesame
