// Running an administrator's command (on_revoke_command) from the PAM
// module or a tool: no shell, a clean environment, bounded time.
//
// The program is argv[0] (an absolute path; the config checks it), run with
// stdin from /dev/null and stdout and stderr into a pipe of which the first
// kMaxCommandOutput bytes are kept for the log. Its environment is only
// PATH=/usr/sbin:/usr/bin:/sbin:/bin; no descriptor of the caller but those
// three is open in it; signals are at their defaults and none is blocked.
// When the caller's effective uid is 0, the child's real, effective and
// saved uids and gids are all 0 (so a setuid tool's caller, whose uid is
// the tool's real uid, does not own it). A caller whose real uid is 0 but
// effective uid is not (a setuid tool between two privileged steps) is
// refused (kPermissionDenied): the command would run as neither root nor
// the user, and the user could stop or kill it; such a caller takes root
// back around the call (a CommandRunner that does). It runs in a process group of its
// own; after `timeout_ms` that group is killed (SIGKILL: what it started
// too) and the command waited for.
//
// Only async-signal-safe calls are made between fork and exec, so this is
// safe in a threaded process (a PAM module inside a daemon).
#ifndef SESAME_CORE_BASE_RUN_COMMAND_H_
#define SESAME_CORE_BASE_RUN_COMMAND_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace sesame {

inline constexpr size_t kMaxCommandOutput = 512;

struct CommandResult {
  bool started = false;    // fork and exec worked
  bool timed_out = false;  // killed after timeout_ms
  int exit_status = -1;    // 0-255 when it exited; -1 otherwise
  int signal = 0;          // the signal that ended it, if one did
  std::string output;      // first kMaxCommandOutput bytes of stdout+stderr
  bool ok() const { return started && !timed_out && exit_status == 0; }
  // "exited with status 2: <output>", "killed by signal 9", ...
  std::string Describe() const;
};

// Runs `argv` as above. A non-OK Status only for what stops it from being
// started (no argv, not an absolute path, fork/pipe failure: the message
// says which); how it ended is in the result.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, int timeout_ms);

// How a flow runs an administrator's command (Services::command_runner):
// RunCommand itself, or a wrapper that changes what it runs with (the
// setuid tool takes root for the call, tools/sesame/sesame_env.cc).
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual Result<CommandResult> Run(const std::vector<std::string>& argv, int timeout_ms) {
    return RunCommand(argv, timeout_ms);
  }
};

}  // namespace sesame

#endif  // SESAME_CORE_BASE_RUN_COMMAND_H_
