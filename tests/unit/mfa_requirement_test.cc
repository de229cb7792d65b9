// Who must use MFA, as core/policy/mfa_requirement.h decides it: an NSS lookup
// that fails, or a named group that does not exist, is an error (the
// caller denies), never "required of no one".
#include "core/policy/mfa_requirement.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "tests/fakes/flow_test.h"

namespace sesame {
namespace {

// getgrnam_r(3) lets modules say "not found" with ENOENT, ESRCH, EBADF or
// EPERM; nss-pam-ldapd returns such codes when nslcd is down. Only "no
// error, no entry" is "not found".
TEST(NssAnswerTest, OnlyNoErrorAndNoEntryIsNotFound) {
  EXPECT_EQ(ClassifyNssResult(0, true), NssAnswer::kFound);
  EXPECT_EQ(ClassifyNssResult(0, false), NssAnswer::kNotFound);
  for (int rc : {ENOENT, ESRCH, EBADF, EPERM, EIO, EAGAIN, ENOMEM, ERANGE}) {
    SCOPED_TRACE(rc);
    EXPECT_EQ(ClassifyNssResult(rc, false), NssAnswer::kError);
    EXPECT_EQ(ClassifyNssResult(rc, true), NssAnswer::kError);
  }
}

class MfaRequirementTest : public testing::FlowTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(SetUpFlows("mfareq", false, nullptr)); }
  UserRecord User(const std::string& name) {
    UserRecord u;
    u.name = name;
    return u;
  }
};

TEST_F(MfaRequirementTest, AConfiguredGroupThatDoesNotExistIsAnError) {
  config_.mfa_required = "group:no-such-group-sesame-test";
  Result<MfaRequirement> r = MfaRequirementOf(config_, *store_, User("alice"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no-such-group-sesame-test"), std::string::npos);
  EXPECT_NE(r.status().message().find("mfa_required"), std::string::npos);
}

TEST_F(MfaRequirementTest, AStoredGroupThatDoesNotExistIsAnError) {
  ASSERT_TRUE(store_->SetMfaRequiredGroup("gone-group-sesame-test", true, 100).ok());
  Result<MfaRequirement> r = MfaRequirementOf(config_, *store_, User("alice"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sesame-admin mfa unrequire @gone-group-sesame-test"),
            std::string::npos)
      << r.status().message();
}

TEST_F(MfaRequirementTest, ExistingGroupsAndTheOtherSourcesStillDecide) {
  config_.mfa_required = "group:root";  // exists on every host; alice is not in it
  Result<MfaRequirement> r = MfaRequirementOf(config_, *store_, User("alice"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->required);
  r = MfaRequirementOf(config_, *store_, User("root"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->required);
  UserRecord flagged = User("alice");
  flagged.mfa_required = true;
  r = MfaRequirementOf(config_, *store_, flagged);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->required);
}

// A record read with the required groups (Store::GetUserForSignIn) is
// decided on those, as old as the record; one read without them asks the
// store now.
TEST_F(MfaRequirementTest, GroupsReadWithTheRecordDecideForIt) {
  ASSERT_TRUE(store_->SetMfaRequiredGroup("root", true, 100).ok());
  Result<std::optional<UserRecord>> added = store_->GetUser("root");
  ASSERT_TRUE(added.ok());
  if (!added->has_value()) {
    ASSERT_TRUE(store_->AddUser(User("root")).ok());
  }
  Result<std::optional<UserRecord>> read = store_->GetUserForSignIn("root");
  ASSERT_TRUE(read.ok() && read->has_value());
  ASSERT_TRUE((*read)->mfa_required_groups.has_value());
  EXPECT_EQ(*(*read)->mfa_required_groups, std::vector<std::string>{"root"});
  Result<MfaRequirement> r = MfaRequirementOf(config_, *store_, **read);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->required);
  EXPECT_NE(r->why.find("mfa require @root"), std::string::npos) << r->why;

  // The requirement is lifted after the read: the record still says what
  // the store said then, a fresh read says what it says now.
  ASSERT_TRUE(store_->SetMfaRequiredGroup("root", false, 101).ok());
  r = MfaRequirementOf(config_, *store_, **read);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->required);
  r = MfaRequirementOf(config_, *store_, User("root"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->required);

  // And the other way: a group added after the read is not in the record
  // (an empty list read is "none", not "ask the store").
  UserRecord none = User("root");
  none.mfa_required_groups = std::vector<std::string>{};
  ASSERT_TRUE(store_->SetMfaRequiredGroup("root", true, 102).ok());
  r = MfaRequirementOf(config_, *store_, none);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->required);
  r = MfaRequirementOf(config_, *store_, User("root"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->required);
}

}  // namespace
}  // namespace sesame
