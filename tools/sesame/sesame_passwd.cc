// sesame passwd: the calling user changes their own password.
//
// The current password is checked first (lockout applies, a wrong one
// counts), then the new one is asked twice and checked against the policy,
// up to kTries times. Nothing is written before the last prompt is
// answered, so giving up at any prompt (Ctrl-C, Ctrl-D) changes nothing.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "core/sign_in.h"
#include "tools/common/exit_codes.h"
#include "tools/common/terminal.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"

namespace sesame::self {
namespace {

constexpr int kTries = 3;
constexpr const char* kService = "sesame";  // the service name in logs and sign-in events

// Maps a decision that is not a success to a message and an exit code.
// `step` says what was being done ("check your current password").
int Refused(const FlowResult& result, const std::string& user, const char* step) {
  switch (result.decision) {
    case Decision::kSuccess:
      return kExitOk;
    case Decision::kFailure:
      return Fail(Status(Code::kAuthFailed, "wrong password; nothing was changed"));
    case Decision::kLocked:
      // The core has told the person why and for how long.
      return kExitAuth;
    case Decision::kDisabled:
      return Fail(Status(Code::kPermissionDenied,
                         "your Sesame account is disabled; ask your administrator"));
    case Decision::kUnknownUser:
      return Fail(NoAccount(user));
    case Decision::kAborted:
      return Fail(Status(Code::kAborted, "cancelled at the prompt; nothing was changed"));
    case Decision::kNewPasswordRequired:
    case Decision::kMfaRequired:
    case Decision::kUnavailable:
      break;
  }
  return Fail(Status(Code::kUnavailable, std::string("cannot ") + step + " now (" + result.reason +
                                             "); nothing was changed"));
}

// Passwords are asked on the terminal only; say so before asking anything.
Status CheckTerminal() {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::kInvalidArgument,
                  "sesame passwd asks for passwords on a terminal, and there is none");
  close(fd);
  return Status::Ok();
}

}  // namespace

int RunPasswd(const Invocation& inv) {
  Status terminal = CheckTerminal();
  if (!terminal.ok()) return Fail(terminal);
  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  // Ask nothing of someone who has no account here.
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());

  Services services = (*env)->services();
  TerminalPrompter tty;
  const RequestInfo request{inv.user, kService, ""};
  tty.Info("Changing the Sesame password of " + inv.user + ".");

  SecretBuffer current;
  FlowResult checked = VerifyCurrentPassword(services, tty, request, &current);
  if (checked.decision != Decision::kSuccess)
    return Refused(checked, inv.user, "check your current password");

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
      return Refused(changed, inv.user, "change your password");
  }
}

}  // namespace sesame::self
