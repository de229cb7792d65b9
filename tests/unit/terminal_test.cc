// TerminalPrompter on a real pseudo-terminal: each case runs in a child
// whose controlling terminal is a new pty (TerminalPrompter opens
// /dev/tty), and the test drives the master side as a person would type.
//
// Checked: a prompt that gets no answer gives up after its timeout;
// after DeferTerminalSignals() a signal that came before the prompt makes
// it give up at once without asking, and Ctrl-Z or Ctrl-C typed at the
// prompt makes it give up (never stopping the process), with echo on
// again; without it (sesame-admin) Ctrl-C still ends the program by its
// default action, echo restored.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>

#include "tools/common/terminal.h"

namespace sesame {
namespace {

// Child exit codes: 0 as expected, anything else names what was not.
enum ChildResult {
  kChildOk = 0,
  kNoTerminal = 20,
  kNotAborted = 21,
  kWrongMessage = 22,
  kEchoOff = 23,
  kWrongSignal = 24,
  kTooSlow = 25,
  kAnswered = 26,
};

struct Outcome {
  int wait_status = 0;
  std::string shown;        // what the child wrote to the terminal
  bool echo_after = false;  // the terminal's echo once the child had ended
};

bool EchoOn(int fd) {
  termios t{};
  return tcgetattr(fd, &t) == 0 && (t.c_lflag & ECHO) != 0;
}

// Reads what the master has until `until` appears in it or `ms` pass.
void ReadMaster(int master, std::string* shown, const std::string& until, int ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (until.empty() || shown->find(until) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          end - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return;
    pollfd pfd{master, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) return;
    char buf[256];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) return;
    shown->append(buf, static_cast<size_t>(n));
  }
}

// Runs `body` (given the slave fd; its return value is the exit code) in a
// child whose controlling terminal is a new pty. `drive` then gets the
// master and what was shown so far, once `prompt` was shown (at once when
// empty).
Outcome OnPty(const std::function<int(int slave)>& body, const std::string& prompt,
              const std::function<void(int master)>& drive) {
  Outcome out;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  EXPECT_GE(master, 0);
  EXPECT_EQ(grantpt(master), 0);
  EXPECT_EQ(unlockpt(master), 0);
  const std::string slave_name = ptsname(master);
  const pid_t pid = fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    setsid();
    int slave = open(slave_name.c_str(), O_RDWR);  // becomes the controlling terminal
    if (slave < 0) _exit(kNoTerminal);
    _exit(body(slave));
  }
  if (!prompt.empty()) ReadMaster(master, &out.shown, prompt, 5000);
  drive(master);
  // Until it ends (at most 10 s), reading what it writes.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool ended = false;
  while (!ended && std::chrono::steady_clock::now() < end) {
    pid_t done = waitpid(pid, &out.wait_status, WNOHANG | WUNTRACED);
    if (done == pid) {
      ended = true;  // a stopped child is a failure the caller sees in wait_status
    } else {
      ReadMaster(master, &out.shown, "", 100);
      usleep(10 * 1000);  // the master reads EIO at once when no one has the slave open
    }
  }
  if (!ended || WIFSTOPPED(out.wait_status)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  int slave = open(slave_name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  out.echo_after = slave >= 0 && EchoOn(slave);
  if (slave >= 0) close(slave);
  close(master);
  return out;
}

// The child's check of a prompt that must give up with `message`.
int GaveUp(int slave, const Result<SecretBuffer>& answer, const std::string& message) {
  if (answer.ok()) return kAnswered;
  if (answer.status().code() != Code::kAborted) return kNotAborted;
  if (answer.status().message() != message) return kWrongMessage;
  if (!EchoOn(slave)) return kEchoOff;
  return kChildOk;
}

void ExpectExited(const Outcome& out, int code) {
  ASSERT_TRUE(WIFEXITED(out.wait_status))
      << "status " << out.wait_status << "; shown: " << out.shown;
  EXPECT_EQ(WEXITSTATUS(out.wait_status), code) << "shown: " << out.shown;
}

TEST(TerminalPrompterTest, GivesUpAfterTheIdleTimeout) {
  Outcome out = OnPty(
      [](int slave) {
        const auto start = std::chrono::steady_clock::now();
        TerminalPrompter tty(300);
        Result<SecretBuffer> answer = tty.AskSecret(SecretKind::kCurrentPassword, "Password: ");
        const auto took = std::chrono::steady_clock::now() - start;
        if (took > std::chrono::seconds(5)) return static_cast<int>(kTooSlow);
        return GaveUp(slave, answer, "no answer for 1 s");
      },
      "Password: ", [](int) {});
  ExpectExited(out, kChildOk);
}

TEST(TerminalPrompterTest, AnAnswerInTimeIsTaken) {
  Outcome out = OnPty(
      [](int) {
        TerminalPrompter tty(3000);
        Result<SecretBuffer> answer = tty.AskSecret(SecretKind::kCurrentPassword, "Password: ");
        if (!answer.ok()) return static_cast<int>(kNotAborted);
        return answer->view() == "slow-typist" ? static_cast<int>(kChildOk)
                                               : static_cast<int>(kWrongMessage);
      },
      "Password: ",
      [](int master) {
        // The terminal hands over whole lines: the time runs until the
        // line is complete, however the typing goes.
        for (const char* part : {"slow-", "typ", "ist\n"}) {
          usleep(400 * 1000);
          ASSERT_GT(write(master, part, std::strlen(part)), 0);
        }
      });
  ExpectExited(out, kChildOk);
}

TEST(TerminalPrompterTest, DeferredSignalBeforeThePromptAsksNothing) {
  Outcome out = OnPty(
      [](int slave) {
        if (!DeferTerminalSignals().ok()) return static_cast<int>(kWrongSignal);
        raise(SIGINT);  // blocked: pending until a prompt takes it
        raise(SIGTSTP);
        if (DeferredSignal() != 0) return static_cast<int>(kWrongSignal);
        TerminalPrompter tty;
        int got = GaveUp(slave, tty.AskSecret(SecretKind::kCurrentPassword, "Password: "),
                         "interrupted (Ctrl-C)");
        if (got != kChildOk) return got;
        // Every later prompt gives up too.
        got = GaveUp(slave, tty.AskSecret(SecretKind::kNewPassword, "New password: "),
                     "interrupted (Ctrl-C)");
        if (got != kChildOk) return got;
        return DeferredSignal() == SIGINT ? static_cast<int>(kChildOk)
                                          : static_cast<int>(kWrongSignal);
      },
      "", [](int) {});
  ExpectExited(out, kChildOk);
  EXPECT_EQ(out.shown.find("Password"), std::string::npos) << out.shown;
}

// Ctrl-Z and Ctrl-C typed at a prompt, after DeferTerminalSignals().
void TypedAtDeferredPrompt(char control, const std::string& message) {
  Outcome out = OnPty(
      [message](int slave) {
        if (!DeferTerminalSignals().ok()) return static_cast<int>(kWrongSignal);
        TerminalPrompter tty;
        return GaveUp(slave, tty.AskSecret(SecretKind::kCurrentPassword, "Password: "), message);
      },
      "Password: ",
      [control](int master) {
        // Half an answer first: it is thrown away.
        ASSERT_EQ(write(master, "hunter", 6), 6);
        ASSERT_EQ(write(master, &control, 1), 1);
      });
  ExpectExited(out, kChildOk);
  EXPECT_TRUE(out.echo_after);
}

TEST(TerminalPrompterTest, CtrlZAtADeferredPromptGivesUpWithoutStopping) {
  TypedAtDeferredPrompt('\x1a', "interrupted (Ctrl-Z)");
}

TEST(TerminalPrompterTest, CtrlCAtADeferredPromptGivesUp) {
  TypedAtDeferredPrompt('\x03', "interrupted (Ctrl-C)");
}

TEST(TerminalPrompterTest, WithoutDeferringCtrlCStillEndsTheProgram) {
  Outcome out = OnPty(
      [](int) {
        TerminalPrompter tty;
        (void)tty.AskSecret(SecretKind::kCurrentPassword, "Password: ");
        return static_cast<int>(kNotAborted);  // not reached: SIGINT is raised again
      },
      "Password: ",
      [](int master) {
        const char c = '\x03';
        ASSERT_EQ(write(master, &c, 1), 1);
      });
  ASSERT_TRUE(WIFSIGNALED(out.wait_status)) << out.wait_status << " shown: " << out.shown;
  EXPECT_EQ(WTERMSIG(out.wait_status), SIGINT);
  EXPECT_TRUE(out.echo_after);
}

}  // namespace
}  // namespace sesame
