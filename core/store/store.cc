// The checks every backend gets in front of it (store.h): written once, so
// two backends refuse bad arguments the same way, with the same message.
#include "core/store/store.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/base/secret.h"
#include "core/crypto/app_password.h"
#include "core/store/backend_common.h"

namespace sesame {

bool RememberedWrongAttempt(std::string_view recent, std::string_view attempt) {
  bool found = false;
  for (size_t at = 0; at + kWrongAttemptDigestChars <= recent.size();
       at += kWrongAttemptDigestChars) {
    found |= ConstantTimeEquals(recent.substr(at, kWrongAttemptDigestChars), attempt);
  }
  return found;
}

std::string JoinAppPasswordServices(const std::vector<std::string>& services) {
  std::string joined;
  for (const std::string& service : services) {
    if (!joined.empty()) joined += ",";
    joined += service;
  }
  return joined;
}

std::vector<std::string> SplitNonEmpty(std::string_view joined, char separator) {
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < joined.size()) {
    size_t end = joined.find(separator, start);
    if (end == std::string_view::npos) end = joined.size();
    if (end > start) pieces.emplace_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return pieces;
}

std::vector<std::string> SplitAppPasswordServices(std::string_view stored) {
  return SplitNonEmpty(stored, ',');
}

std::string JoinForEventFilter(const std::vector<std::string>& names) {
  std::string joined(1, '\x1f');
  for (const std::string& name : names) joined += name + '\x1f';
  return joined;
}

Status MarkNewHosts(
    std::vector<SignInEvent>& events,
    const std::function<Result<FirstSuccessByHost>(const std::string& user)>& first_successes) {
  std::map<std::string, FirstSuccessByHost> by_user;
  for (const SignInEvent& e : events) {
    if (e.remote_host.empty() || by_user.count(e.user) != 0) continue;
    Result<FirstSuccessByHost> first = first_successes(e.user);
    if (!first.ok()) return first.status();
    by_user.emplace(e.user, std::move(*first));
  }
  for (SignInEvent& e : events) {
    if (e.remote_host.empty()) {
      e.new_host = false;
      continue;
    }
    const FirstSuccessByHost& first = by_user[e.user];
    auto it = first.find(e.remote_host);
    e.new_host = it == first.end() || it->second >= e.id;
  }
  return Status::Ok();
}

Result<SchemaStep> DecideSchemaStep(const std::string& store, int found, int known, bool create,
                                    bool migrate) {
  if (found == known) return SchemaStep::kUpToDate;
  if (found > known) {
    return Status(Code::kUnavailable, store + " has schema version " + std::to_string(found) +
                                          " but this sesame knows only up to " +
                                          std::to_string(known) + "; upgrade sesame");
  }
  if (found == 0 && !create) {
    return Status(Code::kUnavailable,
                  store + " is empty (no schema); run `sesame-admin init` to initialize it");
  }
  if (found > 0 && !migrate) {
    return Status(Code::kUnavailable, store + " has schema version " + std::to_string(found) +
                                          " but this sesame needs " + std::to_string(known) +
                                          "; run `sesame-admin db migrate`");
  }
  return SchemaStep::kMigrate;
}

int64_t LockUntil(int64_t now, const LockoutPolicy& policy) {
  if (policy.unlock_time <= 0) return kLockedUntilUnlocked;
  int64_t until = now > kLockedUntilUnlocked - 1 - policy.unlock_time ? kLockedUntilUnlocked - 1
                                                                      : now + policy.unlock_time;
  return until < 1 ? 1 : until;
}

Status CheckWrongAttemptDigest(std::string_view attempt) {
  if (attempt.empty()) return Status::Ok();
  bool hex = attempt.size() == kWrongAttemptDigestChars;
  for (char c : attempt) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!hex) {
    return Status(Code::kInvalidArgument, "a wrong-attempt digest is not " +
                                              std::to_string(kWrongAttemptDigestChars) +
                                              " lower-case hex characters; nothing was written");
  }
  return Status::Ok();
}

Status CheckLockoutPolicy(const LockoutPolicy& policy) {
  if (policy.fail_interval < 0 || policy.unlock_time < 0) {
    return Status(Code::kInvalidArgument,
                  "the lockout policy has a negative fail_interval (" +
                      std::to_string(policy.fail_interval) + ") or unlock_time (" +
                      std::to_string(policy.unlock_time) + "); nothing was written");
  }
  return Status::Ok();
}

Status CheckRecoveryDigests(std::string_view user, const std::vector<std::string>& digests) {
  std::set<std::string_view> seen;
  for (const std::string& digest : digests) {
    if (digest.empty()) {
      return Status(Code::kInvalidArgument, "empty recovery code digest for user " +
                                                std::string(user) + "; nothing was written");
    }
    if (!seen.insert(digest).second) {
      return Status(Code::kInvalidArgument, "duplicate recovery code digest for user " +
                                                std::string(user) + "; nothing was written");
    }
  }
  return Status::Ok();
}

namespace {

bool IsLowerHex(std::string_view text, size_t size) {
  bool hex = text.size() == size;
  for (char c : text) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  return hex;
}

}  // namespace

Status CheckAppPasswordDigest(std::string_view digest) {
  if (!IsLowerHex(digest, kAppPasswordDigestChars)) {
    return Status(Code::kInvalidArgument, "an app-password digest is not " +
                                              std::to_string(kAppPasswordDigestChars) +
                                              " lower-case hex characters");
  }
  return Status::Ok();
}

Status CheckAppPasswordRecord(const AppPasswordRecord& record) {
  SESAME_RETURN_IF_ERROR(CheckAppPasswordName(record.name));
  SESAME_RETURN_IF_ERROR(CheckAppPasswordDigest(record.digest));
  Result<std::vector<std::string>> services =
      ParseAppPasswordServices(JoinAppPasswordServices(record.services));
  if (!services.ok()) return services.status();
  if (services->size() != record.services.size())
    return Status(Code::kInvalidArgument, "an empty service name in the services list");
  if (record.expires < 0) return Status(Code::kInvalidArgument, "a negative expiry time");
  return Status::Ok();
}

Status Store::AddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) {
  SESAME_RETURN_IF_ERROR(CheckAppPasswordRecord(record));
  if (max_live < 1) {
    return Status(Code::kPermissionDenied, "app passwords are not allowed (app_password_max = " +
                                               std::to_string(max_live) + ")");
  }
  return DoAddAppPassword(record, max_live, now);
}

Result<std::optional<AppPasswordRecord>> Store::FindAppPassword(std::string_view digest) {
  SESAME_RETURN_IF_ERROR(CheckAppPasswordDigest(digest));
  return DoFindAppPassword(digest);
}

Result<Reservation> Store::ReserveAttempt(std::string_view name, int64_t now,
                                          const LockoutPolicy& policy, std::string_view attempt) {
  SESAME_RETURN_IF_ERROR(CheckWrongAttemptDigest(attempt));
  SESAME_RETURN_IF_ERROR(CheckLockoutPolicy(policy));
  return DoReserveAttempt(name, now, policy, attempt);
}

namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Result<SettleOutcome> Store::SettleAttempt(std::string_view name, const Settlement& settlement,
                                           const SignInEvent* event) {
  if (settlement.kind == Settlement::Kind::kWrong)
    SESAME_RETURN_IF_ERROR(CheckWrongAttemptDigest(settlement.attempt));
  SESAME_RETURN_IF_ERROR(CheckLockoutPolicy(settlement.policy));
  if (settlement.app_password_id != 0 &&
      (settlement.kind != Settlement::Kind::kSuccess || event == nullptr)) {
    return Status(Code::kInvalidArgument,
                  "an app password is marked used only by a success with its event; nothing "
                  "was written");
  }
  if (settlement.last_sign_in != nullptr) {
    EventFilter check;
    check.methods = settlement.last_sign_in->methods;
    check.outcomes = settlement.last_sign_in->failure_outcomes;
    SESAME_RETURN_IF_ERROR(CheckEventFilter(check));
  }
  // The backend answers the query with its write only where that is
  // ReadLastSignIn's answer after it: the event is a success the query
  // takes as a sign-in and not as a failure. Otherwise it is read after.
  const LastSignInQuery* query = settlement.last_sign_in;
  const bool with_write = query != nullptr && event != nullptr && event->outcome == "success" &&
                          Contains(query->methods, event->method) &&
                          !query->failure_outcomes.empty() &&
                          !Contains(query->failure_outcomes, event->outcome);
  Settlement passed = settlement;
  if (!with_write) passed.last_sign_in = nullptr;
  Result<SettleOutcome> settled = DoSettleAttempt(name, passed, event);
  if (!settled.ok() || settlement.last_sign_in == nullptr ||
      settlement.kind != Settlement::Kind::kSuccess || event == nullptr ||
      settled->app_password_gone || settled->last_sign_in.has_value()) {
    return settled;
  }
  // The backend did not answer it with the write: read it now.
  Result<LastSignIn> last = ReadLastSignIn(name, settlement.last_sign_in->methods,
                                           settlement.last_sign_in->failure_outcomes);
  if (last.ok()) {
    settled->last_sign_in = std::move(last.value());
  } else {
    settled->last_sign_in_error = last.status().message();
  }
  return settled;
}

Status Store::SetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                          bool must_change, int history_keep, bool revoke_app_passwords) {
  if (revoke_app_passwords && changed_at <= 0) {
    return Status(Code::kInvalidArgument,
                  "app passwords are revoked at a password change only with its time; nothing "
                  "was written");
  }
  if (history_keep < 0) {
    return Status(Code::kInvalidArgument, "password history length is negative (" +
                                              std::to_string(history_keep) +
                                              "); nothing was written");
  }
  return DoSetPassword(name, new_hash, changed_at, must_change, history_keep, revoke_app_passwords);
}

Status CheckEventFilter(const EventFilter& filter) {
  for (const std::vector<std::string>* list : {&filter.outcomes, &filter.methods}) {
    for (const std::string& value : *list) {
      bool clean = !value.empty();
      for (char c : value) clean = clean && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
      if (!clean) {
        return Status(Code::kInvalidArgument,
                      std::string("an event filter's ") +
                          (list == &filter.outcomes ? "outcome" : "method") +
                          " is empty or holds a control character");
      }
    }
  }
  return Status::Ok();
}

Result<std::vector<SignInEvent>> Store::ListEvents(const EventFilter& filter) {
  SESAME_RETURN_IF_ERROR(CheckEventFilter(filter));
  return DoListEvents(filter);
}

Result<int64_t> Store::CountEvents(const EventFilter& filter) {
  SESAME_RETURN_IF_ERROR(CheckEventFilter(filter));
  return DoCountEvents(filter);
}

Result<std::optional<UserRecord>> Store::DoGetUserForSignIn(std::string_view name) {
  Result<std::optional<UserRecord>> found = DoGetUser(name);
  if (!found.ok() || !found->has_value()) return found;
  Result<std::vector<std::string>> groups = DoMfaRequiredGroups();
  if (!groups.ok()) return groups.status();
  (*found)->mfa_required_groups = std::move(groups.value());
  return found;
}

Result<SignInStart> Store::GetUserForSignInAndReserve(std::string_view name, int64_t now,
                                                      const LockoutPolicy& policy,
                                                      std::string_view attempt) {
  SESAME_RETURN_IF_ERROR(CheckWrongAttemptDigest(attempt));
  SESAME_RETURN_IF_ERROR(CheckLockoutPolicy(policy));
  return DoGetUserForSignInAndReserve(name, now, policy, attempt);
}

Result<SignInStart> Store::DoGetUserForSignInAndReserve(std::string_view name, int64_t now,
                                                        const LockoutPolicy& policy,
                                                        std::string_view attempt) {
  Result<std::optional<UserRecord>> found = DoGetUserForSignIn(name);
  if (!found.ok()) return found.status();
  SignInStart start;
  start.user = std::move(found.value());
  if (start.user.has_value()) start.reservation = DoReserveAttempt(name, now, policy, attempt);
  return start;
}

Result<LastSignIn> Store::ReadLastSignIn(std::string_view user,
                                         const std::vector<std::string>& methods,
                                         const std::vector<std::string>& failure_outcomes) {
  EventFilter check;
  check.methods = methods;
  check.outcomes = failure_outcomes;
  SESAME_RETURN_IF_ERROR(CheckEventFilter(check));
  return DoReadLastSignIn(user, methods, failure_outcomes);
}

Result<LastSignIn> Store::DoReadLastSignIn(std::string_view user,
                                           const std::vector<std::string>& methods,
                                           const std::vector<std::string>& failure_outcomes) {
  EventFilter successes;
  successes.user = std::string(user);
  successes.outcomes = {"success"};
  successes.methods = methods;
  successes.newest_first = true;
  successes.limit = 2;  // this sign-in, and the one before it
  Result<std::vector<SignInEvent>> found = DoListEvents(successes);
  if (!found.ok()) return found.status();
  LastSignIn last;
  EventFilter failures;
  failures.user = std::string(user);
  failures.outcomes = failure_outcomes;
  failures.methods = methods;
  if (found->size() >= 2) {
    const SignInEvent& before = (*found)[1];
    last.found = true;
    last.time = before.time;
    last.service = before.service;
    last.remote_host = before.remote_host;
    failures.since = before.time;
    failures.after_id = before.id;  // a failure in the same second before it is not "since"
  }
  Result<int64_t> failed = DoCountEvents(failures);
  if (!failed.ok()) return failed.status();
  last.failures_since = *failed;
  return last;
}

Result<int64_t> Store::PruneEvents(int64_t older_than, int64_t batch) {
  if (batch < 1 || batch > kMaxPruneBatch) {
    return Status(Code::kInvalidArgument, "an event prune batch of " + std::to_string(batch) +
                                              " (1 to " + std::to_string(kMaxPruneBatch) +
                                              " are allowed); nothing was deleted");
  }
  return DoPruneEvents(older_than, batch);
}

Status Store::SetTotp(std::string_view name, std::string_view sealed,
                      const std::vector<std::string>& recovery_digests) {
  SESAME_RETURN_IF_ERROR(CheckRecoveryDigests(name, recovery_digests));
  return DoSetTotp(name, sealed, recovery_digests);
}

Status Store::EnrollTotp(std::string_view name, std::string_view expected_sealed,
                         std::string_view sealed, const std::vector<std::string>& recovery_digests,
                         int64_t confirmed_step) {
  SESAME_RETURN_IF_ERROR(CheckRecoveryDigests(name, recovery_digests));
  if (sealed.empty()) {
    return Status(Code::kInvalidArgument, "empty authenticator secret for user " +
                                              std::string(name) + "; nothing was written");
  }
  return DoEnrollTotp(name, expected_sealed, sealed, recovery_digests, confirmed_step);
}

Status Store::SetRecoveryCodes(std::string_view name,
                               const std::vector<std::string>& recovery_digests) {
  SESAME_RETURN_IF_ERROR(CheckRecoveryDigests(name, recovery_digests));
  return DoSetRecoveryCodes(name, recovery_digests);
}

}  // namespace sesame
