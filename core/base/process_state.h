// Whether another process is halted: stopped by a signal (SIGSTOP, SIGTSTP;
// state T) or frozen with its cgroup (cgroup v2 `cgroup.freeze`, which a
// user can write for the cgroups systemd delegates to them). A halted
// process runs no code until someone resumes it, so whatever it holds (a
// lock, a slot) it holds for as long as that someone likes.
//
// Read from /proc and the cgroup v2 file system at the moment of the call,
// for every thread of the process (all must be halted);
// anything unreadable reads as "running" (the caller then waits as for a
// running process). A process stopped by a tracer (state t) is kTraced:
// only root can trace the setuid and root processes that hold sesame's
// locks, and a debugger's stop is deliberate, so callers that would end a
// halted process leave that one alone.
#ifndef SESAME_CORE_BASE_PROCESS_STATE_H_
#define SESAME_CORE_BASE_PROCESS_STATE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace sesame {

enum class Halt { kRunning, kStopped, kFrozen, kTraced };

Halt ProcessHalt(pid_t pid);

// "stopped" / "frozen" / "stopped by a debugger" / "running", for messages.
const char* HaltName(Halt halt);

// The process's command name (/proc/PID/comm) for a log line, sanitized;
// "?" when unreadable.
std::string ProcessCommand(pid_t pid);

// Reads a /proc or cgroup file whole, up to `limit` bytes (these files
// are made at read time and cannot be mapped or stat()ed for their size);
// false when it cannot be opened or read.
bool ReadProcFile(const std::string& path, size_t limit, std::string* out);

// Whether /proc here shows this process's own pid namespace (/proc/self
// names getpid()). When it does not (a /proc mounted for another pid
// namespace), pids read from /proc are not pids this process may signal.
bool ProcShowsOwnPids();

// The MAJ:MIN of the file system holding `path` as /proc/self/mountinfo
// (and /proc/locks) shows it: the deepest mount above the resolved path.
// On most file systems the same as stat()'s st_dev; not on btrfs
// subvolumes. False when it cannot be found.
bool MountDevice(const std::string& path, unsigned long long* major_no,
                 unsigned long long* minor_no);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_PROCESS_STATE_H_
