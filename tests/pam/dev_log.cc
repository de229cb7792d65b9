#include "tests/pam/dev_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>
#include <thread>

namespace sesame::pam_testing {
namespace {

constexpr char kSyncPrefix[] = "sesame-pam-tests sync ";
constexpr size_t kMaxDatagram = size_t{1} << 20;

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Who bound /dev/log, for the exit and signal paths (async-signal-safe reads).
volatile sig_atomic_t g_bound = 0;
volatile sig_atomic_t g_mounted = 0;  // our socket is mounted over /dev/log
pid_t g_owner_pid = 0;
dev_t g_dev = 0;  // our socket's identity: what is at /dev/log at exit may be
ino_t g_ino = 0;  // another program's, which took it over (left alone)

void RemoveOurSocket() {
  if (g_bound != 0 && getpid() == g_owner_pid) {
    if (g_mounted != 0) {
      umount2(DevLogCapture::kPath, MNT_DETACH);  // only in our mount namespace
      unlink(DevLogCapture::kPrivatePath);
      g_mounted = 0;
    } else {
      struct stat st {};
      if (lstat(DevLogCapture::kPath, &st) == 0 && st.st_dev == g_dev && st.st_ino == g_ino) {
        unlink(DevLogCapture::kPath);
        unlink(DevLogCapture::kOwnerFile);
      }
    }
    g_bound = 0;
  }
}

// Held by the reader while it allocates, and by fork() (pthread_atfork)
// around the fork: no child is forked while the reader is inside malloc or
// free (see the top of dev_log.h: with ASan such a child can hang for good).
std::mutex g_take_mu;
void LockForFork() { g_take_mu.lock(); }
void UnlockAfterFork() { g_take_mu.unlock(); }

// Binds a datagram socket at `path`; -1 with *why set on failure.
int BindDatagram(const char* path, std::string* why) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = Errno("socket(AF_UNIX, SOCK_DGRAM)");
    return -1;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *why = Errno((std::string("cannot bind ") + path).c_str());
    close(fd);
    return -1;
  }
  return fd;
}

void OnFatalSignal(int sig) {
  RemoveOurSocket();
  // SA_RESETHAND restored the default action: die of the same signal.
  raise(sig);
}

void AtExit() { RemoveOurSocket(); }

// True when something answers at `path` (a datagram socket someone reads).
bool SomeoneListens(const char* path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // cannot tell: assume it is not ours to remove
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  close(fd);
  return rc == 0 || err != ECONNREFUSED;
}

// A socket at /dev/log is ours to replace only if an earlier run of this
// binary recorded its inode in kOwnerFile, that run is gone and nobody
// listens on it. Otherwise returns false with the reason.
bool IsOurStaleSocket(const struct stat& st, std::string* why) {
  if (S_ISLNK(st.st_mode)) {
    *why = "/dev/log exists and is a symbolic link (journald or a syslog daemon), not ours";
    return false;
  }
  if (!S_ISSOCK(st.st_mode)) {
    *why = "/dev/log exists and is not a socket; it is not ours";
    return false;
  }
  std::ifstream owner(DevLogCapture::kOwnerFile);
  long pid = 0;
  unsigned long long ino = 0;
  if (!(owner >> pid >> ino) || ino != static_cast<unsigned long long>(st.st_ino)) {
    *why = "/dev/log exists and was not made by this test binary (a syslog daemon?)";
    return false;
  }
  if (pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) {
    *why = "/dev/log belongs to another running sesame_pam_tests (pid " + std::to_string(pid) + ")";
    return false;
  }
  if (SomeoneListens(DevLogCapture::kPath)) {
    *why = "/dev/log exists and something is listening on it";
    return false;
  }
  return true;
}

}  // namespace

// (dev_log.h) tests/pam/run_isolated.sh gave this process a mount namespace (and a
// /tmp) of its own: mounting over /dev/log there changes nothing outside.
// It names the namespace it left in SESAME_PAM_TESTS_PRIVATE_TMP.
bool InPrivateMountNamespace() {
  const char* left = std::getenv("SESAME_PAM_TESTS_PRIVATE_TMP");
  if (left == nullptr || *left == '\0') return false;
  char ours[64] = {0};
  if (readlink("/proc/self/ns/mnt", ours, sizeof ours - 1) <= 0) return false;
  return std::strcmp(ours, left) != 0;
}

DevLogCapture& DevLog() {
  static DevLogCapture* const capture = new DevLogCapture;  // never destroyed: see Stop()
  return *capture;
}

void DevLogCapture::Start(const char* ident) {
  ident_ = ident;
  bool mount_over = false;
  struct stat st {};
  if (lstat(kPath, &st) == 0) {
    std::string why;
    if (IsOurStaleSocket(st, &why)) {
      std::fprintf(stderr, "note: removing /dev/log left behind by an earlier, killed run\n");
      unlink(kPath);
    } else if (InPrivateMountNamespace()) {
      mount_over = true;
      std::fprintf(stderr,
                   "note: %s; in this private mount namespace the tests' own receiver is "
                   "mounted over it\n",
                   why.c_str());
    } else {
      reason_ = why;
      return;
    }
  } else if (errno != ENOENT) {
    reason_ = Errno("cannot check /dev/log");
    return;
  }

  if (mount_over) {
    unlink(kPrivatePath);  // our private /tmp: nobody else's
    fd_ = BindDatagram(kPrivatePath, &reason_);
    if (fd_ < 0) return;
    if (mount(kPrivatePath, kPath, nullptr, MS_BIND, nullptr) != 0) {
      reason_ = Errno("/dev/log is not ours, and mounting our socket over it failed");
      close(fd_);
      fd_ = -1;
      unlink(kPrivatePath);
      return;
    }
    g_mounted = 1;
  } else {
    fd_ = BindDatagram(kPath, &reason_);
    if (fd_ < 0) return;
  }
  g_owner_pid = getpid();
  g_bound = 1;
  std::atexit(AtExit);
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGABRT}) sigaction(sig, &sa, nullptr);

  // stat, not lstat: through a mount over journald's symlink too.
  if (stat(kPath, &st) != 0) {
    reason_ = Errno("cannot stat /dev/log after binding it");
    Stop();
    return;
  }
  dev_ = g_dev = st.st_dev;
  ino_ = g_ino = st.st_ino;
  if (!mount_over) {
    std::FILE* owner = std::fopen(kOwnerFile, "w");
    if (owner != nullptr) {
      std::fprintf(owner, "%ld %llu\n", static_cast<long>(getpid()),
                   static_cast<unsigned long long>(st.st_ino));
      std::fclose(owner);
    }
  }
  int rcvbuf = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    reason_ = Errno("pipe2");
    Stop();
    return;
  }
  buffer_.resize(kMaxDatagram);
  static bool atfork_registered = false;
  if (!atfork_registered && pthread_atfork(LockForFork, UnlockAfterFork, UnlockAfterFork) != 0) {
    reason_ = "pthread_atfork failed";
    Stop();
    return;
  }
  atfork_registered = true;
  if (pthread_create(&thread_, nullptr, &DevLogCapture::ReaderMain, this) != 0) {
    reason_ = "cannot start the /dev/log reader thread";
    Stop();
    return;
  }
  thread_started_ = true;
  // As sshd or Dovecot would: LOG_PID puts each process's pid in the tag.
  openlog(ident_.c_str(), LOG_PID, LOG_AUTHPRIV);
  available_ = true;
  reason_.clear();
  // The first marker goes through syslog(3), which proves that it reaches
  // us (and connects this process's syslog socket, which forked children
  // inherit); clears available_ if not.
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++sync_sent_;
  }
  syslog(LOG_DEBUG, "%s%llu", kSyncPrefix, static_cast<unsigned long long>(sync_sent_));
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::seconds(kSyncTimeoutSeconds),
                    [&] { return sync_seen_ >= sync_sent_; })) {
    available_ = false;
    reason_ =
        "syslog(3) messages do not arrive at our /dev/log socket (a marker was not seen "
        "within " +
        std::to_string(kSyncTimeoutSeconds) + " s)";
  }
}

void DevLogCapture::Stop() {
  if (thread_started_) {
    char stop = 'x';
    ssize_t ignored = write(stop_pipe_[1], &stop, 1);
    (void)ignored;
    pthread_join(thread_, nullptr);
    thread_started_ = false;
  }
  for (int& fd : stop_pipe_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  if (fd_ >= 0) {
    closelog();
    close(fd_);
    fd_ = -1;
  }
  RemoveOurSocket();
  if (available_) reason_ = "the /dev/log receiver was stopped";
  available_ = false;
}

void* DevLogCapture::ReaderMain(void* self) {
  static_cast<DevLogCapture*>(self)->Reader();
  return nullptr;
}

void DevLogCapture::Reader() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents & POLLIN) {
      ssize_t got = recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (got > 0) {
        std::lock_guard<std::mutex> no_fork(g_take_mu);
        Take(buffer_.data(), std::min(static_cast<size_t>(got), buffer_.size()));
      }
      continue;  // drain before looking at the stop pipe
    }
    if (fds[1].revents != 0) return;
  }
}

// Parses "<PRI>Mmm dd hh:mm:ss IDENT[PID]: TEXT". A datagram without our
// "IDENT[" tag is another program's (a Dovecot, a daemon that found our
// socket at /dev/log): counted and dropped before anything is allocated.
void DevLogCapture::Take(const char* data, size_t size) {
  const std::string_view raw_view(data, size);
  char tag[64];
  const int tag_len = std::snprintf(tag, sizeof tag, " %s[", ident_.c_str());
  if (tag_len <= 0 || static_cast<size_t>(tag_len) >= sizeof tag ||
      raw_view.find(std::string_view(tag, static_cast<size_t>(tag_len))) ==
          std::string_view::npos) {
    foreign_.fetch_add(1);
    return;
  }
  std::string raw(data, size);
  LogLine line;
  size_t pos = 0;
  if (raw.size() > 2 && raw[0] == '<') {
    size_t close_angle = raw.find('>');
    if (close_angle != std::string::npos) {
      line.priority = std::atoi(raw.substr(1, close_angle - 1).c_str());
      pos = close_angle + 1;
    }
  }
  line.text = raw.substr(pos);
  size_t tag_at = raw.find(" " + ident_ + "[", pos);
  if (tag_at != std::string::npos) {
    size_t digits = tag_at + ident_.size() + 2;
    size_t end = raw.find("]: ", digits);
    if (end != std::string::npos) {
      line.pid = static_cast<pid_t>(std::atol(raw.substr(digits, end - digits).c_str()));
      line.text = raw.substr(end + 3);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (line.pid == getpid() && line.text.rfind(kSyncPrefix, 0) == 0) {
    uint64_t n = std::strtoull(line.text.c_str() + sizeof kSyncPrefix - 1, nullptr, 10);
    if (n > sync_seen_) sync_seen_ = n;
    cv_.notify_all();
    return;
  }
  lines_.push_back(std::move(line));
}

bool DevLogCapture::Sync() {
  if (!available_) return false;
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(kSyncTimeoutSeconds);
  const std::string timeout_reason =
      "no syslog marker within " + std::to_string(kSyncTimeoutSeconds) +
      " s: /dev/log may have been taken over by another process, or our receiver is stuck";

  // Still our socket at /dev/log? If another program replaced it, processes
  // that connect now (sesame-admin, a new child's first syslog) talk to it.
  struct stat st {};
  if (stat(kPath, &st) != 0 || st.st_dev != dev_ || st.st_ino != ino_) {
    available_ = false;
    reason_ =
        "/dev/log was replaced by another process while the tests ran (it is no longer "
        "our socket): the log assertions cannot see what the module logs";
    return false;
  }
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = ++sync_sent_;
  }
  // The marker goes to /dev/log by its path, without blocking: a receiver
  // that does not read makes this wait time out instead of hang.
  char msg[160];
  const int len = std::snprintf(
      msg, sizeof msg, "<%d>Jan  1 00:00:00 %s[%ld]: %s%llu", LOG_AUTHPRIV | LOG_DEBUG,
      ident_.c_str(), static_cast<long>(getpid()), kSyncPrefix, static_cast<unsigned long long>(n));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kPath, sizeof addr.sun_path - 1);
  bool sent = false;
  if (fd >= 0 && len > 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    while (Clock::now() < deadline) {
      if (send(fd, msg, static_cast<size_t>(len), MSG_DONTWAIT | MSG_NOSIGNAL) == len) {
        sent = true;
        break;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const std::string send_error = sent ? "" : Errno("cannot send a marker to /dev/log");
  if (fd >= 0) close(fd);
  std::unique_lock<std::mutex> lock(mu_);
  if (sent && cv_.wait_until(lock, deadline, [&] { return sync_seen_ >= n; })) return true;
  available_ = false;
  reason_ = sent ? timeout_reason : timeout_reason + " (" + send_error + ")";
  return false;
}

void DevLogCapture::SyncInTest(const char* caller) {
  if (!available_) return;  // the test skips, or its log assertions fail on their own
  if (!Sync()) {
    StopModuleSyslog();
    ADD_FAILURE() << "DevLog()." << caller << ": " << reason_
                  << "; the log assertions of later tests are skipped";
  }
}

void DevLogCapture::StopModuleSyslog() {
  // pam_wrapper reads this at every pam_syslog: with 0 it drops the message
  // (or prints an error to stderr) instead of calling syslog(3).
  setenv("PAM_WRAPPER_USE_SYSLOG", "0", 1);
}

size_t DevLogCapture::Mark() {
  SyncInTest("Mark");
  std::lock_guard<std::mutex> lock(mu_);
  return lines_.size();
}

std::vector<LogLine> DevLogCapture::Since(size_t mark) {
  SyncInTest("Since");
  std::lock_guard<std::mutex> lock(mu_);
  if (mark >= lines_.size()) return {};
  return std::vector<LogLine>(lines_.begin() + static_cast<std::ptrdiff_t>(mark), lines_.end());
}

}  // namespace sesame::pam_testing
