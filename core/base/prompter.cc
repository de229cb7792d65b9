#include "core/base/prompter.h"

namespace sesame {

Result<SecretBuffer> Prompter::AskNewPassword() {
  Result<SecretBuffer> first = AskSecret(SecretKind::kNewPassword, "New password: ");
  if (!first.ok()) return first.status();
  Result<SecretBuffer> second = AskSecret(SecretKind::kRetypeNewPassword, "Retype new password: ");
  if (!second.ok()) return second.status();
  if (!ConstantTimeEquals(first->view(), second->view())) {
    Error("Sorry, passwords do not match.");
    return Status(Code::kInvalidArgument, "the two entries differ");
  }
  return std::move(first.value());
}

}  // namespace sesame
