#!/bin/bash
# A real OpenSSH sshd on 127.0.0.1 with pam_sesame.so in its auth and account
# stacks, driven by the real ssh client on a pty (pexpect),
# keyboard-interactive only, for a user enrolled with an authenticator
# (`sesame-admin mfa enroll --secret-stdin`, a known key; codes from
# oathtool). Checked: "Password:" then "Verification code:" in one
# connection, and the password with the current code runs the command; the
# password with a wrong code is refused; the same right code again, in the
# same 30 s time step, is refused as a replay (the event says "already used
# (replay)"); the password with a recovery code runs the command, and the
# same recovery code again is refused.
#
# sshd takes its PAM service name from its program name, so it runs through
# a symlink $IT_TMP/sshd-sesame-$$ -> /usr/sbin/sshd and reads
# /etc/pam.d/sshd-sesame-$$ (written here, removed on exit); /etc/pam.d/sshd
# is not touched. sshd needs a real account (it runs the user's shell), so
# the user is a throwaway system account with its home in the temp dir,
# removed on exit. An ASan build of the module cannot be loaded into the
# system sshd, which is not built with ASan: the test is skipped then (and
# only then). IT_TRACE=1 shows the ssh client's screen (ctest -V).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
sshd_init "sesit-mfa-$$"

command -v oathtool >/dev/null || fail "oathtool is missing (Debian: oathtool)"

# The authenticator key (base32) the user is enrolled with.
KEY_B32=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP

# --- the system account and the Sesame account, with an authenticator
PW_1="ssh-mfa-pass-1"
sshd_add_user "$PW_1"
enroll_out=$(printf '%s\n' "$KEY_B32" | admin mfa enroll "$USER_S" --secret-stdin) ||
  fail "sesame-admin mfa enroll $USER_S --secret-stdin"
# The recovery codes: the lines after "Recovery codes ..." indented by two spaces.
RECOVERY=$(awk '/^Recovery codes/ { f = 1; next } f && /^  [^ ]/ { sub(/^  /, ""); print; exit }' \
  <<<"$enroll_out")
[ -n "$RECOVERY" ] || fail "no recovery code in the enroll output:"$'\n'"$enroll_out"

start_sshd

# --- the client driver: ssh_drive.py SCENARIO, on ssh_client.py (next to this
# script); the password and the code come through the environment (PW, CODE)
mkdir -m 0700 "$IT_TMP/client-home"
cat >"$IT_TMP/ssh_drive.py" <<'PYEOF'
import os, sys
import ssh_client

scenario = sys.argv[1]
pw, code = os.environ.get("PW", ""), os.environ.get("CODE", "")
ssh = ssh_client.Session(scenario)
child, transcript, expect, finish = ssh.child, ssh.transcript, ssh.expect, ssh.finish

def password_then_code():
    # Prompts are "(user@host) Password: ": matched without ^.
    expect(["Password: "])
    child.sendline(pw)
    i = expect(["Verification code: ", "SIGNED-IN-OK", "Password: ", "Permission denied"])
    if i != 0:
        sys.exit("%s: after the password, got %r instead of \"Verification code: \":\n%s"
                 % (scenario, child.after, "".join(transcript)))
    child.sendline(code)

if scenario == "ok":
    password_then_code()
    i = expect(["SIGNED-IN-OK", "Permission denied", "Verification code: ", "Password: "])
    if i != 0:
        sys.exit("ok: after the code, got %r instead of the command's output:\n%s"
                 % (child.after, "".join(transcript)))
    finish(0)
elif scenario == "refused":
    password_then_code()
    i = expect(["Permission denied", "SIGNED-IN-OK", "Verification code: ", "Password: "])
    if i != 0:
        sys.exit("refused: the code got %r:\n%s" % (child.after, "".join(transcript)))
    finish(255)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF

drive() {
  SSH_USER="$USER_S" SSH_PORT="$PORT" CLIENT_HOME="$IT_TMP/client-home" \
    PYTHONPATH="$(dirname "$0")" PYTHONDONTWRITEBYTECODE=1 \
    timeout 60 "$PY" "$IT_TMP/ssh_drive.py" "$@"
}
show_json() { admin user show "$USER_S" --json || fail "sesame-admin user show $USER_S"; }
# The events of this service for the user, one "method outcome detail" a line.
events() {
  "$PY" - "$IT_TMP/state/sesame.db" "$USER_S" "$SERVICE" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute("SELECT method, outcome, detail FROM events WHERE user = ? AND service = ? "
                      "ORDER BY id", (sys.argv[2], sys.argv[3])):
    print(" ".join(row))
PYEOF
}
step_now() { echo $(($(date +%s) / 30)); }

# --- the password and the current code; a wrong code; the same code again
# Steps 1 to 3 use one code and must share its 30 s time step (checked
# after them): with fewer than 15 s left in this step, wait for the next one
# (each refusal also waits the 2 s fail delay pam_sesame asks libpam for).
left=$((30 - $(date +%s) % 30))
if [ "$left" -lt 15 ]; then
  echo "$it_name: $left s left in this time step; waiting for the next one"
  sleep "$left"
fi
STEP=$(step_now)
CODE=$(oathtool --totp -b "$KEY_B32" --now "@$((STEP * 30))") || fail "oathtool"
[[ "$CODE" =~ ^[0-9]{6}$ ]] || fail "oathtool printed '$CODE', not a 6 digit code"
# A wrong code: the last digit changed, and not the code of a neighbouring
# step either (those are accepted, window 1).
near=$(oathtool --totp -b "$KEY_B32" -w 2 --now "@$(((STEP - 1) * 30))") || fail "oathtool -w"
WRONG="$CODE"
for d in 1 2 3 4 5 6 7 8 9; do
  WRONG="${CODE:0:5}$(((${CODE:5:1} + d) % 10))"
  grep -qxF "$WRONG" <<<"$near" || break
done

PW="$PW_1" CODE="$CODE" drive ok || fail_log "a sign-in with the password and the current code"
pass "ssh asks \"Password:\" then \"Verification code:\"; the password and the current code run the command"
PW="$PW_1" CODE="$WRONG" drive refused || fail_log "a sign-in with the password and a wrong code"
pass "the password and a wrong code are refused"
PW="$PW_1" CODE="$CODE" drive refused || fail_log "a sign-in with the password and the same code again"
[ "$(step_now)" = "$STEP" ] ||
  fail "the replay ran in time step $(step_now), not $STEP (the sign-ins took too long)"
ev=$(events) || fail "cannot read the events from $IT_TMP/state/sesame.db"
"$PY" - "$ev" <<'PYEOF' || fail "the code sign-ins are not recorded as expected:"$'\n'"$ev"
import sys
ev = [l.split(" ", 2) for l in sys.argv[1].splitlines()]
assert len(ev) == 3, ev
assert ev[0][:2] == ["password+totp", "success"], ev
assert ev[1][:2] == ["password+totp", "failure"] and ev[1][2].startswith("wrong verification code"), ev
assert ev[2][:2] == ["password+totp", "failure"] and "already used (replay)" in ev[2][2], ev
PYEOF
json=$(show_json)
"$PY" - "$json" "$SERVICE" <<'PYEOF' || fail "user show does not list the sign-ins: $json"
import json, sys
u, service = json.loads(sys.argv[1]), sys.argv[2]
assert "totp" in u["methods"], u
ev = [e for e in u["recent_events"] if e["service"] == service]
assert any(e["method"] == "password+totp" and e["outcome"] == "success" and
           e["remote_host"] == "127.0.0.1" for e in ev), ev
assert sum(e["method"] == "password+totp" and e["outcome"] == "failure" for e in ev) == 2, ev
PYEOF
pass "the same code again in the same time step is refused as a replay (\"already used (replay)\")"

# --- a recovery code: once
left_before=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["recovery_codes_left"])' "$json")
PW="$PW_1" CODE="$RECOVERY" drive ok || fail_log "a sign-in with the password and a recovery code"
PW="$PW_1" CODE="$RECOVERY" drive refused || fail_log "a sign-in with the same recovery code again"
json=$(show_json)
"$PY" - "$json" "$left_before" <<'PYEOF' || fail "after the recovery code (had $left_before): $json"
import json, sys
u = json.loads(sys.argv[1])
assert u["recovery_codes_left"] == int(sys.argv[2]) - 1, u
PYEOF
ev=$(events) || fail "cannot read the events from $IT_TMP/state/sesame.db"
grep -q '^password+recovery-code success ' <<<"$ev" ||
  fail "no password+recovery-code success event:"$'\n'"$ev"
pass "the password and a recovery code run the command; the same recovery code again is refused"

grep -E 'fatal|segfault|error: PAM' "$IT_TMP/sshd.log" && fail_log "sshd logged errors"
pass "sshd logged no fatal or PAM errors"
