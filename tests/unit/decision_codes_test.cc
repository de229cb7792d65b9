// Every cell of the Decision -> PAM code table, written out again: a change
// to what the module answers must change this test too.
#include "pam_module/decision_codes.h"

#include <gtest/gtest.h>
#include <security/pam_modules.h>

#include <cstddef>
#include <iterator>

namespace sesame {
namespace {

struct Expected {
  Decision decision;
  int authenticate;
  int account;
  int prelim;
  int update_old;
  int update;
};

// clang-format off
const Expected kExpected[] = {
  //                                authenticate          account               prelim                update: current           update: new
  {Decision::kSuccess,             PAM_SUCCESS,          PAM_SUCCESS,          PAM_SUCCESS,          PAM_SUCCESS,              PAM_SUCCESS},
  {Decision::kFailure,             PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR, PAM_AUTHTOK_ERR},
  {Decision::kUnknownUser,         PAM_USER_UNKNOWN,     PAM_USER_UNKNOWN,     PAM_USER_UNKNOWN,     PAM_USER_UNKNOWN,         PAM_USER_UNKNOWN},
  {Decision::kDisabled,            PAM_AUTH_ERR,         PAM_ACCT_EXPIRED,     PAM_PERM_DENIED,      PAM_PERM_DENIED,          PAM_AUTHTOK_ERR},
  {Decision::kLocked,              PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR, PAM_AUTHTOK_ERR},
  {Decision::kNewPasswordRequired, PAM_AUTH_ERR,         PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS,          PAM_SUCCESS,              PAM_AUTHTOK_ERR},
  {Decision::kUnavailable,         PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL,     PAM_AUTHTOK_ERR},
  {Decision::kAborted,             PAM_CONV_ERR,         PAM_CONV_ERR,         PAM_CONV_ERR,         PAM_CONV_ERR,             PAM_CONV_ERR},
  {Decision::kMfaRequired,         PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR, PAM_AUTHTOK_ERR},
  {Decision::kAppPasswordRequired, PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR, PAM_AUTHTOK_ERR},
};
// clang-format on

TEST(DecisionCodesTest, EveryCell) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(DecisionName(e.decision));
    EXPECT_EQ(PamCodeFor(e.decision, PamStep::kAuthenticate), e.authenticate);
    EXPECT_EQ(PamCodeFor(e.decision, PamStep::kAccount), e.account);
    EXPECT_EQ(PamCodeFor(e.decision, PamStep::kChauthtokPrelim), e.prelim);
    EXPECT_EQ(PamCodeFor(e.decision, PamStep::kChauthtokUpdateOld), e.update_old);
    EXPECT_EQ(PamCodeFor(e.decision, PamStep::kChauthtokUpdate), e.update);
  }
}

TEST(DecisionCodesTest, EveryDecisionHasARow) {
  // The values of Decision are 0..kAppPasswordRequired; the table above
  // lists each once, in that order.
  ASSERT_EQ(std::size(kExpected), static_cast<size_t>(Decision::kAppPasswordRequired) + 1);
  for (size_t i = 0; i < std::size(kExpected); ++i)
    EXPECT_EQ(static_cast<size_t>(kExpected[i].decision), i) << DecisionName(kExpected[i].decision);
}

TEST(DecisionCodesTest, NoDecisionFailsClosed) {
  const Decision bogus = static_cast<Decision>(99);
  for (PamStep step : {PamStep::kAuthenticate, PamStep::kAccount, PamStep::kChauthtokPrelim,
                       PamStep::kChauthtokUpdateOld, PamStep::kChauthtokUpdate})
    EXPECT_EQ(PamCodeFor(bogus, step), PAM_SERVICE_ERR);
}

}  // namespace
}  // namespace sesame
