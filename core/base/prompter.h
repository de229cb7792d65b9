// Prompter: how core asks a person something. A PAM conversation and a
// terminal are both a Prompter, so each flow is written once.
#ifndef SESAME_CORE_BASE_PROMPTER_H_
#define SESAME_CORE_BASE_PROMPTER_H_

#include <string>
#include <string_view>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

// What a secret prompt is for. The PAM adapter maps kCurrentPassword to
// pam_get_authtok(PAM_AUTHTOK) so use_first_pass/try_first_pass work.
enum class SecretKind { kCurrentPassword, kOldPassword, kNewPassword, kRetypeNewPassword, kCode };

class Prompter {
 public:
  virtual ~Prompter() = default;
  // Asks with echo off. kAborted when the person or the conversation gave up.
  virtual Result<SecretBuffer> AskSecret(SecretKind kind, std::string_view prompt) = 0;
  // Asks for a new password twice ("New password: ", "Retype new password:
  // ") and returns it when both match. When they differ it tells the person
  // ("Sorry, passwords do not match.") and returns kInvalidArgument. The PAM
  // adapter lets pam_get_authtok do all this, so use_authtok works after
  // pam_pwquality.
  virtual Result<SecretBuffer> AskNewPassword();
  // Asks with echo on.
  virtual Result<std::string> Ask(std::string_view prompt) = 0;
  virtual void Info(std::string_view message) = 0;
  virtual void Error(std::string_view message) = 0;
};

}  // namespace sesame

#endif  // SESAME_CORE_BASE_PROMPTER_H_
