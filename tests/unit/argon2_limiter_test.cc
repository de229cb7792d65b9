#include "core/crypto/argon2_limiter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/crypto/password_hash.h"
#include "tests/fakes/fakes.h"
#include "tests/fakes/frozen_cgroup.h"

namespace sesame {
namespace {

using testing::FakeClock;
using testing::FakeRandom;

// A fresh private directory under $SESAME_TEST_TMPDIR (or /tmp), removed at
// the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* env = std::getenv("SESAME_TEST_TMPDIR");
    std::string base = (env != nullptr && *env != '\0') ? env : "/tmp";
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    std::string templ = base + "/sesame-argon2-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      templ = "/tmp/sesame-argon2-XXXXXX";
      if (mkdtemp(templ.data()) == nullptr) templ.clear();
    }
    path_ = templ;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int64_t MonotonicNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Records when argon2 computations start and end (CLOCK_MONOTONIC ns).
struct Event {
  int64_t nanos;
  int32_t is_start;  // 1 start, 0 end
  int32_t pad;
};

class TimestampLogger final : public Logger {
 public:
  void Log(LogLevel level, std::string_view message) override {
    if (level != LogLevel::kDebug) return;
    if (message == "argon2: start") events_.push_back({MonotonicNanos(), 1, 0});
    if (message == "argon2: end") events_.push_back({MonotonicNanos(), 0, 0});
  }
  bool debug_enabled() const override { return true; }
  const std::vector<Event>& events() const { return events_; }

 private:
  std::vector<Event> events_;
};

size_t OpenFdCount() {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

TEST(Argon2LimiterTest, CreatesPrivateDirectoryAndSlotFiles) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  FakeClock clock;
  std::string dir = tmp.path() + "/slots";
  Argon2Limiter limiter(dir, 2, 100, clock);
  Result<Argon2Limiter::Slot> slot = limiter.Acquire();
  ASSERT_TRUE(slot.ok()) << slot.status().message();
  EXPECT_EQ(slot->index(), 0);

  struct stat st {};
  ASSERT_EQ(lstat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(lstat((dir + "/argon2-slot.0").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(Argon2LimiterTest, ThirdAcquireIsBusyUntilOneIsReleased) {
  TempDir tmp;
  FakeClock clock;
  Argon2Limiter limiter(tmp.path(), 2, 1000, clock);
  Result<Argon2Limiter::Slot> a = limiter.Acquire();
  Result<Argon2Limiter::Slot> b = limiter.Acquire();
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_NE(a->index(), b->index());

  int64_t before = clock.MonotonicMillis();
  size_t fds_before = OpenFdCount();
  Result<Argon2Limiter::Slot> c = limiter.Acquire();
  EXPECT_EQ(OpenFdCount(), fds_before) << "a failed Acquire leaked fds";
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kBusy);
  EXPECT_NE(c.status().message().find("within 1000 ms"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("argon2_max_concurrent = 2"), std::string::npos);
  EXPECT_NE(c.status().message().find("argon2_max_wait_ms"), std::string::npos);
  // It waited the whole budget, not more.
  EXPECT_EQ(clock.MonotonicMillis() - before, 1000);

  int freed = a->index();
  *a = Argon2Limiter::Slot();  // release
  Result<Argon2Limiter::Slot> d = limiter.Acquire();
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->index(), freed);
}

TEST(Argon2LimiterTest, MaxConcurrentBelowOneMeansOne) {
  TempDir tmp;
  FakeClock clock;
  for (int max : {0, -5}) {
    Argon2Limiter limiter(tmp.path(), max, 20, clock);
    Result<Argon2Limiter::Slot> a = limiter.Acquire();
    ASSERT_TRUE(a.ok()) << a.status().message();
    Result<Argon2Limiter::Slot> b = limiter.Acquire();
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), Code::kBusy);
    EXPECT_NE(b.status().message().find("argon2_max_concurrent = 1"), std::string::npos);
  }
}

TEST(Argon2LimiterTest, ZeroWaitTriesOnce) {
  TempDir tmp;
  FakeClock clock;
  Argon2Limiter limiter(tmp.path(), 1, 0, clock);
  Result<Argon2Limiter::Slot> a = limiter.Acquire();
  ASSERT_TRUE(a.ok());
  Result<Argon2Limiter::Slot> b = limiter.Acquire();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kBusy);
  EXPECT_EQ(clock.MonotonicMillis(), 0);
}

TEST(Argon2LimiterTest, SlotMovesKeepTheLock) {
  TempDir tmp;
  FakeClock clock;
  Argon2Limiter limiter(tmp.path(), 1, 0, clock);
  Result<Argon2Limiter::Slot> a = limiter.Acquire();
  ASSERT_TRUE(a.ok());
  Argon2Limiter::Slot moved(std::move(*a));
  EXPECT_EQ(a->index(), -1);
  EXPECT_EQ(moved.index(), 0);
  *a = Argon2Limiter::Slot();  // destroying the moved-from shell frees nothing
  EXPECT_EQ(limiter.Acquire().status().code(), Code::kBusy);
  Argon2Limiter::Slot assigned;
  assigned = std::move(moved);
  EXPECT_EQ(limiter.Acquire().status().code(), Code::kBusy);
  assigned = Argon2Limiter::Slot();
  EXPECT_TRUE(limiter.Acquire().ok());
}

TEST(Argon2LimiterTest, UntrustedDirectoryIsPermissionDenied) {
  TempDir tmp;
  FakeClock clock;
  std::string good = tmp.path() + "/good";
  ASSERT_EQ(mkdir(good.c_str(), 0700), 0);

  std::vector<std::string> bad;
  std::string world = tmp.path() + "/world";
  ASSERT_EQ(mkdir(world.c_str(), 0700), 0);
  ASSERT_EQ(chmod(world.c_str(), 0777), 0);
  bad.push_back(world);
  std::string group = tmp.path() + "/group";
  ASSERT_EQ(mkdir(group.c_str(), 0700), 0);
  ASSERT_EQ(chmod(group.c_str(), 0770), 0);
  bad.push_back(group);
  std::string sticky = tmp.path() + "/sticky";  // like /tmp
  ASSERT_EQ(mkdir(sticky.c_str(), 0700), 0);
  ASSERT_EQ(chmod(sticky.c_str(), 01777), 0);
  bad.push_back(sticky);
  std::string link = tmp.path() + "/link";
  ASSERT_EQ(symlink(good.c_str(), link.c_str()), 0);
  bad.push_back(link);
  std::string file = tmp.path() + "/file";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  bad.push_back(file);
  if (geteuid() == 0) {
    std::string other = tmp.path() + "/other";
    ASSERT_EQ(mkdir(other.c_str(), 0700), 0);
    ASSERT_EQ(chown(other.c_str(), 65534, 65534), 0);
    bad.push_back(other);
  }

  for (const std::string& dir : bad) {
    SCOPED_TRACE(dir);
    Argon2Limiter limiter(dir, 2, 100, clock);
    Result<Argon2Limiter::Slot> slot = limiter.Acquire();
    ASSERT_FALSE(slot.ok());
    EXPECT_EQ(slot.status().code(), Code::kPermissionDenied);
    EXPECT_NE(slot.status().message().find(dir), std::string::npos) << slot.status().message();
    EXPECT_NE(slot.status().message().find("chmod 0700"), std::string::npos);
  }
  // Nothing was created through the symlink.
  struct stat st {};
  EXPECT_NE(lstat((good + "/argon2-slot.0").c_str(), &st), 0);
  // No waiting happened on the way.
  EXPECT_EQ(clock.MonotonicMillis(), 0);
}

TEST(Argon2LimiterTest, SymlinkSlotFileIsRefused) {
  TempDir tmp;
  FakeClock clock;
  std::string target = tmp.path() + "/target";
  std::string dir = tmp.path() + "/slots";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(symlink(target.c_str(), (dir + "/argon2-slot.0").c_str()), 0);
  Argon2Limiter limiter(dir, 1, 0, clock);
  Result<Argon2Limiter::Slot> slot = limiter.Acquire();
  ASSERT_FALSE(slot.ok());
  EXPECT_EQ(slot.status().code(), Code::kPermissionDenied);
  struct stat st {};
  EXPECT_NE(lstat(target.c_str(), &st), 0);
}

TEST(Argon2LimiterTest, HasherReturnsBusyAsIsAndComputesNothing) {
  TempDir tmp;
  FakeClock clock;
  Argon2Limiter holder(tmp.path(), 1, 0, clock);
  Result<Argon2Limiter::Slot> held = holder.Acquire();
  ASSERT_TRUE(held.ok());

  Argon2Limiter limiter(tmp.path(), 1, 30, clock);
  testing::RecordingLogger logger(/*debug=*/true);
  FakeRandom random;
  PasswordHasher hasher(Argon2Params{1, 1024, 1}, &limiter, logger);
  Result<std::string> h = hasher.Hash("pw", random);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kBusy);
  Result<bool> v = hasher.Verify(
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "password");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kBusy);
  EXPECT_EQ(hasher.DummyVerify("pw").code(), Code::kBusy);
  EXPECT_TRUE(logger.lines().empty()) << logger.Joined();

  *held = Argon2Limiter::Slot();
  h = hasher.Hash("pw", random);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(logger.Joined(), "argon2: start\nargon2: end\n");
  // The hasher released its slot.
  EXPECT_TRUE(holder.Acquire().ok());
}

// Reads exactly `n` bytes unless EOF comes first; returns bytes read.
size_t ReadFull(int fd, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = read(fd, static_cast<char*>(buf) + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

TEST(Argon2LimiterTest, AcquireGivesUpWhenAnotherProcessHoldsTheSlot) {
  TempDir tmp;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    SystemClock clock;
    Argon2Limiter limiter(tmp.path(), 1, 1000, clock);
    Result<Argon2Limiter::Slot> slot = limiter.Acquire();
    char c = slot.ok() ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    clock.SleepMillis(500);
    _exit(slot.ok() ? 0 : 1);
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(ReadFull(ready[0], &c, 1), 1u);
  close(ready[0]);
  ASSERT_EQ(c, 'y');

  SystemClock clock;
  Argon2Limiter limiter(tmp.path(), 1, 50, clock);
  int64_t t0 = clock.MonotonicMillis();
  Result<Argon2Limiter::Slot> slot = limiter.Acquire();
  int64_t elapsed = clock.MonotonicMillis() - t0;
  EXPECT_FALSE(slot.ok());
  EXPECT_EQ(slot.status().code(), Code::kBusy);
  EXPECT_NE(slot.status().message().find("argon2_max_concurrent"), std::string::npos);
  EXPECT_GE(elapsed, 45);
  EXPECT_LT(elapsed, 400);

  // A process that dies frees its slot at once.
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  Result<Argon2Limiter::Slot> after = limiter.Acquire();
  EXPECT_TRUE(after.ok()) << after.status().message();
}

TEST(Argon2LimiterTest, CapHoldsAcrossProcesses) {
  constexpr int kChildren = 8;
  constexpr int kVerifiesEach = 3;
  const Argon2Params params{3, 8192, 1};
  TempDir tmp;

  // One hash to verify, made without the limiter.
  NullLogger null_logger;
  FakeRandom random;
  Result<std::string> phc = PasswordHasher(params, nullptr, null_logger).Hash("pw", random);
  ASSERT_TRUE(phc.ok()) << phc.status().message();

  int go[2];
  int results[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(results), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kChildren; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      close(results[0]);
      char c;
      (void)ReadFull(go[0], &c, 1);  // EOF when the parent lets everyone go
      SystemClock clock;
      Argon2Limiter limiter(tmp.path(), 2, 20000, clock);
      TimestampLogger logger;
      PasswordHasher hasher(params, &limiter, logger);
      bool all_ok = true;
      for (int k = 0; k < kVerifiesEach; ++k) {
        Result<bool> r = hasher.Verify(*phc, "pw");
        all_ok = all_ok && r.ok() && *r;
      }
      const std::vector<Event>& ev = logger.events();
      // One write below PIPE_BUF is atomic, so children do not interleave.
      size_t bytes = ev.size() * sizeof(Event);
      if (write(results[1], ev.data(), bytes) != static_cast<ssize_t>(bytes)) _exit(3);
      _exit(all_ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(go[0]);
  close(results[1]);
  close(go[1]);  // start

  std::vector<Event> events;
  Event e;
  while (ReadFull(results[0], &e, sizeof e) == sizeof e) events.push_back(e);
  close(results[0]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  ASSERT_EQ(events.size(), static_cast<size_t>(kChildren * kVerifiesEach * 2));

  // Sweep: at equal times, ends before starts.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.nanos != b.nanos) return a.nanos < b.nanos;
    return a.is_start < b.is_start;
  });
  int running = 0;
  int max_running = 0;
  for (const Event& ev : events) {
    running += ev.is_start ? 1 : -1;
    max_running = std::max(max_running, running);
  }
  EXPECT_EQ(running, 0);
  EXPECT_LE(max_running, 2);
  EXPECT_EQ(max_running, 2) << "the cap serialised everything instead of allowing 2";
}

// A child that acquires a slot for `requester` and then stops itself
// (SIGSTOP, as a user can do to su or sudo mid-hash). Returns its pid once
// it is stopped; -1 when it could not get there.
pid_t StoppedHolder(const std::string& dir, int max_concurrent, uid_t requester) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    testing::FakeClock clock;
    Argon2Limiter limiter(dir, max_concurrent, 0, clock, requester);
    Result<Argon2Limiter::Slot> slot = limiter.Acquire();
    if (!slot.ok()) _exit(3);
    raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
    if (pid > 0) kill(pid, SIGKILL);
    return -1;
  }
  return pid;
}

void EndChild(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

// Ends the stopped children however the test ends (a failed ASSERT
// returns early; a stopped child left behind would hold the test's output
// pipe open forever).
class Reaper {
 public:
  ~Reaper() {
    for (pid_t pid : pids_) EndChild(pid);
  }
  void Add(pid_t pid) { pids_.push_back(pid); }

 private:
  std::vector<pid_t> pids_;
};

// The issue: four stopped holders pinned all four slots and root's sign-in
// was refused after argon2_max_wait_ms. A stopped holder computes nothing,
// so it does not count: each one opens a slot past the cap.
TEST(Argon2LimiterTest, StoppedHoldersDoNotCountAgainstTheCap) {
  TempDir tmp;
  Reaper reaper;
  std::vector<pid_t> stopped;
  for (uid_t user : {1000u, 1001u}) {
    pid_t pid = StoppedHolder(tmp.path(), 2, user);
    ASSERT_GT(pid, 0) << "a holder did not get its slot and stop";
    reaper.Add(pid);
    stopped.push_back(pid);
  }
  FakeClock clock;
  Argon2Limiter root(tmp.path(), 2, 200, clock, 0);
  Result<Argon2Limiter::Slot> slot = root.Acquire();
  ASSERT_TRUE(slot.ok()) << slot.status().message();
  EXPECT_GE(slot->index(), 2) << "a slot past the cap, for a stopped holder";
  // Still a cap: one more than the stopped holders allow is refused.
  Argon2Limiter other(tmp.path(), 2, 200, clock, 0);
  Result<Argon2Limiter::Slot> second = other.Acquire();
  ASSERT_TRUE(second.ok()) << "two stopped holders open two slots: " << second.status().message();
  Result<Argon2Limiter::Slot> third = other.Acquire();
  EXPECT_FALSE(third.ok()) << "only as many extra slots as stopped holders";
  // Resumed, they count again.
}

// The same for a holder frozen with its cgroup (cgroup.freeze, which a user
// may write for the cgroups systemd delegates to them, the setuid tool's
// included): it computes nothing either, so it does not count.
TEST(Argon2LimiterTest, FrozenHoldersDoNotCountAgainstTheCap) {
  testing::FrozenCgroup cgroup;
  std::string why;
  if (!cgroup.Make("sesame-argon2-test", &why)) GTEST_SKIP() << why;
  TempDir tmp;
  Reaper reaper;
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  std::fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    if (!cgroup.Enter()) _exit(2);
    testing::FakeClock clock;
    Argon2Limiter limiter(tmp.path(), 1, 0, clock, 1000);
    Result<Argon2Limiter::Slot> slot = limiter.Acquire();
    if (!slot.ok() || write(ready[1], "x", 1) != 1) _exit(3);
    for (;;) pause();
  }
  reaper.Add(pid);
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the holder did not get its slot";
  close(ready[0]);
  FakeClock clock;
  Argon2Limiter root(tmp.path(), 1, 200, clock, 0);
  EXPECT_FALSE(root.Acquire().ok()) << "a running holder counts";
  ASSERT_TRUE(cgroup.Freeze());
  Result<Argon2Limiter::Slot> slot = root.Acquire();
  ASSERT_TRUE(slot.ok()) << slot.status().message();
  EXPECT_EQ(slot->index(), 1) << "a slot past the cap, for a frozen holder";
}

// One user holds at most one slot at a time, however many processes they
// start: a second computation for the same user waits for the first, and
// other users are not refused because of them.
TEST(Argon2LimiterTest, OneSlotAtATimePerRequestingUser) {
  TempDir tmp;
  Reaper reaper;
  pid_t holder = StoppedHolder(tmp.path(), 2, 1000);
  ASSERT_GT(holder, 0);
  reaper.Add(holder);
  FakeClock clock;
  Argon2Limiter same_user(tmp.path(), 2, 300, clock, 1000);
  Result<Argon2Limiter::Slot> refused = same_user.Acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kBusy);
  EXPECT_NE(refused.status().message().find("uid 1000"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(clock.MonotonicMillis(), 300) << "it waited, bounded";
  // Another user and root get theirs, with one slot of two free.
  Argon2Limiter other(tmp.path(), 2, 300, clock, 1001);
  Result<Argon2Limiter::Slot> theirs = other.Acquire();
  ASSERT_TRUE(theirs.ok()) << theirs.status().message();
  Argon2Limiter root(tmp.path(), 2, 300, clock, 0);
  Result<Argon2Limiter::Slot> roots = root.Acquire();
  ASSERT_TRUE(roots.ok()) << "the stopped holder opens one past the cap: "
                          << roots.status().message();
  // Without a stop, the same user simply waits its turn.
  EndChild(holder);
  Result<Argon2Limiter::Slot> now = same_user.Acquire();
  EXPECT_TRUE(now.ok()) << now.status().message();
}

// A slot's file names its holder (for the check above).
TEST(Argon2LimiterTest, TheHolderWritesItsPid) {
  TempDir tmp;
  FakeClock clock;
  Argon2Limiter limiter(tmp.path(), 1, 0, clock);
  Result<Argon2Limiter::Slot> slot = limiter.Acquire();
  ASSERT_TRUE(slot.ok());
  FILE* f = std::fopen((tmp.path() + "/argon2-slot.0").c_str(), "r");
  ASSERT_NE(f, nullptr);
  long pid = 0;
  EXPECT_EQ(std::fscanf(f, "%ld", &pid), 1);
  std::fclose(f);
  EXPECT_EQ(pid, static_cast<long>(getpid()));
}

}  // namespace
}  // namespace sesame
