// Accounts pam_sesame leaves to the next module: "a broken store must not
// lock root out of the host".
//
// MUST rules:
//  - decided before the key file is read and before the store is opened:
//    nothing an exempt account meets depends on them;
//  - the answer is PAM_USER_UNKNOWN in every group (auth, account,
//    password), the code the stacks already send on to pam_unix for
//    accounts Sesame does not know (user_unknown=ignore);
//  - with a usable configuration, exempt means named in exempt_users
//    (default root), nothing else;
//  - when no configuration can be used (bad module arguments; a config file
//    missing, unsafe or with a bad line) the list cannot be read: then the
//    account named kFallbackExemptUser ("root") is exempt by a fixed rule,
//    and everyone else is denied as before (fail closed);
//  - the user name comes from PAM_USER as set by the application or an
//    earlier module; the fallback never prompts for one.
#ifndef SESAME_PAM_MODULE_EXEMPT_USERS_H_
#define SESAME_PAM_MODULE_EXEMPT_USERS_H_

#include <security/pam_modules.h>

#include <string>
#include <string_view>

#include "core/base/logger.h"
#include "core/config/config.h"

namespace sesame {

inline constexpr int kExemptPamCode = PAM_USER_UNKNOWN;

// True when `user` is in config.exempt_users; logs that it is left to the
// next module.
bool ConfiguredExempt(const Config& config, std::string_view user, Logger& logger);

// True when `user` is kFallbackExemptUser: exempt while no configuration
// can be used.
bool IsFallbackExempt(std::string_view user);

// What follows the reason in the log line when the configuration cannot be
// used: "; denying", or for the fallback-exempt user what happens instead.
std::string FailureOutcome(bool fallback_exempt);

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_EXEMPT_USERS_H_
