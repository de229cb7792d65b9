#include "core/flows/app_passwords.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/run_command.h"
#include "core/crypto/app_password.h"
#include "core/crypto/wrong_attempt.h"
#include "core/flows/flow_internal.h"
#include "core/flows/mfa_flows.h"
#include "core/policy/mfa_requirement.h"
#include "core/policy/password_policy.h"

namespace sesame {

using flow_internal::Conclude;
using flow_internal::ConcludeAppPassword;
using flow_internal::Describe;
using flow_internal::Finish;
using flow_internal::kCoalesceSeconds;
using flow_internal::Note;
using flow_internal::PolicyFor;

namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kMaxExpiryDays = 3650;
// on_revoke_command gets this long, then SIGKILL.
constexpr int kRevokeCommandTimeoutMs = 5000;

std::string Date(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  tm parts{};
  gmtime_r(&tt, &parts);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &parts);
  return buf;
}

std::string ServicesText(const std::vector<std::string>& services) {
  if (services.empty()) return "every mode=app_password service";
  std::string out;
  for (const std::string& service : services) {
    if (!out.empty()) out += ", ";
    out += service;
  }
  return out;
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<int64_t> ParseAppPasswordExpiry(std::string_view text, int64_t now) {
  const std::string accepted = "use a number of days (e.g. 90d, at most " +
                               std::to_string(kMaxExpiryDays) +
                               "d) or a date YYYY-MM-DD after today";
  const std::string shown = SanitizeForLog(text.substr(0, 32));
  if (text.size() >= 2 && text.back() == 'd' && AllDigits(text.substr(0, text.size() - 1))) {
    std::string_view digits = text.substr(0, text.size() - 1);
    if (digits.size() > 5)
      return Status(Code::kInvalidArgument, "--expires " + shown + ": " + accepted);
    int64_t days = std::stoll(std::string(digits));
    if (days < 1 || days > kMaxExpiryDays)
      return Status(Code::kInvalidArgument, "--expires " + shown + ": " + accepted);
    return now + days * kDay;
  }
  if (text.size() == 10 && text[4] == '-' && text[7] == '-' && AllDigits(text.substr(0, 4)) &&
      AllDigits(text.substr(5, 2)) && AllDigits(text.substr(8, 2))) {
    tm parts{};
    parts.tm_year = std::stoi(std::string(text.substr(0, 4))) - 1900;
    parts.tm_mon = std::stoi(std::string(text.substr(5, 2))) - 1;
    parts.tm_mday = std::stoi(std::string(text.substr(8, 2)));
    const int year = parts.tm_year;
    const int month = parts.tm_mon;
    const int day = parts.tm_mday;
    const time_t at = timegm(&parts);
    // timegm normalizes: 2027-02-30 would become March 2.
    if (at == static_cast<time_t>(-1) || parts.tm_year != year || parts.tm_mon != month ||
        parts.tm_mday != day) {
      return Status(Code::kInvalidArgument, "--expires " + shown + ": no such date; " + accepted);
    }
    const int64_t when = static_cast<int64_t>(at);
    if (when <= now)
      return Status(Code::kInvalidArgument, "--expires " + shown +
                                                ": that date is not after today (it " +
                                                "ends at 00:00 UTC that day); " + accepted);
    if (when > now + kMaxExpiryDays * kDay)
      return Status(Code::kInvalidArgument, "--expires " + shown + ": more than " +
                                                std::to_string(kMaxExpiryDays) + " days ahead; " +
                                                accepted);
    return when;
  }
  return Status(Code::kInvalidArgument, "--expires " + shown + ": " + accepted);
}

Result<AppPasswordRecord> CheckAppPasswordRequest(const AppPasswordRequest& request,
                                                  std::string_view user, int64_t now) {
  AppPasswordRecord record;
  SESAME_RETURN_IF_ERROR(CheckAppPasswordName(request.name));
  Result<std::vector<std::string>> services = ParseAppPasswordServices(request.services);
  if (!services.ok()) return services.status();
  if (!request.expires.empty()) {
    Result<int64_t> expires = ParseAppPasswordExpiry(request.expires, now);
    if (!expires.ok()) return expires.status();
    record.expires = expires.value();
  }
  record.user = std::string(user);
  record.name = request.name;
  record.services = std::move(services.value());
  record.created = now;
  return record;
}

Status MayMakeAppPasswords(Services& s, const UserRecord& user) {
  if (s.config.app_password_max == 0) {
    return Status(Code::kPermissionDenied,
                  "app passwords are turned off on this host (app_password_max = 0 in " +
                      s.config.source + ")");
  }
  if (s.config.app_passwords_for == "all" || !user.totp_sealed.empty()) return Status::Ok();
  Result<MfaRequirement> required = MfaRequirementOf(s.config, s.store, user);
  if (!required.ok()) return required.status();
  if (required->required) return Status::Ok();
  return Status(Code::kPermissionDenied,
                "app passwords are for accounts that use two-step sign-in "
                "(app_passwords_for = mfa_users): set up an authenticator app first with "
                "'sesame mfa enroll', then make the app password");
}

Status MakeAppPassword(Services& s, const RequestInfo& r, const AppPasswordRequest& request,
                       MadeAppPassword* out) {
  const int64_t now = s.clock.Now();
  Result<AppPasswordRecord> record = CheckAppPasswordRequest(request, r.user, now);
  if (!record.ok()) return record.status();
  if (s.host_key == nullptr) {
    return Status(Code::kUnavailable,
                  "the key file was not loaded; an app password cannot be made without it");
  }
  Result<SecretBuffer> letters = NewAppPassword(s.random);
  if (!letters.ok()) return letters.status();
  record->digest = AppPasswordDigest(*s.host_key, letters->view());
  if (record->digest.empty())
    return Status(Code::kUnavailable, "cannot compute the app password's digest (key file)");
  SESAME_RETURN_IF_ERROR(s.store.AddAppPassword(record.value(), s.config.app_password_max, now));
  out->shown = GroupAppPassword(letters->view());
  out->record = std::move(record.value());
  const std::string expires =
      out->record.expires == 0 ? "never expires" : "expires " + Date(out->record.expires);
  Note(s, r, ("app-password:" + out->record.name).c_str(), "created",
       "for " + ServicesText(out->record.services) + "; " + expires);
  s.logger.Log(LogLevel::kInfo, "app password \"" + SanitizeForLog(out->record.name) +
                                    "\" created for " + Describe(r) + " (" +
                                    ServicesText(out->record.services) + "; " + expires + ")");
  return Status::Ok();
}

FlowResult CreateAppPassword(Services& s, Prompter& prompter, const RequestInfo& r,
                             const AppPasswordRequest& request, const ShowAppPassword& show) {
  if (!CheckUserName(r.user).ok())
    return FlowResult{Decision::kUnknownUser, "not a valid user name"};
  Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
  if (!found.ok()) return FlowResult{Decision::kUnavailable, found.status().message()};
  if (!found->has_value()) return FlowResult{Decision::kUnknownUser, "no such user in the store"};
  const UserRecord user = **found;
  const int64_t now = s.clock.Now();

  // Everything that can be refused without the person's proof is refused
  // before any prompt.
  Result<AppPasswordRecord> checked = CheckAppPasswordRequest(request, r.user, now);
  if (!checked.ok()) {
    prompter.Error(checked.status().message());
    return FlowResult{Decision::kFailure, checked.status().message()};
  }
  Status may = MayMakeAppPasswords(s, user);
  if (!may.ok()) {
    if (may.code() != Code::kPermissionDenied)
      return FlowResult{Decision::kUnavailable, may.message()};
    prompter.Error("You cannot make app passwords: " + may.message() + ".");
    return FlowResult{Decision::kFailure, may.message()};
  }
  Result<std::vector<AppPasswordRecord>> existing = s.store.ListAppPasswords(r.user);
  if (!existing.ok()) return FlowResult{Decision::kUnavailable, existing.status().message()};
  int live = 0;
  for (const AppPasswordRecord& ap : existing.value()) {
    if (!ap.LiveAt(now)) continue;
    ++live;
    if (ap.name == request.name) {
      const std::string why = "you already have an app password named \"" + request.name +
                              "\"; choose another name, or revoke that one first "
                              "(sesame app-password revoke NAME)";
      prompter.Error("You cannot make this app password: " + why + ".");
      return FlowResult{Decision::kFailure, why};
    }
  }
  if (live >= s.config.app_password_max) {
    const std::string why = "you have " + std::to_string(live) +
                            " app passwords, the most allowed (app_password_max = " +
                            std::to_string(s.config.app_password_max) +
                            "); revoke one you no longer use first";
    prompter.Error("You cannot make another app password: " + why + ".");
    return FlowResult{Decision::kFailure, why};
  }

  UserRecord proved;
  FlowResult identity = VerifyIdentity(s, prompter, r, &proved);
  if (identity.decision != Decision::kSuccess) return identity;

  MadeAppPassword made;
  Status stored = MakeAppPassword(s, r, request, &made);
  if (!stored.ok()) {
    const bool refused = stored.code() == Code::kAlreadyExists ||
                         stored.code() == Code::kPermissionDenied ||
                         stored.code() == Code::kInvalidArgument;
    prompter.Error((refused ? "The app password was not made: "
                            : "The app password could not be "
                              "stored: ") +
                   stored.message() + ".");
    return FlowResult{refused ? Decision::kFailure : Decision::kUnavailable, stored.message()};
  }
  Status shown = show(made);
  if (!shown.ok()) {
    // Never seen, so never usable: revoke it (nothing to flush anywhere).
    Result<int> revoked = s.store.RevokeAppPasswords(r.user, made.record.name, s.clock.Now());
    const std::string undone = revoked.ok()
                                   ? "it was revoked again"
                                   : "revoking it failed too (" + revoked.status().message() +
                                         "): revoke it with sesame app-password revoke";
    prompter.Error("The app password could not be shown (" + shown.message() + "); " + undone +
                   ".");
    s.logger.Log(LogLevel::kWarning, "new app password of " + Describe(r) +
                                         " could not be shown: " + shown.message() + "; " + undone);
    return FlowResult{Decision::kUnavailable, "could not be shown: " + shown.message()};
  }
  return FlowResult{Decision::kSuccess, "app password \"" + made.record.name + "\" created"};
}

void RunRevokeCommand(Services& s, const RequestInfo& r) {
  if (s.config.on_revoke_argv.empty()) return;
  CommandRunner direct;
  CommandRunner& runner = s.command_runner != nullptr ? *s.command_runner : direct;
  Result<CommandResult> ran =
      runner.Run(RevokeCommandFor(s.config, r.user), kRevokeCommandTimeoutMs);
  const std::string program = SanitizeForLog(s.config.on_revoke_argv[0]);
  if (!ran.ok()) {
    s.logger.Log(LogLevel::kError, "on_revoke_command (" + program + ") for " + Describe(r) +
                                       " was not run: " + ran.status().message() +
                                       "; the app passwords are revoked in the store all the "
                                       "same");
    return;
  }
  if (ran->ok()) {
    s.logger.Log(LogLevel::kInfo,
                 "on_revoke_command (" + program + ") for " + Describe(r) + " " + ran->Describe());
  } else {
    s.logger.Log(LogLevel::kWarning,
                 "on_revoke_command (" + program + ") for " + Describe(r) + " " + ran->Describe() +
                     " (after " + std::to_string(kRevokeCommandTimeoutMs) +
                     " ms at most); the app passwords are revoked in the store all the same");
  }
}

Result<int> RevokeAppPasswordsOf(Services& s, const RequestInfo& r, std::string_view name,
                                 const std::string& by) {
  Result<int> revoked = s.store.RevokeAppPasswords(r.user, name, s.clock.Now());
  if (!revoked.ok()) return revoked;
  if (revoked.value() > 0) {
    const std::string what = name.empty() ? std::to_string(revoked.value()) + " app password" +
                                                (revoked.value() == 1 ? "" : "s")
                                          : "app password \"" + std::string(name) + "\"";
    const std::string method =
        name.empty() ? std::string("app-password") : "app-password:" + std::string(name);
    Note(s, r, method.c_str(), "revoked", what + " revoked " + by);
    s.logger.Log(LogLevel::kInfo, SanitizeForLog(what) + " of " + Describe(r) + " revoked " + by);
    RunRevokeCommand(s, r);
  }
  return revoked;
}

int LiveAppPasswordCount(Services& s, const RequestInfo& r) {
  Result<std::vector<AppPasswordRecord>> all = s.store.ListAppPasswords(r.user);
  if (!all.ok()) return 0;
  const int64_t now = s.clock.Now();
  return static_cast<int>(std::count_if(
      all->begin(), all->end(), [now](const AppPasswordRecord& a) { return a.LiveAt(now); }));
}

void NoteAppPasswordsRevoked(Services& s, const RequestInfo& r, int count, const std::string& by) {
  if (count <= 0) return;
  const std::string what =
      std::to_string(count) + " app password" + (count == 1 ? "" : "s") + " revoked " + by;
  Note(s, r, "app-password", "revoked", what);
  s.logger.Log(LogLevel::kInfo,
               what + " for " + Describe(r) + " (revoke_app_passwords_on_password_change = yes)");
  RunRevokeCommand(s, r);
}

bool AppPasswordAllows(const AppPasswordRecord& record, std::string_view service) {
  if (record.services.empty()) return true;
  std::string lowered(service);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(record.services.begin(), record.services.end(), lowered) !=
         record.services.end();
}

namespace {

// A refusal in mode=app_password counted in the app-password bucket: a
// client retrying what it saved counts once (the digest), and while the
// bucket is locked nothing more is counted. The refusal stands whatever
// the store says.
FlowResult CountAppFailure(Services& s, const RequestInfo& r, const UserRecord& user,
                           const char* what, const std::string& method, Decision decision,
                           const std::string& reason, std::string_view digest) {
  flow_internal::Attempt attempt;
  attempt.policy = PolicyFor(s, user, LockBucket::kAppPassword);
  attempt.lockout_applies = attempt.policy.deny > 0;
  Result<Reservation> reserved =
      s.store.ReserveAttempt(r.user, s.clock.Now(), attempt.policy, digest);
  if (!reserved.ok()) {
    return Finish(
        s, r, what, method.c_str(), decision,
        reason + " (the failure could not be counted: " + reserved.status().message() + ")");
  }
  switch (reserved->verdict) {
    case Reservation::Verdict::kLocked:
      return Finish(s, r, what, method.c_str(), decision,
                    reason + " (app-password sign-ins are locked; not counted)", kCoalesceSeconds);
    case Reservation::Verdict::kFull:
      return Finish(s, r, what, method.c_str(), decision,
                    reason + " (not counted: the window is full of attempts being checked)",
                    kCoalesceSeconds);
    case Reservation::Verdict::kRepeated:
      return Finish(s, r, what, method.c_str(), decision,
                    reason + " (the same as an earlier wrong attempt: not counted again; " +
                        flow_internal::FailuresOf(attempt.policy, reserved->failures) + ")",
                    kCoalesceSeconds);
    case Reservation::Verdict::kReserved:
      break;
  }
  attempt.open = true;
  attempt.reservation = reserved.value();
  return Conclude(s, r, attempt, what, method.c_str(), decision, reason, digest);
}

}  // namespace

FlowResult AppPasswordSignIn(Services& s, Prompter& prompter, const RequestInfo& r) {
  const char* kWhat = "app-password sign-in";
  const char* kMethod = "app-password";
  const bool name_ok = CheckUserName(r.user).ok();
  // The one question. Dovecot answers every hidden prompt with what the
  // client sent; use_first_pass takes it from an earlier module.
  Result<SecretBuffer> typed = prompter.AskSecret(SecretKind::kCurrentPassword, "Password: ");
  if (!typed.ok()) {
    Decision d =
        typed.status().code() == Code::kAuthFailed ? Decision::kFailure : Decision::kAborted;
    return Finish(s, r, kWhat, kMethod, d, "no password: " + typed.status().message());
  }
  const SecretBuffer& secret = typed.value();
  const bool hopeless = secret.empty() || secret.size() > kMaxPasswordBytes;
  const std::string hopeless_reason =
      secret.empty() ? "empty password"
                     : "password longer than " + std::to_string(kMaxPasswordBytes) + " bytes";

  std::optional<UserRecord> user;
  if (name_ok) {
    Result<std::optional<UserRecord>> found = s.store.GetUser(r.user);
    if (!found.ok())
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, found.status().message());
    user = std::move(found.value());
  }

  // 1. An app password: found by its digest, one indexed lookup. Known and
  // unknown users alike.
  std::optional<AppPasswordRecord> found;
  const SecretBuffer normalized = hopeless ? SecretBuffer() : NormalizeAppPassword(secret.view());
  if (!normalized.empty()) {
    if (s.host_key == nullptr) {
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable,
                    "the key file was not loaded; cannot check an app password");
    }
    const std::string digest = AppPasswordDigest(*s.host_key, normalized.view());
    if (digest.empty()) {
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable,
                    "cannot compute an app-password digest with the key file");
    }
    Result<std::optional<AppPasswordRecord>> lookup = s.store.FindAppPassword(digest);
    if (!lookup.ok())
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, lookup.status().message());
    found = std::move(lookup.value());
  }
  const std::string& rule = s.config.app_password_main_password;

  if (!user.has_value()) {
    // What a known user without MFA costs: a main password checked where
    // the rule lets one be.
    if (!hopeless && rule != "deny") {
      Status dummy = s.hasher.DummyVerify(secret.view());
      if (!dummy.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, dummy.message());
    }
    return Finish(s, r, kWhat, kMethod, Decision::kUnknownUser,
                  name_ok ? "no such user in the store" : "not a valid user name",
                  hopeless || !name_ok ? kCoalesceSeconds : 0);
  }

  // Only a failure or a main password needs it: a right app password (the
  // common case, a mail client polling) does not pay for it.
  auto wrong_digest = [&] {
    return WrongAttemptDigest(s.host_key, AttemptKind::kPassword, r.user, secret.view());
  };
  if (found.has_value() && found->user == user->name) {
    const AppPasswordRecord& ap = *found;
    const std::string method = "app-password:" + ap.name;
    const int64_t now = s.clock.Now();
    std::string refused;
    std::string told;
    if (ap.revoked != 0) {
      refused = "app password \"" + ap.name + "\" was revoked on " + Date(ap.revoked);
      told = "This app password was revoked.";
    } else if (ap.expires != 0 && ap.expires <= now) {
      refused = "app password \"" + ap.name + "\" expired on " + Date(ap.expires);
      told = "This app password has expired.";
    } else if (!AppPasswordAllows(ap, r.service)) {
      refused = "app password \"" + ap.name + "\" is not for service " + SanitizeForLog(r.service) +
                " (it is for " + ServicesText(ap.services) + ")";
      told = "This app password is not for this service.";
    }
    if (refused.empty()) {
      if (user->disabled)
        return Finish(s, r, kWhat, method.c_str(), Decision::kDisabled, "account is disabled");
      return ConcludeAppPassword(s, r, kWhat, method, PolicyFor(s, *user, LockBucket::kAppPassword),
                                 ap.id, "app password \"" + ap.name + "\" accepted");
    }
    prompter.Error(told + " Make a new one with: sesame app-password create NAME");
    return CountAppFailure(s, r, *user, kWhat, method, Decision::kFailure, refused, wrong_digest());
  }

  // 2. Not an app password of this user: the main password, where the rule
  // allows it for this user.
  if (hopeless)
    return Finish(s, r, kWhat, kMethod, Decision::kFailure, hopeless_reason, kCoalesceSeconds);
  bool uses_mfa = !user->totp_sealed.empty();
  if (!uses_mfa && rule == "deny_if_mfa") {
    Result<MfaRequirement> required = MfaRequirementOf(s.config, s.store, *user);
    if (!required.ok()) {
      return Finish(s, r, kWhat, kMethod, Decision::kUnavailable,
                    "cannot tell whether the user must use MFA: " + required.status().message());
    }
    uses_mfa = required->required;
  }
  const char* what_it_is = normalized.empty()  ? "not an app password"
                           : found.has_value() ? "not an app password of this user"
                                               : "no such app password";
  if (rule == "deny" || (rule == "deny_if_mfa" && uses_mfa)) {
    const std::string why =
        rule == "deny" ? "this host takes only app passwords here (app_password_main_password = "
                         "deny)"
                       : "the account uses two-step sign-in, so only app passwords are taken "
                         "here (app_password_main_password = deny_if_mfa)";
    if (rule == "deny_if_mfa") {
      // Not checked, but paid for: an unknown name costs a dummy verify
      // under this rule (above), so this refusal does too, or the time
      // taken would tell MFA users from names that are not accounts.
      Status dummy = s.hasher.DummyVerify(secret.view());
      if (!dummy.ok()) return Finish(s, r, kWhat, kMethod, Decision::kUnavailable, dummy.message());
    }
    prompter.Error(
        "This service needs an app password; your account's main password is not accepted "
        "here. Make one with: sesame app-password create NAME");
    return CountAppFailure(s, r, *user, kWhat, kMethod, Decision::kAppPasswordRequired,
                           std::string(what_it_is) + "; an app password is required: " + why +
                               "; the main password was not checked",
                           wrong_digest());
  }

  // The main password, counted in the app-password bucket before it is
  // checked; that bucket's lock refuses it.
  const std::string password_digest = wrong_digest();
  const char* kPasswordMethod = "password";
  flow_internal::Attempt attempt;
  if (std::optional<FlowResult> refused =
          flow_internal::Reserve(s, prompter, r, *user, kWhat, kPasswordMethod, secret.view(),
                                 password_digest, "password", &attempt, LockBucket::kAppPassword)) {
    return *refused;
  }
  if (user->password_hash.empty()) {
    Status dummy = s.hasher.DummyVerify(secret.view());
    if (!dummy.ok())
      return Conclude(s, r, attempt, kWhat, kPasswordMethod, Decision::kUnavailable,
                      dummy.message());
    return Conclude(s, r, attempt, kWhat, kPasswordMethod, Decision::kFailure,
                    std::string(what_it_is) + "; account has no password set", password_digest);
  }
  Result<bool> match = s.hasher.Verify(user->password_hash, secret.view());
  if (!match.ok()) {
    return Conclude(s, r, attempt, kWhat, kPasswordMethod, Decision::kUnavailable,
                    "cannot check the password: " + match.status().message());
  }
  if (!match.value()) {
    return Conclude(s, r, attempt, kWhat, kPasswordMethod, Decision::kFailure,
                    std::string(what_it_is) + "; wrong password", password_digest);
  }
  if (user->disabled) {
    return Conclude(s, r, attempt, kWhat, kPasswordMethod, Decision::kDisabled,
                    "account is disabled");
  }
  if (s.hasher.NeedsRehash(user->password_hash)) flow_internal::Rehash(s, r, *user, secret);
  return Conclude(s, r, attempt, kWhat, kPasswordMethod, Decision::kSuccess,
                  uses_mfa ? "main password accepted without a second factor "
                             "(app_password_main_password = allow)"
                           : "main password accepted (app_password_main_password = " + rule + ")");
}

}  // namespace sesame
