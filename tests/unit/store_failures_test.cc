// The flows' "if the store fails, deny" rules (core/flows/sign_in.h,
// mfa_flows.h), proved by failing one store call at a time: a FailingStore
// (tests/fakes/failing_store.h) around the real SQLite store, real argon2
// counted through its "argon2: start" debug line, a fake clock and a
// scripted Prompter. Each test also checks that the chosen call did fail,
// and, where it can, that the same request goes through once the store is
// healed (so what refused it was the failure alone).
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/base32.h"
#include "core/base/logger.h"
#include "core/crypto/password_hash.h"
#include "core/crypto/totp.h"
#include "core/flows/mfa_flows.h"
#include "core/flows/sign_in.h"
#include "core/store/store.h"
#include "tests/fakes/failing_store.h"
#include "tests/fakes/flow_test.h"
#include "tests/fakes/scripted_prompter.h"

namespace sesame {
namespace {

using testing::FailingStore;
using testing::ScriptedPrompter;

constexpr char kPassword[] = "correct horse battery staple";
constexpr char kNewPassword[] = "a brand new passphrase";
constexpr Code kFailures[] = {Code::kBusy, Code::kUnavailable};

// Counts the argon2 computations of the hasher it is given to.
class Argon2Counter final : public Logger {
 public:
  void Log(LogLevel level, std::string_view message) override {
    if (level == LogLevel::kDebug && message == "argon2: start") ++started_;
  }
  bool debug_enabled() const override { return true; }
  int started() const { return started_; }

 private:
  int started_ = 0;
};

// The current TOTP code of a key as shown ("JBSW Y3DP ...").
std::string CodeFor(const std::string& grouped_key, int64_t now) {
  std::string key;
  for (char c : grouped_key)
    if (c != ' ') key += c;
  Result<SecretBuffer> secret = Base32Decode(key);
  EXPECT_TRUE(secret.ok()) << grouped_key;
  return secret.ok() ? TotpAt(secret.value(), now, TotpParams{}) : "";
}

// For the enrollment in the session: remembers the key the session shows
// (Info) and types its current code when a code is asked for; the rest
// comes from the script.
class AnsweringPrompter final : public Prompter {
 public:
  AnsweringPrompter(ScriptedPrompter& script, const Clock& clock)
      : script_(script), clock_(clock) {}
  Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) override {
    if (kind == SecretKind::kCode && !key_.empty())
      script_.answers.push_back(CodeFor(key_, clock_.Now()));
    return script_.AskSecret(kind, prompt);
  }
  Result<std::string> Ask(std::string_view prompt) override { return script_.Ask(prompt); }
  void Info(std::string_view message) override {
    const std::string_view marker = "key:\n    ";
    const size_t at = message.find(marker);
    if (at != std::string_view::npos) {
      const std::string_view rest = message.substr(at + marker.size());
      key_ = std::string(rest.substr(0, rest.find('\n')));
    }
    script_.Info(message);
  }
  void Error(std::string_view message) override { script_.Error(message); }
  const std::string& key() const { return key_; }

 private:
  ScriptedPrompter& script_;
  const Clock& clock_;
  std::string key_;
};

class StoreFailuresTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    host_key_ = SecretBuffer(std::string(32, '\x47'));
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("failures", false, &host_key_));
    config_.password_quality = false;
    config_.recovery_codes = 4;
    AddUser("alice", kPassword);
    AddUser("bob", kPassword);
    // The flows get the failing store and a hasher whose work is counted.
    failing_ = std::make_unique<FailingStore>(*store_);
    counted_hasher_ = std::make_unique<PasswordHasher>(Argon2Params{1, 8, 1}, nullptr, argon2_);
    services_ = std::make_unique<Services>(
        Services{config_, *failing_, *counted_hasher_, clock_, random_, logger_, &host_key_});
    logger_.Clear();
  }

  FlowResult SignIn(const std::string& user, std::deque<std::string> answers) {
    prompter_ = ScriptedPrompter();
    prompter_.answers = std::move(answers);
    return PasswordSignIn(*services_, prompter_, RequestInfo{user, "sshd", "192.0.2.7"});
  }

  // Read from the real store, past the failures.
  UserRecord Get(const std::string& user) {
    auto u = store_->GetUser(user);
    EXPECT_TRUE(u.ok() && u->has_value()) << user;
    return u.ok() && u->has_value() ? **u : UserRecord{};
  }
  int CountEvents(const std::string& user, const std::string& outcome) {
    auto events = store_->ListEvents(EventFilter{});
    EXPECT_TRUE(events.ok());
    int n = 0;
    for (const SignInEvent& e : events.value()) n += e.user == user && e.outcome == outcome;
    return n;
  }
  bool RecoveryCodesShown() const {
    for (const std::string& info : prompter_.infos)
      if (info.rfind("Recovery codes:", 0) == 0) return true;
    return false;
  }

  SecretBuffer host_key_;
  Argon2Counter argon2_;
  std::unique_ptr<PasswordHasher> counted_hasher_;
  std::unique_ptr<FailingStore> failing_;
};

// The fake itself: the chosen calls fail with the chosen code and never
// reach the store; every call is counted.
TEST_F(StoreFailuresTest, FailingStoreFailsTheChosenCallsAndCountsAll) {
  FailingStore& store = *failing_;
  UserRecord carol;
  carol.name = "carol";
  store.FailNth("AddUser", 2, Code::kBusy);
  EXPECT_TRUE(store.AddUser(carol).ok());
  carol.name = "dave";
  Status second = store.AddUser(carol);
  EXPECT_EQ(second.code(), Code::kBusy);
  EXPECT_NE(second.message().find("AddUser"), std::string::npos) << second.message();
  carol.name = "erin";
  EXPECT_TRUE(store.AddUser(carol).ok()) << "only the 2nd call fails";
  EXPECT_FALSE(store_->GetUser("dave").value().has_value()) << "a failed call writes nothing";
  EXPECT_TRUE(store_->GetUser("erin").value().has_value());
  EXPECT_EQ(store.Calls("AddUser"), 3);
  EXPECT_EQ(store.Failed("AddUser"), 1);

  store.FailAfter("GetUser", 2, Code::kUnavailable);
  EXPECT_TRUE(store.GetUser("alice").ok());
  EXPECT_TRUE(store.GetUser("alice").ok());
  EXPECT_EQ(store.GetUser("alice").status().code(), Code::kUnavailable);
  EXPECT_EQ(store.GetUser("alice").status().code(), Code::kUnavailable);
  store.Fail("ListUsers", Code::kBusy);
  EXPECT_EQ(store.ListUsers().status().code(), Code::kBusy);
  // Arguments refused in front of the backend are refused before the hook.
  EXPECT_EQ(store.SetPassword("alice", "h", 1, false, -1).code(), Code::kInvalidArgument);
  EXPECT_EQ(store.Calls("SetPassword"), 0);

  store.Heal();
  EXPECT_TRUE(store.GetUser("alice").ok());
  EXPECT_TRUE(store.ListUsers().ok());
  EXPECT_EQ(store.Calls("GetUser"), 5);
  EXPECT_EQ(store.Failed("GetUser"), 2);
  EXPECT_EQ(store.Calls("ListUsers"), 2);
  EXPECT_EQ(store.Calls("RecordEvent"), 0);
}

// sign_in.h: "a success whose event cannot be recorded is not a success".
// The right password, and SettleAttempt (which records the success in the
// settlement's transaction) fails: kUnavailable, no success event, and the
// attempt stays counted (pending) since nothing settled it.
TEST_F(StoreFailuresTest, ASuccessWhoseEventCannotBeRecordedIsNotASuccess) {
  const char* users[] = {"alice", "bob"};
  for (int i = 0; i < 2; ++i) {
    const std::string user = users[i];
    SCOPED_TRACE(user + ": " + CodeName(kFailures[i]));
    failing_->Fail("SettleAttempt", kFailures[i]);
    FlowResult r = SignIn(user, {kPassword});
    EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
    EXPECT_EQ(failing_->Failed("SettleAttempt"), i + 1);
    EXPECT_EQ(CountEvents(user, "success"), 0);
    EXPECT_TRUE(logger_.Contains("cannot record sign-in event"));
    EXPECT_FALSE(logger_.Contains("password sign-in success"));
    UserRecord u = Get(user);
    EXPECT_EQ(u.failures, 1) << "the attempt stays counted";
    EXPECT_EQ(u.pending_attempts, 1);
    failing_->Heal();
    logger_.Clear();
  }
  // Healed, the same password signs in (and that success is recorded).
  EXPECT_EQ(SignIn("alice", {kPassword}).decision, Decision::kSuccess);
  EXPECT_EQ(CountEvents("alice", "success"), 1);
}

// A store that cannot count the attempt (ReserveAttempt) refuses before any
// password is hashed, with the same answer for the right password and a
// wrong one: the refusal cannot depend on the secret. The same for the
// current-password check before a change.
TEST_F(StoreFailuresTest, AStoreThatCannotCountTheAttemptRefusesBeforeHashing) {
  for (Code code : kFailures) {
    SCOPED_TRACE(CodeName(code));
    failing_->Fail("ReserveAttempt", code);
    FlowResult right = SignIn("alice", {kPassword});
    const std::vector<std::string> right_prompts = prompter_.prompts;
    FlowResult wrong = SignIn("alice", {"not the password"});
    EXPECT_EQ(right.decision, Decision::kUnavailable) << right.reason;
    EXPECT_EQ(wrong.decision, right.decision);
    EXPECT_EQ(wrong.reason, right.reason);
    EXPECT_EQ(prompter_.prompts, right_prompts);
    EXPECT_NE(right.reason.find("was not checked"), std::string::npos) << right.reason;

    prompter_ = ScriptedPrompter();
    prompter_.answers = {kPassword};
    SecretBuffer current;
    EXPECT_EQ(
        VerifyCurrentPassword(*services_, prompter_, {"alice", "passwd", ""}, &current).decision,
        Decision::kUnavailable);
    EXPECT_TRUE(current.empty());

    EXPECT_EQ(failing_->Failed("ReserveAttempt"), failing_->Calls("ReserveAttempt"));
    EXPECT_GE(failing_->Failed("ReserveAttempt"), 3);
    EXPECT_EQ(argon2_.started(), 0) << "no password was hashed";
    EXPECT_EQ(failing_->Calls("SettleAttempt"), 0);
    EXPECT_EQ(Get("alice").failures, 0);
    EXPECT_EQ(CountEvents("alice", "success"), 0);
  }
  failing_->Heal();
  EXPECT_EQ(SignIn("alice", {kPassword}).decision, Decision::kSuccess);
  EXPECT_EQ(argon2_.started(), 1);
}

// The failure count not stored: a wrong password whose settlement fails is
// still a failure (logged, recorded as one), never a success; it stays
// counted as a pending attempt, so once the window is full of those the
// right password is refused too, unchecked, until they are settled or the
// window passes.
TEST_F(StoreFailuresTest, AFailureThatCannotBeCountedIsStillRefused) {
  config_.deny = 1;
  config_.argon2_max_wait_ms = 200;
  failing_->Fail("SettleAttempt", Code::kBusy);
  FlowResult wrong = SignIn("alice", {"not the password"});
  EXPECT_EQ(wrong.decision, Decision::kFailure) << wrong.reason;
  EXPECT_EQ(failing_->Failed("SettleAttempt"), 1);
  EXPECT_TRUE(logger_.Contains("cannot record sign-in event"));
  EXPECT_TRUE(logger_.Contains("password sign-in failure"));
  EXPECT_EQ(CountEvents("alice", "failure"), 1);
  EXPECT_EQ(CountEvents("alice", "success"), 0);
  UserRecord u = Get("alice");
  EXPECT_EQ(u.failures, 1);
  EXPECT_EQ(u.pending_attempts, 1);

  // The store works again, but the unsettled failure fills the window
  // (deny 1): the right password is not let in, and not even hashed.
  failing_->Heal();
  const int hashed = argon2_.started();
  FlowResult right = SignIn("alice", {kPassword});
  EXPECT_NE(right.decision, Decision::kSuccess);
  EXPECT_EQ(right.decision, Decision::kUnavailable) << right.reason;
  EXPECT_EQ(argon2_.started(), hashed);
  EXPECT_EQ(CountEvents("alice", "success"), 0);
  // Once the window has passed, the right password signs in.
  clock_.Advance(config_.fail_interval);
  EXPECT_EQ(SignIn("alice", {kPassword}).decision, Decision::kSuccess);
}

// A busy store mid-change: the new password cannot be stored. Nothing is
// half written (the old password still works, the new one does not, the
// history is unchanged), the person is told so plainly, and the flow does
// not ask again.
TEST_F(StoreFailuresTest, ABusyStoreMidChangeWritesNothing) {
  prompter_.answers = {kPassword};
  SecretBuffer current;
  ASSERT_EQ(
      VerifyCurrentPassword(*services_, prompter_, {"alice", "passwd", ""}, &current).decision,
      Decision::kSuccess);
  const UserRecord before = Get("alice");
  const std::vector<std::string> history = store_->PasswordHistory("alice").value();
  clock_.Advance(100);

  failing_->Fail("SetPassword", Code::kBusy);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kNewPassword, kNewPassword, kNewPassword, kNewPassword};
  FlowResult r = ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, &current, 3);
  EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
  EXPECT_EQ(failing_->Failed("SetPassword"), 1);
  EXPECT_EQ(prompter_.errors,
            std::vector<std::string>{"The new password could not be stored; nothing was changed."});
  EXPECT_EQ(prompter_.answers.size(), 2u) << "asked once, not again";
  const UserRecord after = Get("alice");
  EXPECT_EQ(after.password_hash, before.password_hash);
  EXPECT_EQ(after.password_changed, before.password_changed);
  EXPECT_EQ(after.must_change, before.must_change);
  EXPECT_EQ(store_->PasswordHistory("alice").value(), history);
  EXPECT_EQ(CountEvents("alice", "error"), 1);

  failing_->Heal();
  EXPECT_EQ(SignIn("alice", {kNewPassword}).decision, Decision::kFailure);
  EXPECT_EQ(SignIn("alice", {kPassword}).decision, Decision::kSuccess);
}

// `sesame mfa enroll` confirmed by a first code, and the store cannot take
// it (EnrollTotp): nothing stored, the recovery codes (which would not
// work) never shown, a plain message; the account signs in as before.
TEST_F(StoreFailuresTest, AnEnrollmentTheStoreCannotTakeStoresNothing) {
  failing_->Fail("EnrollTotp", Code::kBusy);
  prompter_.answers = {kPassword};
  FlowResult r =
      EnrollAuthenticator(*services_, prompter_, RequestInfo{"alice", "sesame", ""},
                          [&](const AuthenticatorOffer& offer) {
                            prompter_.answers.push_back(CodeFor(offer.key, clock_.Now()));
                            return Status::Ok();
                          });
  EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
  EXPECT_EQ(failing_->Failed("EnrollTotp"), 1);
  EXPECT_TRUE(
      prompter_.ErrorContains("The authenticator could not be stored; nothing was changed."));
  EXPECT_FALSE(RecoveryCodesShown());
  UserRecord alice = Get("alice");
  EXPECT_EQ(alice.totp_sealed, "");
  EXPECT_EQ(alice.totp_last_step, -1);
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value(), 0);

  failing_->Heal();
  EXPECT_EQ(SignIn("alice", {kPassword}).decision, Decision::kSuccess);
  EXPECT_EQ(prompter_.prompts, std::vector<std::string>{"Password: "});
}

// The same in the session, when MFA is required: the sign-in that could
// not store the authenticator it confirmed is not a success, the attempt
// is taken back (a store failure is no wrong secret), nothing is stored.
TEST_F(StoreFailuresTest, AnEnrollmentInTheSessionTheStoreCannotTakeIsNoSuccess) {
  config_.mfa_required = "all";
  failing_->Fail("EnrollTotp", Code::kUnavailable);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword};
  AnsweringPrompter prompter(prompter_, clock_);
  FlowResult r = PasswordSignIn(*services_, prompter, RequestInfo{"alice", "sshd", "192.0.2.7"});
  ASSERT_FALSE(prompter.key().empty()) << "the session offered an authenticator";
  EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
  EXPECT_EQ(failing_->Failed("EnrollTotp"), 1);
  EXPECT_TRUE(prompter_.ErrorContains("The authenticator could not be stored."));
  EXPECT_FALSE(RecoveryCodesShown());
  UserRecord alice = Get("alice");
  EXPECT_EQ(alice.totp_sealed, "");
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value(), 0);
  EXPECT_EQ(alice.failures, 0);
  EXPECT_EQ(alice.pending_attempts, 0);
  EXPECT_EQ(CountEvents("alice", "success"), 0);
}

// GetUser failing: kUnavailable from every flow, for a known user and for
// a name the store may not have alike: never kUnknownUser (which lets the
// PAM stack fall through to the next module) and never a success. Nothing
// is hashed. Mid-change (the check of the current password read the
// record; the change cannot): nothing is changed.
TEST_F(StoreFailuresTest, AStoreThatCannotReadTheUserIsUnavailableNeverUnknown) {
  for (Code code : kFailures) {
    SCOPED_TRACE(CodeName(code));
    // A sign-in reads the record with the required groups
    // (GetUserForSignIn); the others read it alone.
    failing_->Fail("GetUser", code);
    failing_->Fail("GetUserForSignIn", code);
    for (const char* user : {"alice", "nobody"}) {
      SCOPED_TRACE(user);
      const RequestInfo request{user, "sshd", ""};
      EXPECT_EQ(SignIn(user, {kPassword}).decision, Decision::kUnavailable);
      prompter_ = ScriptedPrompter();
      prompter_.answers = {"123456"};
      EXPECT_EQ(SecondFactorOnly(*services_, prompter_, request).decision, Decision::kUnavailable);
      prompter_ = ScriptedPrompter();
      EXPECT_EQ(CheckAccount(*services_, prompter_, request).decision, Decision::kUnavailable);
      prompter_ = ScriptedPrompter();
      prompter_.answers = {kPassword};
      SecretBuffer current;
      EXPECT_EQ(VerifyCurrentPassword(*services_, prompter_, request, &current).decision,
                Decision::kUnavailable);
      prompter_ = ScriptedPrompter();
      prompter_.answers = {kNewPassword, kNewPassword};
      EXPECT_EQ(ChangePassword(*services_, prompter_, request, nullptr, 1).decision,
                Decision::kUnavailable);
    }
    EXPECT_EQ(failing_->Failed("GetUser"), failing_->Calls("GetUser"));
    EXPECT_EQ(failing_->Failed("GetUserForSignIn"), failing_->Calls("GetUserForSignIn"));
    EXPECT_GE(failing_->Failed("GetUser") + failing_->Failed("GetUserForSignIn"), 10);
    EXPECT_GE(failing_->Failed("GetUserForSignIn"), 4) << "sign-in, current password";
    EXPECT_EQ(argon2_.started(), 0) << "nothing hashed";
    EXPECT_EQ(CountEvents("alice", "success"), 0);
    failing_->Heal();
  }

  // Mid-change: the current password is checked (a sign-in's read), the
  // change cannot read the record (the next GetUser).
  const UserRecord before = Get("alice");
  const int failed_before = failing_->Failed("GetUser");
  failing_->FailNth("GetUser", 1, Code::kBusy);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword};
  SecretBuffer current;
  ASSERT_EQ(
      VerifyCurrentPassword(*services_, prompter_, {"alice", "passwd", ""}, &current).decision,
      Decision::kSuccess);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kNewPassword, kNewPassword};
  EXPECT_EQ(ChangePassword(*services_, prompter_, {"alice", "passwd", ""}, &current, 1).decision,
            Decision::kUnavailable);
  EXPECT_EQ(failing_->Failed("GetUser"), failed_before + 1);
  EXPECT_EQ(failing_->Calls("SetPassword"), 0);
  EXPECT_EQ(Get("alice").password_hash, before.password_hash);
}

// A one-time code whose use cannot be stored (UseTotpStep, UseRecoveryCode:
// the statement that makes it "once") does not sign in, even when right:
// kUnavailable, nothing used, the attempt taken back. Healed, the same code
// signs in, so it was right and only the failure refused it.
TEST_F(StoreFailuresTest, ACodeWhoseUseCannotBeStoredDoesNotSignIn) {
  ProvisionedAuthenticator made;
  ASSERT_TRUE(ProvisionAuthenticator(*services_, "alice", nullptr, &made).ok());
  const std::string& key = made.authenticator.offer.key;
  ASSERT_EQ(made.recovery_codes.size(), 4u);

  for (Code code : kFailures) {
    SCOPED_TRACE(CodeName(code));
    failing_->Fail("UseTotpStep", code);
    FlowResult r = SignIn("alice", {kPassword, CodeFor(key, clock_.Now())});
    EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
    prompter_ = ScriptedPrompter();
    prompter_.answers = {CodeFor(key, clock_.Now())};
    EXPECT_EQ(SecondFactorOnly(*services_, prompter_, {"alice", "sudo", ""}).decision,
              Decision::kUnavailable);
    failing_->Fail("UseRecoveryCode", code);
    const std::string recovery(made.recovery_codes[0].view());
    r = SignIn("alice", {kPassword, recovery});
    EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
    failing_->Heal();
  }
  EXPECT_EQ(failing_->Failed("UseTotpStep"), 4);
  EXPECT_EQ(failing_->Failed("UseRecoveryCode"), 2);
  UserRecord alice = Get("alice");
  EXPECT_EQ(alice.totp_last_step, -1) << "no time step used";
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value(), 4) << "no recovery code used";
  EXPECT_EQ(alice.failures, 0) << "a store failure is not a wrong code";
  EXPECT_EQ(alice.pending_attempts, 0);
  EXPECT_EQ(CountEvents("alice", "success"), 0);

  EXPECT_EQ(SignIn("alice", {kPassword, CodeFor(key, clock_.Now())}).decision, Decision::kSuccess);
  EXPECT_EQ(SignIn("alice", {kPassword, std::string(made.recovery_codes[0].view())}).decision,
            Decision::kSuccess);
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value(), 3);
}

}  // namespace
}  // namespace sesame
