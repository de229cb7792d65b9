// One PAM call, from arguments to return code: parse the module arguments,
// load config, key and store (refusing unsafe ones), run the core flow, map
// its decision to a PAM code. Everything here fails closed.
#ifndef SESAME_PAM_MODULE_MODULE_RUNNER_H_
#define SESAME_PAM_MODULE_MODULE_RUNNER_H_

#include <security/pam_modules.h>

namespace sesame {

enum class PamGroup { kAuthenticate, kSetcred, kAccount, kChauthtok };

// REQUIRES: called from a pam_sm_* shim that catches every exception.
int RunPamCall(PamGroup group, pam_handle_t* pamh, int flags, int argc, const char** argv);

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_MODULE_RUNNER_H_
