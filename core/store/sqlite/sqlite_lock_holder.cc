#include "core/store/sqlite/sqlite_lock_holder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/base/logger.h"
#include "core/base/process_state.h"

namespace sesame {
namespace sqlite_internal {
namespace {

// SQLite's unix VFS (os_unix.c): the database file's lock bytes start at
// PENDING_BYTE (0x40000000): PENDING, RESERVED, then 510 SHARED bytes. The
// -shm file's locks are one byte each from UNIX_SHM_BASE (120): the WAL
// write, checkpoint and recovery locks and five read marks, then the DMS
// byte (128) a connection opening or closing the -shm holds.
constexpr unsigned long long kDbLockFirst = 0x40000000ULL;
constexpr unsigned long long kDbLockLast = kDbLockFirst + 1 + 510;
constexpr unsigned long long kShmLockFirst = 120;
constexpr unsigned long long kShmLockLast = 128;

// /proc/locks can be long on a busy host; a wait looks at it only after a
// second, a few times a second, so reading it whole is fine.
constexpr size_t kProcLocksLimit = 16 << 20;

// Splits a line at runs of spaces.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && line[at] == ' ') ++at;
    size_t end = line.find(' ', at);
    if (end == std::string_view::npos) end = line.size();
    if (end > at) fields.push_back(line.substr(at, end - at));
    at = end;
  }
  return fields;
}

bool ParseNumber(std::string_view text, int base, unsigned long long* value) {
  if (text.empty() || text.size() > 20) return false;
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  *value = std::strtoull(copy.c_str(), &end, base);
  return errno == 0 && end != nullptr && *end == '\0';
}

}  // namespace

std::vector<pid_t> ParseProcLocks(std::string_view proc_locks,
                                  const std::vector<LockedRange>& ranges) {
  std::vector<pid_t> pids;
  size_t pos = 0;
  while (pos < proc_locks.size()) {
    size_t end = proc_locks.find('\n', pos);
    if (end == std::string_view::npos) end = proc_locks.size();
    std::vector<std::string_view> f = Fields(proc_locks.substr(pos, end - pos));
    pos = end + 1;
    // "N: POSIX ADVISORY WRITE PID MAJ:MIN:INODE START END"; a waiter's
    // line has "->" after "N:".
    if (f.size() != 8 || f[1] != "POSIX" || f[3] != "WRITE") continue;
    std::string_view id = f[5];
    size_t colon1 = id.find(':');
    size_t colon2 = colon1 == std::string_view::npos ? colon1 : id.find(':', colon1 + 1);
    if (colon2 == std::string_view::npos) continue;
    unsigned long long major_no = 0;
    unsigned long long minor_no = 0;
    unsigned long long inode = 0;
    unsigned long long pid = 0;
    unsigned long long start = 0;
    unsigned long long last = ~0ULL;
    if (!ParseNumber(id.substr(0, colon1), 16, &major_no) ||
        !ParseNumber(id.substr(colon1 + 1, colon2 - colon1 - 1), 16, &minor_no) ||
        !ParseNumber(id.substr(colon2 + 1), 10, &inode) || !ParseNumber(f[4], 10, &pid) ||
        !ParseNumber(f[6], 10, &start) || (f[7] != "EOF" && !ParseNumber(f[7], 10, &last))) {
      continue;
    }
    if (pid == 0 || pid > static_cast<unsigned long long>(INT32_MAX)) continue;
    for (const LockedRange& range : ranges) {
      bool same_device = false;
      for (const auto& device : range.devices) {
        if (device[0] == major_no && device[1] == minor_no) same_device = true;
      }
      if (!same_device || inode != range.inode || start > range.last || last < range.first) {
        continue;
      }
      if (std::find(pids.begin(), pids.end(), static_cast<pid_t>(pid)) == pids.end()) {
        pids.push_back(static_cast<pid_t>(pid));
      }
      break;
    }
  }
  return pids;
}

std::vector<pid_t> StoreLockHolders(const std::string& db_path) {
  std::vector<LockedRange> ranges;
  unsigned long long mount_major = 0;
  unsigned long long mount_minor = 0;
  const bool have_mount = MountDevice(db_path, &mount_major, &mount_minor);
  for (const bool shm : {false, true}) {
    const std::string path = shm ? db_path + "-shm" : db_path;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    LockedRange range;
    range.devices[0][0] = major(st.st_dev);
    range.devices[0][1] = minor(st.st_dev);
    range.devices[1][0] = have_mount ? mount_major : major(st.st_dev);
    range.devices[1][1] = have_mount ? mount_minor : minor(st.st_dev);
    range.inode = st.st_ino;
    range.first = shm ? kShmLockFirst : kDbLockFirst;
    range.last = shm ? kShmLockLast : kDbLockLast;
    ranges.push_back(range);
  }
  std::string locks;
  if (ranges.empty() || !ReadProcFile("/proc/locks", kProcLocksLimit, &locks)) return {};
  return ParseProcLocks(locks, ranges);
}

bool HaltedHolderWatch::Look(const std::string& db_path, int64_t now_ms) {
  // Pids from a /proc of another pid namespace are not ours to signal.
  if (!ProcShowsOwnPids()) return false;
  pid_t holder = 0;
  Halt halt = Halt::kRunning;
  for (pid_t pid : StoreLockHolders(db_path)) {
    if (pid == getpid()) continue;
    const Halt seen = ProcessHalt(pid);
    if (seen != Halt::kStopped && seen != Halt::kFrozen) continue;
    holder = pid;
    halt = seen;
    if (pid == seen_pid_) break;  // the one already watched comes first
  }
  if (holder == 0) {
    Reset();
    return false;
  }
  if (holder != seen_pid_) {
    seen_pid_ = holder;
    seen_since_ms_ = now_ms;
    return false;
  }
  if (now_ms - seen_since_ms_ < grace_ms_) return false;
  Reset();
  // The pidfd pins this process: if the pid is reused after the looks
  // below, the signal goes nowhere instead of to the newcomer.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, holder, 0));
  if (pidfd < 0) return false;  // gone already, or a kernel before 5.3
  bool sent = false;
  const std::vector<pid_t> now_holding = StoreLockHolders(db_path);
  if (std::find(now_holding.begin(), now_holding.end(), holder) != now_holding.end() &&
      ProcessHalt(holder) == halt) {
    const std::string command = ProcessCommand(holder);
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0) {
      sent = true;
      const std::string message =
          "sesame: ended process " + std::to_string(holder) + " (" + command + "), which was " +
          HaltName(halt) + " while it held a lock of store " + SanitizeForLog(db_path) +
          " (seen so for " + std::to_string(grace_ms_) +
          " ms or more; every sign-in waits for that lock); what it had not committed is "
          "rolled back";
      syslog(LOG_AUTHPRIV | LOG_WARNING, "%s", message.c_str());
    }
  }
  close(pidfd);
  return sent;
}

}  // namespace sqlite_internal
}  // namespace sesame
