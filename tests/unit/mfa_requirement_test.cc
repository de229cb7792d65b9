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

}  // namespace
}  // namespace sesame
