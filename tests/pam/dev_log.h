// A syslog receiver for the PAM tests: binds an AF_UNIX datagram socket at
// /dev/log for the test binary's lifetime and collects every message, in the
// order the kernel queued them (glibc's syslog(3) sends one datagram per
// message and waits until it is queued, so the order across processes is the
// order in which the messages were sent).
//
// Ownership: /dev/log is created only if nothing is there. A socket left
// behind by an earlier run of this binary that was killed (recorded in
// kOwnerFile, nobody listening, that process gone) is replaced; anything else
// (a running syslog daemon, journald's symlink, another test binary) is left
// alone and the log assertions are skipped with that reason. The socket is
// removed on Stop(), at exit and on SIGINT/SIGTERM/SIGHUP/SIGABRT, and only
// by the process that bound it (never by a forked child).
#ifndef SESAME_TESTS_PAM_DEV_LOG_H_
#define SESAME_TESTS_PAM_DEV_LOG_H_

#include <pthread.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace sesame::pam_testing {

struct LogLine {
  int priority = -1;  // facility | level, as sent
  pid_t pid = -1;     // from "ident[pid]:" (the test binary opens the log with LOG_PID)
  std::string text;   // the message after "ident[pid]: "
};

class DevLogCapture {
 public:
  static constexpr const char* kPath = "/dev/log";
  static constexpr const char* kOwnerFile = "/run/sesame_pam_tests.dev_log.owner";

  // Binds /dev/log and starts the reader thread, then calls openlog(ident,
  // LOG_PID, LOG_AUTHPRIV) as a daemon would. On failure available() is
  // false and reason() says why.
  void Start(const char* ident);
  // Stops the reader and removes /dev/log (owner process only).
  void Stop();

  bool available() const { return available_; }
  const std::string& reason() const { return reason_; }

  // Waits until every message sent before the call has been collected and
  // returns the index of the next message.
  size_t Mark();
  // The messages collected since `mark` (waits as Mark does first).
  std::vector<LogLine> Since(size_t mark);

 private:
  static void* ReaderMain(void* self);
  void Reader();
  void Sync();
  void Take(const char* data, size_t size);

  bool available_ = false;
  std::string reason_ = "the /dev/log receiver was not started";
  std::string ident_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  bool thread_started_ = false;
  pthread_t thread_{};
  std::vector<char> buffer_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<LogLine> lines_;
  uint64_t sync_sent_ = 0;
  uint64_t sync_seen_ = 0;
};

// The one receiver of the test binary.
DevLogCapture& DevLog();

}  // namespace sesame::pam_testing

#endif  // SESAME_TESTS_PAM_DEV_LOG_H_
