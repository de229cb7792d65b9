// StoreWrapper: a Store that forwards every call to another Store, with one
// hook around each call (the idea of leveldb's EnvWrapper). A subclass
// overrides Before/After only: the setuid tool raises its privileges around
// each store call (tools/sesame), and the tests inject failures
// (tests/fakes/failing_store.h).
//
// MUST rules:
//  - every Store method is forwarded, with its arguments unchanged; a new
//    Store method gets its forwarding here in the same change;
//  - After runs for every call whose Before returned OK, whatever the call
//    returned.
#ifndef SESAME_CORE_STORE_STORE_WRAPPER_H_
#define SESAME_CORE_STORE_STORE_WRAPPER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"

namespace sesame {

class StoreWrapper : public Store {
 public:
  explicit StoreWrapper(Store& target) : target_(target) {}
  StoreWrapper(const StoreWrapper&) = delete;
  StoreWrapper& operator=(const StoreWrapper&) = delete;

 protected:
  // Each backend method forwards to the target's public one (which runs
  // its own checks), with the hook around it.
  Result<std::optional<UserRecord>> DoGetUser(std::string_view name) override {
    return Call("GetUser", [&] { return target_.GetUser(name); });
  }
  Result<std::optional<UserRecord>> DoGetUserForSignIn(std::string_view name) override {
    return Call("GetUserForSignIn", [&] { return target_.GetUserForSignIn(name); });
  }
  Result<std::vector<UserRecord>> DoListUsers() override {
    return Call("ListUsers", [&] { return target_.ListUsers(); });
  }
  Status DoAddUser(const UserRecord& user) override {
    return Call("AddUser", [&] { return target_.AddUser(user); });
  }
  Status DoRemoveUser(std::string_view name) override {
    return Call("RemoveUser", [&] { return target_.RemoveUser(name); });
  }
  Status DoSetDisabled(std::string_view name, bool disabled) override {
    return Call("SetDisabled", [&] { return target_.SetDisabled(name, disabled); });
  }
  Result<bool> DoReplacePasswordHash(std::string_view name, std::string_view expected_hash,
                                     std::string_view new_hash, int64_t changed_at) override {
    return Call("ReplacePasswordHash", [&] {
      return target_.ReplacePasswordHash(name, expected_hash, new_hash, changed_at);
    });
  }
  Result<Reservation> DoReserveAttempt(std::string_view name, int64_t now,
                                       const LockoutPolicy& policy,
                                       std::string_view attempt) override {
    return Call("ReserveAttempt",
                [&] { return target_.ReserveAttempt(name, now, policy, attempt); });
  }
  Result<SettleOutcome> DoSettleAttempt(std::string_view name, const Settlement& settlement,
                                        const SignInEvent* event) override {
    // The last sign-in is left to this wrapper's own SettleAttempt, which
    // reads it through DoReadLastSignIn (and its hook) after this.
    Settlement plain = settlement;
    plain.last_sign_in = nullptr;
    return Call("SettleAttempt", [&] { return target_.SettleAttempt(name, plain, event); });
  }
  Status DoClearFailures(std::string_view name) override {
    return Call("ClearFailures", [&] { return target_.ClearFailures(name); });
  }
  Status DoSetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                       bool must_change, int history_keep, bool revoke_app_passwords) override {
    return Call("SetPassword", [&] {
      return target_.SetPassword(name, new_hash, changed_at, must_change, history_keep,
                                 revoke_app_passwords);
    });
  }
  Result<std::vector<std::string>> DoPasswordHistory(std::string_view name) override {
    return Call("PasswordHistory", [&] { return target_.PasswordHistory(name); });
  }
  Status DoSetMustChange(std::string_view name, bool must_change) override {
    return Call("SetMustChange", [&] { return target_.SetMustChange(name, must_change); });
  }
  Status DoSetTotp(std::string_view name, std::string_view sealed,
                   const std::vector<std::string>& recovery_digests) override {
    return Call("SetTotp", [&] { return target_.SetTotp(name, sealed, recovery_digests); });
  }
  Status DoEnrollTotp(std::string_view name, std::string_view expected_sealed,
                      std::string_view sealed, const std::vector<std::string>& recovery_digests,
                      int64_t confirmed_step) override {
    return Call("EnrollTotp", [&] {
      return target_.EnrollTotp(name, expected_sealed, sealed, recovery_digests, confirmed_step);
    });
  }
  Status DoSetRecoveryCodes(std::string_view name,
                            const std::vector<std::string>& recovery_digests) override {
    return Call("SetRecoveryCodes",
                [&] { return target_.SetRecoveryCodes(name, recovery_digests); });
  }
  Status DoClearMfa(std::string_view name) override {
    return Call("ClearMfa", [&] { return target_.ClearMfa(name); });
  }
  Status DoSetMfaRequired(std::string_view name, bool required, int64_t now) override {
    return Call("SetMfaRequired", [&] { return target_.SetMfaRequired(name, required, now); });
  }
  Result<int64_t> DoBeginMfaGrace(std::string_view name, int64_t now) override {
    return Call("BeginMfaGrace", [&] { return target_.BeginMfaGrace(name, now); });
  }
  Status DoSetMfaRequiredGroup(std::string_view group, bool required, int64_t now) override {
    return Call("SetMfaRequiredGroup",
                [&] { return target_.SetMfaRequiredGroup(group, required, now); });
  }
  Result<std::vector<std::string>> DoMfaRequiredGroups() override {
    return Call("MfaRequiredGroups", [&] { return target_.MfaRequiredGroups(); });
  }
  Result<CodeUse> DoUseTotpStep(std::string_view name, int64_t step,
                                const LockGuard& guard) override {
    return Call("UseTotpStep", [&] { return target_.UseTotpStep(name, step, guard); });
  }
  Result<CodeUse> DoUseRecoveryCode(std::string_view name, std::string_view digest,
                                    const LockGuard& guard) override {
    return Call("UseRecoveryCode", [&] { return target_.UseRecoveryCode(name, digest, guard); });
  }
  Result<int> DoCountRecoveryCodes(std::string_view name) override {
    return Call("CountRecoveryCodes", [&] { return target_.CountRecoveryCodes(name); });
  }
  Status DoRecordEvent(const SignInEvent& event, int64_t coalesce_seconds,
                       int64_t prune_before) override {
    return Call("RecordEvent",
                [&] { return target_.RecordEvent(event, coalesce_seconds, prune_before); });
  }
  Result<std::vector<SignInEvent>> DoListEvents(const EventFilter& filter) override {
    return Call("ListEvents", [&] { return target_.ListEvents(filter); });
  }
  Result<int64_t> DoCountEvents(const EventFilter& filter) override {
    return Call("CountEvents", [&] { return target_.CountEvents(filter); });
  }
  Result<LastSignIn> DoReadLastSignIn(std::string_view user,
                                      const std::vector<std::string>& methods,
                                      const std::vector<std::string>& failure_outcomes) override {
    return Call("ReadLastSignIn",
                [&] { return target_.ReadLastSignIn(user, methods, failure_outcomes); });
  }
  Result<int64_t> DoPruneEvents(int64_t older_than, int64_t batch) override {
    return Call("PruneEvents", [&] { return target_.PruneEvents(older_than, batch); });
  }
  Status DoAddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) override {
    return Call("AddAppPassword", [&] { return target_.AddAppPassword(record, max_live, now); });
  }
  Result<std::vector<AppPasswordRecord>> DoListAppPasswords(std::string_view user) override {
    return Call("ListAppPasswords", [&] { return target_.ListAppPasswords(user); });
  }
  Result<std::optional<AppPasswordRecord>> DoFindAppPassword(std::string_view digest) override {
    return Call("FindAppPassword", [&] { return target_.FindAppPassword(digest); });
  }
  Result<int> DoRevokeAppPasswords(std::string_view user, std::string_view name,
                                   int64_t now) override {
    return Call("RevokeAppPasswords", [&] { return target_.RevokeAppPasswords(user, name, now); });
  }
  Result<LockoutRecord> DoAppPasswordLockout(std::string_view user) override {
    return Call("AppPasswordLockout", [&] { return target_.AppPasswordLockout(user); });
  }
  Result<int> DoSchemaVersion() override {
    return Call("SchemaVersion", [&] { return target_.SchemaVersion(); });
  }
  Status DoStillUsable() override {
    return Call("StillUsable", [&] { return target_.StillUsable(); });
  }

  // Before each call, with the method's name ("ReserveAttempt"). A non-OK
  // status is returned to the caller instead of calling the target.
  virtual Status Before(const char* method) {
    static_cast<void>(method);
    return Status::Ok();
  }
  // After each call whose Before returned OK.
  virtual void After(const char* method) { static_cast<void>(method); }

  Store& target() { return target_; }

 private:
  template <typename Fn>
  auto Call(const char* method, Fn&& fn) -> decltype(fn()) {
    Status before = Before(method);
    if (!before.ok()) return before;
    auto result = fn();
    After(method);
    return result;
  }

  Store& target_;
};

}  // namespace sesame

#endif  // SESAME_CORE_STORE_STORE_WRAPPER_H_
