// Argon2Limiter: flock(2) on slot files in a trusted directory.
//
// MUST rules:
//  - the slot directory is checked on every Acquire: a real directory (never
//    followed through a symlink), owned by geteuid(), not group/other
//    writable; anything else is kPermissionDenied and no slot is taken;
//  - slot files are opened relative to that checked directory's fd with
//    O_NOFOLLOW|O_CLOEXEC, created 0600, and must be regular files;
//  - a failed try leaves no fd open; a held slot is exactly one fd, closed
//    (lock released) when the Slot is destroyed;
//  - waiting is bounded by max_wait_ms on the injected Clock;
//  - a holder's pid is read from its slot file only to ask /proc whether it
//    is halted (stopped or frozen); a pid that cannot be read or checked
//    counts as running (the cap is only ever exceeded for a holder seen
//    halted).
#include "core/crypto/argon2_limiter.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "core/base/process_state.h"
#include "core/base/safe_file.h"

namespace sesame {
namespace {

constexpr int64_t kMaxBackoffMs = 10;

std::string Errno(int err) { return std::strerror(err); }

}  // namespace

Argon2Limiter::Slot::~Slot() {
  if (fd_ >= 0) close(fd_);
  if (user_fd_ >= 0) close(user_fd_);
}

Argon2Limiter::Slot::Slot(Slot&& other) noexcept
    : fd_(other.fd_), index_(other.index_), user_fd_(other.user_fd_) {
  other.fd_ = -1;
  other.index_ = -1;
  other.user_fd_ = -1;
}

Argon2Limiter::Slot& Argon2Limiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    if (user_fd_ >= 0) close(user_fd_);
    fd_ = other.fd_;
    index_ = other.index_;
    user_fd_ = other.user_fd_;
    other.fd_ = -1;
    other.index_ = -1;
    other.user_fd_ = -1;
  }
  return *this;
}

Argon2Limiter::Argon2Limiter(std::string dir, int max_concurrent, int max_wait_ms,
                             const Clock& clock, uid_t requester)
    : dir_(std::move(dir)),
      max_concurrent_(max_concurrent < 1 ? 1 : max_concurrent),
      max_wait_ms_(max_wait_ms < 0 ? 0 : max_wait_ms),
      clock_(clock),
      requester_(requester) {}

namespace {

// How many slots past the cap stopped holders may open up, at most.
constexpr int kMaxExtraSlots = 64;
// The pid record at the start of a slot file: fixed width, so no truncate.
constexpr size_t kPidRecordBytes = 12;

enum class Try { kLocked, kBusy };

// Opens DIR/name (created 0600, never through a symlink, a regular file)
// and tries flock(LOCK_EX | LOCK_NB). kLocked: *fd holds the lock. kBusy:
// *fd is open, unlocked (the caller reads the holder and closes it).
Result<Try> TryLock(int dir_fd, const std::string& dir, const std::string& name, int* fd) {
  *fd = openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (*fd < 0) {
    int err = errno;
    if (err == ELOOP || err == EISDIR || err == ENXIO)
      return Status(Code::kPermissionDenied,
                    "argon2 slot " + dir + "/" + name + " is not a regular file; remove it");
    return Status(Code::kUnavailable,
                  "cannot open argon2 slot " + dir + "/" + name + ": " + Errno(err));
  }
  struct stat st {};
  if (fstat(*fd, &st) != 0) {
    int err = errno;
    close(*fd);
    *fd = -1;
    return Status(Code::kUnavailable,
                  "cannot stat argon2 slot " + dir + "/" + name + ": " + Errno(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return Status(Code::kPermissionDenied,
                  "argon2 slot " + dir + "/" + name + " is not a regular file; remove it");
  }
  int rc;
  do {
    rc = flock(*fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Try::kLocked;
  int err = errno;
  if (err == EWOULDBLOCK) return Try::kBusy;
  close(*fd);
  *fd = -1;
  return Status(Code::kUnavailable,
                "cannot lock argon2 slot " + dir + "/" + name + ": " + Errno(err));
}

// Writes this process's pid at the start of a slot file it holds.
void RecordHolder(int fd) {
  char record[kPidRecordBytes + 1];
  std::snprintf(record, sizeof record, "%10ld\n", static_cast<long>(getpid()));
  ssize_t ignored = pwrite(fd, record, kPidRecordBytes, 0);
  static_cast<void>(ignored);
}

// Whether the process recorded in a held slot's file is halted right now:
// stopped (state T, or t: traced) or frozen with its cgroup
// (core/base/process_state.h). Anything unreadable: no.
bool HolderStopped(int fd) {
  char record[kPidRecordBytes + 1] = {0};
  ssize_t n = pread(fd, record, kPidRecordBytes, 0);
  if (n <= 0) return false;
  char* end = nullptr;
  long pid = std::strtol(record, &end, 10);
  if (pid <= 0 || pid > INT_MAX || end == record) return false;
  return ProcessHalt(static_cast<pid_t>(pid)) != Halt::kRunning;
}

}  // namespace

Result<Argon2Limiter::Slot> Argon2Limiter::Acquire() {
  Result<Fd> dir = OpenOwnDirectory(dir_, "argon2 slot directory");
  if (!dir.ok()) return dir.status();

  const int64_t start = clock_.MonotonicMillis();
  int user_fd = -1;
  const std::string user_name =
      requester_ != 0 ? "argon2-user." + std::to_string(requester_) : std::string();
  for (int64_t attempt = 0;; ++attempt) {
    if (requester_ != 0 && user_fd < 0) {
      // One slot at a time per requesting user.
      int fd = -1;
      Result<Try> mine = TryLock(dir->get(), dir_, user_name, &fd);
      if (!mine.ok()) return mine.status();
      if (mine.value() == Try::kLocked) {
        user_fd = fd;
      } else {
        close(fd);
      }
    }
    if (user_fd >= 0 || requester_ == 0) {
      // The slots; each holder seen stopped opens one more past the cap.
      int limit = max_concurrent_;
      for (int i = 0; i < limit && i < max_concurrent_ + kMaxExtraSlots; ++i) {
        const std::string name = "argon2-slot." + std::to_string(i);
        int fd = -1;
        Result<Try> got = TryLock(dir->get(), dir_, name, &fd);
        if (!got.ok()) {
          if (user_fd >= 0) close(user_fd);
          return got.status();
        }
        if (got.value() == Try::kLocked) {
          RecordHolder(fd);
          return Slot(fd, i, user_fd);
        }
        if (HolderStopped(fd)) ++limit;
        close(fd);
      }
    }
    int64_t waited = clock_.MonotonicMillis() - start;
    if (waited >= max_wait_ms_) break;
    int64_t nap = std::min<int64_t>(kMaxBackoffMs, 1 + attempt);
    clock_.SleepMillis(std::min<int64_t>(nap, max_wait_ms_ - waited));
  }
  if (user_fd >= 0) close(user_fd);
  if (requester_ != 0 && user_fd < 0) {
    return Status(Code::kBusy, "another argon2 computation for uid " + std::to_string(requester_) +
                                   " did not end within " + std::to_string(max_wait_ms_) +
                                   " ms (one at a time per user; argon2_max_wait_ms)");
  }
  return Status(Code::kBusy, "no argon2 slot came free within " + std::to_string(max_wait_ms_) +
                                 " ms (argon2_max_concurrent = " + std::to_string(max_concurrent_) +
                                 "); raise argon2_max_concurrent or argon2_max_wait_ms in "
                                 "sesame.conf, or lower argon2_memory_kib");
}

}  // namespace sesame
