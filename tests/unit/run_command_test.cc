// RunCommand (core/base/run_command.h): what on_revoke_command runs in.
// Real programs (/bin/sh, /usr/bin/env) are the checkers: each test looks
// at the child from inside it.
#include "core/base/run_command.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>

#include <chrono>
#include <string>
#include <vector>

namespace sesame {
namespace {

CommandResult Exec(const std::vector<std::string>& argv, int timeout_ms = 10000) {
  Result<CommandResult> r = RunCommand(argv, timeout_ms);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : CommandResult{};
}

TEST(RunCommandTest, ExitStatusAndOutputAreReported) {
  CommandResult r = Exec({"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3"});
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.ok());
  // Both streams, one printable line.
  EXPECT_EQ(r.output, "hello oops");
  EXPECT_EQ(r.Describe(), "exited with status 3: hello oops");
}

TEST(RunCommandTest, SuccessIsOk) {
  CommandResult r = Exec({"/bin/true"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output, "");
}

TEST(RunCommandTest, OutputIsCutAtTheLimitAndTheRestIsDrained) {
  // 200 KB: more than a pipe holds, so the child would block if the rest
  // were not read (and then time out).
  CommandResult r = Exec({"/bin/sh", "-c", "head -c 204800 /dev/zero | tr '\\000' a"});
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.output, std::string(kMaxCommandOutput, 'a'));
}

TEST(RunCommandTest, AHungCommandIsKilledAtTheBound) {
  auto start = std::chrono::steady_clock::now();
  CommandResult r = Exec({"/bin/sleep", "30"}, 300);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(seconds, 5.0);
  EXPECT_EQ(r.Describe(), "did not finish in time and was killed");
}

TEST(RunCommandTest, ACommandThatClosesItsOutputButHangsIsKilledWithWhatItStarted) {
  char dir[] = "/tmp/sesame-run-command-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string pid_file = std::string(dir) + "/pid";
  // The shell starts a child that would outlive it, says its pid, and
  // hangs with its output closed.
  CommandResult r = Exec(
      {"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 30 & echo $! > " + pid_file + "; wait"}, 500);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  FILE* f = fopen(pid_file.c_str(), "r");
  ASSERT_NE(f, nullptr);
  int grandchild = 0;
  ASSERT_EQ(fscanf(f, "%d", &grandchild), 1);
  fclose(f);
  unlink(pid_file.c_str());
  rmdir(dir);
  // Killed with the group: gone (or a zombie for init to reap) within 2 s.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::string stat;
    FILE* s = fopen(("/proc/" + std::to_string(grandchild) + "/stat").c_str(), "r");
    if (s == nullptr) {
      gone = true;
      break;
    }
    char buf[512] = {};
    size_t n = fread(buf, 1, sizeof(buf) - 1, s);
    fclose(s);
    stat.assign(buf, n);
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z')
      gone = true;
    if (!gone) usleep(10000);
  }
  EXPECT_TRUE(gone) << "the command's own child " << grandchild << " outlived the timeout";
  if (!gone) kill(grandchild, SIGKILL);
}

TEST(RunCommandTest, AProgramThatCannotBeRunIsNotStarted) {
  CommandResult r = Exec({"/nonexistent/program", "x"});
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.output.find("cannot run /nonexistent/program"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("No such file"), std::string::npos) << r.output;
}

TEST(RunCommandTest, ARelativeOrEmptyCommandIsRefused) {
  EXPECT_FALSE(RunCommand({"sh", "-c", "true"}, 1000).ok());
  EXPECT_FALSE(RunCommand({}, 1000).ok());
  EXPECT_FALSE(RunCommand({""}, 1000).ok());
}

TEST(RunCommandTest, TheEnvironmentIsOnlyPath) {
  setenv("SESAME_RUN_COMMAND_TEST_SECRET", "leak", 1);
  CommandResult r = Exec({"/usr/bin/env"});
  unsetenv("SESAME_RUN_COMMAND_TEST_SECRET");
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.output, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST(RunCommandTest, StdinIsDevNull) {
  CommandResult r = Exec({"/bin/sh", "-c", "readlink /proc/self/fd/0"});
  EXPECT_EQ(r.output, "/dev/null");
}

TEST(RunCommandTest, NoDescriptorOfTheCallerIsInherited) {
  // Without close-on-exec, as a careless host process might leave one.
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  int high = fcntl(fd, F_DUPFD, 100);
  ASSERT_GE(high, 100);
  std::string script;
  for (int n : {fd, high}) {
    script += "if [ -e /proc/self/fd/" + std::to_string(n) + " ]; then echo open" +
              std::to_string(n) + "; fi; ";
  }
  script += "echo done";
  CommandResult r = Exec({"/bin/sh", "-c", script});
  close(fd);
  close(high);
  EXPECT_EQ(r.output, "done");
}

TEST(RunCommandTest, SignalsAreAtTheirDefaultsAndNoneIsBlocked) {
  // A daemon may ignore SIGPIPE and block others; its command must not
  // inherit that.
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_int = {};
  sigaction(SIGINT, &ignore, &old_int);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  CommandResult r = Exec({"/bin/sh", "-c", "grep -E '^Sig(Blk|Ign):' /proc/self/status"});

  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  EXPECT_EQ(r.output, "SigBlk: 0000000000000000 SigIgn: 0000000000000000");
}

TEST(RunCommandTest, TheArgumentsArriveAsWordsWithoutAShell) {
  CommandResult r = Exec({"/usr/bin/printf", "[%s]", "a b", "$(id)", ";echo x"});
  EXPECT_EQ(r.output, "[a b][$(id)][;echo x]");
}

// A setuid tool between two privileged steps (real 0, effective the
// caller, saved 0) is refused: the command would run as neither root nor
// the user, within the user's reach. Checked in a child that switches ids.
TEST(RunCommandTest, RealRootWithAnotherEffectiveUidIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch user ids";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setresuid(0, 65534, 0) != 0) _exit(10);
    Result<CommandResult> r = RunCommand({"/bin/true"}, 10000);
    if (r.ok()) _exit(11);
    if (r.status().code() != Code::kPermissionDenied) _exit(12);
    if (r.status().message().find("real uid 0 but effective uid 65534") == std::string::npos)
      _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: setresuid failed, 11: the command ran, 12: another code, 13: another message";
}

}  // namespace
}  // namespace sesame
