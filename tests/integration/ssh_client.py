# The ssh client on a pty (pexpect) for the sshd integration tests
# (sshd_*.sh), shared by their drivers, which import it (PYTHONPATH is this
# directory): one keyboard-interactive connection to 127.0.0.1 that runs
# "echo SIGNED-IN-OK", and expect()/finish() that end the driver with the
# client's whole output when the session does not go as wanted. Not a test
# itself (the tests are the *.sh files). The connection comes from the
# environment: SSH_USER, SSH_PORT, CLIENT_HOME (the client's HOME);
# IT_TRACE=1 copies the client's screen to stderr (ctest -V).
import os
import sys

import pexpect


class Session:
    def __init__(self, scenario, term="dumb", lc_all="C", codec_errors="replace",
                 log_level="ERROR", tty=False, command="echo SIGNED-IN-OK"):
        self.scenario = scenario
        user, port = os.environ["SSH_USER"], os.environ["SSH_PORT"]
        env = {"PATH": "/usr/bin:/bin", "TERM": term, "LC_ALL": lc_all,
               "HOME": os.environ["CLIENT_HOME"]}
        args = ["-F", "/dev/null", "-p", port,
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "PreferredAuthentications=keyboard-interactive",
                "-o", "PubkeyAuthentication=no",
                "-o", "GSSAPIAuthentication=no", "-o", "IdentityAgent=none",
                "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10",
                "-o", "LogLevel=" + log_level,
                user + "@127.0.0.1"]
        if command is not None:
            args.append(command)
        if tty:
            # A pty: with no command (a login shell), sshd shows the login
            # messages, among them PAM's that came after the last question.
            args.insert(0, "-tt")
        self.child = pexpect.spawn("ssh", args, env=env, timeout=20, encoding="utf-8",
                                   codec_errors=codec_errors)
        if os.environ.get("IT_TRACE"):
            self.child.logfile_read = sys.stderr
        # Everything the client showed, for messages.
        self.transcript = []

    def output(self):
        return "".join(self.transcript)

    def expect(self, patterns):
        """The index of the pattern seen; on a timeout or the end of the
        output, ends the driver with what the client showed."""
        child = self.child
        try:
            i = child.expect(patterns)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            self.transcript.append(child.before or "")
            sys.exit("%s: waited for %r, got %s; output:\n%s"
                     % (self.scenario, patterns, type(e).__name__, self.output()))
        self.transcript.append(child.before + (child.after if isinstance(child.after, str) else ""))
        return i

    def finish(self, want):
        """Waits for the client to end; ends the driver unless it exits with want."""
        self.expect([pexpect.EOF])
        self.child.close()
        if self.child.exitstatus != want:
            sys.exit("%s: ssh exit %r (signal %r), want %d; output:\n%s"
                     % (self.scenario, self.child.exitstatus, self.child.signalstatus, want,
                        self.output()))
