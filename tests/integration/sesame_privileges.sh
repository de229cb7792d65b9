#!/bin/bash
# sesame, the setuid tool, cannot be used to jam sign-ins (issue 9, item 2):
# run by an ordinary user on a pty (setpriv, so the tool is the process
# under the pty), checked at its prompts:
#  - the ids are real 0, effective the caller, saved 0 (/proc/PID/status);
#  - the caller's kill(2) of SIGSTOP, SIGKILL, SIGTERM, SIGINT and SIGHUP
#    fails with EPERM;
#  - meanwhile another user's sign-in (a wrong password, counted; the right
#    one, with argon2_max_concurrent = 1) and a sesame-admin write finish
#    at once: no store lock and no argon2 slot is held at a prompt;
#  - Ctrl-C, and Ctrl-Z typed in a job-control shell, at either prompt of
#    `sesame passwd`, and a SIGTERM from root, end it with exit 7, echo
#    restored; it never stops; nothing is changed or counted;
#  - with --verbose and a stderr that never drains (a full pipe the caller
#    holds), the notes written while a hash is made cannot keep the argon2
#    slot: another user still signs in.
#
# The setuid tool reads only /etc/security/sesame.conf: an existing one is
# moved aside and put back on exit.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init setpriv
USER_A="sespriv-a-$$"
USER_B="sespriv-b-$$"
# One argon2 slot for the host, waited for 3 s, and a store lock waited for
# 3 s: anything the tool held at a prompt would make the checks below fail.
printf 'argon2_max_concurrent = 1\nargon2_max_wait_ms = 3000\nstore_busy_timeout_ms = 3000\n' \
  >>"$IT_CONF"

tool_install

tool_make_users "$USER_A" "$USER_B"
PW_A="alpha-priv-pass-1"
PW_B="bravo-priv-pass-2"
tool_add_user "$USER_A" "$PW_A"
tool_add_user "$USER_B" "$PW_B"

# nodelay: a wrong password must come back within QUICK, which proves no
# lock or slot is held; libpam's 2 s fail delay after it would blur that.
it_service sesame-check "auth required $SESAME_MODULE nodelay" "account required $SESAME_MODULE"
# signin USER PASSWORD: pamtester's answer on stdout; exit 0 when PAM accepts.
cat >"$IT_TMP/signin" <<EOF
#!/bin/bash
printf '%s\n' "\$2" | LD_PRELOAD="$(it_preload libpam_wrapper.so)" PAM_WRAPPER=1 \
  PAM_WRAPPER_SERVICE_DIR="$IT_TMP/pam.d" PAM_WRAPPER_DISABLE_DEEPBIND=1 \
  pamtester sesame-check "\$1" authenticate 2>&1
EOF
chmod 0700 "$IT_TMP/signin"
pam_ok() { "$IT_TMP/signin" "$1" "$2" >/dev/null; }
failures() { admin user show "$1" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["failures"])'; }

cat >"$IT_TMP/drive.py" <<'PYEOF'
import errno, json, os, signal, subprocess, sys, time
import pexpect

E = os.environ
tool, user = E["TOOL"], E["USER_A"]
uid, gid = int(E["UID_A"]), int(E["GID_A"])
pw = E["PW_A"]
other, other_pw = E["USER_B"], E["PW_B"]
signin = E["SIGNIN"]
admin = [E["SESAME_ADMIN"], "--config", E["ETC_CONF"]]
scenario, args = sys.argv[1], sys.argv[2:]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}
as_caller = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--init-groups", "--"]
QUICK = 2.5  # seconds: less than the 3 s the store lock and the slot are waited for


def fail(message):
    sys.exit("%s: %s" % (scenario, message))


def spawn(cmd):
    return pexpect.spawn(cmd[0], cmd[1:], env=env, timeout=30, encoding="utf-8",
                         codec_errors="replace")


def expect(child, pattern):
    try:
        child.expect(pattern)
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        fail("waited for %r, got %s; output:\n%s" % (pattern, type(e).__name__, child.before))


def finish(child, want):
    expect(child, pexpect.EOF)
    child.close()
    if child.exitstatus != want:
        fail("exit %r (signal %r), want %d; output:\n%s"
             % (child.exitstatus, child.signalstatus, want, child.before))


def check_ids(pid, where):
    with open("/proc/%d/status" % pid) as f:
        line = next(l for l in f if l.startswith("Uid:"))
    got = [int(x) for x in line.split()[1:]]
    if got != [0, uid, 0, uid]:
        fail("at %s the uids are %r (real, effective, saved, fs), want [0, %d, 0, %d]"
             % (where, got, uid, uid))


def caller_kill(pid, sig):
    """kill(pid, sig) from a process of the caller: its errno, 0 when sent."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        code = 0
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.kill(pid, sig)
        except OSError as e:
            code = e.errno
        os.write(w, str(code).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 16)
    os.close(r)
    os.waitpid(child, 0)
    return int(out)


def check_unsignalable(pid, where):
    for sig in (signal.SIGSTOP, signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        err = caller_kill(pid, sig)
        if err != errno.EPERM:
            fail("at %s the caller's kill(%s) gave %s, want EPERM"
                 % (where, sig.name, errno.errorcode.get(err, err) if err else "success"))


def timed(cmd):
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p, time.monotonic() - start


def failures(name):
    out = subprocess.run(admin + ["user", "show", name, "--json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["failures"]


def others_not_held(where):
    """While the tool waits: the other user's sign-ins and an admin write, at once."""
    before = failures(other)
    p, took = timed([signin, other, other_pw + "-wrong-at-" + where])
    if p.returncode == 0 or "Authentication failure" not in p.stdout or took > QUICK:
        fail("at %s a wrong password of %s: exit %d after %.1f s, want a plain failure at "
             "once: %s" % (where, other, p.returncode, took, p.stdout))
    if failures(other) != before + 1:
        fail("at %s the wrong password of %s was not counted" % (where, other))
    p, took = timed([signin, other, other_pw])
    if p.returncode != 0 or took > QUICK:
        fail("at %s the right password of %s: exit %d after %.1f s, want accepted at once "
             "(an argon2 slot held?): %s" % (where, other, p.returncode, took, p.stdout))
    for verb in ("disable", "enable"):
        p, took = timed(admin + ["user", verb, other])
        if p.returncode != 0 or took > QUICK:
            fail("at %s sesame-admin user %s: exit %d after %.1f s (the store locked?): %s"
                 % (where, verb, p.returncode, took, p.stderr))


if scenario == "prompts":
    # The tool itself is the pty's process: setpriv execs it.
    child = spawn(as_caller + [tool, "passwd"])
    expect(child, "Current password: ")
    check_ids(child.pid, "Current password")
    check_unsignalable(child.pid, "Current password")
    others_not_held("current")
    child.sendline(pw)
    expect(child, "New password: ")
    check_ids(child.pid, "New password")
    check_unsignalable(child.pid, "New password")
    others_not_held("new")
    child.sendcontrol("c")
    expect(child, r"interrupted \(Ctrl-C\); nothing was changed")
    finish(child, 7)
elif scenario == "ctrlz":
    # A job-control shell (set -m): the tool is a job of its own, in a
    # process group that is not orphaned, where Ctrl-Z would stop it.
    at = args[0]
    script = ('set -m; setpriv --reuid="$1" --regid="$2" --init-groups -- "$3" passwd; '
              'echo "RC=$?"; stty -a')
    child = spawn(["bash", "--norc", "--noprofile", "-c", script, "drive", str(uid), str(gid),
                   tool])
    expect(child, "Current password: ")
    if at == "new":
        child.sendline(pw)
        expect(child, "New password: ")
    child.sendcontrol("z")
    expect(child, r"RC=(\d+)")
    rc = int(child.match.group(1))
    before = child.before
    expect(child, pexpect.EOF)
    stty = child.before
    child.close()
    if rc != 7 or "interrupted (Ctrl-Z); nothing was changed" not in before:
        fail("Ctrl-Z at the %s password: exit %d, want 7 with 'interrupted (Ctrl-Z)':\n%s"
             % (at, rc, before))
    words = stty.split()
    if "echo" not in words or "-echo" in words:
        fail("echo is not back on after Ctrl-Z:\n" + stty)
elif scenario == "sigterm":
    child = spawn(as_caller + [tool, "passwd"])
    expect(child, "Current password: ")
    os.kill(child.pid, signal.SIGTERM)  # root may; the tool ends cleanly
    expect(child, r"interrupted \(SIGTERM\); nothing was changed")
    finish(child, 7)
elif scenario == "full-stderr":
    # stderr is a pipe the caller also holds and fills once the tool waits
    # at its first prompt: any write to it from then on waits for ever.
    fifo = args[0]
    os.mkfifo(fifo, 0o600)
    held = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    child = spawn(["bash", "--norc", "--noprofile", "-c", 'exec "$@" --verbose passwd 2>"$0"',
                   fifo] + as_caller + [tool])
    expect(child, "Current password: ")
    filled = 0
    for size in (65536, 4096, 1):
        try:
            while True:
                filled += os.write(held, b"x" * size)
        except BlockingIOError:
            pass
    child.sendline(pw)  # the hash is made: "argon2: start" and "end" are logged
    time.sleep(1)
    others_not_held("full-stderr")
    while filled > 0:  # only what the test wrote: the tool's notes follow it
        try:
            filled -= len(os.read(held, min(filled, 65536)))
        except BlockingIOError:
            time.sleep(0.05)
    expect(child, "New password: ")
    child.sendcontrol("c")
    finish(child, 7)
    said = os.read(held, 65536).decode("utf-8", "replace")
    os.close(held)
    for line in ("sesame: note: argon2: start", "interrupted (Ctrl-C); nothing was changed"):
        if line not in said:
            fail("stderr lacks %r: %s" % (line, said))
else:
    fail("unknown scenario")
PYEOF

drive() {
  TOOL="$TOOL" USER_A="$USER_A" UID_A="$(id -u "$USER_A")" GID_A="$(id -g "$USER_A")" \
    PW_A="$PW_A" USER_B="$USER_B" PW_B="$PW_B" SIGNIN="$IT_TMP/signin" ETC_CONF="$ETC_CONF" \
    "$PY" "$IT_TMP/drive.py" "$@"
}
# Nothing of USER_A changed or counted by a run that was interrupted.
unchanged() {
  [ "$(failures "$USER_A")" = 0 ] || fail "$1: a failure of $USER_A was counted"
  pam_ok "$USER_A" "$PW_A" || fail "$1: the password of $USER_A changed"
}

drive prompts || fail "ids, signals and what is held at the prompts"
unchanged "Ctrl-C at New password"
pass "at each prompt: uids 0/caller/0, the caller's kill -STOP/-KILL/-TERM/-INT/-HUP fail (EPERM), others sign in and sesame-admin writes at once"
pass "Ctrl-C at New password: exit 7, nothing changed or counted"

drive ctrlz current || fail "Ctrl-Z at Current password"
unchanged "Ctrl-Z at Current password"
drive ctrlz new || fail "Ctrl-Z at New password"
unchanged "Ctrl-Z at New password"
pass "Ctrl-Z at either prompt (job-control shell): exit 7, not stopped, echo on, nothing changed or counted"

drive sigterm || fail "SIGTERM at a prompt"
unchanged "SIGTERM at Current password"
pass "SIGTERM at a prompt: exit 7, nothing changed"

drive full-stderr "$IT_TMP/stderr.fifo" || fail "--verbose with a stderr that never drains"
unchanged "Ctrl-C after a full stderr"
pass "--verbose, stderr a full pipe: the notes logged during the hash hold no argon2 slot"
