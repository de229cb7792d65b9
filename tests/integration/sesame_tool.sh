#!/bin/bash
# sesame, the setuid self-service tool, run by ordinary users on a pty:
# `sesame passwd` (success, policy refusal, wrong current password, Ctrl-C,
# Ctrl-D, a user name argument), `sesame status` (text and --json), and
# that SESAME_CONFIG is ignored when setuid. Password changes are proved
# through PAM (pam_sesame.so via pamtester).
#
# The setuid tool reads only /etc/security/sesame.conf, so this test writes
# that file: an existing one is moved aside and put back on exit.
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init
USER_A="sesit-a-$$"
USER_B="sesit-b-$$"

# Our config at the fixed path; it points store, key and runtime dir into IT_TMP.
tool_install

tool_make_users "$USER_A" "$USER_B"
PW_A="alpha-old-pass-1"
PW_A_NEW="alpha-new-pass-2"
PW_B="bravo-pass-3"
tool_add_user "$USER_A" "$PW_A"
tool_add_user "$USER_B" "$PW_B"

it_service sesame-check "auth required $SESAME_MODULE" "account required $SESAME_MODULE"
pam_ok() { printf '%s\n' "$2" | it_pamtester sesame-check "$1" authenticate >/dev/null 2>&1; }
assert_pw() { pam_ok "$1" "$2" || fail "$3: PAM refuses the password of $1 it should accept"; }
assert_not_pw() { ! pam_ok "$1" "$2" || fail "$3: PAM accepts a password of $1 it should refuse"; }

# The pty driver: drive.py SCENARIO; passwords come through the environment.
cat >"$IT_TMP/drive.py" <<'PYEOF'
import os, re, sys
import pexpect

tool, user = os.environ["TOOL"], os.environ["RUN_AS"]
old, new = os.environ.get("PW_OLD", ""), os.environ.get("PW_NEW", "")
scenario = sys.argv[1]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}


def spawn(cmd):
    return pexpect.spawn(cmd[0], cmd[1:], env=env, timeout=60, encoding="utf-8",
                         codec_errors="replace")


def finish(child, want):
    child.expect(pexpect.EOF)
    child.close()
    if child.exitstatus != want:
        sys.exit("%s: exit %r (signal %r), want %d; output:\n%s"
                 % (scenario, child.exitstatus, child.signalstatus, want, child.before))


if scenario == "change":
    # SESAME_CONFIG names a config whose store does not exist: honoured, the
    # run would fail; the setuid tool must ignore it.
    child = spawn(["runuser", "-u", user, "--", "/usr/bin/env",
                   "SESAME_CONFIG=" + os.environ["EVIL_CONF"], tool, "passwd"])
    child.expect("Current password: ")
    child.sendline(old)
    child.expect("New password: ")
    child.sendline("short1")
    child.expect("Retype new password: ")
    child.sendline("short1")
    child.expect(r"BAD PASSWORD: it is shorter than 8")
    child.expect("New password: ")  # asked again
    child.sendline(new)
    child.expect("Retype new password: ")
    child.sendline(new)
    child.expect(r"sesame: password changed\.")
    finish(child, 0)
elif scenario == "wrong":
    child = spawn(["runuser", "-u", user, "--", tool, "passwd"])
    child.expect("Current password: ")
    child.sendline(old + "-not")
    child.expect("wrong password")
    finish(child, 6)
elif scenario == "refused":
    child = spawn(["runuser", "-u", user, "--", tool, "passwd"])
    child.expect("Current password: ")
    child.sendline(old)
    for _ in range(3):
        child.expect("New password: ")
        child.sendline("short1")
        child.expect("Retype new password: ")
        child.sendline("short1")
        child.expect(r"BAD PASSWORD: it is shorter than 8")
    child.expect("nothing was changed")
    finish(child, 2)
elif scenario == "locked":
    child = spawn(["runuser", "-u", user, "--", tool, "passwd"])
    child.expect("Current password: ")
    child.sendline(old)
    child.expect("Your account is locked after too many failed sign-ins")
    finish(child, 6)
elif scenario == "eof":
    child = spawn(["runuser", "-u", user, "--", tool, "passwd"])
    child.expect("Current password: ")
    child.sendeof()
    child.expect("nothing was changed")
    finish(child, 7)
elif scenario == "ctrlc":
    # The same pty before and after: stty -a shows whether echo is back on.
    script = ('trap "echo TRAPPED" INT; runuser -u "$1" -- "$2" passwd; echo "RC=$?"; '
              'stty -a')
    child = spawn(["bash", "--norc", "--noprofile", "-c", script, "drive", user, tool])
    child.expect("Current password: ")
    child.sendline(old)
    child.expect("New password: ")
    child.sendintr()
    child.expect(r"RC=(\d+)")
    rc = int(child.match.group(1))
    child.expect(pexpect.EOF)
    stty = child.before
    child.close()
    if rc == 0:
        sys.exit("ctrlc: sesame passwd exited 0 after Ctrl-C")
    if not re.search(r"(?<![-\w])echo(?![\w])", stty) or re.search(r"-echo(?![\w])", stty):
        sys.exit("ctrlc: echo is not back on after Ctrl-C:\n" + stty)
    print("ctrlc: sesame passwd ended with %d, echo on again" % rc)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF

drive() {
  TOOL="$TOOL" RUN_AS="${RUN_AS:-$USER_A}" EVIL_CONF="$IT_TMP/evil.conf" "$PY" "$IT_TMP/drive.py" "$@"
}
as_a() { runuser -u "$USER_A" -- "$@"; }

# --- status, before anything happened
out=$(as_a "$TOOL" status) || fail "sesame status exited $?"
grep -q "^Account: active" <<<"$out" || fail "status does not say the account is active: $out"
grep -q "^Methods: password" <<<"$out" || fail "status does not list the password method: $out"
grep -q "^Lock: not locked$" <<<"$out" || fail "status does not show the lock state: $out"
grep -q "^Password changed: .*(0 days ago)" <<<"$out" || fail "status lacks the password age: $out"
pass "sesame status shows account, password age, lock state and methods"

# --- usage errors: no user name, unknown command
rc=0; err=$(as_a "$TOOL" passwd "$USER_B" 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 2 ] || fail "'sesame passwd $USER_B' exited $rc, want 2: $err"
grep -q "takes no arguments" <<<"$err" || fail "no usage message for a user name: $err"
assert_pw "$USER_B" "$PW_B" "after 'sesame passwd $USER_B'"
rc=0; err=$(as_a "$TOOL" pasword 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "did you mean 'passwd'" <<<"$err" ||
  fail "unknown command: exit $rc, want 2 with a suggestion: $err"
rc=0; err=$(runuser -u nobody -- "$TOOL" status 2>&1) || rc=$?
[ "$rc" -eq 3 ] && grep -q "you (nobody) have no Sesame account; ask your administrator" <<<"$err" ||
  fail "a user without an account: exit $rc, want 3: $err"
pass "a user name argument is a usage error (exit 2); unknown command suggests; no account is exit 3"

# --- wrong current password: exit 6, the failure counted, once for the same
# wrong password typed again
PW_OLD="$PW_A" drive wrong || fail "wrong current password scenario"
PW_OLD="$PW_A" drive wrong || fail "wrong current password scenario, again"
show=$(admin user show "$USER_A" --json)
"$PY" - "$show" <<'PYEOF' || fail "sesame-admin user show does not count the failure: $show"
import json, sys
u = json.loads(sys.argv[1])
assert u["failures"] == 1, u
assert any(e["outcome"] == "failure" and e["method"] == "password-change" and
           e["service"] == "sesame" for e in u["recent_events"]), u
PYEOF
out=$(as_a "$TOOL" status)
grep -q "^Lock: not locked (1 of 5 failed sign-ins" <<<"$out" || fail "status does not show 1 of 5: $out"
assert_pw "$USER_A" "$PW_A" "after a wrong current password"
pass "wrong current password: exit 6, failure counted (the same one again: not), password unchanged"

# --- Ctrl-D at the current password: exit 7
PW_OLD="$PW_A" drive eof || fail "Ctrl-D scenario"
pass "Ctrl-D at a prompt: exit 7"

# --- the policy refuses three times: exit 2
PW_OLD="$PW_A" drive refused || fail "three refusals scenario"
assert_pw "$USER_A" "$PW_A" "after three refused new passwords"
pass "three refused new passwords: exit 2, password unchanged"

# --- a change, with one policy refusal and SESAME_CONFIG pointing elsewhere
cat >"$IT_TMP/evil.conf" <<CONF
store_path = $IT_TMP/no-such-dir/sesame.db
key_file = $IT_TMP/no-such-dir/sesame.key
runtime_dir = $IT_TMP/no-such-dir/run
CONF
chmod 0644 "$IT_TMP/evil.conf"
PW_OLD="$PW_A" PW_NEW="$PW_A_NEW" drive change || fail "password change scenario"
events=$(admin user show "$USER_A" --json)
grep -q '"service":"sesame"' <<<"$events" || fail "no sign-in event with service sesame: $events"
assert_pw "$USER_A" "$PW_A_NEW" "after sesame passwd"
assert_not_pw "$USER_A" "$PW_A" "after sesame passwd (old password)"
assert_pw "$USER_B" "$PW_B" "after $USER_A changed theirs"
[ ! -e "$IT_TMP/no-such-dir" ] || fail "the tool used the store named by SESAME_CONFIG"
pass "sesame passwd changes only the caller's password; BAD PASSWORD re-asks; SESAME_CONFIG ignored"

# --- Ctrl-C at "New password:": terminal restored, nothing changed
PW_OLD="$PW_A_NEW" drive ctrlc || fail "Ctrl-C scenario"
assert_pw "$USER_A" "$PW_A_NEW" "after Ctrl-C"
pass "Ctrl-C at New password: echo restored, password unchanged"

# --- status --json
json=$(as_a "$TOOL" status --json) || fail "sesame status --json exited $?"
"$PY" -m json.tool <<<"$json" >/dev/null || fail "sesame status --json is not JSON: $json"
"$PY" - "$json" "$USER_A" <<'PYEOF' || fail "sesame status --json has the wrong content: $json"
import json, sys
s = json.loads(sys.argv[1])
assert s["user"] == sys.argv[2], s
assert s["account"] == "active", s
assert s["methods"] == ["password"], s
assert s["lock"]["state"] == "not-locked", s
assert s["change_required"] is False, s
# self_service_reset is off here: not ready, and the methods a reset needs
# are named as missing (no authenticator, no recovery codes).
assert s["reset_enabled"] is False and s["reset_ready"] is False, s
assert s["reset_missing"] == ["totp", "recovery_code"], s
PYEOF
out=$(as_a "$TOOL" status) || fail "sesame status exited $?"
grep -q "^Forgotten password: not offered on this host" <<<"$out" ||
  fail "status does not say the reset is not offered: $out"
pass "sesame status --json"

# --- a locked account (5 wrong passwords through PAM): exit 6 with the lock message
# Five different wrong passwords: the same one again would count once.
for i in 1 2 3 4 5; do assert_not_pw "$USER_B" "wrong-$i" "locking $USER_B"; done
RUN_AS="$USER_B" PW_OLD="$PW_B" drive locked || fail "locked account scenario"
out=$(runuser -u "$USER_B" -- "$TOOL" status)
grep -q "^Lock: locked until " <<<"$out" || fail "status does not show the lock: $out"
pass "a locked account: sesame passwd exits 6 with the lock message; status shows the lock"
