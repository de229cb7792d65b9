#include "pam_module/exempt_users.h"

#include <string>

namespace sesame {

bool ConfiguredExempt(const Config& config, std::string_view user, Logger& logger) {
  if (!IsExemptUser(config, user)) return false;
  logger.Log(LogLevel::kInfo, "user " + SanitizeForLog(user) +
                                  " is in exempt_users: left to the next module "
                                  "(PAM_USER_UNKNOWN), Sesame's key and store not used");
  return true;
}

bool IsFallbackExempt(std::string_view user) { return user == kFallbackExemptUser; }

std::string FailureOutcome(bool fallback_exempt) {
  if (!fallback_exempt) return "; denying";
  return std::string("; user ") + kFallbackExemptUser +
         " is left to the next module (PAM_USER_UNKNOWN) by the fixed rule for an unusable "
         "configuration; every other user is denied until it is fixed (sesame-admin doctor)";
}

}  // namespace sesame
