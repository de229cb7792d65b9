#include "pam_module/decision_codes.h"

#include <security/pam_modules.h>

namespace sesame {
namespace {

struct Row {
  int authenticate;
  int account;
  int prelim;
  int update_old;
  int update;
};

// A switch over every Decision (the compiler names one that is missing),
// each case one row of the table.
// clang-format off
Row RowOf(Decision d) {
  switch (d) {
    //                                        authenticate          account               chauthtok prelim      update: current             update: new
    case Decision::kSuccess:             return {PAM_SUCCESS,          PAM_SUCCESS,          PAM_SUCCESS,          PAM_SUCCESS,                PAM_SUCCESS};
    case Decision::kFailure:             return {PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR,   PAM_AUTHTOK_ERR};
    case Decision::kUnknownUser:         return {PAM_USER_UNKNOWN,     PAM_USER_UNKNOWN,     PAM_USER_UNKNOWN,     PAM_USER_UNKNOWN,           PAM_USER_UNKNOWN};
    case Decision::kDisabled:            return {PAM_AUTH_ERR,         PAM_ACCT_EXPIRED,     PAM_PERM_DENIED,      PAM_PERM_DENIED,            PAM_AUTHTOK_ERR};
    case Decision::kLocked:              return {PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR,   PAM_AUTHTOK_ERR};
    // Not a result of checking the current password: that step passes.
    case Decision::kNewPasswordRequired: return {PAM_AUTH_ERR,         PAM_NEW_AUTHTOK_REQD, PAM_SUCCESS,          PAM_SUCCESS,                PAM_AUTHTOK_ERR};
    case Decision::kUnavailable:         return {PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL,       PAM_AUTHTOK_ERR};
    case Decision::kAborted:             return {PAM_CONV_ERR,         PAM_CONV_ERR,         PAM_CONV_ERR,         PAM_CONV_ERR,               PAM_CONV_ERR};
    // Refused by a rule, not for a wrong secret; the same codes as one.
    case Decision::kMfaRequired:
    case Decision::kAppPasswordRequired: return {PAM_AUTH_ERR,         PAM_PERM_DENIED,      PAM_AUTH_ERR,         PAM_AUTHTOK_RECOVERY_ERR,   PAM_AUTHTOK_ERR};
  }
  return {PAM_SERVICE_ERR, PAM_SERVICE_ERR, PAM_SERVICE_ERR, PAM_SERVICE_ERR, PAM_SERVICE_ERR};
}
// clang-format on

}  // namespace

int PamCodeFor(Decision decision, PamStep step) {
  const Row row = RowOf(decision);
  switch (step) {
    case PamStep::kAuthenticate:
      return row.authenticate;
    case PamStep::kAccount:
      return row.account;
    case PamStep::kChauthtokPrelim:
      return row.prelim;
    case PamStep::kChauthtokUpdateOld:
      return row.update_old;
    case PamStep::kChauthtokUpdate:
      return row.update;
  }
  return PAM_SERVICE_ERR;
}

}  // namespace sesame
