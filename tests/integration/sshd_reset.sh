#!/bin/bash
# Forgot my password, through a real OpenSSH sshd on 127.0.0.1 with
# pam_sesame.so (keyboard-interactive, the real ssh client on a pty): a user
# enrolled with an authenticator (a known key; codes from oathtool) answers
# "Password:" with nothing, says yes to the reset, gives the current code
# and a recovery code, sets a new password, and the command runs. Then the
# new password signs in (with another recovery code: the reset used this
# time step) and the old one is refused. The events name every step, and
# sesame-admin activity --json and the user's own setuid `sesame activity
# --json` show that sequence (methods, outcomes, 127.0.0.1, new-host marks).
# With self_service_reset off, an empty password is refused and nothing is
# offered. sshd, its PAM service file and the system account are set up as
# in sshd_mfa.sh (sshd_lib.sh); skipped only for an ASan build.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
sshd_init "sesit-rst-$$"

command -v oathtool >/dev/null || fail "oathtool is missing (Debian: oathtool)"

KEY_B32=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
PW_OLD="ssh-reset-old-pass-1"
PW_NEW="Violet tractor sings 42 loud"
sshd_add_user "$PW_OLD"
enroll_out=$(printf '%s\n' "$KEY_B32" | admin mfa enroll "$USER_S" --secret-stdin) ||
  fail "sesame-admin mfa enroll $USER_S --secret-stdin"
mapfile -t RECOVERY < <(awk '/^Recovery codes/ { f = 1; next } f && /^  [^ ]/ { sub(/^  /, ""); print }' \
  <<<"$enroll_out")
[ "${#RECOVERY[@]}" -ge 2 ] || fail "no recovery codes in the enroll output:"$'\n'"$enroll_out"

start_sshd

mkdir -m 0700 "$IT_TMP/client-home"
cat >"$IT_TMP/ssh_drive.py" <<'PYEOF'
import os, sys
import ssh_client

scenario = sys.argv[1]
env = os.environ
# With LAST: a login shell on a pty (sshd shows login messages only then),
# told to print the marker and leave.
login = bool(env.get("LAST"))
ssh = ssh_client.Session(scenario, tty=login, command=None if login else "echo SIGNED-IN-OK")
child, expect, finish = ssh.child, ssh.expect, ssh.finish

def want(patterns, what):
    i = expect(patterns)
    if i != 0:
        sys.exit("%s: waiting for %r (%s), got %r:\n%s"
                 % (scenario, patterns[0], what, child.after, ssh.output()))

OFFER = r"Reset your password now\? \(yes/no\): "
if scenario == "reset":
    want(["Password: "], "the first prompt")
    child.sendline("")
    want([OFFER, "Password: ", "Permission denied"], "the offer after an empty password")
    child.sendline("yes")
    want(["Verification code: ", "Permission denied"], "the code")
    child.sendline(env["CODE"])
    want(["Recovery code: ", "Permission denied"], "the recovery code")
    child.sendline(env["RECOVERY"])
    want(["New password: ", "Permission denied"], "the new password")
    child.sendline(env["NEW"])
    want(["Retype new password: ", "Permission denied"], "the new password again")
    child.sendline(env["NEW"])
    want(["SIGNED-IN-OK", "Permission denied", "Password: "], "the command after the reset")
    finish(0)
elif scenario == "ok":
    want(["Password: "], "the password")
    child.sendline(env["PW"])
    want(["Verification code: ", "Permission denied", "Password: "], "the code")
    child.sendline(env["CODE"])
    if login:
        # show_last_sign_in (default yes): the reset was the last sign-in.
        want([env["LAST"], "Permission denied", "Password: "], "the last sign-in line")
        child.sendline("echo SIGNED-IN-""OK; exit")
    want(["SIGNED-IN-OK", "Permission denied", "Password: "], "the command")
    finish(0)
elif scenario == "refused":
    want(["Password: "], "the password")
    child.sendline(env["PW"])
    want(["Permission denied", "Verification code: ", "SIGNED-IN-OK", OFFER], "the refusal")
    finish(255)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF

drive() {
  SSH_USER="$USER_S" SSH_PORT="$PORT" CLIENT_HOME="$IT_TMP/client-home" \
    PYTHONPATH="$(dirname "$0")" PYTHONDONTWRITEBYTECODE=1 \
    timeout 60 "$PY" "$IT_TMP/ssh_drive.py" "$@"
}
events() {
  "$PY" - "$IT_TMP/state/sesame.db" "$USER_S" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute("SELECT method, outcome FROM events WHERE user = ? AND method IN "
                      "('reset', 'password-change') ORDER BY id", (sys.argv[2],)):
    print(" ".join(row))
PYEOF
}

# --- off (the default): an empty password is a wrong one, nothing offered
PW="" drive refused || fail_log "an empty password with self_service_reset off"
pass "self_service_reset off: an empty password is refused and no reset is offered"

# --- on: the whole reset at the ssh prompt
echo "self_service_reset = yes" >>"$IT_CONF"
left=$((30 - $(date +%s) % 30))
[ "$left" -lt 8 ] && sleep "$left"
CODE=$(oathtool --totp -b "$KEY_B32") || fail "oathtool"
CODE="$CODE" RECOVERY="${RECOVERY[0]}" NEW="$PW_NEW" drive reset ||
  fail_log "the reset at the ssh prompt"
ev=$(events) || fail "cannot read the events"
expected="reset reset-started
reset reset-code
reset reset-recovery-code
password-change success
reset reset-done
reset success"
[ "$ev" = "$expected" ] || fail "the reset's events:"$'\n'"$ev"$'\n'"want:"$'\n'"$expected"
pass "empty password, yes, a code from oathtool, a recovery code, a new password: signed in"

PW="$PW_NEW" CODE="${RECOVERY[1]}" LAST="Last sign-in: [0-9-]+ [0-9:]+ from 127.0.0.1" \
  drive ok || fail_log "the new password with a recovery code"
pass "the new password signs in, and is told the last sign-in (the reset)"
PW="$PW_OLD" drive refused || fail_log "the old password after the reset"
pass "the old password is refused"

# --- the activity of that sequence, for the admin and for the user (the
# setuid `sesame activity`, in a mount namespace of its own with this
# test's config as /etc/security/sesame.conf, as tool_lib.sh does)
admin activity --user "$USER_S" --json >"$IT_TMP/admin.json" || fail "sesame-admin activity --json"
etc="$IT_TMP/etc-security"
mkdir -m 0755 "$etc" "$IT_TMP/bin"
cp -a /etc/security/. "$etc/"
install -m 0644 -o root -g root "$IT_CONF" "$etc/sesame.conf"
install -m 4755 -o root -g root "${SESAME_TOOL:?SESAME_TOOL is not set (run through ctest)}" "$IT_TMP/bin/sesame"
unshare --mount --propagation private bash -c \
  'mount --bind "$1" /etc/security && cd / && runuser -u "$2" -- "$3" activity --json' \
  _ "$etc" "$USER_S" "$IT_TMP/bin/sesame" >"$IT_TMP/own.json" 2>"$IT_TMP/own.err" ||
  fail "sesame activity --json as $USER_S: $(cat "$IT_TMP/own.err")"
for f in admin own; do
  python3 - "$IT_TMP/$f.json" "$USER_S" "$f" <<'PY' || fail "$f activity --json after the ssh sign-ins: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
user = sys.argv[2]
ev = doc["events"]
if sys.argv[3] == "own":  # the tool says whose; the admin's asked --user
    assert doc["user"] == user, doc
assert all(e["user"] == user for e in ev), ev
# sshd's own PAM service (sshd_lib.sh) for every sign-in event
services = {e["service"] for e in ev[:-1]}
assert len(services) == 1 and services.pop().startswith("sshd"), ev
got = [(e["method"], e["method_words"], e["outcome"], e["remote_host"], e["new_host"]) for e in ev]
want = [
    ("password", "password", "failure", "127.0.0.1", False),  # the old password
    ("password+recovery-code", "password+recovery code", "success", "127.0.0.1", False),
    ("reset", "reset", "success", "127.0.0.1", False),
    ("reset", "reset", "reset-done", "127.0.0.1", False),
    # the first success from 127.0.0.1: the new password stored; everything
    # before it came from a host this user had no success from
    ("password-change", "password change", "success", "127.0.0.1", True),
    ("reset", "reset", "reset-recovery-code", "127.0.0.1", True),
    ("reset", "reset", "reset-code", "127.0.0.1", True),
    ("reset", "reset", "reset-started", "127.0.0.1", True),
    ("password", "password", "failure", "127.0.0.1", True),  # the empty one, reset off
    ("admin", "admin action", "mfa-enrolled", "", False),
]
if got != want:
    sys.exit("events:\n  got  %r\n  want %r" % (got, want))
times = [e["time"] for e in ev]
assert times == sorted(times, reverse=True), times
PY
done
pass "sesame-admin activity --json and the user's own sesame activity --json after the ssh sign-ins: methods, outcomes, 127.0.0.1, the new-host mark, newest first"

grep -E 'fatal|segfault|error: PAM' "$IT_TMP/sshd.log" && fail_log "sshd logged errors"
pass "sshd logged no fatal or PAM errors"
