// The second factor in core, with a fake clock: a code's wrong-attempt
// digest includes its time step; totp_period other than 30 decides the step
// (checked against oathtool and by hand); mode=mfa_only (SecondFactorOnly)
// refuses disabled, locked and unknown accounts.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <memory>
#include <string>

#include "core/base/base32.h"
#include "core/crypto/secret_box.h"
#include "core/crypto/totp.h"
#include "core/flows/sign_in.h"
#include "tests/fakes/fakes.h"
#include "tests/fakes/flow_test.h"
#include "tests/fakes/scripted_prompter.h"

namespace sesame {
namespace {

using testing::ScriptedPrompter;

constexpr char kPassword[] = "correct horse battery staple";
constexpr char kSecret[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

std::string Output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class SecondFactorTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    host_key_ = SecretBuffer(std::string(32, '\x33'));
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("second", false, &host_key_));
    AddUser("alice", kPassword);
    Result<SecretBuffer> secret = Base32Decode(kSecret);
    ASSERT_TRUE(secret.ok());
    Result<std::string> sealed = Seal(host_key_, secret.value(), "alice", random_);
    ASSERT_TRUE(sealed.ok());
    ASSERT_TRUE(store_->SetTotp("alice", sealed.value(), {}).ok());
    // Step-aligned start, so that "the next step" is exactly 30 s on.
    clock_.Set(1700000010 - 1700000010 % 30);
  }

  TotpParams Params() const {
    TotpParams p;
    p.period = config_.totp_period;
    return p;
  }

  std::string CodeAt(int64_t unix_time) const {
    Result<SecretBuffer> key = Base32Decode(kSecret);
    return key.ok() ? TotpAt(key.value(), unix_time, Params()) : "";
  }

  FlowResult SignIn(std::deque<std::string> answers) {
    prompter_ = ScriptedPrompter();
    prompter_.answers = std::move(answers);
    return PasswordSignIn(*services_, prompter_, RequestInfo{"alice", "sshd", "192.0.2.9"});
  }

  FlowResult CodeOnly(const std::string& user, std::deque<std::string> answers) {
    prompter_ = ScriptedPrompter();
    prompter_.answers = std::move(answers);
    return SecondFactorOnly(*services_, prompter_, RequestInfo{user, "sudo", ""});
  }

  UserRecord Alice() {
    auto u = store_->GetUser("alice");
    return u.ok() && u->has_value() ? **u : UserRecord{};
  }

  SecretBuffer host_key_;
};

// The issue's reproduction: the code that becomes valid later, sent every
// 2 s. Before the fix: 1 failure, then "not counted again" every time, then
// accepted once it became valid. Now each new time step counts it again,
// and deny 2 locks the account before the code becomes valid.
TEST_F(SecondFactorTest, ACodeThatBecomesValidLaterCountsAgainInEachTimeStep) {
  config_.deny = 2;
  const int64_t start = clock_.Now();
  // Valid (window 1) from the third step on: two steps of wrong tries first.
  const std::string later = CodeAt(start + 3 * 30);
  ASSERT_NE(later, CodeAt(start));
  ASSERT_NE(later, CodeAt(start + 30));
  bool signed_in = false;
  for (int t = 0; t <= 90; t += 2) {
    clock_.Set(start + t);
    Decision d = SignIn({kPassword, later}).decision;
    if (d == Decision::kSuccess) signed_in = true;
    if (t < 30) {
      EXPECT_EQ(Alice().failures, 1) << "t=" << t << ": the same code in one step counts once";
    }
  }
  EXPECT_FALSE(signed_in) << "locked before the code became valid";
  EXPECT_EQ(Alice().failures, 2);
  EXPECT_GT(Alice().locked_until, start);
  EXPECT_EQ(Alice().totp_last_step, -1);
}

// With room under deny the same code is counted once per step and then
// accepted: the count shows every step it was tried in.
TEST_F(SecondFactorTest, TheSameWrongCodeCountsOncePerStep) {
  config_.deny = 10;
  const int64_t start = clock_.Now();
  const std::string later = CodeAt(start + 3 * 30);
  for (int t = 0; t < 60; t += 3) {
    clock_.Set(start + t);
    EXPECT_EQ(SignIn({kPassword, later}).decision, Decision::kFailure) << "t=" << t;
  }
  EXPECT_EQ(Alice().failures, 2) << "tried in two steps";
  clock_.Set(start + 60);
  EXPECT_EQ(SignIn({kPassword, later}).decision, Decision::kSuccess);
  EXPECT_EQ(Alice().failures, 0);
}

// totp_period decides the step: codes are made by oathtool with
// --time-step-size, the accepted step is checked against floor(now/period)
// by hand, and a code made for 30 s steps is refused (unless it happens to
// be the same digits).
TEST_F(SecondFactorTest, TotpPeriodSixtyAndFortyFiveDecideTheStep) {
  for (int period : {60, 45}) {
    SCOPED_TRACE("totp_period = " + std::to_string(period));
    config_.totp_period = period;
    ASSERT_TRUE(store_->ClearFailures("alice").ok());
    const int64_t now = 1700000000 + period * 1000 + 7;
    clock_.Set(now);
    const std::string oath = Output("oathtool --totp --time-step-size=" + std::to_string(period) +
                                    " --now @" + std::to_string(now) + " -b " + kSecret);
    ASSERT_EQ(oath.size(), 6u) << "oathtool printed '" << oath << "'";
    EXPECT_EQ(oath, CodeAt(now)) << "our TOTP agrees with oathtool";
    const std::string thirty = Output(std::string("oathtool --totp --time-step-size=30 --now @") +
                                      std::to_string(now) + " -b " + kSecret);
    if (thirty != oath) {
      EXPECT_EQ(SignIn({kPassword, thirty}).decision, Decision::kFailure);
    }
    EXPECT_EQ(SignIn({kPassword, oath}).decision, Decision::kSuccess);
    EXPECT_EQ(Alice().totp_last_step, now / period) << "the step is floor(now / period)";
    // Replayed within the same step: refused.
    clock_.Set(now + 1);
    EXPECT_EQ(SignIn({kPassword, oath}).decision, Decision::kFailure);
  }
}

TEST_F(SecondFactorTest, CodeOnlyAcceptsTheRightCodeAndCountsAWrongOne) {
  config_.deny = 3;
  const int64_t now = clock_.Now();
  EXPECT_EQ(CodeOnly("alice", {"000000" == CodeAt(now) ? "111111" : "000000"}).decision,
            Decision::kFailure);
  EXPECT_EQ(Alice().failures, 1);
  EXPECT_EQ(prompter_.prompts, std::vector<std::string>{"Verification code: "});
  EXPECT_EQ(CodeOnly("alice", {CodeAt(now)}).decision, Decision::kSuccess);
  EXPECT_EQ(Alice().failures, 0);
  EXPECT_EQ(Alice().totp_last_step, now / 30);
}

// mode=mfa_only must never let a disabled account through auth (a mutation
// that let it was not caught before).
TEST_F(SecondFactorTest, CodeOnlyRefusesADisabledAccountWithoutAsking) {
  ASSERT_TRUE(store_->SetDisabled("alice", true).ok());
  FlowResult r = CodeOnly("alice", {CodeAt(clock_.Now())});
  EXPECT_EQ(r.decision, Decision::kDisabled);
  EXPECT_TRUE(prompter_.prompts.empty());
  EXPECT_EQ(Alice().totp_last_step, -1);
}

TEST_F(SecondFactorTest, CodeOnlyRefusesALockedAccountWithoutAsking) {
  config_.deny = 2;
  const int64_t now = clock_.Now();
  const std::string wrong = "000000" == CodeAt(now) ? "111111" : "000000";
  CodeOnly("alice", {wrong});
  CodeOnly("alice", {wrong == "000000" ? "222222" : "333333"});
  ASSERT_GT(Alice().locked_until, now);
  FlowResult r = CodeOnly("alice", {CodeAt(now)});
  EXPECT_EQ(r.decision, Decision::kLocked);
  EXPECT_TRUE(prompter_.prompts.empty());
  EXPECT_TRUE(prompter_.ErrorContains("locked"));
}

TEST_F(SecondFactorTest, CodeOnlyUnknownAndInvalidNames) {
  EXPECT_EQ(CodeOnly("nobody", {"123456"}).decision, Decision::kUnknownUser);
  EXPECT_TRUE(prompter_.prompts.empty());
  EXPECT_EQ(CodeOnly("bad name\n", {"123456"}).decision, Decision::kUnknownUser);
}

TEST_F(SecondFactorTest, CodeOnlyWithoutAnAuthenticatorPassesWhenNotRequired) {
  AddUser("bob", "bob's password");
  EXPECT_EQ(CodeOnly("bob", {}).decision, Decision::kSuccess);
  EXPECT_TRUE(prompter_.prompts.empty());
}

}  // namespace
}  // namespace sesame
