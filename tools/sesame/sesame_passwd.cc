// sesame passwd: the calling user changes their own password.
// sesame passwd --forgot: resets a forgotten one (self_service_reset) with
// the registered codes, from a session that did not need the password.
//
// The current password is checked first (lockout applies, a wrong one
// counts), then the new one is asked twice and checked against the policy,
// up to kTries times. Nothing is written before the last prompt is
// answered, so giving up at any prompt (Ctrl-C, Ctrl-Z, Ctrl-D, no answer
// for 5 minutes) changes nothing.
#include <cstdio>
#include <string>

#include "core/flows/reset.h"
#include "core/flows/sign_in.h"
#include "tools/common/exit_codes.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"
#include "tools/sesame/sesame_prompter.h"

namespace sesame::self {
namespace {

constexpr int kTries = 3;
constexpr const char* kWrongPassword = "wrong password; nothing was changed";

}  // namespace

int RunPasswd(const Invocation& inv) {
  Status terminal = CheckTerminal("sesame passwd");
  if (!terminal.ok()) return Fail(terminal);
  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return Fail(env.status());
  // Ask nothing of someone who has no account here.
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());

  // The key lets a wrong current password typed again count once toward the
  // lockout, as at sign-in. Without it (an unreadable key file) every wrong
  // one counts: the change itself does not need the key.
  (void)(*env)->LoadKey();
  Services services = (*env)->services();
  ToolPrompter tty(*(*env)->logger);
  const RequestInfo request{inv.user, kService, ""};
  if (inv.forgot) {
    // The whole reset is core's (core/flows/reset.h): the codes, then the
    // new password under the policy.
    tty.Info("Resetting the forgotten Sesame password of " + inv.user + ".");
    FlowResult reset = ResetForgottenPassword(services, tty, request, ResetEntry::kTool);
    if (reset.decision == Decision::kSuccess) {
      std::printf("%s: password reset.\n", kTool);
      return kExitOk;
    }
    // Every refusal was told at the prompt.
    return Refused(reset, inv.user, "reset your password", "your password was not reset",
                   tty.gave_up());
  }
  tty.Info("Changing the Sesame password of " + inv.user + ".");

  SecretBuffer current;
  FlowResult checked = VerifyCurrentPassword(services, tty, request, &current);
  if (checked.decision != Decision::kSuccess)
    return Refused(checked, inv.user, "check your current password", kWrongPassword, tty.gave_up());

  FlowResult changed = ChangePassword(services, tty, request, &current, kTries);
  current.Clear();
  switch (changed.decision) {
    case Decision::kSuccess:
      std::printf("%s: password changed.\n", kTool);
      return kExitOk;
    case Decision::kFailure:
      // Each refusal was already printed ("BAD PASSWORD: ...", "Sorry,
      // passwords do not match.").
      return Fail(Status(Code::kInvalidArgument, "no acceptable new password after " +
                                                     std::to_string(kTries) +
                                                     " tries; nothing was changed"));
    default:
      return Refused(changed, inv.user, "change your password", kWrongPassword, tty.gave_up());
  }
}

}  // namespace sesame::self
