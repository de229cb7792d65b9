// The PAM return code of each core Decision, for each PAM call: one table
// (decision_codes.cc), one row per Decision, one column per step.
#ifndef SESAME_PAM_MODULE_DECISION_CODES_H_
#define SESAME_PAM_MODULE_DECISION_CODES_H_

#include "core/flows/sign_in.h"

namespace sesame {

// The columns. pam_chauthtok runs the stack twice (PAM_PRELIM_CHECK, then
// PAM_UPDATE_AUTHTOK); the update step checks the current password again
// before it stores the new one, and answers a wrong one differently.
enum class PamStep {
  kAuthenticate,        // pam_sm_authenticate
  kAccount,             // pam_sm_acct_mgmt
  kChauthtokPrelim,     // pam_sm_chauthtok, PAM_PRELIM_CHECK: the current password
  kChauthtokUpdateOld,  // pam_sm_chauthtok, PAM_UPDATE_AUTHTOK: the current password again
  kChauthtokUpdate,     // pam_sm_chauthtok, PAM_UPDATE_AUTHTOK: the new password
};

// The PAM code for `decision` in `step`; PAM_SERVICE_ERR for a value that
// is no Decision.
int PamCodeFor(Decision decision, PamStep step);

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_DECISION_CODES_H_
