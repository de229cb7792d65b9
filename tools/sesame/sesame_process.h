// Setting up the process of a setuid program before it trusts anything:
// file descriptors, core dumps, resource limits, signals, umask, the
// environment and who the caller is. sesame_main.cc calls these in order.
#ifndef SESAME_TOOLS_SESAME_SESAME_PROCESS_H_
#define SESAME_TOOLS_SESAME_SESAME_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "core/base/status.h"

namespace sesame::self {

// REQUIRES: called first, before anything is opened or printed.
// Makes sure fds 0, 1 and 2 are open (on /dev/null when the caller closed
// them, so no file we open later becomes "stderr"), closes every fd >= 3,
// makes the process not dumpable (no ptrace by the caller, no core) and
// sets RLIMIT_CORE to 0, lifts RLIMIT_FSIZE and RLIMIT_CPU (a caller's
// limit must not cut a store write short, or end the tool with a signal at
// a moment the caller picks), stops the interval timers an exec keeps
// (setitimer: a SIGALRM the caller armed), resets every signal to its
// default action and unblocks them all, and sets umask 077. Fails only
// when a step that keeps secrets safe fails.
Status PrepareProcess();

struct CallerSettings {
  std::string config_path;        // kDefaultConfigPath, or SESAME_CONFIG when honoured
  bool config_ignored = false;    // SESAME_CONFIG was set and ignored (raised privileges)
  bool utf8_locale = false;       // the caller's character set is UTF-8 (see below)
  bool light_background = false;  // COLORFGBG names a light background (see below)
};

// Takes the few things sesame reads from the caller's environment, then
// replaces the environment: clearenv(), PATH=/usr/bin:/bin, and TERM and
// NO_COLOR only when they are short printable ASCII. SESAME_CONFIG is
// honoured only when !raised_at_start (Privileges::raised_at_start(): not
// setuid, setgid or with file capabilities), and must then be an absolute
// path. Of the locale only one bit is kept: whether the first of
// LC_ALL, LC_CTYPE and LANG that is set names the UTF-8 character set (to
// choose how a QR code is drawn); sesame never calls setlocale(), so no
// locale file the caller names is ever read. Of COLORFGBG, likewise, only
// whether it names a light background (ColorFgBgNamesLightBackground).
Result<CallerSettings> ResetEnvironment(bool raised_at_start);

// The login name of `uid` (the caller's: Privileges::caller_uid(), the real
// uid at start), from the password database (never $USER or $LOGNAME).
// kNotFound when the uid has no entry; kInvalidArgument when the name is
// not one Sesame keeps accounts for.
Result<std::string> CallingUser(uid_t uid);

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_SESAME_PROCESS_H_
