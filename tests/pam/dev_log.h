// A syslog receiver for the PAM tests: binds an AF_UNIX datagram socket at
// /dev/log for the test binary's lifetime and collects every message of this
// binary and its forked children, in the order the kernel queued them
// (glibc's syslog(3) sends one datagram per message and waits until it is
// queued, so the order across processes is the order in which the messages
// were sent).
//
// Ownership: /dev/log is created only if nothing is there. A socket left
// behind by an earlier run of this binary that was killed (recorded in
// kOwnerFile, nobody listening, that process gone) is replaced. Anything
// else (a running syslog daemon, journald's symlink, another test binary) is
// left alone: in a private mount namespace (tests/pam/run_isolated.sh) our
// socket is bind-mounted over it for this process tree only; otherwise the
// log assertions are skipped with that reason. The socket is removed on
// Stop(), at exit and on SIGINT/SIGTERM/SIGHUP/SIGABRT, and only by the
// process that bound it (never by a forked child).
//
// The hang this file was changed for (issue 9, item 0). The ASan build's
// sesame_pam_tests hung until ctest's 300 s TIMEOUT in a CI run while other
// programs on the machine were using pam_wrapper and running private
// Dovecot instances that log to syslog. Reproduced here by sending foreign
// datagrams to /dev/log (a stand-in for Dovecot) while the tests ran:
// ConcurrencyTest hung with the parent in waitpid(child, 0) and the child
// blocked for good in the ASan allocator (SizeClassAllocator64::
// GetFromAllocator -> Mutex::Lock -> FutexWait). GCC 12's libasan does not
// lock its allocator around fork(), so a child forked while another thread
// of the parent is inside malloc/free inherits that lock held, and waits for
// it forever at its first malloc that needs it. The other thread was this
// reader: it allocated for every datagram, and with a stream of foreign
// messages it was nearly always allocating. Alone, only our own messages
// arrive, rarely while a child is forked, so the runs passed. (A small
// program with one thread allocating and the main thread forking shows the
// same: 2-3 of 300 children stuck with ASan, none without.)
// So: (1) the reader takes a lock around everything it allocates, and
// fork() takes that lock first (pthread_atfork), so no child is forked
// while the reader is in the allocator; (2) foreign datagrams (another
// program's ident) are counted and dropped without allocating; (3) every
// wait of the harness has a bound (pam_harness.h: WaitChild, WaitAtGate,
// ForkWarmPamChild, RunCommand; Mark/Since below), and a watchdog
// (watchdog.h) reports what the test process waits for before ctest's
// TIMEOUT would kill it without a word.
//
// syslog(3) itself can block without bound: a datagram send to /dev/log
// waits while the receiver's queue is full (net.unix.max_dgram_qlen, 10 by
// default) and nobody reads. The module calls syslog(3) (pam_syslog) in the
// test process and its children; that cannot be bounded from here, which is
// why the reader never stops reading while the binary runs, why a foreign
// /dev/log is covered by our own socket where a private mount namespace
// allows, and why the watchdog exists.
#ifndef SESAME_TESTS_PAM_DEV_LOG_H_
#define SESAME_TESTS_PAM_DEV_LOG_H_

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace sesame::pam_testing {

// True when tests/pam/run_isolated.sh gave this process a mount namespace
// of its own: a bind mount here (over /dev/log, /etc/resolv.conf) changes
// nothing outside it.
bool InPrivateMountNamespace();

struct LogLine {
  int priority = -1;  // facility | level, as sent
  pid_t pid = -1;     // from "ident[pid]:" (the test binary opens the log with LOG_PID)
  std::string text;   // the message after "ident[pid]: "
};

class DevLogCapture {
 public:
  static constexpr const char* kPath = "/dev/log";
  static constexpr const char* kOwnerFile = "/run/sesame_pam_tests.dev_log.owner";
  // Where the socket is bound when it is mounted over someone else's
  // /dev/log (in a private mount namespace whose /tmp is private too).
  static constexpr const char* kPrivatePath = "/tmp/sesame_pam_tests.dev_log";
  // How long Mark() and Since() wait for their marker.
  static constexpr int kSyncTimeoutSeconds = 10;

  // Binds /dev/log and starts the reader thread, then calls openlog(ident,
  // LOG_PID, LOG_AUTHPRIV) as a daemon would. On failure available() is
  // false and reason() says why.
  void Start(const char* ident);
  // Stops the reader and removes /dev/log (owner process only).
  void Stop();

  bool available() const { return available_; }
  const std::string& reason() const { return reason_; }

  // Waits until every message sent before the call has been collected and
  // returns the index of the next message. The wait has a bound
  // (kSyncTimeoutSeconds): when the marker does not come back in time, the
  // current test fails saying so and the log assertions of the tests after
  // it are skipped with that reason.
  size_t Mark();
  // The messages collected since `mark` (waits as Mark does first).
  std::vector<LogLine> Since(size_t mark);

  // Datagrams of other programs that arrived at our socket and were dropped.
  uint64_t foreign_messages() const { return foreign_.load(); }

  // When nobody here reads /dev/log for the tests: makes pam_wrapper drop
  // the module's pam_syslog messages instead of sending them to syslog(3),
  // where a receiver that does not read (net.unix.max_dgram_qlen datagrams
  // queued) would block them, and the test, for good. Call it in the test
  // process before children are forked; they inherit it.
  static void StopModuleSyslog();

 private:
  static void* ReaderMain(void* self);
  void Reader();
  // Sends a marker to /dev/log (by its path, as a process that starts now
  // would) and waits until the reader has seen it. False, with reason_ set
  // and available_ cleared, when it does not come back in time or /dev/log
  // is no longer ours.
  bool Sync();
  // Mark()/Since(): Sync, and fail the current test once if it fails.
  void SyncInTest(const char* caller);
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
  std::atomic<uint64_t> foreign_{0};
  // The socket's identity, to notice that /dev/log was replaced.
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// The one receiver of the test binary.
DevLogCapture& DevLog();

}  // namespace sesame::pam_testing

#endif  // SESAME_TESTS_PAM_DEV_LOG_H_
