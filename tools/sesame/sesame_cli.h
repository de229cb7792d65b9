// sesame's command line: what a subcommand is given, the subcommand table
// (tools/common/command_table.h), and the commands themselves.
//
// Every command acts on `Invocation::user`, the account of the caller (the
// real uid the tool was started with -> getpwuid), and on no other: no
// command takes a user name; the only operand is the NAME of one of the
// caller's app passwords (app-password create | revoke). The only files a
// caller names are those of --qr-png / --qr-svg, written as the caller
// (sesame_qr_files.h). Commands run as the caller and raise their
// privileges only through ToolEnv (sesame_env.h).
#ifndef SESAME_TOOLS_SESAME_SESAME_CLI_H_
#define SESAME_TOOLS_SESAME_SESAME_CLI_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/flows/sign_in.h"
#include "tools/common/command_table.h"

namespace sesame::self {

inline constexpr const char* kTool = "sesame";
// The service name in logs and sign-in events.
inline constexpr const char* kService = "sesame";

class Privileges;

struct Invocation {
  Privileges* privileges = nullptr;  // the caller's ids and the way back to root (privileges.h)
  std::string user;                  // the calling user's login name (from the uid at start)
  std::string config_path;           // kDefaultConfigPath unless SESAME_CONFIG was honoured
  bool verbose = false;              // --verbose
  bool json = false;                 // --json
  std::string limit;                 // activity --limit N (checked by the command); empty: none
  std::string since;                 // activity --since TIME; empty: none
  bool failures = false;             // activity --failures
  std::string qr_png;                // --qr-png FILE (checked by CheckQrFileName); empty: none
  std::string qr_svg;                // --qr-svg FILE
  bool qr_invert = false;            // --qr-invert
  bool forgot = false;               // passwd --forgot
  bool copy = false;                 // app-password create --copy
  bool all = false;                  // app-password revoke --all
  bool utf8_locale = false;          // the caller's locale is UTF-8 (CallerSettings)
  bool light_background = false;     // COLORFGBG names a light background (CallerSettings)
  // app-password create | revoke: the NAME operand, and create's --services
  // LIST and --expires WHEN, as typed (the command checks them).
  std::optional<std::string> app_password_name;
  std::optional<std::string> services;
  std::optional<std::string> expires;
};

// The subcommands, in the order `help` lists them, with the options and
// the help text (sesame_main.cc).
const CommandTable<Invocation>& Table();

// Prints "sesame: error: MESSAGE" to stderr and returns the exit code for the
// status (tools/common/exit_codes.h).
int Fail(const Status& status);

// Flushes stdout: "" when everything printed to it was written, else why
// not ("No space left on device"; a closed pipe: SIGPIPE is ignored).
std::string FlushStdout();

// Output that mattered was not written: prints "sesame: error: cannot
// write to standard output (WHY): LOST" to stderr and returns exit 1.
// `lost` says what was lost and what to do.
int OutputLost(const std::string& why, const std::string& lost);

// The end of a command whose output is the point (a listing): exit 0 when
// FlushStdout() finds everything written, else OutputLost(why, lost).
int Printed(const std::string& lost);

// The status for "this user has no Sesame account" (exit 3).
Status NoAccount(const std::string& user);

// kInvalidArgument (exit 2) unless there is a terminal to ask on; `command`
// names the command in the message ("sesame passwd").
Status CheckTerminal(const char* command);

// Maps a flow's decision that is not a success to "sesame: error: ..." and
// an exit code: kFailure -> `wrong` (exit 6), kLocked -> 6 (core has said
// why), kDisabled -> 5, kUnknownUser -> 3, kAborted -> 7 with `gave_up`
// (ToolPrompter::gave_up(); "cancelled at the prompt" when empty), anything
// else -> "cannot STEP now (...)" (exit 1). kSuccess -> 0, silently.
int Refused(const FlowResult& result, const std::string& user, const std::string& step,
            const std::string& wrong, const std::string& gave_up);

// Commands (sesame_passwd.cc, sesame_status.cc, sesame_mfa.cc).
int RunPasswd(const Invocation& inv);
int RunStatus(const Invocation& inv);
int RunMfaEnroll(const Invocation& inv);
int RunMfaRemove(const Invocation& inv);
int RunRecoveryCodesNew(const Invocation& inv);
int RunAppPasswordCreate(const Invocation& inv);  // sesame_app_password.cc
int RunAppPasswordList(const Invocation& inv);
int RunAppPasswordRevoke(const Invocation& inv);
int RunActivity(const Invocation& inv);  // sesame_activity.cc

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_SESAME_CLI_H_
