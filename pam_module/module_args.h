// Module arguments from the PAM service file.
//
//   config=FILE        config file (default /etc/security/sesame.conf)
//   mode=interactive   the default: password, then a verification code
//                      for a user with an authenticator
//   mode=app_password  one secret: an app password, or the main password
//                      where app_password_main_password allows it (IMAP,
//                      SMTP: services that prompt once)
//   mode=mfa_only      the second factor alone, after pam_unix
//   use_first_pass     } handled by pam_get_authtok, accepted here
//   try_first_pass     }
//   use_authtok        } (password group: take the new password an earlier
//                        module such as pam_pwquality set)
//   nodelay            ask libpam for no delay after a failed sign-in
//                      (pam_unix's option of that name); without it the
//                      interactive modes ask for kFailDelayMicros, as
//                      pam_unix does; mode=app_password never asks
//   debug              verbose syslog, including the effective config
//
// Anything else is an error: the module logs it and denies.
#ifndef SESAME_PAM_MODULE_MODULE_ARGS_H_
#define SESAME_PAM_MODULE_MODULE_ARGS_H_

#include <string>

#include "core/base/status.h"

namespace sesame {

struct ModuleArgs {
  std::string config_path;
  bool debug = false;
  bool use_first_pass = false;
  bool try_first_pass = false;
  bool use_authtok = false;
  bool nodelay = false;
  bool mfa_only = false;      // mode=mfa_only
  bool app_password = false;  // mode=app_password
};

// The delay after a failed sign-in the interactive modes ask libpam for
// (pam_fail_delay), unless nodelay: pam_unix's 2 s. A Sesame user's wrong
// password then takes as long as a name that falls through to pam_unix,
// so the time of a refusal does not tell which names are Sesame accounts.
inline constexpr unsigned kFailDelayMicros = 2000000;

Result<ModuleArgs> ParseModuleArgs(int argc, const char** argv);

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_MODULE_ARGS_H_
