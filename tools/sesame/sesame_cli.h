// sesame's command line: what a subcommand is given, the subcommand table,
// and the commands themselves.
//
// Every command acts on `Invocation::user`, the account of the real uid
// (getuid() -> getpwuid), and on no other: no command takes a user name.
#ifndef SESAME_TOOLS_SESAME_SESAME_CLI_H_
#define SESAME_TOOLS_SESAME_SESAME_CLI_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace sesame::self {

inline constexpr const char* kTool = "sesame";

struct Invocation {
  std::string user;         // the calling user's login name (from getpwuid(getuid()))
  std::string config_path;  // kDefaultConfigPath unless SESAME_CONFIG was honoured
  bool verbose = false;     // --verbose
  bool json = false;        // --json
};

struct Command {
  const char* name;     // "passwd"
  const char* flags;    // accepted flags, space separated: "--json"
  const char* summary;  // one line for `help`
  int (*run)(const Invocation&);
};

// The table, in the order `help` lists it.
const std::vector<Command>& Commands();

// Prints "sesame: error: MESSAGE" to stderr and returns the exit code for the
// status (tools/common/exit_codes.h).
int Fail(const Status& status);

// The status for "this user has no Sesame account" (exit 3).
Status NoAccount(const std::string& user);

// Commands (sesame_passwd.cc, sesame_status.cc).
int RunPasswd(const Invocation& inv);
int RunStatus(const Invocation& inv);

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_SESAME_CLI_H_
