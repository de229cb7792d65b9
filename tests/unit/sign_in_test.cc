// The sign-in flows in core, with a real SQLite store and real argon2, fake
// clock/random, and a scripted Prompter standing in for the conversation
// (tests/pam drives the same flows through the real libpam).
#include "core/flows/sign_in.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <string>

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

class SignInTest : public testing::FlowTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpFlows("signin", false, nullptr));
    AddUser("alice", "correct horse battery staple", false);
    AddUser("mallory", "mallory's password", true);
    logger_.Clear();
  }
  FlowResult SignIn(const std::string& user, std::deque<std::string> answers) {
    prompter_.answers = std::move(answers);
    return PasswordSignIn(*services_, prompter_, RequestInfo{user, "sshd", "192.0.2.7"});
  }
  std::vector<SignInEvent> Events() {
    auto ev = store_->ListEvents(EventFilter{});
    EXPECT_TRUE(ev.ok());
    return ev.ok() ? ev.value() : std::vector<SignInEvent>{};
  }
};

TEST_F(SignInTest, RightPasswordSucceedsAndIsRecorded) {
  FlowResult r = SignIn("alice", {"correct horse battery staple"});
  EXPECT_EQ(r.decision, Decision::kSuccess);
  ASSERT_EQ(prompter_.prompts.size(), 1u);
  EXPECT_EQ(prompter_.prompts[0], "Password: ");
  auto ev = Events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].user, "alice");
  EXPECT_EQ(ev[0].service, "sshd");
  EXPECT_EQ(ev[0].remote_host, "192.0.2.7");
  EXPECT_EQ(ev[0].method, "password");
  EXPECT_EQ(ev[0].outcome, "success");
  EXPECT_EQ(ev[0].time, clock_.Now());
}

TEST_F(SignInTest, WrongPasswordFails) {
  EXPECT_EQ(SignIn("alice", {"correct horse battery stapler"}).decision, Decision::kFailure);
  EXPECT_EQ(Events().at(0).outcome, "failure");
  EXPECT_FALSE(logger_.Contains("stapler"));  // never log the attempt
}

TEST_F(SignInTest, UnknownUserDoesTheSameArgon2Work) {
  FlowResult r = SignIn("nobody", {"whatever"});
  EXPECT_EQ(r.decision, Decision::kUnknownUser);
  EXPECT_TRUE(logger_.Contains("argon2: start"));
  EXPECT_TRUE(logger_.Contains("argon2: end"));
  EXPECT_EQ(prompter_.prompts.size(), 1u);  // asked exactly like a known user
  EXPECT_EQ(Events().at(0).outcome, "unknown-user");
}

TEST_F(SignInTest, DisabledUserIsRefusedEvenWithTheRightPassword) {
  EXPECT_EQ(SignIn("mallory", {"mallory's password"}).decision, Decision::kDisabled);
  EXPECT_EQ(SignIn("mallory", {"wrong"}).decision, Decision::kFailure);
}

TEST_F(SignInTest, EmptyAndOverlongAreRefusedWithoutHashing) {
  EXPECT_EQ(SignIn("alice", {""}).decision, Decision::kFailure);
  EXPECT_EQ(SignIn("alice", {std::string(1 << 20, 'a')}).decision, Decision::kFailure);
  EXPECT_FALSE(logger_.Contains("argon2: start"));
  EXPECT_TRUE(logger_.Contains("longer than 1024 bytes"));
}

TEST_F(SignInTest, AbortedConversation) {
  EXPECT_EQ(SignIn("alice", {}).decision, Decision::kAborted);
}

TEST_F(SignInTest, BadUserNameIsUnknownAndLoggedEscaped) {
  EXPECT_EQ(SignIn("evil\nuser", {"x"}).decision, Decision::kUnknownUser);
  for (const auto& line : logger_.lines()) EXPECT_EQ(line.second.find('\n'), std::string::npos);
  EXPECT_TRUE(logger_.Contains("evil\\x0auser"));
}

TEST_F(SignInTest, RehashesToConfiguredParametersAfterSuccessOnly) {
  PasswordHasher stronger(Argon2Params{2, 16, 1}, nullptr, logger_);
  Services s2{config_, *store_, stronger, clock_, random_, logger_};
  prompter_.answers = {"wrong"};
  EXPECT_EQ(PasswordSignIn(s2, prompter_, {"alice", "sshd", ""}).decision, Decision::kFailure);
  auto before = store_->GetUser("alice");
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(stronger.NeedsRehash((*before)->password_hash));
  prompter_.answers = {"correct horse battery staple"};
  EXPECT_EQ(PasswordSignIn(s2, prompter_, {"alice", "sshd", ""}).decision, Decision::kSuccess);
  auto after = store_->GetUser("alice");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(stronger.NeedsRehash((*after)->password_hash));
  EXPECT_NE((*after)->password_hash.find("m=16,t=2,p=1"), std::string::npos);
  EXPECT_EQ((*after)->password_changed, (*before)->password_changed);  // a rehash is no change
}

TEST_F(SignInTest, AccountCheck) {
  EXPECT_EQ(CheckAccount(*services_, prompter_, {"alice", "sshd", ""}).decision,
            Decision::kSuccess);
  EXPECT_EQ(CheckAccount(*services_, prompter_, {"nobody", "sshd", ""}).decision,
            Decision::kUnknownUser);
  EXPECT_EQ(CheckAccount(*services_, prompter_, {"mallory", "sshd", ""}).decision,
            Decision::kDisabled);
  ASSERT_EQ(prompter_.errors.size(), 1u);
  EXPECT_NE(prompter_.errors[0].find("disabled"), std::string::npos);
}

// A success carries the account state its own write read
// (FlowResult::account); the account check decides on such a state as on
// a record it reads, without reading the store.
TEST_F(SignInTest, ASuccessCarriesTheAccountStateTheAccountCheckDecidesOn) {
  prompter_.answers = {"correct horse battery staple"};
  FlowResult signed_in = PasswordSignIn(*services_, prompter_, {"alice", "sshd", ""});
  ASSERT_EQ(signed_in.decision, Decision::kSuccess);
  ASSERT_TRUE(signed_in.account.has_value());
  auto alice = store_->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_FALSE(signed_in.account->disabled);
  EXPECT_FALSE(signed_in.account->must_change);
  EXPECT_EQ(signed_in.account->password_changed, (*alice)->password_changed);
  prompter_.answers = {"wrong"};
  EXPECT_FALSE(PasswordSignIn(*services_, prompter_, {"alice", "sshd", ""}).account.has_value());

  // The store is not read: "nobody" would be unknown there.
  const RequestInfo nobody{"nobody", "sshd", ""};
  AccountFlags state;
  EXPECT_EQ(CheckAccount(*services_, prompter_, nobody, &state).decision, Decision::kSuccess);
  state.must_change = true;
  EXPECT_EQ(CheckAccount(*services_, prompter_, nobody, &state).decision,
            Decision::kNewPasswordRequired);
  state.disabled = true;
  EXPECT_EQ(CheckAccount(*services_, prompter_, nobody, &state).decision, Decision::kDisabled);
  state = AccountFlags{};
  config_.password_max_days = 30;
  state.password_changed = clock_.Now() - 31 * 86400;
  EXPECT_EQ(CheckAccount(*services_, prompter_, nobody, &state).decision,
            Decision::kNewPasswordRequired);
}

}  // namespace
}  // namespace sesame
