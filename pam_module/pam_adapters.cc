#include "pam_module/pam_adapters.h"

#include <security/pam_ext.h>
#include <syslog.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace sesame {
namespace {

// Copies a conversation answer into wiped memory and wipes and frees the
// original.
SecretBuffer TakeResponse(char* resp) {
  SecretBuffer out;
  if (resp != nullptr) {
    size_t n = std::strlen(resp);
    out.Assign(resp, n);
    WipeMemory(resp, n);
    std::free(resp);
  }
  return out;
}

}  // namespace

void PamLogger::Log(LogLevel level, std::string_view message) {
  if (level == LogLevel::kDebug && !debug_) return;
  pam_syslog(pamh_, SyslogPriority(level), "%.*s", static_cast<int>(message.size()),
             message.data());
}

Result<SecretBuffer> PamPrompter::AskSecret(SecretKind kind, std::string_view prompt) {
  std::string text(prompt);
  if (kind == SecretKind::kCurrentPassword || kind == SecretKind::kOldPassword) {
    const int item = kind == SecretKind::kCurrentPassword ? PAM_AUTHTOK : PAM_OLDAUTHTOK;
    const char* tok = nullptr;
    int rc = pam_get_authtok(pamh_, item, &tok, text.c_str());
    if (rc == PAM_AUTH_ERR || (rc == PAM_SUCCESS && tok == nullptr)) {
      // use_first_pass and no earlier module read a password.
      return Status(Code::kAuthFailed, "no password from an earlier module (use_first_pass)");
    }
    if (rc != PAM_SUCCESS)
      return Status(Code::kAborted, std::string("conversation failed: ") + pam_strerror(pamh_, rc));
    return SecretBuffer(tok, std::strlen(tok));
  }
  char* resp = nullptr;
  int rc = pam_prompt(pamh_, PAM_PROMPT_ECHO_OFF, &resp, "%s", text.c_str());
  if (rc != PAM_SUCCESS || resp == nullptr) {
    if (resp != nullptr) TakeResponse(resp);
    return Status(Code::kAborted, std::string("conversation failed: ") + pam_strerror(pamh_, rc));
  }
  return TakeResponse(resp);
}

Result<SecretBuffer> PamPrompter::AskNewPassword() {
  if (!use_authtok_) pam_set_item(pamh_, PAM_AUTHTOK, nullptr);
  const char* tok = nullptr;
  int rc = pam_get_authtok(pamh_, PAM_AUTHTOK, &tok, nullptr);
  if (rc == PAM_TRY_AGAIN)  // libpam said "Sorry, passwords do not match."
    return Status(Code::kInvalidArgument, "the two entries differ");
  if (rc == PAM_SUCCESS && tok != nullptr) return SecretBuffer(tok, std::strlen(tok));
  if (use_authtok_ && (rc == PAM_AUTHTOK_ERR || rc == PAM_SUCCESS))
    return Status(Code::kAuthFailed, "use_authtok: no new password from an earlier module");
  return Status(Code::kAborted, std::string("conversation failed: ") + pam_strerror(pamh_, rc));
}

Result<std::string> PamPrompter::Ask(std::string_view prompt) {
  std::string text(prompt);
  char* resp = nullptr;
  int rc = pam_prompt(pamh_, PAM_PROMPT_ECHO_ON, &resp, "%s", text.c_str());
  if (rc != PAM_SUCCESS || resp == nullptr) {
    std::free(resp);
    return Status(Code::kAborted, std::string("conversation failed: ") + pam_strerror(pamh_, rc));
  }
  std::string out(resp);
  std::free(resp);
  return out;
}

void PamPrompter::Info(std::string_view message) {
  if (flags_ & PAM_SILENT) return;
  std::string text(message);
  pam_prompt(pamh_, PAM_TEXT_INFO, nullptr, "%s", text.c_str());
}

void PamPrompter::Error(std::string_view message) {
  if (flags_ & PAM_SILENT) return;
  std::string text(message);
  pam_prompt(pamh_, PAM_ERROR_MSG, nullptr, "%s", text.c_str());
}

}  // namespace sesame
