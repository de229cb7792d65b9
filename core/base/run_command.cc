#include "core/base/run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace sesame {
namespace {

int64_t MonotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Closes every descriptor from `first` up (async-signal-safe).
void CloseFrom(int first, long open_max) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  for (long fd = first; fd < open_max; ++fd) close(static_cast<int>(fd));
}

// In the child, after fork: only async-signal-safe calls. Reports errno
// through `report` (close-on-exec) when it cannot exec.
[[noreturn]] void Child(const char* path, char* const* argv, char* const* envp, int out, int report,
                        bool as_root, long open_max) {
  int err = 0;
  // Its own process group, so a timeout kills what it started too.
  setpgid(0, 0);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) err = errno;
  if (err == 0 && report != 3) {
    if (dup2(report, 3) < 0) err = errno;
  }
  if (err == 0 && fcntl(3, F_SETFD, FD_CLOEXEC) < 0) err = errno;
  if (err == 0) CloseFrom(4, open_max);
  if (err == 0 && as_root) {
    if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) err = errno;
  }
  if (err == 0) {
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(path, argv, envp);
    err = errno;
  }
  // fd 3 is the report pipe when dup2 worked; else the original one.
  const int fd = err != 0 && fcntl(3, F_GETFD) >= 0 ? 3 : report;
  ssize_t ignored = write(fd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string CommandResult::Describe() const {
  std::string what;
  if (!started) {
    what = "could not be started";
  } else if (timed_out) {
    what = "did not finish in time and was killed";
  } else if (signal != 0) {
    what = "was killed by signal " + std::to_string(signal);
  } else if (exit_status < 0) {
    what = "ended, but its exit status was collected by another part of this process";
  } else {
    what = "exited with status " + std::to_string(exit_status);
  }
  if (!output.empty()) what += ": " + output;
  return what;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, int timeout_ms) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return Status(Code::kInvalidArgument, "a command must name its program by absolute path");
  // Everything the child needs is made before fork.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);
  static char kPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {kPath, nullptr};
  long open_max = sysconf(_SC_OPEN_MAX);
  if (open_max < 0 || open_max > 65536) open_max = 65536;
  uid_t real = 0, effective = 0, saved = 0;
  if (getresuid(&real, &effective, &saved) != 0)
    return Status(Code::kUnavailable, std::string("getresuid: ") + strerror(errno));
  if (real == 0 && effective != 0) {
    // A setuid tool between two privileged steps: the child would run as
    // neither root nor the user, and the user could stop or kill it.
    return Status(Code::kPermissionDenied,
                  "refused to run it with real uid 0 but effective uid " +
                      std::to_string(effective) +
                      ": it must run as root (a bug: the caller did not take root back)");
  }
  const bool as_root = effective == 0;

  int out[2];
  int report[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return Status(Code::kUnavailable, std::string("cannot make a pipe: ") + strerror(errno));
  if (pipe2(report, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return Status(Code::kUnavailable, std::string("cannot make a pipe: ") + strerror(e));
  }
  // Above 0-3, which the child sets up (a daemon may run with 0-2 closed,
  // and then a pipe could be one of them).
  for (int* fd : {&out[0], &out[1], &report[0], &report[1]}) {
    if (*fd < 4) {
      int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 4);
      if (moved >= 0) {
        close(*fd);
        *fd = moved;
      }
    }
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    close(report[0]);
    close(report[1]);
    return Status(Code::kUnavailable, std::string("cannot fork: ") + strerror(e));
  }
  if (pid == 0) Child(args[0], args.data(), envp, out[1], report[1], as_root, open_max);
  setpgid(pid, pid);  // as the child does: whichever runs first
  close(out[1]);
  close(report[1]);

  CommandResult result;
  result.started = true;
  const int64_t deadline = MonotonicMs() + std::max(timeout_ms, 0);
  bool open_out = true;
  char buf[256];
  while (open_out) {
    const int64_t left = deadline - MonotonicMs();
    if (left <= 0) break;
    struct pollfd p = {out[0], POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = read(out[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      open_out = false;
      break;
    }
    size_t room = kMaxCommandOutput - std::min(kMaxCommandOutput, result.output.size());
    result.output.append(buf, std::min(room, static_cast<size_t>(got)));
  }
  close(out[0]);

  int status = 0;
  bool reaped = false;
  bool lost = false;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      reaped = true;
      break;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {  // ECHILD: the host process reaped it (its own SIGCHLD handler)
      lost = true;
      break;
    }
    if (MonotonicMs() >= deadline) break;
    struct timespec nap = {0, 5L * 1000 * 1000};
    nanosleep(&nap, nullptr);
  }
  if (!reaped && !lost) {
    result.timed_out = true;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }

  int exec_errno = 0;
  ssize_t got;
  while ((got = read(report[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR) {
  }
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_errno)) && exec_errno != 0) {
    result.started = false;
    result.timed_out = false;
    result.output = std::string("cannot run ") + argv[0] + ": " + strerror(exec_errno);
    return result;
  }
  if (reaped) {
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  // Output for a log line: one line, printable.
  for (char& c : result.output) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!result.output.empty() && result.output.back() == ' ') result.output.pop_back();
  return result;
}

}  // namespace sesame
