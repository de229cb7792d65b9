#include "tests/pam/dev_log.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace sesame::pam_testing {
namespace {

constexpr char kSyncPrefix[] = "sesame-pam-tests sync ";
constexpr size_t kMaxDatagram = size_t{1} << 20;

// Who bound /dev/log, for the exit and signal paths (async-signal-safe reads).
volatile sig_atomic_t g_bound = 0;
pid_t g_owner_pid = 0;

void RemoveOurSocket() {
  if (g_bound != 0 && getpid() == g_owner_pid) {
    unlink(DevLogCapture::kPath);
    unlink(DevLogCapture::kOwnerFile);
    g_bound = 0;
  }
}

void OnFatalSignal(int sig) {
  RemoveOurSocket();
  // SA_RESETHAND restored the default action: die of the same signal.
  raise(sig);
}

void AtExit() { RemoveOurSocket(); }

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

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

DevLogCapture& DevLog() {
  static DevLogCapture* const capture = new DevLogCapture;  // never destroyed: see Stop()
  return *capture;
}

void DevLogCapture::Start(const char* ident) {
  ident_ = ident;
  struct stat st {};
  if (lstat(kPath, &st) == 0) {
    std::string why;
    if (!IsOurStaleSocket(st, &why)) {
      reason_ = why;
      return;
    }
    std::fprintf(stderr, "note: removing /dev/log left behind by an earlier, killed run\n");
    unlink(kPath);
  } else if (errno != ENOENT) {
    reason_ = Errno("cannot check /dev/log");
    return;
  }

  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    reason_ = Errno("socket(AF_UNIX, SOCK_DGRAM)");
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kPath, sizeof addr.sun_path - 1);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    reason_ = Errno("cannot bind /dev/log");
    close(fd_);
    fd_ = -1;
    return;
  }
  g_owner_pid = getpid();
  g_bound = 1;
  std::atexit(AtExit);
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGABRT}) sigaction(sig, &sa, nullptr);

  if (lstat(kPath, &st) == 0) {
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
  Sync();  // proves that syslog(3) reaches us; clears available_ if not
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
      if (got > 0) Take(buffer_.data(), std::min(static_cast<size_t>(got), buffer_.size()));
      continue;  // drain before looking at the stop pipe
    }
    if (fds[1].revents != 0) return;
  }
}

// Parses "<PRI>Mmm dd hh:mm:ss IDENT[PID]: TEXT".
void DevLogCapture::Take(const char* data, size_t size) {
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
  size_t tag = raw.find(" " + ident_ + "[", pos);
  if (tag != std::string::npos) {
    size_t digits = tag + ident_.size() + 2;
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

void DevLogCapture::Sync() {
  if (!available_) return;
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = ++sync_sent_;
  }
  syslog(LOG_DEBUG, "%s%llu", kSyncPrefix, static_cast<unsigned long long>(n));
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return sync_seen_ >= n; })) {
    available_ = false;
    reason_ =
        "syslog(3) messages do not arrive at our /dev/log socket (a sync marker was not seen "
        "within 20 s)";
  }
}

size_t DevLogCapture::Mark() {
  Sync();
  std::lock_guard<std::mutex> lock(mu_);
  return lines_.size();
}

std::vector<LogLine> DevLogCapture::Since(size_t mark) {
  Sync();
  std::lock_guard<std::mutex> lock(mu_);
  if (mark >= lines_.size()) return {};
  return std::vector<LogLine>(lines_.begin() + static_cast<std::ptrdiff_t>(mark), lines_.end());
}

}  // namespace sesame::pam_testing
