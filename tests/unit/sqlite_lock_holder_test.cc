// A process halted while it holds the SQLite store's write lock (a su its
// caller stopped, a setuid tool frozen with a cgroup its caller owns) is
// ended by the next writer that waited long enough, and the write goes
// through; a running holder, or one a debugger stopped, is waited for as
// before. Real processes, a real store file, real /proc/locks, a real
// cgroup v2 freezer where this machine has one (skipped, saying why, where
// not). core/store/sqlite/sqlite_lock_holder.h.
#include "core/store/sqlite/sqlite_lock_holder.h"

#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base/process_state.h"
#include "core/store/sqlite/sqlite_store.h"
#include "tests/fakes/frozen_cgroup.h"
#include "tests/fakes/store_backends.h"

namespace sesame {
namespace {

using sqlite_internal::LockedRange;
using sqlite_internal::ParseProcLocks;
using sqlite_internal::StoreLockHolders;

// How the holder behaves once it holds the lock.
enum class Then { kStop, kStopExclusive, kTracedStop, kPause, kSleepThenCommit };

class SqliteLockHolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("SESAME_TEST_TMPDIR");
    std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
    if (mkdir(base.c_str(), 0700) != 0) {
      ASSERT_EQ(errno, EEXIST) << base;
    }
    std::string tmpl = base + "/lock_holder_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl;
    dir_ = tmpl;
    path_ = dir_ + "/sesame.db";
    // Made and closed before any child is forked: SQLite's per-process
    // lock bookkeeping must not cross fork().
    auto store = OpenSqliteStore(path_, Options(true, 5000));
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->AddUser(testing::User("alice")).ok());
  }

  void TearDown() override {
    if (holder_ > 0) {
      kill(holder_, SIGKILL);
      waitpid(holder_, nullptr, 0);
    }
    if (!dir_.empty()) nftw(dir_.c_str(), testing::RemoveTreeEntry, 16, FTW_DEPTH | FTW_PHYS);
  }

  static SqliteOptions Options(bool create, int busy_timeout_ms) {
    SqliteOptions options;
    options.create = create;
    options.busy_timeout_ms = busy_timeout_ms;
    options.trust = TrustRule{geteuid(), false};
    return options;
  }

  // Forks a process that disables alice inside a write transaction it does
  // not commit, then behaves as `then` says. Returns once it holds the lock
  // (and, for the stops, once it is stopped). With `enter_cgroup` it first
  // moves itself into cgroup_.
  void StartHolder(Then then, bool enter_cgroup = false) {
    int ready[2];
    ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      if (enter_cgroup && !cgroup_.Enter()) _exit(10);
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        _exit(11);
      }
      // In exclusive locking mode the lock is on the database file itself
      // (as while a connection closes), not on the -shm file.
      if (then == Then::kStopExclusive && sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", nullptr,
                                                       nullptr, nullptr) != SQLITE_OK) {
        _exit(17);
      }
      if (sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE users SET disabled = 1 WHERE name = 'alice'",
                       nullptr, nullptr, nullptr) != SQLITE_OK) {
        _exit(12);
      }
      if (then == Then::kTracedStop && ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(13);
      if (write(ready[1], "x", 1) != 1) _exit(14);
      switch (then) {
        case Then::kStop:
        case Then::kStopExclusive:
        case Then::kTracedStop:
          raise(SIGSTOP);
          _exit(20);  // continued: not expected
        case Then::kPause:
          for (;;) pause();
        case Then::kSleepThenCommit: {
          struct timespec nap = {2, 500000000};
          while (nanosleep(&nap, &nap) != 0) {
          }
          _exit(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 15);
        }
      }
      _exit(16);
    }
    holder_ = pid;
    close(ready[1]);
    char byte = 0;
    ssize_t n = read(ready[0], &byte, 1);
    close(ready[0]);
    ASSERT_EQ(n, 1) << "the holder did not take the lock";
    if (then != Then::kPause && then != Then::kSleepThenCommit) {
      const Halt want = then == Then::kTracedStop ? Halt::kTraced : Halt::kStopped;
      for (int i = 0; i < 500 && ProcessHalt(pid) != want; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ASSERT_EQ(ProcessHalt(pid), want);
    }
  }

  // Waits up to 3 s for the holder to end and returns its wait status; one
  // still there then (halted, so it would never end) fails the test, and
  // TearDown kills it.
  int Reap() {
    int status = 0;
    for (int i = 0; i < 300; ++i) {
      pid_t got = waitpid(holder_, &status, WNOHANG);
      if (got == holder_) {
        holder_ = 0;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the holder " << holder_ << " is still there ("
                  << HaltName(ProcessHalt(holder_)) << ")";
    return -1;
  }

  // The holder was killed (SIGKILL) and its uncommitted change is gone.
  void ExpectTheHolderWasEnded() {
    int status = Reap();
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_FALSE(AliceDisabled()) << "the ended holder's change was not rolled back";
  }

  // A write through a store that waits 5 s goes through, ending the holder.
  void ExpectAWriteEndsTheHolder() {
    auto store = OpenSqliteStore(path_, Options(false, 5000));
    ASSERT_TRUE(store.ok()) << store.status().message();
    Status st = (*store)->SetMustChange("alice", true);
    EXPECT_TRUE(st.ok()) << st.message();
    store->reset();
    ExpectTheHolderWasEnded();
  }

  bool AliceDisabled() {
    auto store = OpenSqliteStore(path_, Options(false, 5000));
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (!store.ok()) return false;
    auto alice = (*store)->GetUser("alice");
    EXPECT_TRUE(alice.ok() && alice->has_value());
    return alice.ok() && alice->has_value() && (*alice)->disabled;
  }

  std::string dir_;
  std::string path_;
  pid_t holder_ = 0;
  testing::FrozenCgroup cgroup_;  // destroyed after TearDown ended the holder
};

TEST(ParseProcLocksTest, CountsWriteLocksOverlappingTheRanges) {
  LockedRange shm;
  shm.devices[0][0] = 0xfe;  // fe:00
  shm.devices[1][0] = 0;     // 00:2e, as a btrfs mount shows it
  shm.devices[1][1] = 0x2e;
  shm.inode = 1234;
  shm.first = 120;
  shm.last = 128;
  const std::string text =
      "1: POSIX  ADVISORY  WRITE 100 fe:00:1234 120 120\n"     // the WAL write lock
      "2: POSIX  ADVISORY  READ 101 fe:00:1234 120 120\n"      // a read lock: no
      "3: -> POSIX  ADVISORY  WRITE 102 fe:00:1234 120 120\n"  // a waiter: no
      "4: OFDLCK ADVISORY  WRITE -1 fe:00:1234 120 120\n"      // OFD: no pid
      "5: FLOCK  ADVISORY  WRITE 103 fe:00:1234 0 EOF\n"       // flock: no
      "6: POSIX  ADVISORY  WRITE 104 fe:00:1235 120 120\n"     // another file
      "7: POSIX  ADVISORY  WRITE 105 fe:01:1234 120 120\n"     // another device
      "8: POSIX  ADVISORY  WRITE 106 00:2e:1234 0 EOF\n"       // to EOF, the mount's device
      "9: POSIX  ADVISORY  WRITE 107 fe:00:1234 129 200\n"     // past the range
      "10: POSIX  ADVISORY  WRITE 108 fe:00:1234 100 119\n"    // before it
      "11: POSIX  ADVISORY  WRITE 0 fe:00:1234 120 120\n"      // not visible here
      "12: POSIX  ADVISORY  WRITE 100 fe:00:1234 128 128\n"    // the same pid again
      "13: POSIX  ADVISORY  WRITE 109 fe:00:1234 125 300\n"    // overlapping
      "garbage\n"
      "14: POSIX  ADVISORY  WRITE x fe:00:1234 120 120";
  std::vector<pid_t> pids = ParseProcLocks(text, {shm});
  EXPECT_EQ(pids, (std::vector<pid_t>{100, 106, 109}));
  EXPECT_TRUE(ParseProcLocks("", {shm}).empty());
  EXPECT_TRUE(ParseProcLocks(text, {}).empty());
}

TEST_F(SqliteLockHolderTest, NamesTheProcessHoldingTheWriteLock) {
  EXPECT_TRUE(StoreLockHolders(path_).empty());
  StartHolder(Then::kPause);
  EXPECT_EQ(StoreLockHolders(path_), std::vector<pid_t>{holder_});
  EXPECT_EQ(ProcessHalt(holder_), Halt::kRunning);
  kill(holder_, SIGKILL);
  Reap();
  EXPECT_TRUE(StoreLockHolders(path_).empty());
  EXPECT_TRUE(StoreLockHolders(dir_ + "/no-such.db").empty());
}

TEST_F(SqliteLockHolderTest, AStoppedHolderIsEndedAndTheWriteGoesThrough) {
  StartHolder(Then::kStop);
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenSqliteStore(path_, Options(false, 5000));
  ASSERT_TRUE(store.ok()) << store.status().message();
  Status st = (*store)->SetMustChange("alice", true);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(st.ok()) << st.message();
  // Seen halted from 1 s on, ended a second later: well inside the 5 s.
  EXPECT_LT(waited, std::chrono::milliseconds(4500));
  EXPECT_GE(waited, std::chrono::milliseconds(1900));
  store->reset();
  ExpectTheHolderWasEnded();
}

// A lock on the database file itself (a connection that closes holds one
// while it checkpoints and removes the WAL; exclusive locking mode holds it
// throughout) blocks writers too.
TEST_F(SqliteLockHolderTest, AStoppedHolderOfTheDatabaseFileLockIsEnded) {
  StartHolder(Then::kStopExclusive);
  ExpectAWriteEndsTheHolder();
}

TEST_F(SqliteLockHolderTest, AFrozenHolderIsEndedAndTheWriteGoesThrough) {
  std::string why;
  if (!cgroup_.Make("sesame-lock-holder-test", &why)) GTEST_SKIP() << why;
  StartHolder(Then::kPause, true);
  ASSERT_TRUE(cgroup_.Freeze());
  ASSERT_EQ(ProcessHalt(holder_), Halt::kFrozen);

  ExpectAWriteEndsTheHolder();
}

TEST_F(SqliteLockHolderTest, ARunningHolderIsWaitedForNotEnded) {
  StartHolder(Then::kSleepThenCommit);  // holds the lock 2.5 s, sleeping
  auto store = OpenSqliteStore(path_, Options(false, 5000));
  ASSERT_TRUE(store.ok()) << store.status().message();
  Status st = (*store)->SetMustChange("alice", true);
  EXPECT_TRUE(st.ok()) << st.message();
  int status = Reap();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  store->reset();
  EXPECT_TRUE(AliceDisabled()) << "the holder's commit was lost";
}

TEST_F(SqliteLockHolderTest, AHolderStoppedByADebuggerIsLeftAlone) {
  std::ifstream scope_file("/proc/sys/kernel/yama/ptrace_scope");
  int scope = 0;
  if (scope_file >> scope && scope >= 3) GTEST_SKIP() << "ptrace is off here (yama ptrace_scope 3)";
  StartHolder(Then::kTracedStop);  // this process is its tracer
  auto store = OpenSqliteStore(path_, Options(false, 2500));
  ASSERT_TRUE(store.ok()) << store.status().message();
  Status st = (*store)->SetMustChange("alice", true);
  EXPECT_EQ(st.code(), Code::kBusy) << st.message();
  EXPECT_EQ(ProcessHalt(holder_), Halt::kTraced) << "it was ended";
}

}  // namespace
}  // namespace sesame
