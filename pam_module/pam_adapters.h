// Adapters from core's Prompter and Logger to a PAM handle.
#ifndef SESAME_PAM_MODULE_PAM_ADAPTERS_H_
#define SESAME_PAM_MODULE_PAM_ADAPTERS_H_

#include <security/pam_modules.h>

#include "core/base/logger.h"
#include "core/base/prompter.h"

namespace sesame {

// Logs through pam_syslog (facility authpriv, "pam_sesame(service:group)").
class PamLogger final : public Logger {
 public:
  PamLogger(pam_handle_t* pamh, bool debug) : pamh_(pamh), debug_(debug) {}
  void Log(LogLevel level, std::string_view message) override;
  bool debug_enabled() const override { return debug_; }

 private:
  pam_handle_t* pamh_;
  bool debug_;
};

// Asks through the application's conversation. The current password goes
// through pam_get_authtok so use_first_pass / try_first_pass (and the token
// another module already read) work as in pam_unix.
class PamPrompter final : public Prompter {
 public:
  PamPrompter(pam_handle_t* pamh, int flags, bool use_authtok)
      : pamh_(pamh), flags_(flags), use_authtok_(use_authtok) {}
  Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) override;
  // pam_get_authtok(PAM_AUTHTOK): libpam asks twice and compares. Without
  // use_authtok a token left from an earlier step (the login password, or
  // a refused one) is dropped first, so the person is always asked.
  Result<SecretBuffer> AskNewPassword() override;
  Result<std::string> Ask(std::string_view prompt) override;
  void Info(std::string_view message) override;
  void Error(std::string_view message) override;

 private:
  pam_handle_t* pamh_;
  int flags_;
  bool use_authtok_;
};

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_PAM_ADAPTERS_H_
