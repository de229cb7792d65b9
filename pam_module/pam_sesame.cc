// pam_sesame.so entry points. Each is a shim: it catches everything and
// fails closed. No exit/abort, no signal handlers, no stdout/stderr.
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include "pam_module/module_runner.h"

namespace {

int Shim(sesame::PamGroup group, pam_handle_t* pamh, int flags, int argc, const char** argv) {
  try {
    return sesame::RunPamCall(group, pamh, flags, argc, argv);
  } catch (...) {
    pam_syslog(pamh, LOG_CRIT, "internal error (exception); denying");
    return PAM_SERVICE_ERR;
  }
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int pam_sm_authenticate(pam_handle_t* pamh, int flags,
                                                               int argc, const char** argv) {
  return Shim(sesame::PamGroup::kAuthenticate, pamh, flags, argc, argv);
}

__attribute__((visibility("default"))) int pam_sm_setcred(pam_handle_t* pamh, int flags, int argc,
                                                          const char** argv) {
  return Shim(sesame::PamGroup::kSetcred, pamh, flags, argc, argv);
}

__attribute__((visibility("default"))) int pam_sm_acct_mgmt(pam_handle_t* pamh, int flags, int argc,
                                                            const char** argv) {
  return Shim(sesame::PamGroup::kAccount, pamh, flags, argc, argv);
}

__attribute__((visibility("default"))) int pam_sm_chauthtok(pam_handle_t* pamh, int flags, int argc,
                                                            const char** argv) {
  return Shim(sesame::PamGroup::kChauthtok, pamh, flags, argc, argv);
}

}  // extern "C"
