// The user's own authenticator flows in core (sesame mfa enroll | remove,
// sesame recovery-codes new) and the grace-period edges of the in-session
// enrollment, with a real SQLite store and argon2, a fake clock (the grace
// period is days long) and a scripted Prompter. The setuid tool and the PAM
// module drive the same code (tests/integration, tests/pam).
#include "core/flows/mfa_flows.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/base/base32.h"
#include "core/crypto/totp.h"
#include "core/flows/sign_in.h"
#include "core/store/sqlite/sqlite_store.h"
#include "tests/fakes/fakes.h"
#include "tests/fakes/flow_test.h"
#include "tests/fakes/scripted_prompter.h"

namespace sesame {
namespace {

using testing::FakeClock;
using testing::FakeRandom;
using testing::RecordingLogger;
using testing::ScriptedPrompter;

constexpr char kPassword[] = "correct horse battery staple";
constexpr int64_t kDay = 86400;

std::string CodeFor(const std::string& grouped_key, int64_t now) {
  std::string key;
  for (char c : grouped_key)
    if (c != ' ') key += c;
  Result<SecretBuffer> secret = Base32Decode(key);
  EXPECT_TRUE(secret.ok()) << grouped_key;
  return secret.ok() ? TotpAt(secret.value(), now, TotpParams{}) : "";
}

class MfaFlowsTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    host_key_ = SecretBuffer(std::string(32, '\x5a'));
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("mfa", false, &host_key_));
    config_.totp_issuer = "Example";
    config_.recovery_codes = 4;
    AddUser("alice", kPassword);
  }

  RequestInfo Request() const { return RequestInfo{"alice", "sesame", ""}; }

  // Enrolls through the user's flow: the password (and `current_code` when
  // enrolled), then the code for the shown key at `at`.
  FlowResult Enroll(std::deque<std::string> before_code, int64_t code_offset = 0) {
    prompter_ = ScriptedPrompter();
    prompter_.answers = std::move(before_code);
    shown_key_.clear();
    shown_uri_.clear();
    return EnrollAuthenticator(
        *services_, prompter_, Request(), [&](const AuthenticatorOffer& offer) {
          shown_key_ = offer.key;
          shown_uri_ = offer.uri;
          prompter_.answers.push_back(CodeFor(offer.key, clock_.Now() + code_offset));
          return Status::Ok();
        });
  }

  UserRecord Alice() {
    auto u = store_->GetUser("alice");
    EXPECT_TRUE(u.ok() && u->has_value());
    return u.ok() && u->has_value() ? **u : UserRecord{};
  }

  std::vector<std::string> RecoveryCodesShown() const {
    std::vector<std::string> codes;
    for (const std::string& info : prompter_.infos) {
      if (info.rfind("Recovery codes:", 0) != 0) continue;
      size_t pos = 0;
      while ((pos = info.find("\n    ", pos)) != std::string::npos) {
        pos += 5;
        codes.push_back(info.substr(pos, info.find('\n', pos) - pos));
      }
    }
    return codes;
  }

  SecretBuffer host_key_;
  std::string shown_key_;
  std::string shown_uri_;
};

TEST_F(MfaFlowsTest, EnrollAsksThePasswordThenConfirmsWithAFirstCode) {
  FlowResult r = Enroll({kPassword});
  ASSERT_EQ(r.decision, Decision::kSuccess) << r.reason;
  EXPECT_EQ(prompter_.prompts, (std::vector<std::string>{"Password: ", "Verification code: "}));
  EXPECT_EQ(shown_uri_.rfind("otpauth://totp/Example:alice?secret=", 0), 0u) << shown_uri_;
  EXPECT_EQ(RecoveryCodesShown().size(), 4u);
  UserRecord alice = Alice();
  EXPECT_FALSE(alice.totp_sealed.empty());
  EXPECT_EQ(alice.totp_last_step, TotpStep(clock_.Now(), 30));
  EXPECT_FALSE(logger_.Contains(shown_key_.substr(0, 9)));
  EXPECT_FALSE(logger_.Contains("secret="));

  // Signing in now takes a code; the recovery codes shown work once.
  prompter_ = ScriptedPrompter();
  clock_.Advance(30);
  prompter_.answers = {kPassword, CodeFor(shown_key_, clock_.Now())};
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kSuccess);
}

TEST_F(MfaFlowsTest, WrongPasswordOrWrongCodesStoreNothing) {
  FlowResult wrong_pw = Enroll({"not it"});
  EXPECT_EQ(wrong_pw.decision, Decision::kFailure);
  EXPECT_TRUE(shown_key_.empty()) << "nothing is shown before the password";
  EXPECT_EQ(Alice().failures, 1) << "a wrong password here counts like a sign-in";

  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, "000000", "111111", "222222"};
  FlowResult wrong_codes = EnrollAuthenticator(
      *services_, prompter_, Request(), [](const AuthenticatorOffer&) { return Status::Ok(); });
  EXPECT_EQ(wrong_codes.decision, Decision::kFailure);
  EXPECT_TRUE(prompter_.ErrorContains("nothing was changed"));
  EXPECT_TRUE(Alice().totp_sealed.empty());

  // Cancelled at the code prompt (an empty answer or a hang-up).
  for (std::deque<std::string> answers :
       {std::deque<std::string>{kPassword, ""}, std::deque<std::string>{kPassword}}) {
    prompter_ = ScriptedPrompter();
    prompter_.answers = answers;
    FlowResult cancelled = EnrollAuthenticator(
        *services_, prompter_, Request(), [](const AuthenticatorOffer&) { return Status::Ok(); });
    EXPECT_EQ(cancelled.decision, Decision::kAborted);
    EXPECT_TRUE(Alice().totp_sealed.empty());
  }

  // A show that fails (a QR file that cannot be written) stops before a
  // code is asked.
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword};
  FlowResult unshown =
      EnrollAuthenticator(*services_, prompter_, Request(), [](const AuthenticatorOffer&) {
        return Status(Code::kPermissionDenied, "cannot write q.png: Permission denied");
      });
  EXPECT_EQ(unshown.decision, Decision::kAborted);
  EXPECT_EQ(prompter_.prompts, std::vector<std::string>{"Password: "});
  EXPECT_TRUE(prompter_.ErrorContains("cannot write q.png"));
  EXPECT_TRUE(Alice().totp_sealed.empty());
}

TEST_F(MfaFlowsTest, EnrollingAgainNeedsTheOldCodeAndReplacesItOnlyWhenConfirmed) {
  ASSERT_EQ(Enroll({kPassword}).decision, Decision::kSuccess);
  const std::string old_key = shown_key_;
  const std::string old_sealed = Alice().totp_sealed;
  const std::vector<std::string> old_codes = RecoveryCodesShown();

  // A wrong old code: refused before any new secret is shown.
  clock_.Advance(30);
  FlowResult refused = Enroll({kPassword, "000000"});
  EXPECT_EQ(refused.decision, Decision::kFailure);
  EXPECT_TRUE(shown_key_.empty());
  EXPECT_EQ(Alice().totp_sealed, old_sealed);

  // The new secret not confirmed: the old one stays.
  clock_.Advance(30);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, CodeFor(old_key, clock_.Now()), "", ""};
  FlowResult unconfirmed = EnrollAuthenticator(
      *services_, prompter_, Request(), [](const AuthenticatorOffer&) { return Status::Ok(); });
  EXPECT_EQ(unconfirmed.decision, Decision::kAborted);
  EXPECT_EQ(Alice().totp_sealed, old_sealed);

  // Confirmed: replaced, with new recovery codes; the old ones are gone.
  clock_.Advance(30);
  FlowResult replaced = Enroll({kPassword, CodeFor(old_key, clock_.Now() + 30)});
  ASSERT_EQ(replaced.decision, Decision::kSuccess) << replaced.reason;
  EXPECT_EQ(replaced.reason, "authenticator replaced; new recovery codes");
  EXPECT_NE(Alice().totp_sealed, old_sealed);
  EXPECT_NE(shown_key_, old_key);
  clock_.Advance(90);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, old_codes.at(0)};
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kFailure);
}

TEST_F(MfaFlowsTest, RemoveNeedsPasswordAndCodeAndIsRefusedWhenRequired) {
  prompter_ = ScriptedPrompter();
  FlowResult nothing = RemoveAuthenticator(*services_, prompter_, Request());
  EXPECT_EQ(nothing.decision, Decision::kFailure);
  EXPECT_TRUE(prompter_.prompts.empty()) << "refused before asking anything";
  EXPECT_TRUE(prompter_.ErrorContains("nothing to remove"));

  ASSERT_EQ(Enroll({kPassword}).decision, Decision::kSuccess);
  const std::string key = shown_key_;

  // Required by an administrator: refused, pointing to enroll.
  ASSERT_TRUE(store_->SetMfaRequired("alice", true, clock_.Now()).ok());
  prompter_ = ScriptedPrompter();
  FlowResult required = RemoveAuthenticator(*services_, prompter_, Request());
  EXPECT_EQ(required.decision, Decision::kFailure);
  EXPECT_TRUE(prompter_.prompts.empty());
  EXPECT_TRUE(prompter_.ErrorContains("sesame mfa enroll"));
  EXPECT_FALSE(Alice().totp_sealed.empty());
  ASSERT_TRUE(store_->SetMfaRequired("alice", false, clock_.Now()).ok());

  // A wrong code: kept.
  clock_.Advance(30);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, "000000"};
  EXPECT_EQ(RemoveAuthenticator(*services_, prompter_, Request()).decision, Decision::kFailure);
  EXPECT_FALSE(Alice().totp_sealed.empty());

  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, CodeFor(key, clock_.Now())};
  FlowResult removed = RemoveAuthenticator(*services_, prompter_, Request());
  EXPECT_EQ(removed.decision, Decision::kSuccess) << removed.reason;
  EXPECT_TRUE(Alice().totp_sealed.empty());
  auto left = store_->CountRecoveryCodes("alice");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 0);
}

TEST_F(MfaFlowsTest, NewRecoveryCodesReplaceTheOldOnes) {
  prompter_ = ScriptedPrompter();
  FlowResult none = RenewRecoveryCodes(*services_, prompter_, Request());
  EXPECT_EQ(none.decision, Decision::kFailure);
  EXPECT_TRUE(prompter_.prompts.empty());
  EXPECT_TRUE(prompter_.ErrorContains("set one up first"));

  ASSERT_EQ(Enroll({kPassword}).decision, Decision::kSuccess);
  const std::string key = shown_key_;
  const std::vector<std::string> old_codes = RecoveryCodesShown();
  ASSERT_EQ(old_codes.size(), 4u);

  clock_.Advance(30);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, old_codes[0]};  // a recovery code proves it too
  FlowResult renewed = RenewRecoveryCodes(*services_, prompter_, Request());
  ASSERT_EQ(renewed.decision, Decision::kSuccess) << renewed.reason;
  const std::vector<std::string> new_codes = RecoveryCodesShown();
  ASSERT_EQ(new_codes.size(), 4u);
  for (const std::string& c : new_codes)
    for (const std::string& o : old_codes) EXPECT_NE(c, o);
  auto left = store_->CountRecoveryCodes("alice");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 4);

  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, old_codes[1]};
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kFailure);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, new_codes[1]};
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kSuccess);
}

// The grace period's edges, by the clock: begun at the first sign-in that
// finds MFA required, offered up to the last second, refused from then on.
TEST_F(MfaFlowsTest, GracePeriodEndsExactlyAfterMfaGraceDays) {
  config_.mfa_required = "all";
  config_.mfa_grace_days = 2;
  const int64_t start = clock_.Now();
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, ""};
  FlowResult first = PasswordSignIn(*services_, prompter_, Request());
  EXPECT_EQ(first.decision, Decision::kSuccess) << first.reason;
  EXPECT_EQ(Alice().mfa_required_since, start);
  ASSERT_FALSE(prompter_.infos.empty());
  EXPECT_NE(prompter_.infos[0].find("within 2 days"), std::string::npos) << prompter_.infos[0];

  clock_.Set(start + 2 * kDay - 1);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, ""};
  FlowResult last_second = PasswordSignIn(*services_, prompter_, Request());
  EXPECT_EQ(last_second.decision, Decision::kSuccess) << last_second.reason;
  EXPECT_NE(prompter_.infos[0].find("within less than a day"), std::string::npos);

  clock_.Set(start + 2 * kDay);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, ""};
  FlowResult over = PasswordSignIn(*services_, prompter_, Request());
  EXPECT_EQ(over.decision, Decision::kMfaRequired) << over.reason;
  EXPECT_EQ(prompter_.prompts, std::vector<std::string>{"Password: "});
  EXPECT_TRUE(prompter_.ErrorContains("the 2 days to set one up have passed"));
}

TEST_F(MfaFlowsTest, InSessionEnrollmentNeedsTheKeyFile) {
  config_.mfa_required = "all";
  Services without_key{config_, *store_, *hasher_, clock_, random_, logger_, nullptr};
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, ""};
  FlowResult r = PasswordSignIn(without_key, prompter_, Request());
  EXPECT_EQ(r.decision, Decision::kUnavailable) << r.reason;
  EXPECT_NE(r.reason.find("key file"), std::string::npos) << r.reason;
}

// sesame-admin mfa enroll provisions through the same core code as the
// user's enrollment: a working authenticator (a code from the shown key
// signs in), recovery codes stored as digests (one signs in once), and a
// given secret used as it is.
TEST_F(MfaFlowsTest, ProvisionedAuthenticatorWorksLikeAnEnrolledOne) {
  ProvisionedAuthenticator made;
  ASSERT_TRUE(ProvisionAuthenticator(*services_, "alice", nullptr, &made).ok());
  EXPECT_EQ(made.recovery_codes.size(), 4u);
  EXPECT_FALSE(Alice().totp_sealed.empty());
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value(), 4);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, CodeFor(made.authenticator.offer.key, clock_.Now())};
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kSuccess);
  prompter_ = ScriptedPrompter();
  prompter_.answers = {kPassword, std::string(made.recovery_codes[0].view())};
  clock_.Advance(60);
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kSuccess);
  EXPECT_EQ(store_->CountRecoveryCodes("alice").value(), 3);

  // A given secret is the one stored.
  Result<SecretBuffer> given = Base32Decode("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
  ASSERT_TRUE(given.ok());
  ProvisionedAuthenticator from_given;
  ASSERT_TRUE(ProvisionAuthenticator(*services_, "alice", &given.value(), &from_given).ok());
  EXPECT_EQ(from_given.authenticator.offer.key, "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
  prompter_ = ScriptedPrompter();
  clock_.Advance(60);
  prompter_.answers = {kPassword, TotpAt(given.value(), clock_.Now(), TotpParams{})};
  EXPECT_EQ(PasswordSignIn(*services_, prompter_, Request()).decision, Decision::kSuccess);
}

}  // namespace
}  // namespace sesame
