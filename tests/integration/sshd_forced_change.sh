#!/bin/bash
# A real OpenSSH sshd on 127.0.0.1 with pam_sesame.so in its auth, account
# and password stacks, driven by the real ssh client on a pty (pexpect),
# keyboard-interactive only. Checked: a normal sign-in runs the command and
# a wrong password is refused; after `sesame-admin password reset` the
# temporary password signs in, the account group says "administrator
# enforced", and sshd runs pam_chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK) in the
# same connection ("Current password:", "New password:", "Retype new
# password:"); a wrong current password there is refused and the change
# stays required; a too short new password gets "BAD PASSWORD: ..." and is
# asked again; after the change sshd runs the command, the new password
# signs in without any change prompt and the temporary one is refused.
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
sshd_init "sesit-ssh-$$"

# --- the system account and the Sesame account
PW_1="ssh-first-pass-1"
PW_NEW="ssh-changed-pass-2"
sshd_add_user "$PW_1"

start_sshd

# --- the client driver: ssh_drive.py SCENARIO, on ssh_client.py (next to this
# script); passwords come through the environment
mkdir -m 0700 "$IT_TMP/client-home"
cat >"$IT_TMP/ssh_drive.py" <<'PYEOF'
import os, sys
import pexpect
import ssh_client

scenario = sys.argv[1]
pw, new = os.environ.get("PW", ""), os.environ.get("PW_NEW", "")
ssh = ssh_client.Session(scenario)
child, transcript, expect, finish = ssh.child, ssh.transcript, ssh.expect, ssh.finish

CHANGE_PROMPTS = ["administrator enforced", "Current password:", "New password:"]

if scenario == "ok":
    # Prompts are "(user@host) Password: ": matched without ^.
    expect(["Password: "])
    child.sendline(pw)
    i = expect(["SIGNED-IN-OK"] + CHANGE_PROMPTS + ["Password: ", "Permission denied"])
    if i != 0:
        sys.exit("ok: after the password, got %r instead of the command's output:\n%s"
                 % (child.after, "".join(transcript)))
    finish(0)
elif scenario == "refused":
    expect(["Password: "])
    child.sendline(pw)
    i = expect(["Permission denied", "SIGNED-IN-OK"] + CHANGE_PROMPTS)
    if i != 0:
        sys.exit("refused: a wrong password got %r:\n%s" % (child.after, "".join(transcript)))
    finish(255)
elif scenario == "forced":
    expect(["Password: "])
    child.sendline(pw)  # the temporary password
    i = expect(["administrator enforced", "SIGNED-IN-OK", "Permission denied", "Password: "])
    if i != 0:
        sys.exit("forced: after the temporary password, got %r instead of the forced change:\n%s"
                 % (child.after, "".join(transcript)))
    expect(["Current password: "])
    child.sendline(pw)
    # One new password the policy refuses: said, and asked again.
    expect(["New password: "])
    child.sendline("short1")
    expect(["Retype new password: "])
    child.sendline("short1")
    i = expect(["BAD PASSWORD: it is shorter than 8", "SIGNED-IN-OK", "Permission denied"])
    if i != 0:
        sys.exit("forced: a too short new password got %r:\n%s" % (child.after, "".join(transcript)))
    expect(["New password: "])
    child.sendline(new)
    expect(["Retype new password: "])
    child.sendline(new)
    i = expect(["SIGNED-IN-OK", pexpect.EOF])
    out = "".join(transcript)
    if "Permission denied" in out:
        sys.exit("forced: the change was not accepted:\n" + out)
    if i == 0:
        print("forced: after the change, sshd ran the command in the same connection")
        finish(0)
    else:
        child.close()
        print("forced: after the change, sshd closed the connection (exit %r) without running "
              "the command" % child.exitstatus)
elif scenario == "forced_wrong_current":
    expect(["Password: "])
    child.sendline(pw)  # the temporary password
    i = expect(["administrator enforced", "SIGNED-IN-OK", "Permission denied", "Password: "])
    if i != 0:
        sys.exit("forced_wrong_current: after the temporary password, got %r:\n%s"
                 % (child.after, "".join(transcript)))
    expect(["Current password: "])
    child.sendline("wrong-" + pw)
    i = expect(["Permission denied", "New password: ", "SIGNED-IN-OK"])
    if i != 0:
        sys.exit("forced_wrong_current: a wrong current password got %r:\n%s"
                 % (child.after, "".join(transcript)))
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

# --- a normal sign-in; a wrong password
PW="$PW_1" drive ok || fail_log "a sign-in with the right password"
PW="wrong-$PW_1" drive refused || fail_log "a sign-in with a wrong password"
json=$(show_json)
"$PY" - "$json" "$SERVICE" <<'PYEOF' || fail "the sign-ins are not recorded as expected: $json"
import json, sys
u, service = json.loads(sys.argv[1]), sys.argv[2]
ev = [e for e in u["recent_events"] if e["service"] == service]
assert any(e["method"] == "password" and e["outcome"] == "success" and
           e["remote_host"] == "127.0.0.1" for e in ev), ev
assert any(e["method"] == "password" and e["outcome"] == "failure" for e in ev), ev
PYEOF
pass "ssh with the right password runs the command; a wrong one is refused (events from 127.0.0.1)"

# --- the administrator resets the password: a temporary one, change required
out=$(admin password reset "$USER_S") || fail "sesame-admin password reset $USER_S"
TEMP=$(awk -v u="$USER_S" '$1 == u { print $2 }' <<<"$out")
[ -n "$TEMP" ] || fail "no temporary password for $USER_S in: $out"
json=$(show_json)
"$PY" -c 'import json, sys; assert json.loads(sys.argv[1])["must_change"] is True' "$json" ||
  fail "after the reset the account does not require a change: $json"

# A wrong current password in the change: refused, nothing changed.
PW="$TEMP" drive forced_wrong_current || fail_log "a wrong current password in the forced change"
json=$(show_json)
"$PY" -c 'import json, sys; assert json.loads(sys.argv[1])["must_change"] is True' "$json" ||
  fail "a refused forced change cleared the change requirement: $json"
pass "a wrong current password in the forced change: refused, change still required"

res=$(PW="$TEMP" PW_NEW="$PW_NEW" drive forced) || fail_log "the forced change over ssh: $res"
echo "$res"
json=$(show_json)
"$PY" - "$json" "$SERVICE" <<'PYEOF' || fail "after the forced change: $json"
import json, sys
u, service = json.loads(sys.argv[1]), sys.argv[2]
assert u["must_change"] is False, u
assert any(e["method"] == "password-change" and e["outcome"] == "success" and
           e["service"] == service for e in u["recent_events"]), u["recent_events"]
PYEOF
pass "the temporary password leads to the forced change (administrator enforced, Current/New/Retype, BAD PASSWORD re-asks) in the same connection"

PW="$PW_NEW" drive ok || fail_log "a sign-in with the new password after the forced change"
PW="$TEMP" drive refused || fail_log "a sign-in with the temporary password after the change"
pass "after the change the new password signs in without a change prompt; the temporary one is refused"

grep -E 'fatal|segfault|error: PAM' "$IT_TMP/sshd.log" && fail_log "sshd logged errors"
pass "sshd logged no fatal or PAM errors"
