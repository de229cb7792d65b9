// sesame_pam_bench: full sign-in cycles through the real libpam.
//
// One cycle is pam_start -> pam_authenticate -> pam_acct_mgmt -> pam_end, with
// a conversation that answers the password, against service files written to
// /etc/pam.d for the run (modules named by absolute path) and removed at exit,
// also on SIGINT/SIGTERM/SIGHUP. Stacks:
//
//   permit          pam_permit.so (auth + account): the floor, libpam's own cost
//   unix-yescrypt   pam_unix.so, a throwaway system user (useradd), yescrypt
//   unix-sha512     pam_unix.so, a second throwaway user, chpasswd -c SHA512
//   sesame-default  pam_sesame.so, 100,000 users, argon2id t=3 m=65536 p=1
//   sesame-min      pam_sesame.so, 100,000 users, argon2id t=1 m=8 p=1
//   sesame-min-1    pam_sesame.so, 1 user, argon2id t=1 m=8 p=1
//   pwdfile-sha512  pam_pwdfile.so (auth; account pam_permit.so), a
//                   password file with one sha512crypt line (package
//                   libpam-pwdfile; skipped, with a note, without it)
//
// App passwords (the app-password issue): pam_sesame.so mode=app_password
// (auth) + pam_sesame.so (account), 100,000 users, signing in with an app
// password of the measured user, who has
//
//   sesame-app-password-1            1 app password
//   sesame-app-password-1000         1,000 (999 made in one raw
//                                    transaction, the measured one last
//                                    through Store::AddAppPassword)
//   sesame-app-password-1000-tmpfs   the same on tmpfs (what the disk
//                                    costs); not by default
//
// and three what-ifs of sesame-min that change nothing in the product, to
// split its cost into disk, library loading and the module's own work:
//
//   sesame-min-tmpfs         the installation on tmpfs (--shm-dir, default
//                            /dev/shm): no disk, fsync is nearly free
//                            (sesame-min-1-tmpfs: the same with 1 user)
//   sesame-min-pinned        each block runs in a forked child that first
//                            dlopen()s pam_sesame.so with RTLD_NODELETE, so
//                            the module and its libraries stay loaded across
//                            cycles (what `-Wl,-z,nodelete` on the module, or
//                            an application keeping it loaded, would give)
//   sesame-min-pinned-tmpfs  both
//
// Retention (the activity issue): sesame-min with 1,000,000 sign-in
// events 100 to 465 days old in its store (--old-events), all due for
// pruning under activity_retention_days = 90 (the default), inserted by
// sesame_bench_setup in one raw SQLite transaction; not by default:
//
//   sesame-min-old-events    pruning in passing (each sign-in's own write
//                            deletes at most kPruneInPassingBatch of them,
//                            core/store/store.h) runs
//                            in the measured sign-ins; compared with
//                            sesame-min (none) in the same run by p99, and
//                            the events still due are counted after the run
//
// The PostgreSQL store (the PostgreSQL issue), sesame-min's installation
// with `store = postgres`: 100,000 users and 200,000 sign-in events of the
// last 89 days (kPostgresHistoryEvents: a host's history, analyzed) in a
// new database of a private cluster (tests/pg/pg-cluster, started for the
// run unless --postgres-cluster names a running one); not by default:
//
//   sesame-pg-socket-min     over the cluster's Unix socket (superuser
//                            postgres, trust)
//   sesame-pg-tcp-min        over TCP 127.0.0.1, TLS verify-full, role
//                            sesame with a scram-sha-256 password from a
//                            root-only passfile
//
// The module keeps its connection between cycles (store_pool.h), as in a
// Dovecot auth worker; the first cycle of each stack (warm-up) connects.
// With --processes N, after the rounds, each of permit, sesame-min and the
// sesame-pg-* stacks present runs the same number of cycles once in 1
// process and once split over N processes (forked; each opens its own
// connection), and sign-ins per second of both are reported; three ways:
// every process as the stack's one user; process i as filler user i + 1;
// and that on one PAM handle per process (SignInsOnOneHandle), which leaves
// libpam's per-handle loading of modules out. --handle-cycles sets how many
// sign-ins a one-handle run makes (a longer steady state than the stack's
// cycles), --handle-repeats R runs it with 1 and with N processes
// alternately R times and reports the medians and every repeat.
//
// With a verification code (the MFA issue), each cycle signing in as the
// next of many enrolled users (see "Verification codes" below):
//
//   sesame-mfa-min  pam_sesame.so mode=interactive, 100,000 users of which
//                   one per cycle has an authenticator, argon2id t=1 m=8
//                   p=1: "Password: ", then "Verification code: "
//   sesame-mfa-min-tmpfs
//                   the same on tmpfs (beside sesame-min-tmpfs: the code
//                   step without the disk); not by default
//   google-authenticator
//                   pam_google_authenticator.so alone (its job: the code
//                   check, normally stacked after pam_unix), root's secret
//                   files secret=DIR/${USER} user=root, DISALLOW_REUSE
//   google-authenticator-reuse
//                   the same without DISALLOW_REUSE (a code may be used
//                   again, so the file is not rewritten); not by default
//   unix-sha512+google-authenticator
//                   pam_unix.so then pam_google_authenticator.so, one
//                   throwaway system user per cycle (sha512crypt)
//
// Verification codes. Sesame and google-authenticator both accept each
// time step once per user (replay protection), so the MFA stacks sign in as
// a different enrolled user every cycle (warm-up included): user i has the
// secret BenchTotpSecret(i) (bench_env.h, made from i). Its code for the
// current time comes from a `sesame_bench_setup codes` child, asked just
// before pam_start, outside the timed span, as a person reads the code off
// the phone before the prompt; both modules accept the step before and
// after, so a step boundary in between does no harm. Why a child and not
// an HMAC-SHA1 here: the codes then come from core's own TotpAt (tested
// against the RFC 6238 vectors), not from a second implementation, and this
// process keeps linking only libpam. Linking core or libcrypto here would
// put libcrypto in the global symbol scope that the relocations of every
// module libpam loads are looked up in, for every stack, so the floor would
// no longer be a C daemon's. Every cycle must succeed and must have been
// asked for the code exactly once; anything else stops that stack and
// fails the run.
//
// The stacks run interleaved in rounds so background load hits all alike.
// Each stack runs in a process of its own (StackWorker), forked from this
// one, which loads no module itself: one long-running process per PAM
// configuration, as a Dovecot auth worker is. In one process, three or more
// sesame stores would share pam_sesame's connection pool (at most
// kMaxIdleStores = 2 idle, store_pool.h), so every block of a stack would
// begin by opening its store again (for PostgreSQL over TCP a new TLS
// connection and SCRAM exchange, ~30-40 ms), and pam_permit's floor would be
// measured with pam_sesame and its libraries in the link map. --in-process
// runs every stack in this process instead (what bench/profile needs for
// callgrind's --toggle-collect).
// When /dev/log does not exist, a datagram socket is bound there for the run
// and drained by a separate process (not a thread: see DevLogSink), so
// pam_syslog costs what it costs on a real host (without it glibc writes
// every message to the console, ~3 ms each).
//
// This process links only libpam (and libstdc++): the sesame installations
// are built by sesame_bench_setup, so pam_sesame.so loads its dependencies
// the way it does in a C daemon. Peak memory is measured in children forked
// from a small helper process started first thing in main (a child's
// ru_maxrss starts at its parent's RSS, so forking from this process after
// it has grown would measure the parent).
//
// Needs root. Not a test: never part of pass/fail. See docs/benchmarks.md.
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <security/pam_appl.h>
#include <shadow.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/store/store.h"  // kPruneInPassingBatch only (a constant: nothing linked)

#ifndef SESAME_PAM_MODULE_PATH
#define SESAME_PAM_MODULE_PATH ""
#endif
#ifndef SESAME_PG_CLUSTER_SCRIPT
#define SESAME_PG_CLUSTER_SCRIPT "tests/pg/pg-cluster"
#endif
#ifndef SESAME_BENCH_SETUP_PATH
#define SESAME_BENCH_SETUP_PATH ""
#endif

namespace {

constexpr char kPassword[] = "correct-horse-battery-staple-42";
constexpr char kSesameUser[] = "user050000";
// The filler users of the 100,000-user stores (bench_env.cc FillerUserName,
// bench_postgres.cc): user000001, ..., all with this password.
constexpr char kFillerPassword[] = "filler password, not used to sign in";
std::string FillerUser(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "user%06d", i);
  return buf;
}

// ---------------------------------------------------------------------------
// Signals and cleanup

volatile sig_atomic_t g_signals = 0;

// Paths a second signal removes on its way out (async-signal-safe unlink).
constexpr int kMaxSignalPaths = 16;
char g_signal_paths[kMaxSignalPaths][256];
volatile sig_atomic_t g_signal_path_count = 0;

void OnSignal(int) {
  g_signals = g_signals + 1;
  if (g_signals >= 2) {
    for (int i = 0; i < g_signal_path_count; ++i) unlink(g_signal_paths[i]);
    static const char kMsg[] =
        "\nsesame_pam_bench: interrupted twice: removed the service files and /dev/log; "
        "temporary users (sesbench*) and /tmp/sesame-bench-* may remain\n";
    ssize_t ignored = write(2, kMsg, sizeof kMsg - 1);
    (void)ignored;
    _exit(130);
  }
}

bool Stopped() { return g_signals != 0; }

void AddSignalPath(const std::string& path) {
  int n = g_signal_path_count;
  if (n >= kMaxSignalPaths || path.size() >= sizeof g_signal_paths[0]) return;
  std::memcpy(g_signal_paths[n], path.c_str(), path.size() + 1);
  g_signal_path_count = n + 1;
}

void RemoveSignalPath(const std::string& path) {
  for (int i = 0; i < g_signal_path_count; ++i) {
    if (path == g_signal_paths[i]) g_signal_paths[i][0] = '\0';
  }
}

// Undo actions, run last-in first-out at the end (also after an error or
// a first SIGINT).
class Cleanup {
 public:
  void Add(std::function<void()> action) { actions_.push_back(std::move(action)); }
  void Run() {
    while (!actions_.empty()) {
      std::function<void()> action = std::move(actions_.back());
      actions_.pop_back();
      action();
    }
  }

 private:
  std::vector<std::function<void()>> actions_;
};

Cleanup g_cleanup;

struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

void Progress(const std::string& text) { std::fprintf(stderr, "[bench] %s\n", text.c_str()); }

// The whole machine's CPU time from /proc/stat's first line, in clock
// ticks: busy (user, nice, system, irq, softirq, steal) and all. Both 0
// when it cannot be read.
struct CpuTicks {
  unsigned long long busy = 0;
  unsigned long long all = 0;
};

CpuTicks ReadCpuTicks() {
  CpuTicks t;
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long v[8] = {};
  if (!(in >> cpu) || cpu != "cpu") return t;
  for (unsigned long long& x : v) {
    if (!(in >> x)) return CpuTicks{};
  }
  // user nice system idle iowait irq softirq steal
  t.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  t.all = t.busy + v[3] + v[4];
  return t;
}

// ---------------------------------------------------------------------------
// Running commands

struct CommandResult {
  int status = -1;  // exit code, or 128+signal
  std::string out;
};

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input) {
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) throw Fatal(Errno("pipe"));
  pid_t pid = fork();
  if (pid < 0) throw Fatal(Errno("fork"));
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  size_t done = 0;
  while (done < input.size()) {
    ssize_t n = write(in_pipe[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(in_pipe[1]);
  CommandResult result;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.out.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string Join(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

void MustRun(const std::vector<std::string>& argv, const std::string& input = "") {
  CommandResult r = RunCommand(argv, input);
  if (r.status != 0)
    throw Fatal("`" + Join(argv) + "` failed with status " + std::to_string(r.status));
}

// ---------------------------------------------------------------------------
// One PAM cycle

struct ConvData {
  const char* user;
  const char* password;
  const char* code;  // nullptr: this stack has no second factor
  int code_prompts = 0;
};

// pam_sesame and pam_google_authenticator both ask "Verification code: "
// with echo off; every other hidden prompt gets the password.
bool IsCodePrompt(const char* prompt) {
  return prompt != nullptr && std::strstr(prompt, "erification code") != nullptr;
}

int Converse(int n, const struct pam_message** msg, struct pam_response** resp, void* appdata) {
  auto* data = static_cast<ConvData*>(appdata);
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  auto* replies = static_cast<pam_response*>(std::calloc(static_cast<size_t>(n), sizeof **resp));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    switch (msg[i]->msg_style) {
      case PAM_PROMPT_ECHO_OFF:
        if (IsCodePrompt(msg[i]->msg)) {
          ++data->code_prompts;
          replies[i].resp = strdup(data->code != nullptr ? data->code : "");
        } else {
          replies[i].resp = strdup(data->password);
        }
        break;
      case PAM_PROMPT_ECHO_ON:
        replies[i].resp = strdup(data->user);
        break;
      default:
        break;  // PAM_ERROR_MSG, PAM_TEXT_INFO: nothing to answer
    }
  }
  *resp = replies;
  return PAM_SUCCESS;
}

struct CycleTimes {
  double start = 0, auth = 0, acct = 0, end = 0, total = 0;
};

struct CycleError {
  std::string what;
};

// Returns "" on success, else what failed.
// `code` is the verification code to answer with; nullptr for stacks that
// must not ask for one.
std::string OneCycle(const char* service, const char* user, const char* password, const char* code,
                     CycleTimes* times) {
  ConvData data{user, password, code};
  struct pam_conv conv = {Converse, &data};
  pam_handle_t* pamh = nullptr;
  double t0 = NowMs();
  int rc = pam_start(service, user, &conv, &pamh);
  double t1 = NowMs();
  if (rc != PAM_SUCCESS) return std::string("pam_start: ") + pam_strerror(pamh, rc);
  int auth = pam_authenticate(pamh, 0);
  double t2 = NowMs();
  int acct = auth == PAM_SUCCESS ? pam_acct_mgmt(pamh, 0) : PAM_ABORT;
  double t3 = NowMs();
  std::string error;
  if (auth != PAM_SUCCESS) {
    error = std::string("pam_authenticate: ") + pam_strerror(pamh, auth);
  } else if (acct != PAM_SUCCESS) {
    error = std::string("pam_acct_mgmt: ") + pam_strerror(pamh, acct);
  } else if (code != nullptr && data.code_prompts != 1) {
    error = "a verification code was asked for " + std::to_string(data.code_prompts) +
            " times, not once";
  } else if (code == nullptr && data.code_prompts != 0) {
    error = "asked for a verification code, which this stack does not have";
  }
  if (!error.empty()) error += " (user " + std::string(user) + ")";
  pam_end(pamh, error.empty() ? PAM_SUCCESS : (auth != PAM_SUCCESS ? auth : acct));
  double t4 = NowMs();
  if (times != nullptr) {
    times->start = t1 - t0;
    times->auth = t2 - t1;
    times->acct = t3 - t2;
    times->end = t4 - t3;
    times->total = t4 - t0;
  }
  return error;
}

// `count` sign-ins on one PAM handle: pam_start once, then
// pam_authenticate + pam_acct_mgmt `count` times (as sshd does on one
// handle when it asks again), then pam_end. What libpam does per handle
// (reading the service and "other" files, loading and unloading their
// modules) is left out, so the sign-ins' own cost is what is measured.
// Returns "" on success, else what failed.
std::string SignInsOnOneHandle(const char* service, const char* user, const char* password,
                               int count) {
  ConvData data{user, password, nullptr};
  struct pam_conv conv = {Converse, &data};
  pam_handle_t* pamh = nullptr;
  int rc = pam_start(service, user, &conv, &pamh);
  if (rc != PAM_SUCCESS) return std::string("pam_start: ") + pam_strerror(pamh, rc);
  std::string error;
  for (int i = 0; i < count && error.empty(); ++i) {
    rc = pam_authenticate(pamh, 0);
    if (rc != PAM_SUCCESS) {
      error = std::string("pam_authenticate: ") + pam_strerror(pamh, rc);
      break;
    }
    rc = pam_acct_mgmt(pamh, 0);
    if (rc != PAM_SUCCESS) error = std::string("pam_acct_mgmt: ") + pam_strerror(pamh, rc);
  }
  pam_end(pamh, error.empty() ? PAM_SUCCESS : rc);
  return error;
}

// ---------------------------------------------------------------------------
// The memory helper: forked first, small; forks one child per request.

struct SpawnRequest {
  char service[128];
  char user[64];
  char password[128];
};

struct SpawnReply {
  long maxrss_kib;
  int exit_status;
  double ms;
};

class Spawner {
 public:
  void Start() {
    int req[2];
    int rep[2];
    if (pipe2(req, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) throw Fatal(Errno("pipe"));
    pid_ = fork();
    if (pid_ < 0) throw Fatal(Errno("fork"));
    if (pid_ == 0) {
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_DFL);
      signal(SIGHUP, SIG_IGN);
      close(req[1]);
      close(rep[0]);
      Serve(req[0], rep[1]);
      _exit(0);
    }
    close(req[0]);
    close(rep[1]);
    to_ = req[1];
    from_ = rep[0];
  }

  bool Measure(const std::string& service, const std::string& user, const std::string& password,
               SpawnReply* reply) {
    SpawnRequest request{};
    std::snprintf(request.service, sizeof request.service, "%s", service.c_str());
    std::snprintf(request.user, sizeof request.user, "%s", user.c_str());
    std::snprintf(request.password, sizeof request.password, "%s", password.c_str());
    if (write(to_, &request, sizeof request) != static_cast<ssize_t>(sizeof request)) return false;
    return read(from_, reply, sizeof *reply) == static_cast<ssize_t>(sizeof *reply);
  }

  void Stop() {
    if (pid_ <= 0) return;
    close(to_);
    close(from_);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  static void Serve(int in, int out) {
    SpawnRequest request;
    while (read(in, &request, sizeof request) == static_cast<ssize_t>(sizeof request)) {
      SpawnReply reply{};
      double t0 = NowMs();
      pid_t child = fork();
      if (child == 0) {
        std::string error =
            OneCycle(request.service, request.user, request.password, nullptr, nullptr);
        _exit(error.empty() ? 0 : 1);
      }
      int status = 0;
      struct rusage usage {};
      if (child > 0 && wait4(child, &status, 0, &usage) == child) {
        reply.maxrss_kib = usage.ru_maxrss;
        reply.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else {
        reply.exit_status = -1;
      }
      reply.ms = NowMs() - t0;
      if (write(out, &reply, sizeof reply) != static_cast<ssize_t>(sizeof reply)) break;
    }
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
};

// ---------------------------------------------------------------------------
// /dev/log

class DevLogSink {
 public:
  // Returns a sentence for the report.
  std::string Start() {
    struct stat st;
    if (lstat(kPath, &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return "/dev/log exists and is not a socket: left alone";
      int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un addr = Address();
      int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      int err = errno;
      close(probe);
      if (rc == 0) return "an existing /dev/log listener (not ours) received pam_syslog messages";
      return std::string("WARNING: /dev/log exists but refuses connections (") +
             std::strerror(err) +
             "): left alone, so pam_syslog falls back to the console and the sesame stacks pay "
             "for that";
    }
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw Fatal(Errno("socket"));
    struct sockaddr_un addr = Address();
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int err = errno;
      close(fd_);
      fd_ = -1;
      return std::string("WARNING: cannot bind /dev/log (") + std::strerror(err) +
             "): pam_syslog may fall back to the console";
    }
    bound_ = true;
    AddSignalPath(kPath);
    chmod(kPath, 0666);
    int size = 1 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    // The reader is its own process, as journald or rsyslogd is. A thread
    // of this process would share its address space, and every munmap and
    // mprotect of libpam's dlopen/dlclose would then pay a TLB-shootdown
    // IPI to the CPU the reader last ran on: a cost paid only by the stacks
    // that log (pam_sesame most), and one that no real host has.
    void* page = mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) throw Fatal(Errno("mmap"));
    count_ = new (page) std::atomic<uint64_t>(0);
    pid_t parent = getpid();
    reader_ = fork();
    if (reader_ < 0) throw Fatal(Errno("fork"));
    if (reader_ == 0) {
      signal(SIGINT, SIG_IGN);  // Ctrl-C is for the benchmark, which then stops us
      signal(SIGTERM, SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      // Hold nothing else of the benchmark's open: a pipe end kept here
      // would keep another child (the spawner) waiting for its EOF.
      if (fd_ > 3) close_range(3, static_cast<unsigned>(fd_) - 1, 0);
      close_range(static_cast<unsigned>(fd_) + 1, ~0U, 0);
      Drain();
      _exit(0);
    }
    return "bound an AF_UNIX datagram socket at /dev/log for this run (none existed), drained by "
           "a separate process (as journald or rsyslogd would be) and removed at exit, so "
           "pam_syslog costs what it costs with one of them";
  }

  ~DevLogSink() { Stop(); }

  void Stop() {
    if (!bound_) return;
    kill(reader_, SIGTERM);
    waitpid(reader_, nullptr, 0);
    unlink(kPath);
    RemoveSignalPath(kPath);
    close(fd_);
    bound_ = false;
  }

  uint64_t messages() const { return count_ == nullptr ? 0 : count_->load(); }
  bool bound() const { return bound_; }

 private:
  static constexpr const char* kPath = "/dev/log";

  static sockaddr_un Address() {
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", kPath);
    return addr;
  }

  // In the reader process until SIGTERM.
  void Drain() {
    char buf[8192];
    for (;;) {
      if (recv(fd_, buf, sizeof buf, 0) >= 0) count_->fetch_add(1);
    }
  }

  int fd_ = -1;
  bool bound_ = false;
  pid_t reader_ = -1;
  std::atomic<uint64_t>* count_ = nullptr;  // in a MAP_SHARED page
};

// ---------------------------------------------------------------------------
// Verification codes: a `sesame_bench_setup codes` child (see the top).

class CodeServer {
 public:
  void Start(const std::string& setup) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      throw Fatal(Errno("socketpair"));
    pid_ = fork();
    if (pid_ < 0) throw Fatal(Errno("fork"));
    if (pid_ == 0) {
      // Ctrl-C is for the benchmark, which then closes the socket: the
      // child ends at the end of its input.
      signal(SIGINT, SIG_IGN);
      signal(SIGHUP, SIG_IGN);
      dup2(sv[1], 0);
      dup2(sv[1], 1);
      execl(setup.c_str(), setup.c_str(), "codes", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(sv[1]);
    fd_ = sv[0];
  }

  // The code of enrolled user `index` now. Throws when the child fails.
  std::string Code(uint64_t index) {
    std::string request =
        std::to_string(index) + " " + std::to_string(static_cast<long long>(time(nullptr))) + "\n";
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
      throw Fatal(Errno("sending to the verification code helper"));
    std::string line;
    char buf[32];
    while (line.find('\n') == std::string::npos && line.size() < 64) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Fatal("the verification code helper (sesame_bench_setup codes) ended");
      line.append(buf, static_cast<size_t>(n));
    }
    if (line.size() != 7 || line[6] != '\n')
      throw Fatal("the verification code helper sent something other than a 6-digit code");
    line.pop_back();
    return line;
  }

  void Stop() {
    if (pid_ <= 0) return;
    close(fd_);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

CodeServer g_codes;

// ---------------------------------------------------------------------------
// Options

// Every stack; the default list is all of them but two what-ifs of the
// MFA comparison.
const std::vector<std::string>& AllStacks() {
  static const std::vector<std::string> kAll = {"permit",
                                                "unix-yescrypt",
                                                "unix-sha512",
                                                "sesame-default",
                                                "sesame-min",
                                                "sesame-min-1",
                                                "sesame-min-tmpfs",
                                                "sesame-min-1-tmpfs",
                                                "sesame-min-pinned",
                                                "sesame-min-pinned-tmpfs",
                                                "sesame-min-old-events",
                                                "sesame-pg-socket-min",
                                                "sesame-pg-tcp-min",
                                                "pwdfile-sha512",
                                                "sesame-app-password-1",
                                                "sesame-app-password-1000",
                                                "sesame-app-password-1000-tmpfs",
                                                "sesame-mfa-min",
                                                "sesame-mfa-min-tmpfs",
                                                "google-authenticator",
                                                "google-authenticator-reuse",
                                                "unix-sha512+google-authenticator"};
  return kAll;
}

std::vector<std::string> DefaultStacks() {
  std::vector<std::string> stacks;
  for (const std::string& s : AllStacks())
    if (s != "google-authenticator-reuse" && s != "sesame-mfa-min-tmpfs" &&
        s != "sesame-app-password-1000-tmpfs" && s != "sesame-min-old-events" &&
        s.rfind("sesame-pg-", 0) != 0)
      stacks.push_back(s);
  return stacks;
}

struct Options {
  std::vector<std::string> stacks = DefaultStacks();
  int fast_iterations = 2000;
  int slow_iterations = 200;
  int fast_warmup = 50;
  int slow_warmup = 5;
  int rounds = 10;
  uint64_t users = 100000;
  uint64_t add_user_calls = 2000;
  uint64_t old_events = 1000000;
  bool memory = true;
  bool dev_log = true;
  std::string module = SESAME_PAM_MODULE_PATH;
  std::string setup = SESAME_BENCH_SETUP_PATH;
  std::string pam_dir;
  std::string tmpdir = "/tmp";
  std::string shm_dir = "/dev/shm";
  std::string postgres_cluster;  // a running tests/pg/pg-cluster DIR; empty: start one
  int processes = 0;             // > 0: the parallel measurement (see the top)
  int handle_cycles = 0;         // one-handle runs: sign-ins (0: the stack's cycles)
  int handle_repeats = 1;        // one-handle runs: 1 and N processes alternately, R times
  bool in_process = false;       // every stack in this process (no StackWorker)
};

[[noreturn]] void Usage(int code) {
  std::fprintf(
      code == 0 ? stdout : stderr,
      "usage: sesame_pam_bench [options]   (as root)\n"
      "  --stacks LIST          comma-separated, default: "
      "permit,unix-yescrypt,unix-sha512,sesame-default,sesame-min,sesame-min-1,\n"
      "                         sesame-min-tmpfs,sesame-min-1-tmpfs,sesame-min-pinned,"
      "sesame-min-pinned-tmpfs,\n"
      "                         pwdfile-sha512,sesame-app-password-1,sesame-app-password-1000,\n"
      "                         sesame-mfa-min,google-authenticator,"
      "unix-sha512+google-authenticator\n"
      "                         (also: sesame-mfa-min-tmpfs, google-authenticator-reuse,\n"
      "                         sesame-app-password-1000-tmpfs, sesame-min-old-events,\n"
      "                         sesame-pg-socket-min, sesame-pg-tcp-min)\n"
      "  --iterations N         measured cycles for every stack\n"
      "  --fast-iterations N    permit, sesame-min*, sesame-mfa-min, google-authenticator* "
      "(default 2000)\n"
      "  --slow-iterations N    unix-*, pwdfile-sha512, sesame-default (default 200)\n"
      "  --warmup N             warm-up cycles, fast stacks (default 50)\n"
      "  --slow-warmup N        warm-up cycles, slow stacks (default 5)\n"
      "  --rounds N             interleaved rounds (default 10)\n"
      "  --users N              users in the 100k stores (default 100000)\n"
      "  --add-user-calls N     users added with Store::AddUser, rest in one raw "
      "transaction (default 2000)\n"
      "  --old-events N         events due for pruning in sesame-min-old-events "
      "(default 1000000)\n"
      "  --postgres-cluster DIR a running tests/pg/pg-cluster for the sesame-pg-* stacks\n"
      "                         (default: start one for the run)\n"
      "  --processes N          also measure permit, sesame-min and sesame-pg-* with N\n"
      "                         processes at once against 1 (sign-ins per second)\n"
      "  --handle-cycles N      sign-ins of each one-handle run (default: the stack's cycles)\n"
      "  --handle-repeats R     one-handle runs with 1 and with N processes, alternately, R\n"
      "                         times each; the table shows the medians (default 1)\n"
      "  --in-process           run every stack in this process, not each in its own\n"
      "                         (for callgrind --toggle-collect; sesame stacks then share\n"
      "                         one connection pool)\n"
      "  --no-memory            skip the peak-memory children\n"
      "  --no-dev-log           do not bind /dev/log (measures the console fallback)\n"
      "  --module PATH          pam_sesame.so (default: the build's)\n"
      "  --setup PATH           sesame_bench_setup (default: the build's)\n"
      "  --pam-dir DIR          where pam_permit.so and pam_unix.so are\n"
      "  --tmpdir DIR           parent of the temporary installations (default /tmp)\n"
      "  --shm-dir DIR          tmpfs for the *-tmpfs what-ifs (default /dev/shm)\n");
  std::exit(code);
}

int ParseInt(const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 0 || v > 100000000) Usage(2);
  return static_cast<int>(v);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  int iterations = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(2);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      Usage(0);
    } else if (a == "--stacks") {
      o.stacks.clear();
      std::stringstream ss(value());
      std::string item;
      while (std::getline(ss, item, ','))
        if (!item.empty()) o.stacks.push_back(item);
    } else if (a == "--iterations") {
      iterations = ParseInt(value());
    } else if (a == "--fast-iterations") {
      o.fast_iterations = ParseInt(value());
    } else if (a == "--slow-iterations") {
      o.slow_iterations = ParseInt(value());
    } else if (a == "--warmup") {
      o.fast_warmup = ParseInt(value());
    } else if (a == "--slow-warmup") {
      o.slow_warmup = ParseInt(value());
    } else if (a == "--rounds") {
      o.rounds = std::max(1, ParseInt(value()));
    } else if (a == "--users") {
      o.users = static_cast<uint64_t>(std::max(1, ParseInt(value())));
    } else if (a == "--add-user-calls") {
      o.add_user_calls = static_cast<uint64_t>(ParseInt(value()));
    } else if (a == "--old-events") {
      o.old_events = static_cast<uint64_t>(ParseInt(value()));
    } else if (a == "--postgres-cluster") {
      o.postgres_cluster = value();
    } else if (a == "--processes") {
      o.processes = ParseInt(value());
    } else if (a == "--handle-cycles") {
      o.handle_cycles = ParseInt(value());
    } else if (a == "--handle-repeats") {
      o.handle_repeats = std::max(1, ParseInt(value()));
    } else if (a == "--in-process") {
      o.in_process = true;
    } else if (a == "--no-memory") {
      o.memory = false;
    } else if (a == "--no-dev-log") {
      o.dev_log = false;
    } else if (a == "--module") {
      o.module = value();
    } else if (a == "--setup") {
      o.setup = value();
    } else if (a == "--pam-dir") {
      o.pam_dir = value();
    } else if (a == "--tmpdir") {
      o.tmpdir = value();
    } else if (a == "--shm-dir") {
      o.shm_dir = value();
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      Usage(2);
    }
  }
  if (iterations >= 0) o.fast_iterations = o.slow_iterations = iterations;
  for (const std::string& s : o.stacks) {
    const std::vector<std::string>& known = AllStacks();
    if (std::find(known.begin(), known.end(), s) == known.end()) {
      std::fprintf(stderr, "unknown stack %s\n", s.c_str());
      Usage(2);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------
// Stacks

struct Stack {
  std::string key;
  std::string module_label;  // "pam_permit", ...
  std::string users_label;   // "-", "1 (system)", "100,000"
  std::string hash_label;    // "-", "yescrypt", "argon2id t=1 m=8 p=1"
  std::string service;
  std::string user;
  std::string password = kPassword;  // an app password for the app-password stacks
  uint64_t app_passwords = 0;        // the measured user's, in the store
  uint64_t old_events = 0;           // events due for pruning at setup
  std::string store_path;            // sesame stacks: the store file
  std::string events_after;          // "events_total=..\nevents_old=..", after the run
  int iterations = 0;
  int warmup = 0;
  bool slow = false;
  bool pinned = false;     // measured in a child that keeps the module loaded
  std::string where;       // "disk (ext4)", "tmpfs"
  std::string setup_note;  // population figures
  std::vector<CycleTimes> samples;
  std::string error;
  bool warmed = false;
  // Stacks with a verification code sign in as user_prefix + i for i = 0,
  // 1, ... (a new enrolled user every cycle, warm-up included).
  bool mfa = false;
  std::string user_prefix;
  uint64_t enrolled = 0;
  uint64_t next_user = 0;
};

std::string ServicePath(const std::string& service) { return "/etc/pam.d/" + service; }

void WriteServiceFile(const std::string& service, const std::string& text) {
  std::string path = ServicePath(service);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw Fatal(Errno("create " + path));
  AddSignalPath(path);
  g_cleanup.Add([path] {
    unlink(path.c_str());
    RemoveSignalPath(path);
  });
  std::string body = "# temporary service of sesame_pam_bench (pid " + std::to_string(getpid()) +
                     "); removed when it exits\n" + text;
  bool ok = write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  close(fd);
  if (!ok) throw Fatal(Errno("write " + path));
}

std::string FindPamDir(const std::string& given) {
  std::vector<std::string> candidates;
  if (!given.empty()) candidates.push_back(given);
  for (const char* d : {"/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security",
                        "/usr/lib/aarch64-linux-gnu/security", "/lib/aarch64-linux-gnu/security",
                        "/usr/lib64/security", "/usr/lib/security", "/lib/security"})
    candidates.push_back(d);
  for (const std::string& d : candidates) {
    if (access((d + "/pam_permit.so").c_str(), R_OK) == 0) return d;
  }
  throw Fatal("cannot find pam_permit.so; give --pam-dir");
}

// System users for pam_unix with password kPassword, removed at exit.
void MakeUnixUsers(const std::vector<std::string>& names, const std::string& method,
                   const char* expect_prefix) {
  std::string lines;
  for (const std::string& name : names) {
    if (Stopped()) throw Fatal("interrupted while adding users");
    std::vector<std::string> add = {
        "useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-c", "sesame bench (temporary)", name};
    CommandResult r;
    for (int attempt = 0; attempt < 5; ++attempt) {  // /etc/passwd may be locked a moment
      r = RunCommand(add, "");
      if (r.status == 0) break;
      sleep(1);
    }
    if (r.status != 0)
      throw Fatal("`" + Join(add) + "` failed with status " + std::to_string(r.status));
    g_cleanup.Add([name] {
      CommandResult del = RunCommand({"userdel", name}, "");
      if (del.status != 0)
        std::fprintf(stderr, "[bench] WARNING: userdel %s failed (status %d): remove it by hand\n",
                     name.c_str(), del.status);
    });
    lines += name + ":" + kPassword + "\n";
  }
  std::vector<std::string> chpasswd = {"chpasswd"};
  if (!method.empty()) {
    chpasswd.push_back("-c");
    chpasswd.push_back(method);
  }
  MustRun(chpasswd, lines);
  for (const std::string& name : names) {
    struct spwd* sp = getspnam(name.c_str());
    if (sp == nullptr || sp->sp_pwdp == nullptr ||
        std::strncmp(sp->sp_pwdp, expect_prefix, std::strlen(expect_prefix)) != 0)
      throw Fatal("user " + name + " did not get a " + expect_prefix + " hash");
  }
}

void MakeUnixUser(const std::string& name, const std::string& method, const char* expect_prefix) {
  MakeUnixUsers({name}, method, expect_prefix);
}

std::map<std::string, std::string> ParseKeyValues(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Thousands(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[static_cast<size_t>(i)];
  }
  return out;
}

// Builds a sesame installation with sesame_bench_setup and its service file.
// With s->mfa, s->enrolled users named s->user_prefix + i get an
// authenticator and the auth line says mode=interactive (the default,
// written out: password, then the code).
void MakeSesameStack(const Options& o, const std::string& base, Stack* s, uint32_t t, uint32_t m,
                     uint64_t users) {
  std::string dir = base + "/" + s->key;
  if (mkdir(dir.c_str(), 0700) != 0) throw Fatal(Errno("mkdir " + dir));
  double t0 = NowMs();
  std::vector<std::string> argv = {o.setup,
                                   dir,
                                   std::to_string(t),
                                   std::to_string(m),
                                   "1",
                                   std::to_string(users),
                                   kSesameUser,
                                   std::to_string(o.add_user_calls)};
  if (s->mfa) {
    argv.push_back(std::to_string(s->enrolled));
    argv.push_back(s->user_prefix);
  }
  if (s->app_passwords > 0) {
    argv.push_back("--app-passwords");
    argv.push_back(std::to_string(s->app_passwords));
  }
  if (s->old_events > 0) {
    argv.push_back("--old-events");
    argv.push_back(std::to_string(s->old_events));
  }
  CommandResult r = RunCommand(argv, std::string(kPassword) + "\n");
  double took = NowMs() - t0;
  if (r.status != 0) throw Fatal("sesame_bench_setup for " + s->key + " failed");
  std::map<std::string, std::string> kv = ParseKeyValues(r.out);
  std::string config = kv["config"];
  s->store_path = kv["store"];
  const char* mode = s->mfa                 ? " mode=interactive"
                     : s->app_passwords > 0 ? " mode=app_password"
                                            : "";
  WriteServiceFile(s->service, "auth    required " + o.module + " config=" + config + mode +
                                   "\naccount required " + o.module + " config=" + config + "\n");
  if (s->app_passwords > 0) {
    s->password = kv["app_password"];
    if (s->password.empty()) throw Fatal("sesame_bench_setup gave " + s->key + " no app password");
  }
  double add_n = std::atof(kv["add_user_count"].c_str());
  double add_s = std::atof(kv["add_user_total_s"].c_str());
  double bulk_n = std::atof(kv["bulk_count"].c_str());
  double bulk_s = std::atof(kv["bulk_total_s"].c_str());
  std::string note =
      "`" + s->key + "`: " + Thousands(std::strtoull(kv["users_in_store"].c_str(), nullptr, 10)) +
      " users, store " + Fixed(std::atof(kv["store_bytes"].c_str()) / (1024.0 * 1024.0), 1) +
      " MiB; one hash " + Fixed(std::atof(kv["hash_ms"].c_str()), 1) + " ms";
  if (add_n > 0) {
    double per_us = add_s / add_n * 1e6;
    note += "; Store::AddUser (one transaction each): " + Fixed(per_us, 0) + " us/user over " +
            Thousands(static_cast<uint64_t>(add_n)) + " users (" +
            Fixed(per_us * static_cast<double>(users) * 1e-6, 1) + " s projected for " +
            Thousands(users) + ")";
  }
  if (bulk_n > 0) {
    note += "; the other " + Thousands(static_cast<uint64_t>(bulk_n)) +
            " in one raw SQLite transaction: " + Fixed(bulk_s, 2) + " s (" +
            Fixed(bulk_s / bulk_n * 1e6, 1) + " us/user)";
  }
  double totp_n = std::atof(kv["totp_count"].c_str());
  if (totp_n > 0) {
    note += "; " + Thousands(static_cast<uint64_t>(totp_n)) +
            " authenticators enrolled with Seal + Store::SetTotp (one transaction each): " +
            Fixed(std::atof(kv["totp_total_s"].c_str()) / totp_n * 1e6, 0) + " us/user";
  }
  double app_n = std::atof(kv["app_password_count"].c_str());
  if (app_n > 0) {
    note += "; " + Thousands(static_cast<uint64_t>(app_n)) + " app password" +
            (app_n == 1 ? "" : "s") + " of " + kSesameUser;
    if (app_n > 1)
      note += " (" + Thousands(static_cast<uint64_t>(app_n) - 1) +
              " in one raw SQLite transaction, digests included: " +
              Fixed(std::atof(kv["app_password_bulk_s"].c_str()), 2) + " s)";
    note += ", the measured one through Store::AddAppPassword: " +
            Fixed(std::atof(kv["app_password_add_ms"].c_str()), 1) + " ms";
  }
  double old_n = std::atof(kv["old_event_count"].c_str());
  if (s->old_events > 0) {
    if (static_cast<uint64_t>(old_n) != s->old_events)
      throw Fatal("sesame_bench_setup gave " + s->key + " " + kv["old_event_count"] +
                  " old events, not " + std::to_string(s->old_events));
    note += "; " + Thousands(static_cast<uint64_t>(old_n)) +
            " sign-in events 100 to 465 days old in one raw SQLite transaction (indexes "
            "kept, then a WAL checkpoint): " +
            Fixed(std::atof(kv["old_events_bulk_s"].c_str()), 1) + " s";
  }
  note += "; setup total " + Fixed(took / 1e3, 1) + " s";
  s->setup_note = note;
}

// A sesame-pg-* stack (see the top): sesame_bench_setup postgres makes the
// installation and the database in the cluster at `cluster`.
void MakePostgresStack(const Options& o, const std::string& base, const std::string& cluster,
                       Stack* s) {
  const bool tcp = s->key == "sesame-pg-tcp-min";
  const std::string dir = base + "/" + s->key;
  if (mkdir(dir.c_str(), 0700) != 0) throw Fatal(Errno("mkdir " + dir));
  double t0 = NowMs();
  CommandResult r =
      RunCommand({o.setup, "postgres", tcp ? "tcp" : "socket", cluster, dir, "1", "8",
                  std::to_string(o.users), kSesameUser, std::to_string(o.add_user_calls)},
                 std::string(kPassword) + "\n");
  const double took = NowMs() - t0;
  if (r.status != 0) throw Fatal("sesame_bench_setup postgres for " + s->key + " failed");
  std::map<std::string, std::string> kv = ParseKeyValues(r.out);
  const std::string config = kv["config"];
  if (!o.postgres_cluster.empty()) {
    // A cluster of the caller's outlives the run: drop the database at
    // exit, so that the next run does not share the server with this
    // one's autovacuum. (A cluster started for the run goes whole.)
    const std::string& dsn = kv["store"];
    const size_t at = dsn.find("dbname=");
    if (at != std::string::npos) {
      const size_t from = at + 7;
      const std::string db = dsn.substr(from, dsn.find(' ', from) - from);
      const std::string setup = o.setup;
      g_cleanup.Add([setup, cluster, db] {
        CommandResult dropped = RunCommand({setup, "postgres-drop", cluster, db}, "");
        if (dropped.status != 0) std::fprintf(stderr, "[bench] could not drop %s\n", db.c_str());
      });
    }
  }
  WriteServiceFile(s->service, "auth    required " + o.module + " config=" + config +
                                   "\naccount required " + o.module + " config=" + config + "\n");
  s->module_label = "pam_sesame, store = postgres";
  s->users_label = Thousands(std::strtoull(kv["users_in_store"].c_str(), nullptr, 10));
  s->hash_label = "argon2id t=1 m=8 p=1 (minimum)";
  s->where = tcp ? "PostgreSQL 15, TCP 127.0.0.1 + TLS" : "PostgreSQL 15, Unix socket";
  const double add_n = std::atof(kv["add_user_count"].c_str());
  std::string note =
      "`" + s->key + "`: " + s->users_label + " users in a new database (" + kv["store"] + ")";
  if (add_n > 0)
    note += "; Store::AddUser (one transaction each): " +
            Fixed(std::atof(kv["add_user_total_s"].c_str()) / add_n * 1e6, 0) + " us/user over " +
            Thousands(static_cast<uint64_t>(add_n)) + " users";
  note +=
      "; the rest in one INSERT ... SELECT: " + Fixed(std::atof(kv["bulk_total_s"].c_str()), 2) +
      " s; " + Thousands(std::strtoull(kv["recent_event_count"].c_str(), nullptr, 10)) +
      " sign-in events of the last 89 days (a host's history), then ANALYZE: " +
      Fixed(std::atof(kv["recent_events_bulk_s"].c_str()), 2) + " s; setup total " +
      Fixed(took / 1e3, 1) + " s";
  s->setup_note = note;
}

// The measured loop, a function of its own so callgrind can be told to
// collect only inside it (--toggle-collect=*MeasureBlock*).
// One cycle of `s`; for a stack with a verification code, as the next
// enrolled user with a code fetched before the cycle (not timed).
std::string StackCycle(Stack* s, CycleTimes* times) {
  if (!s->mfa)
    return OneCycle(s->service.c_str(), s->user.c_str(), s->password.c_str(), nullptr, times);
  if (s->next_user >= s->enrolled)
    return "all " + std::to_string(s->enrolled) + " enrolled users have signed in once";
  const uint64_t i = s->next_user++;
  const std::string user = s->user_prefix + std::to_string(i);
  const std::string code = g_codes.Code(i);
  return OneCycle(s->service.c_str(), user.c_str(), kPassword, code.c_str(), times);
}

__attribute__((noinline)) void MeasureBlock(Stack* s, int count) {
  for (int i = 0; i < count && !Stopped(); ++i) {
    CycleTimes t;
    std::string error = StackCycle(s, &t);
    if (!error.empty()) {
      s->error = error;
      return;
    }
    s->samples.push_back(t);
  }
}

// A block of a pinned stack: in a forked child that first dlopen()s the
// module with RTLD_NODELETE (so libpam's dlclose at pam_end never unloads it
// or its libraries), warms up, measures and sends the samples back. The
// parent never loads the module, so the other stacks are not affected.
void MeasurePinnedBlock(Stack* s, const std::string& module, int count) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Fatal(Errno("pipe"));
  pid_t pid = fork();
  if (pid < 0) throw Fatal(Errno("fork"));
  if (pid == 0) {
    close(fds[0]);
    if (dlopen(module.c_str(), RTLD_NOW | RTLD_NODELETE) == nullptr) _exit(3);
    int warmup = std::min(s->warmup, 20);
    for (int i = 0; i < warmup && !Stopped(); ++i) {
      if (!OneCycle(s->service.c_str(), s->user.c_str(), s->password.c_str(), nullptr, nullptr)
               .empty())
        _exit(4);
    }
    for (int i = 0; i < count && !Stopped(); ++i) {
      CycleTimes t;
      if (!OneCycle(s->service.c_str(), s->user.c_str(), s->password.c_str(), nullptr, &t).empty())
        _exit(5);
      if (write(fds[1], &t, sizeof t) != static_cast<ssize_t>(sizeof t)) _exit(6);
    }
    _exit(0);
  }
  close(fds[1]);
  CycleTimes t;
  for (;;) {
    ssize_t n = read(fds[0], &t, sizeof t);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof t)) break;
    s->samples.push_back(t);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    s->error = "pinned child failed (status " + std::to_string(status) + ")";
}

__attribute__((noinline)) void WarmUp(Stack* s) {
  for (int i = 0; i < s->warmup && !Stopped(); ++i) {
    std::string error = StackCycle(s, nullptr);
    if (!error.empty()) {
      s->error = "warm-up: " + error;
      return;
    }
  }
  s->warmed = true;
}

// A stack's own process (see the top): forked at the stack's first block,
// it warms up, then runs the blocks the bench asks for, one at a time, and
// sends each cycle's times back; it exits when the bench closes its request
// pipe (or dies: PR_SET_PDEATHSIG).
class StackWorker {
 public:
  StackWorker() = default;
  StackWorker(const StackWorker&) = delete;
  StackWorker& operator=(const StackWorker&) = delete;
  ~StackWorker() { Stop(); }

  // `count` measured cycles of `s` in the worker, appended to s->samples;
  // s->error is set when one fails or the worker is gone.
  void Block(Stack* s, const std::string& module, int count) {
    if (pid_ < 0) Start(s, module);
    if (!WriteAll(request_, &count, sizeof count)) {
      s->error = "the stack's process is gone (" + Errno("write") + ")";
      return;
    }
    for (;;) {
      Record r;
      if (!ReadAll(reply_, &r, sizeof r)) {
        s->error = "the stack's process ended during a block";
        return;
      }
      if (r.kind == kSample) {
        s->samples.push_back(r.times);
      } else {
        if (r.kind == kFailed) s->error = std::string(r.error, strnlen(r.error, sizeof r.error));
        return;
      }
    }
  }

  void Stop() {
    if (pid_ < 0) return;
    std::vector<int>& open = OpenEnds();
    open.erase(std::remove_if(open.begin(), open.end(),
                              [this](int fd) { return fd == request_ || fd == reply_; }),
               open.end());
    close(request_);
    close(reply_);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  enum Kind : int { kSample, kDone, kFailed };
  struct Record {
    int kind = kDone;
    CycleTimes times;
    char error[1024] = {};  // kFailed: what failed
  };
  static_assert(sizeof(Record) <= PIPE_BUF, "a record is written in one piece");

  static bool WriteAll(int fd, const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = write(fd, c, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      c += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  static bool ReadAll(int fd, void* p, size_t n) {
    char* c = static_cast<char*>(p);
    while (n > 0) {
      ssize_t r = read(fd, c, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      c += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  void Start(Stack* s, const std::string& module) {
    int req[2], rep[2];
    if (pipe2(req, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) throw Fatal(Errno("pipe"));
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw Fatal(Errno("fork"));
    if (pid_ == 0) {
      close(req[1]);
      close(rep[0]);
      // The other workers' ends: held here, they would keep a worker from
      // ever seeing EOF.
      for (int fd : OpenEnds()) close(fd);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(0);
      // Every stack's process has pam_sesame.so and its libraries loaded,
      // as the bench's one process had after its first sesame cycle: some
      // of them (libcrypt, libaudit, ...) are the ones pam_unix and the
      // other modules of /etc/pam.d/other load, so with them kept loaded
      // libpam's dlopen/dlclose of those modules at each cycle is cheaper
      // (pam_permit's cycle 1.7 against 2.1 ms in a process without it).
      // The floor stays the one every earlier run measured.
      if (dlopen(module.c_str(), RTLD_NOW | RTLD_NODELETE) == nullptr) {
        Record r;
        r.kind = kFailed;
        std::snprintf(r.error, sizeof r.error, "dlopen %s: %s", module.c_str(), dlerror());
        (void)WriteAll(rep[1], &r, sizeof r);
        _exit(1);
      }
      Serve(s, req[0], rep[1]);
      _exit(0);  // never the bench's exit handlers
    }
    close(req[0]);
    close(rep[1]);
    request_ = req[1];
    reply_ = rep[0];
    OpenEnds().push_back(request_);
    OpenEnds().push_back(reply_);
  }

  // The bench's ends of every worker's pipes.
  static std::vector<int>& OpenEnds() {
    static std::vector<int> fds;
    return fds;
  }

  [[noreturn]] static void Serve(Stack* s, int in, int out) {
    auto fail = [out](const std::string& what) {
      Record r;
      r.kind = kFailed;
      std::snprintf(r.error, sizeof r.error, "%s", what.c_str());
      if (!WriteAll(out, &r, sizeof r)) _exit(1);
    };
    int count = 0;
    while (ReadAll(in, &count, sizeof count)) {
      if (!s->warmed) {
        WarmUp(s);
        if (!s->error.empty()) {
          fail(s->error);
          continue;
        }
      }
      bool failed = false;
      for (int i = 0; i < count && !Stopped(); ++i) {
        Record r;
        r.kind = kSample;
        std::string error = StackCycle(s, &r.times);
        if (!error.empty()) {
          fail(error);
          failed = true;
          break;
        }
        if (!WriteAll(out, &r, sizeof r)) _exit(1);
      }
      if (failed) continue;
      Record done;
      if (!WriteAll(out, &done, sizeof done)) _exit(1);
    }
    _exit(0);
  }

  pid_t pid_ = -1;
  int request_ = -1;  // the bench -> the worker: an int, the cycles of the next block
  int reply_ = -1;    // the worker -> the bench: Records, a block ends with kDone or kFailed
};

struct Summary {
  size_t n = 0;
  double mean = 0, p50 = 0, p99 = 0, per_s = 0;
  double start = 0, auth = 0, acct = 0, end = 0;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  if (rank == 0) rank = 1;
  return v[std::min(rank, v.size()) - 1];
}

Summary Summarize(const Stack& s) {
  Summary r;
  r.n = s.samples.size();
  if (r.n == 0) return r;
  std::vector<double> totals;
  double sum = 0;
  for (const CycleTimes& t : s.samples) {
    totals.push_back(t.total);
    sum += t.total;
    r.start += t.start;
    r.auth += t.auth;
    r.acct += t.acct;
    r.end += t.end;
  }
  double n = static_cast<double>(r.n);
  r.mean = sum / n;
  r.start /= n;
  r.auth /= n;
  r.acct /= n;
  r.end /= n;
  r.p50 = Percentile(totals, 0.50);
  r.p99 = Percentile(totals, 0.99);
  r.per_s = 1e3 / r.mean;
  return r;
}

std::string ReadFirstLine(const char* path, const char* prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (prefix == nullptr || line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

std::string CpuModel() {
  std::string line = ReadFirstLine("/proc/cpuinfo", "model name");
  size_t colon = line.find(':');
  return colon == std::string::npos ? "unknown" : line.substr(colon + 2);
}

std::string LoadAverage() {
  std::string line = ReadFirstLine("/proc/loadavg", nullptr);
  std::stringstream ss(line);
  std::string a, b, c;
  ss >> a >> b >> c;
  return a + " " + b + " " + c;
}

int Run(const Options& o, Spawner& spawner, DevLogSink& sink) {
  if (geteuid() != 0)
    throw Fatal("must run as root (writes /etc/pam.d, adds users, binds /dev/log)");
  const std::string pid = std::to_string(getpid());
  const std::string pam_dir = FindPamDir(o.pam_dir);
  const bool want_sesame = std::any_of(o.stacks.begin(), o.stacks.end(), [](const std::string& s) {
    return s.rfind("sesame", 0) == 0;
  });
  const bool want_setup =
      want_sesame || std::any_of(o.stacks.begin(), o.stacks.end(), [](auto& s) {
        return s.find("google-authenticator") != std::string::npos || s == "pwdfile-sha512";
      });
  if (want_sesame) {
    if (o.module.empty() || o.module[0] != '/' || access(o.module.c_str(), R_OK) != 0)
      throw Fatal("pam_sesame.so not found at '" + o.module + "'; give --module ABSOLUTE_PATH");
  }
  if (want_setup && access(o.setup.c_str(), X_OK) != 0)
    throw Fatal("sesame_bench_setup not found at '" + o.setup + "'; give --setup PATH");

  std::string load_before = LoadAverage();
  std::string dev_log_note = "not bound (--no-dev-log): pam_syslog falls back to the console";
  if (o.dev_log) {
    dev_log_note = sink.Start();
    g_cleanup.Add([&sink] { sink.Stop(); });
  }
  Progress("/dev/log: " + dev_log_note);

  std::string base = o.tmpdir + "/sesame-bench-" + pid + "-XXXXXX";
  if (mkdtemp(base.data()) == nullptr) throw Fatal(Errno("mkdtemp " + base));
  chmod(base.c_str(), 0700);
  g_cleanup.Add([base] {
    CommandResult r = RunCommand({"rm", "-rf", "--one-file-system", base}, "");
    (void)r;
  });

  std::string base_where = "disk";
  {
    struct statfs fs {};
    if (statfs(base.c_str(), &fs) == 0) {
      if (fs.f_type == TMPFS_MAGIC) base_where = "tmpfs";
      if (fs.f_type == EXT4_SUPER_MAGIC) base_where = "disk (ext4)";
    }
  }
  std::string shm_base;
  std::string pg_cluster;  // the sesame-pg-* stacks' cluster (tests/pg/pg-cluster DIR)
  std::vector<Stack> stacks;
  std::vector<std::string> skipped;
  for (const std::string& key : o.stacks) {
    if (Stopped()) break;
    Stack s;
    s.key = key;
    s.service = "sesame-bench-" + key + "-" + pid;
    s.user = kSesameUser;
    s.slow = key.rfind("unix-", 0) == 0 || key == "sesame-default" || key == "pwdfile-sha512";
    s.iterations = s.slow ? o.slow_iterations : o.fast_iterations;
    s.warmup = s.slow ? o.slow_warmup : o.fast_warmup;
    // Users with a second factor: one per cycle (see StackCycle).
    const uint64_t cycles = static_cast<uint64_t>(s.warmup) + static_cast<uint64_t>(s.iterations);
    Progress("setting up " + key);
    if (key == "permit") {
      s.module_label = "pam_permit";
      s.users_label = "-";
      s.hash_label = "-";
      WriteServiceFile(s.service, "auth    required " + pam_dir +
                                      "/pam_permit.so\naccount required " + pam_dir +
                                      "/pam_permit.so\n");
    } else if (key == "unix-yescrypt" || key == "unix-sha512") {
      bool sha = key == "unix-sha512";
      s.module_label = "pam_unix";
      s.users_label = "1 (system user)";
      s.hash_label = sha ? "sha512crypt (chpasswd -c SHA512)" : "yescrypt (Debian default)";
      s.user = "sesbench" + pid + (sha ? "s" : "");
      MakeUnixUser(s.user, sha ? "SHA512" : "", sha ? "$6$" : "$y$");
      WriteServiceFile(s.service, "auth    required " + pam_dir +
                                      "/pam_unix.so\naccount required " + pam_dir +
                                      "/pam_unix.so\n");
    } else if (key == "pwdfile-sha512") {
      const std::string pwdfile_so = pam_dir + "/pam_pwdfile.so";
      if (access(pwdfile_so.c_str(), R_OK) != 0) {
        std::string why =
            "no " + pwdfile_so + " (Debian: libpam-pwdfile, scripts/install-deps bench)";
        Progress("skipping " + key + ": " + why);
        skipped.push_back("`" + key + "`: " + why);
        continue;
      }
      CommandResult hash = RunCommand({o.setup, "sha512crypt"}, std::string(kPassword) + "\n");
      if (hash.status != 0 || hash.out.rfind("$6$", 0) != 0)
        throw Fatal("sesame_bench_setup sha512crypt failed");
      const std::string file = base + "/pwdfile";
      int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) throw Fatal(Errno("create " + file));
      const std::string line = s.user + ":" + hash.out;  // hash.out ends with "\n"
      bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      close(fd);
      if (!ok) throw Fatal(Errno("write " + file));
      s.module_label = "pam_pwdfile";
      s.users_label = "1 (password file)";
      s.hash_label = "sha512crypt (5,000 rounds)";
      s.where = base_where;
      WriteServiceFile(s.service, "auth    required " + pwdfile_so + " pwdfile=" + file +
                                      "\naccount required " + pam_dir + "/pam_permit.so\n");
    } else if (key.rfind("sesame-pg-", 0) == 0) {
      if (pg_cluster.empty()) {
        if (!o.postgres_cluster.empty()) {
          pg_cluster = o.postgres_cluster;
        } else {
          pg_cluster = base + "/pg";
          Progress("starting a private PostgreSQL cluster in " + pg_cluster);
          CommandResult started = RunCommand({SESAME_PG_CLUSTER_SCRIPT, "start", pg_cluster}, "");
          if (started.status != 0) {
            std::string why = "tests/pg/pg-cluster start failed (status " +
                              std::to_string(started.status) + "; scripts/install-deps test)";
            Progress("skipping " + key + ": " + why);
            skipped.push_back("`" + key + "`: " + why);
            pg_cluster.clear();
            continue;
          }
          const std::string cluster = pg_cluster;
          g_cleanup.Add([cluster] {
            CommandResult r = RunCommand({SESAME_PG_CLUSTER_SCRIPT, "stop", cluster}, "");
            (void)r;
          });
        }
      }
      MakePostgresStack(o, base, pg_cluster, &s);
      Progress(s.setup_note);
    } else if (key.find("google-authenticator") != std::string::npos) {
      const std::string ga = pam_dir + "/pam_google_authenticator.so";
      if (access(ga.c_str(), R_OK) != 0) {
        std::string why = "no " + ga + " (Debian: libpam-google-authenticator)";
        Progress("skipping " + key + ": " + why);
        skipped.push_back("`" + key + "`: " + why);
        continue;
      }
      const bool with_unix = key == "unix-sha512+google-authenticator";
      const bool reuse = key == "google-authenticator-reuse";
      s.mfa = true;
      s.enrolled = cycles;
      // Without pam_unix the names need not exist: `user=root` makes the
      // module read root's files and skip getpwnam.
      s.user_prefix = with_unix ? "sesbench" + pid + "g" : "totp";
      s.where = base_where;
      const std::string dir = base + "/" + key;
      if (mkdir(dir.c_str(), 0700) != 0) throw Fatal(Errno("mkdir " + dir));
      double t0 = NowMs();
      if (with_unix) {
        std::vector<std::string> names;
        for (uint64_t i = 0; i < cycles; ++i) names.push_back(s.user_prefix + std::to_string(i));
        MakeUnixUsers(names, "SHA512", "$6$");
      }
      double users_ms = NowMs() - t0;
      t0 = NowMs();
      MustRun({o.setup, "google-authenticator", dir, s.user_prefix, std::to_string(cycles),
               reuse ? "reuse" : "disallow-reuse"});
      double files_ms = NowMs() - t0;
      const std::string ga_line =
          "auth    required " + ga + " secret=" + dir + "/${USER} user=root\n";
      if (with_unix) {
        WriteServiceFile(s.service, "auth    required " + pam_dir + "/pam_unix.so\n" + ga_line +
                                        "account required " + pam_dir + "/pam_unix.so\n");
      } else {
        WriteServiceFile(s.service, ga_line + "account required " + pam_dir + "/pam_permit.so\n");
      }
      const std::string replay = reuse ? "no DISALLOW_REUSE" : "DISALLOW_REUSE";
      s.module_label =
          with_unix ? "pam_unix + pam_google_authenticator" : "pam_google_authenticator";
      s.users_label = Thousands(cycles) + (with_unix ? " (system users)" : " (secret files)");
      s.hash_label = with_unix ? "sha512crypt + TOTP, " + replay : "TOTP only, " + replay;
      s.setup_note = "`" + key + "`: " + Thousands(cycles) + " secret files (" + replay + ")";
      if (with_unix)
        s.setup_note += " and " + Thousands(cycles) +
                        " system users (useradd each, one chpasswd -c " +
                        "SHA512): " + Fixed(users_ms / 1e3, 1) + " s";
      s.setup_note += "; files " + Fixed(files_ms / 1e3, 2) + " s";
      Progress(s.setup_note);
    } else {
      s.module_label = "pam_sesame";
      bool def = key == "sesame-default";
      uint64_t users = key.rfind("sesame-min-1", 0) == 0 ? 1 : o.users;
      s.users_label = Thousands(users);
      s.hash_label = def ? "argon2id t=3 m=65536 p=1 (default)" : "argon2id t=1 m=8 p=1 (minimum)";
      s.pinned = key.find("-pinned") != std::string::npos;
      const bool tmpfs = key.find("-tmpfs") != std::string::npos;
      std::string parent = base;
      s.where = base_where;
      if (tmpfs) {
        if (shm_base.empty()) {
          struct statfs fs {};
          if (statfs(o.shm_dir.c_str(), &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
            Progress("skipping " + key + ": " + o.shm_dir + " is not a tmpfs (--shm-dir)");
            continue;
          }
          shm_base = o.shm_dir + "/sesame-bench-" + pid + "-XXXXXX";
          if (mkdtemp(shm_base.data()) == nullptr) throw Fatal(Errno("mkdtemp " + shm_base));
          chmod(shm_base.c_str(), 0700);
          std::string dir = shm_base;
          g_cleanup.Add([dir] {
            CommandResult r = RunCommand({"rm", "-rf", "--one-file-system", dir}, "");
            (void)r;
          });
        }
        parent = shm_base;
        s.where = "tmpfs";
      }
      if (s.pinned) s.module_label = "pam_sesame, kept loaded";
      if (key.rfind("sesame-app-password-", 0) == 0) {
        s.app_passwords = key.find("-1000") != std::string::npos ? 1000 : 1;
        s.module_label = "pam_sesame mode=app_password";
        s.hash_label =
            "app password: HMAC-SHA256, " + Thousands(s.app_passwords) + " of the user's";
      }
      if (key == "sesame-min-old-events") {
        s.old_events = o.old_events;
        s.users_label = Thousands(users) + " (" + Thousands(o.old_events) + " old events)";
      }
      if (key.rfind("sesame-mfa-min", 0) == 0) {
        s.mfa = true;
        s.enrolled = cycles;
        s.user_prefix = "totp";
        users = std::max(users, cycles + 1);
        s.users_label = Thousands(users) + " (" + Thousands(cycles) + " with TOTP)";
        s.hash_label += " + TOTP";
      }
      MakeSesameStack(o, parent, &s, def ? 3 : 1, def ? 65536 : 8, users);
      Progress(s.setup_note);
    }
    stacks.push_back(std::move(s));
  }

  if (std::any_of(stacks.begin(), stacks.end(), [](const Stack& s) { return s.mfa; }) &&
      !Stopped()) {
    g_codes.Start(o.setup);
    g_cleanup.Add([] { g_codes.Stop(); });
  }

  // Interleaved rounds, each stack in its own process unless --in-process
  // (see the top).
  std::map<std::string, std::unique_ptr<StackWorker>> workers;
  for (int round = 0; round < o.rounds && !Stopped(); ++round) {
    for (Stack& s : stacks) {
      if (Stopped() || !s.error.empty()) continue;
      if (o.in_process && !s.warmed && !s.pinned) {
        WarmUp(&s);
        if (!s.error.empty()) continue;
      }
      int begin = s.iterations * round / o.rounds;
      int end = s.iterations * (round + 1) / o.rounds;
      double t0 = NowMs();
      if (s.pinned) {
        MeasurePinnedBlock(&s, o.module, end - begin);
      } else if (o.in_process) {
        MeasureBlock(&s, end - begin);
      } else {
        std::unique_ptr<StackWorker>& w = workers[s.key];
        if (!w) w = std::make_unique<StackWorker>();
        w->Block(&s, o.module, end - begin);
      }
      Progress("round " + std::to_string(round + 1) + "/" + std::to_string(o.rounds) + " " + s.key +
               ": " + std::to_string(end - begin) + " cycles in " + Fixed((NowMs() - t0) / 1e3, 2) +
               " s" + (s.error.empty() ? "" : " ERROR " + s.error));
    }
  }
  workers.clear();  // each ends at EOF on its request pipe, closing its store

  // Parallel: the same cycles in 1 process and in o.processes (see the top).
  struct ParallelRow {
    std::string key;
    int cycles = 0;
    double one_per_s = 0;
    double many_per_s = 0;
    // Each process signing in as a user of its own (filler users 1..N; the
    // 1-process run as filler user 1): full cycles, then on one PAM handle
    // per process (SignInsOnOneHandle).
    double own_one_per_s = 0;
    double own_many_per_s = 0;
    double handle_one_per_s = 0;
    double handle_many_per_s = 0;
    // The machine's CPU during the one-handle runs (client, server, kernel
    // and whatever else ran): busy share of all CPUs, and CPU ms per
    // sign-in. Where 1 process leaves little idle, N cannot go faster.
    double handle_one_busy = 0;
    double handle_many_busy = 0;
    double handle_one_cpu_ms = 0;
    double handle_many_cpu_ms = 0;
    // With --handle-repeats: each repeat's 1-process and N-process rates.
    int handle_cycles = 0;
    std::vector<std::pair<double, double>> handle_repeats;
    std::string error;
  };
  std::vector<ParallelRow> parallel;
  if (o.processes > 0) {
    for (Stack& s : stacks) {
      if (Stopped()) break;
      if (s.key != "permit" && s.key != "sesame-min" && s.key.rfind("sesame-pg-", 0) != 0) continue;
      if (!s.error.empty()) continue;
      ParallelRow row;
      row.key = s.key;
      row.cycles = std::max(s.iterations, o.processes);
      // One user for all (the stack's) or, with own_users, filler user i + 1
      // for process i (permit has no users: the same either way).
      const bool fillers = s.key != "permit" && o.users > static_cast<uint64_t>(o.processes);
      const double tick_ms = 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
      row.handle_cycles = o.handle_cycles > 0 ? std::max(o.handle_cycles, o.processes) : row.cycles;
      auto run = [&](int procs, bool own_users, bool one_handle, double* busy = nullptr,
                     double* cpu_ms = nullptr) -> double {
        const int cycles = one_handle ? row.handle_cycles : row.cycles;
        const CpuTicks c0 = ReadCpuTicks();
        const double t0 = NowMs();
        std::vector<pid_t> children;
        for (int i = 0; i < procs; ++i) {
          const int mine = cycles / procs + (i < cycles % procs ? 1 : 0);
          pid_t child = fork();
          if (child < 0) throw Fatal(Errno("fork"));
          if (child == 0) {
            const bool filler = own_users && fillers;
            const std::string user = filler ? FillerUser(i + 1) : s.user;
            const char* password = filler ? kFillerPassword : s.password.c_str();
            if (one_handle) {
              _exit(SignInsOnOneHandle(s.service.c_str(), user.c_str(), password, mine).empty()
                        ? 0
                        : 1);
            }
            for (int k = 0; k < mine; ++k) {
              CycleTimes t;
              if (!OneCycle(s.service.c_str(), user.c_str(), password, nullptr, &t).empty())
                _exit(1);
            }
            _exit(0);
          }
          children.push_back(child);
        }
        bool failed = false;
        for (pid_t child : children) {
          int status = 0;
          while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
          }
          failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
        if (failed) row.error = "a cycle failed with " + std::to_string(procs) + " processes";
        const double seconds = (NowMs() - t0) / 1e3;
        const CpuTicks c1 = ReadCpuTicks();
        if (busy != nullptr && cpu_ms != nullptr && c1.all > c0.all) {
          *busy = static_cast<double>(c1.busy - c0.busy) / static_cast<double>(c1.all - c0.all);
          *cpu_ms = static_cast<double>(c1.busy - c0.busy) * tick_ms / cycles;
        }
        return cycles / seconds;
      };
      row.one_per_s = run(1, false, false);
      row.many_per_s = run(o.processes, false, false);
      row.own_one_per_s = run(1, true, false);
      row.own_many_per_s = run(o.processes, true, false);
      // Alternately, so that a drift of the machine (or of the store,
      // which grows by every sign-in's event) touches both alike; the CPU
      // shares are the first repeat's.
      for (int k = 0; k < o.handle_repeats && !Stopped(); ++k) {
        double one_busy = 0;
        double one_cpu = 0;
        double many_busy = 0;
        double many_cpu = 0;
        const double one = run(1, true, true, &one_busy, &one_cpu);
        const double many = run(o.processes, true, true, &many_busy, &many_cpu);
        if (k == 0) {
          row.handle_one_busy = one_busy;
          row.handle_one_cpu_ms = one_cpu;
          row.handle_many_busy = many_busy;
          row.handle_many_cpu_ms = many_cpu;
        }
        row.handle_repeats.emplace_back(one, many);
        Progress("parallel " + s.key + ": one handle each, repeat " + std::to_string(k + 1) + ": " +
                 Fixed(one, 1) + "/s with 1 process, " + Fixed(many, 1) + "/s with " +
                 std::to_string(o.processes));
      }
      auto median = [](std::vector<double> v) {
        if (v.empty()) return 0.0;
        std::sort(v.begin(), v.end());
        return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
      };
      std::vector<double> ones, manys;
      for (const auto& [one, many] : row.handle_repeats) {
        ones.push_back(one);
        manys.push_back(many);
      }
      row.handle_one_per_s = median(ones);
      row.handle_many_per_s = median(manys);
      Progress("parallel " + s.key + ": one user " + Fixed(row.one_per_s, 1) +
               "/s with 1 process, " + Fixed(row.many_per_s, 1) + "/s with " +
               std::to_string(o.processes) + "; a user each " + Fixed(row.own_one_per_s, 1) +
               "/s and " + Fixed(row.own_many_per_s, 1) + "/s; one handle each " +
               Fixed(row.handle_one_per_s, 1) + "/s and " + Fixed(row.handle_many_per_s, 1) + "/s");
      parallel.push_back(row);
    }
  }

  // Peak memory: one cycle in a fresh child of the small helper.
  struct MemRow {
    std::string label;
    SpawnReply reply;
    bool ok;
  };
  std::vector<MemRow> mem;
  if (o.memory && !Stopped()) {
    for (const Stack& s : stacks) {
      if (Stopped()) break;
      if (s.key != "permit" && s.key != "sesame-default" && s.key != "sesame-min" &&
          s.key != "unix-yescrypt")
        continue;
      MemRow row{s.key, {}, false};
      // Three children each; the largest counts.
      for (int k = 0; k < 3; ++k) {
        SpawnReply reply{};
        if (!spawner.Measure(s.service, s.user, kPassword, &reply)) break;
        row.ok = reply.exit_status == 0;
        if (!row.ok) break;
        if (reply.maxrss_kib > row.reply.maxrss_kib) row.reply = reply;
      }
      mem.push_back(row);
    }
  }
  // Retention: what pruning in passing left of the old events.
  for (Stack& s : stacks) {
    if (s.store_path.empty() || (s.key != "sesame-min" && s.old_events == 0)) continue;
    CommandResult r = RunCommand({o.setup, "events", s.store_path, "90"}, "");
    s.events_after = r.status == 0 ? r.out : "";
  }
  std::string load_after = LoadAverage();
  uint64_t syslog_messages = sink.messages();

  // ---- report ----
  struct utsname uts;
  uname(&uts);
  std::printf("## sesame_pam_bench\n\n");
  std::printf("- machine: %ld CPUs (%s), kernel %s, Debian %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              CpuModel().c_str(), uts.release,
              ReadFirstLine("/etc/debian_version", nullptr).c_str());
  std::printf(
      "- real libpam, services written to /etc/pam.d (modules by absolute path), removed "
      "at exit\n");
  std::printf(
      "- cycle: pam_start -> pam_authenticate -> pam_acct_mgmt -> pam_end, single thread, "
      "%d interleaved rounds; warm-up %d (fast) / %d (slow) cycles per stack\n",
      o.rounds, o.fast_warmup, o.slow_warmup);
  if (std::any_of(stacks.begin(), stacks.end(), [](const Stack& s) { return s.mfa; }))
    std::printf(
        "- stacks with a verification code sign in as a different enrolled user every cycle; "
        "the current code is fetched before pam_start (not timed); every cycle must succeed "
        "and must have been asked for the code exactly once\n");
  std::printf("- /dev/log: %s; %llu syslog messages received\n", dev_log_note.c_str(),
              static_cast<unsigned long long>(syslog_messages));
  std::printf("- load average before %s, after %s\n\n", load_before.c_str(), load_after.c_str());

  std::printf(
      "| stack | module | users | hash | store on | N | sign-ins/s | mean ms | p50 ms | p99 ms "
      "|\n");
  std::printf("|---|---|---|---|---|---:|---:|---:|---:|---:|\n");
  std::map<std::string, Summary> sums;
  for (const Stack& s : stacks) {
    Summary r = Summarize(s);
    sums[s.key] = r;
    std::printf("| %s | %s | %s | %s | %s | %zu | %s | %s | %s | %s |\n", s.key.c_str(),
                s.module_label.c_str(), s.users_label.c_str(), s.hash_label.c_str(),
                s.where.empty() ? "-" : s.where.c_str(), r.n, Fixed(r.per_s, 1).c_str(),
                Fixed(r.mean, 3).c_str(), Fixed(r.p50, 3).c_str(), Fixed(r.p99, 3).c_str());
  }
  for (const Stack& s : stacks) {
    if (!s.error.empty()) std::printf("\n**%s failed:** %s\n", s.key.c_str(), s.error.c_str());
  }
  for (const std::string& why : skipped) std::printf("\n**skipped** %s\n", why.c_str());

  // The PostgreSQL issue's targets: a sign-in over a local PostgreSQL at
  // most 2x the pam_permit cycle; 8 processes at least 1.5x the sign-ins/s
  // of 1.
  if (sums.count("permit") != 0 && sums["permit"].mean > 0) {
    bool header = false;
    for (const Stack& s : stacks) {
      if (s.key.rfind("sesame-pg-", 0) != 0 || !s.error.empty()) continue;
      if (!header) {
        std::printf(
            "\n**Target, PostgreSQL** (a sign-in over a local PostgreSQL at most 2x the "
            "pam_permit cycle, same run):\n\n| stack | mean ms | x permit (mean) | x permit "
            "(p50) | sesame-min (SQLite) x permit (mean) |\n|---|---:|---:|---:|---:|\n");
        header = true;
      }
      const Summary& r = sums[s.key];
      const double sqlite =
          sums.count("sesame-min") != 0 ? sums["sesame-min"].mean / sums["permit"].mean : 0;
      std::printf("| %s | %s | %sx | %sx | %s |\n", s.key.c_str(), Fixed(r.mean, 3).c_str(),
                  Fixed(r.mean / sums["permit"].mean, 2).c_str(),
                  Fixed(r.p50 / sums["permit"].p50, 2).c_str(),
                  sqlite > 0 ? (Fixed(sqlite, 2) + "x").c_str() : "-");
    }
  }
  if (!parallel.empty()) {
    std::printf(
        "\n**Processes** (the same cycles once in 1 process and once split over %d forked "
        "processes, each with its own connection; wall clock). *One user*: every process signs "
        "in as the stack's one user (so they queue on its row); *a user each*: process i as "
        "filler user i + 1 (the 1-process run as filler user 1), full cycles and then on one PAM "
        "handle per process (pam_authenticate + pam_acct_mgmt again and again, as sshd does when "
        "it asks again: libpam's loading of the service's and \"other\"'s modules per handle "
        "left out; %d sign-ins a run%s):\n\n| stack | cycles | one user: 1 process/s | %d "
        "processes/s | ratio | a user "
        "each: 1 process/s | %d processes/s | ratio | one handle each: 1 process/s | %d "
        "processes/s | ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        o.processes, parallel.front().handle_cycles,
        o.handle_repeats > 1
            ? (", the medians of " + std::to_string(o.handle_repeats) + " alternating runs").c_str()
            : "",
        o.processes, o.processes, o.processes);
    auto ratio = [](double many, double one) { return Fixed(one > 0 ? many / one : 0, 2) + "x"; };
    for (const ParallelRow& row : parallel) {
      std::printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |%s\n", row.key.c_str(),
                  row.cycles, Fixed(row.one_per_s, 1).c_str(), Fixed(row.many_per_s, 1).c_str(),
                  ratio(row.many_per_s, row.one_per_s).c_str(), Fixed(row.own_one_per_s, 1).c_str(),
                  Fixed(row.own_many_per_s, 1).c_str(),
                  ratio(row.own_many_per_s, row.own_one_per_s).c_str(),
                  Fixed(row.handle_one_per_s, 1).c_str(), Fixed(row.handle_many_per_s, 1).c_str(),
                  ratio(row.handle_many_per_s, row.handle_one_per_s).c_str(),
                  row.error.empty() ? "" : (" **" + row.error + "**").c_str());
    }
    if (o.handle_repeats > 1) {
      std::printf(
          "\nOne handle each, every repeat (1 process, then %d, alternately): sign-ins/s and "
          "ratio:\n\n| stack | repeat | 1 process/s | %d processes/s | ratio |\n"
          "|---|---:|---:|---:|---:|\n",
          o.processes, o.processes);
      for (const ParallelRow& row : parallel) {
        for (size_t k = 0; k < row.handle_repeats.size(); ++k) {
          const auto& [one, many] = row.handle_repeats[k];
          std::printf("| %s | %zu | %s | %s | %s |\n", row.key.c_str(), k + 1,
                      Fixed(one, 1).c_str(), Fixed(many, 1).c_str(), ratio(many, one).c_str());
        }
      }
    }
    std::printf(
        "\nThe machine's CPUs during the one-handle runs (/proc/stat: client, server, kernel and "
        "anything else running; %ld CPUs; the first repeat): busy share and CPU ms per sign-in. "
        "N processes "
        "cannot go faster than 1 by more than the idle share 1 process leaves, and go slower "
        "when each sign-in costs more CPU among N:\n\n| stack | 1 process: busy | CPU ms per "
        "sign-in | %d processes: busy | CPU ms per sign-in |\n|---|---:|---:|---:|---:|\n",
        sysconf(_SC_NPROCESSORS_ONLN), o.processes);
    for (const ParallelRow& row : parallel) {
      std::printf(
          "| %s | %s%% | %s | %s%% | %s |\n", row.key.c_str(),
          Fixed(row.handle_one_busy * 100, 0).c_str(), Fixed(row.handle_one_cpu_ms, 3).c_str(),
          Fixed(row.handle_many_busy * 100, 0).c_str(), Fixed(row.handle_many_cpu_ms, 3).c_str());
    }
  }

  std::printf("\nMean ms per phase:\n\n");
  std::printf("| stack | pam_start | pam_authenticate | pam_acct_mgmt | pam_end |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  for (const Stack& s : stacks) {
    const Summary& r = sums[s.key];
    std::printf("| %s | %s | %s | %s | %s |\n", s.key.c_str(), Fixed(r.start, 3).c_str(),
                Fixed(r.auth, 3).c_str(), Fixed(r.acct, 3).c_str(), Fixed(r.end, 3).c_str());
  }

  if (sums.count("permit") && sums.count("sesame-min") && sums["permit"].n > 0 &&
      sums["sesame-min"].n > 0) {
    double ratio = sums["sesame-min"].mean / sums["permit"].mean;
    double ratio50 = sums["sesame-min"].p50 / sums["permit"].p50;
    std::printf(
        "\n**Target** (minimum argon2 cost, %s users: a sign-in at most 1.3x the pam_permit "
        "cycle): ratio of means %.2fx (p50 %.2fx): %s.\n",
        Thousands(o.users).c_str(), ratio, ratio50, ratio <= 1.3 ? "met" : "**MISSED**");
    const std::pair<const char*, const char*> pairs[] = {
        {"sesame-min-1", "sesame-min"}, {"sesame-min-1-tmpfs", "sesame-min-tmpfs"}};
    for (const auto& [one, many] : pairs) {
      if (sums.count(one) == 0 || sums[one].n == 0 || sums.count(many) == 0 || sums[many].n == 0)
        continue;
      std::printf(
          "\nUser count: %s (1 user) mean %.3f ms, p50 %.3f ms; %s (%s users) mean %.3f ms, "
          "p50 %.3f ms (p50 %+.1f%%).\n",
          one, sums[one].mean, sums[one].p50, many, Thousands(o.users).c_str(), sums[many].mean,
          sums[many].p50, (sums[many].p50 / sums[one].p50 - 1) * 100);
    }
  }

  auto have = [&](const char* key) { return sums.count(key) != 0 && sums[key].n > 0; };

  // Retention: a sign-in's p99 with the old events due for pruning within
  // 10% of the p99 with none, same run, interleaved.
  if (have("sesame-min") && have("sesame-min-old-events")) {
    std::printf(
        "\n**Target, retention** (a sign-in's p99 with %s events older than "
        "activity_retention_days = 90 due for pruning within 10%% of the p99 with none; "
        "pruning in passing: each sign-in's own write deletes at most %lld, "
        "kPruneInPassingBatch in core/store/store.h):\n\n",
        Thousands(o.old_events).c_str(), static_cast<long long>(sesame::kPruneInPassingBatch));
    std::printf(
        "| stack | N | mean ms | p50 ms | p99 ms | max ms | p99 auth ms | events due before | "
        "events due after | deleted | events in store after |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Stack& s : stacks) {
      if (s.key != "sesame-min" && s.key != "sesame-min-old-events") continue;
      const Summary& r = sums[s.key];
      std::vector<double> totals, auths;
      for (const CycleTimes& t : s.samples) {
        totals.push_back(t.total);
        auths.push_back(t.auth);
      }
      std::map<std::string, std::string> kv = ParseKeyValues(s.events_after);
      const uint64_t old_after = std::strtoull(kv["events_old"].c_str(), nullptr, 10);
      const bool counted = !kv["events_old"].empty();
      std::printf(
          "| %s | %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %s | %s | %s |\n", s.key.c_str(),
          r.n, r.mean, r.p50, r.p99, Percentile(totals, 1.0), Percentile(auths, 0.99),
          Thousands(s.old_events).c_str(), counted ? Thousands(old_after).c_str() : "?",
          counted ? Thousands(s.old_events - std::min(s.old_events, old_after)).c_str() : "?",
          counted ? Thousands(std::strtoull(kv["events_total"].c_str(), nullptr, 10)).c_str()
                  : "?");
    }
    const Summary& none = sums["sesame-min"];
    const Summary& old = sums["sesame-min-old-events"];
    const double by_p99 = (old.p99 / none.p99 - 1) * 100;
    std::printf("\nWith %s old events against none: p99 %+.1f%%, p50 %+.1f%%, mean %+.1f%%: %s.\n",
                Thousands(o.old_events).c_str(), by_p99, (old.p50 / none.p50 - 1) * 100,
                (old.mean / none.mean - 1) * 100,
                by_p99 <= 10 ? "met (p99 within 10%)" : "**MISSED**");
  }

  // App passwords: the two targets, same run.
  if (have("permit") && (have("sesame-app-password-1") || have("sesame-app-password-1000"))) {
    const Summary& permit = sums["permit"];
    std::printf(
        "\n**Targets, app passwords** (%s users; an app-password sign-in at most 1.2x the "
        "pam_permit cycle; the same with 1 or 1,000 app passwords, within 10%%):\n\n",
        Thousands(o.users).c_str());
    std::printf("| stack | mean ms | p50 ms | x permit (mean) | x permit (p50) | verdict |\n");
    std::printf("|---|---:|---:|---:|---:|---|\n");
    for (const char* key : {"sesame-app-password-1", "sesame-app-password-1000",
                            "sesame-app-password-1000-tmpfs", "pwdfile-sha512", "sesame-min"}) {
      if (!have(key)) continue;
      const Summary& r = sums[key];
      const double ratio = r.mean / permit.mean;
      const bool targeted = std::strncmp(key, "sesame-app-password-", 20) == 0 &&
                            std::strstr(key, "tmpfs") == nullptr;
      std::printf("| %s | %.3f | %.3f | %.2f | %.2f | %s |\n", key, r.mean, r.p50, ratio,
                  r.p50 / permit.p50,
                  targeted ? (ratio <= 1.2 ? "met" : "**MISSED**") : "(for comparison)");
    }
    if (have("sesame-app-password-1") && have("sesame-app-password-1000")) {
      const Summary& one = sums["sesame-app-password-1"];
      const Summary& many = sums["sesame-app-password-1000"];
      const double by_mean = (many.mean / one.mean - 1) * 100;
      const double by_p50 = (many.p50 / one.p50 - 1) * 100;
      std::printf(
          "\n1 against 1,000 app passwords: 1,000 is %+.1f%% by mean, %+.1f%% by p50: %s.\n",
          by_mean, by_p50,
          std::fabs(by_mean) <= 10 && std::fabs(by_p50) <= 10 ? "met (within 10%)" : "**MISSED**");
    }
  }
  if (have("permit") && have("sesame-min") &&
      (have("sesame-min-tmpfs") || have("sesame-min-pinned") || have("sesame-min-pinned-tmpfs"))) {
    const double permit = sums["permit"].mean;
    const double as_built = sums["sesame-min"].mean;
    std::printf("\nWhat-ifs of sesame-min (same run, interleaved; the product is unchanged):\n\n");
    std::printf("| variant | mean ms | over permit ms | x permit | vs sesame-min ms |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    const std::pair<const char*, const char*> rows[] = {
        {"sesame-min", "as built (store on disk, module loaded per pam_start)"},
        {"sesame-min-tmpfs", "store on tmpfs"},
        {"sesame-min-pinned", "module and its libraries kept loaded"},
        {"sesame-min-pinned-tmpfs", "both"}};
    for (const auto& [key, what] : rows) {
      if (!have(key)) continue;
      double m = sums[key].mean;
      std::printf("| %s: %s | %.3f | %.3f | %.2f | %+.3f |\n", key, what, m, m - permit, m / permit,
                  m - as_built);
    }
    if (have("sesame-min-tmpfs") && have("sesame-min-pinned-tmpfs")) {
      // Telescoping differences, each between two stacks that differ in one
      // thing only: they add up to sesame-min minus permit exactly.
      const Summary& min = sums["sesame-min"];
      const Summary& tmpfs = sums["sesame-min-tmpfs"];
      const Summary& both = sums["sesame-min-pinned-tmpfs"];
      const Summary& floor = sums["permit"];
      std::printf("\nSplit of sesame-min's cost over pam_permit:\n\n");
      std::printf("| part | from | by mean ms | by p50 ms |\n|---|---|---:|---:|\n");
      std::printf(
          "| store on disk: fsync, WAL/shm create and unlink | sesame-min - sesame-min-tmpfs "
          "| %.3f | %.3f |\n",
          min.mean - tmpfs.mean, min.p50 - tmpfs.p50);
      std::printf(
          "| loading pam_sesame.so, libsqlite3, libargon2 at every pam_start (and unloading "
          "at pam_end) | sesame-min-tmpfs - sesame-min-pinned-tmpfs | %.3f | %.3f |\n",
          tmpfs.mean - both.mean, tmpfs.p50 - both.p50);
      std::printf(
          "| the module's own work (config, key, 2 store opens, lookups, argon2, event, "
          "syslog) | sesame-min-pinned-tmpfs - permit | %.3f | %.3f |\n",
          both.mean - floor.mean, both.p50 - floor.p50);
      std::printf("| total | sesame-min - permit | %.3f | %.3f |\n", min.mean - floor.mean,
                  min.p50 - floor.p50);
    }
  }

  {
    // The second factor's share: each row subtracts the same stack without
    // the code step, measured in the same run.
    struct CodeRow {
      const char* with;
      const char* without;
      const char* what;
    };
    const CodeRow rows[] = {
        {"sesame-mfa-min", "sesame-min",
         "pam_sesame's code step: open the sealed secret, check the code, record the time step "
         "(a store write), a second prompt"},
        {"sesame-mfa-min-tmpfs", "sesame-min-tmpfs", "the same, both stores on tmpfs (no disk)"},
        {"google-authenticator", "permit",
         "pam_google_authenticator: read the secret file, check the code, rewrite the file "
         "(fsync, rename) for DISALLOW_REUSE"},
        {"google-authenticator-reuse", "permit",
         "pam_google_authenticator without DISALLOW_REUSE: no rewrite"},
        {"unix-sha512+google-authenticator", "unix-sha512",
         "pam_google_authenticator stacked after pam_unix"},
    };
    bool header = false;
    for (const CodeRow& row : rows) {
      if (!have(row.with) || !have(row.without)) continue;
      if (!header) {
        std::printf(
            "\nThe verification code's share (every MFA cycle signs in a different enrolled "
            "user with the current code):\n\n");
        std::printf("| what | from | mean ms | p50 ms |\n|---|---|---:|---:|\n");
        header = true;
      }
      std::printf("| %s | %s - %s | %.3f | %.3f |\n", row.what, row.with, row.without,
                  sums[row.with].mean - sums[row.without].mean,
                  sums[row.with].p50 - sums[row.without].p50);
    }
  }

  if (!mem.empty()) {
    std::printf(
        "\nPeak memory of one cycle (ru_maxrss via wait4 of a fresh child forked from a "
        "small helper; largest of 3):\n\n");
    std::printf("| child does one cycle of | maxrss MiB | over permit MiB |\n|---|---:|---:|\n");
    long base_kib = 0;
    for (const MemRow& m : mem)
      if (m.label == "permit" && m.ok) base_kib = m.reply.maxrss_kib;
    for (const MemRow& m : mem) {
      if (!m.ok) {
        std::printf("| %s | failed | |\n", m.label.c_str());
        continue;
      }
      std::printf(
          "| %s | %s | %s |\n", m.label.c_str(),
          Fixed(static_cast<double>(m.reply.maxrss_kib) / 1024.0, 1).c_str(),
          base_kib > 0
              ? Fixed(static_cast<double>(m.reply.maxrss_kib - base_kib) / 1024.0, 1).c_str()
              : "");
    }
    for (const MemRow& m : mem) {
      if (m.label != "sesame-default" || !m.ok) continue;
      double mib = static_cast<double>(m.reply.maxrss_kib) / 1024.0;
      std::printf(
          "\n**Target** (peak memory at default cost <= 64 MiB argon2 + 8 MiB = 72 MiB): "
          "%.1f MiB: %s.\n",
          mib, mib <= 72.0 ? "met" : "**MISSED**");
    }
  }

  std::printf("\nStore population:\n\n");
  for (const Stack& s : stacks)
    if (!s.setup_note.empty()) std::printf("- %s\n", s.setup_note.c_str());
  std::fflush(stdout);

  bool failed =
      std::any_of(stacks.begin(), stacks.end(), [](const Stack& s) { return !s.error.empty(); });
  if (Stopped()) {
    std::fprintf(stderr, "[bench] interrupted; partial results above\n");
    return 130;
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);
  // First, while this process is small: the helper whose children measure
  // peak memory.
  Spawner spawner;
  DevLogSink sink;
  int rc = 1;
  try {
    spawner.Start();
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    rc = Run(options, spawner, sink);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sesame_pam_bench: %s\n", e.what());
    rc = 1;
  }
  spawner.Stop();
  g_cleanup.Run();
  return rc;
}
