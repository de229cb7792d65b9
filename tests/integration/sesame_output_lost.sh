#!/bin/bash
# Output that matters and could not be written is never exit 0. The setuid
# tool, run by an ordinary user on a pty (pexpect) with stdout /dev/full
# (every write fails: ENOSPC; the prompts go to the terminal):
#  - recovery-codes new: exit 1, stderr says the new codes were not shown,
#    the old ones no longer work, and to run it again with output to the
#    terminal; an old code then no longer signs in (the codes were
#    replaced, as stderr says);
#  - app-password create NAME: exit 1, stderr says it could not be shown
#    and was revoked again; no app password of that name is live;
#  - app-password list (--json and the table), activity --json, status:
#    exit 1 with "cannot write to standard output"; and to a terminal
#    they still work (exit 0).
# Codes: totp_window = 10, each code at a later oathtool offset than the
# one before, so each is a new time step without waiting for the clock.
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init oathtool
USER_A="sesout-a-$$"
printf 'totp_window = 10\n' >>"$IT_CONF"
tool_install

tool_make_users "$USER_A"
PW_A="alpha-output-pass-1"
tool_add_user "$USER_A" "$PW_A"
KEY_B32=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
tool_enroll "$USER_A" "$KEY_B32" 2
echo -240 >"$IT_TMP/offset"

it_service sesame-check "auth required $SESAME_MODULE" "account required $SESAME_MODULE"
# The password, then a recovery code.
pam_ok() { printf '%s\n%s\n' "$2" "$3" | it_pamtester sesame-check "$1" authenticate >/dev/null 2>&1; }

cat >"$IT_TMP/drive.py" <<'PYEOF'
import os, subprocess, sys
import pexpect

tool, user, pw, key = os.environ["TOOL"], os.environ["RUN_AS"], os.environ["PW"], os.environ["KEY"]
want_text, args = sys.argv[1], sys.argv[2:]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}
# stdout /dev/full; stderr and the prompts on the pty.
child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c",
                               'exec runuser -u "$0" -- "$@" >/dev/full', user, tool] + args,
                      env=env, timeout=60, encoding="utf-8", codec_errors="replace")
out = []

def code():
    with open(os.environ["OFFSET_FILE"]) as f:
        offset = int(f.read())
    with open(os.environ["OFFSET_FILE"], "w") as f:
        f.write(str(offset + 30))
    return subprocess.check_output(
        ["oathtool", "--totp", "-b", key, "-N", "%+d seconds" % offset]).decode().strip()

def want(pattern):
    try:
        child.expect(pattern)
    except (pexpect.EOF, pexpect.TIMEOUT):
        sys.exit("%s: waited for %r; output:\n%s%s" % (args, pattern, "".join(out),
                                                       child.before or ""))
    out.append(child.before + child.after)

want("Password: ")
child.sendline(pw)
want("Verification code: ")
child.sendline(code())
want(want_text)
child.expect(pexpect.EOF)
out.append(child.before)
child.close()
if child.exitstatus != 1:
    sys.exit("%s: exit %r, want 1; output:\n%s" % (args, child.exitstatus, "".join(out)))
print("".join(out))
PYEOF
drive() { TOOL="$TOOL" RUN_AS="$USER_A" PW="$PW_A" KEY="$KEY_B32" OFFSET_FILE="$IT_TMP/offset" "$PY" "$IT_TMP/drive.py" "$@"; }
live_count() {
  admin app-password list "$1" --json |
    "$PY" -c 'import json,sys; print(sum(a["state"] == "active" for a in json.load(sys.stdin)))'
}

# --- recovery-codes new, stdout lost
pam_ok "$USER_A" "$PW_A" "${RECOVERY[0]}" || fail "an enrolled recovery code does not sign in"
said=$(drive "(?s)cannot write to standard output \(No space left on device\): your new recovery codes were made but not shown, and your old ones no longer work; run 'sesame recovery-codes new' again with its output to the terminal" \
  recovery-codes new) || fail "recovery-codes new >/dev/full: $said"
! pam_ok "$USER_A" "$PW_A" "${RECOVERY[1]}" ||
  fail "an old recovery code still signs in after recovery-codes new said they no longer work"
pass "recovery-codes new >/dev/full: exit 1; stderr says the codes were not shown, the old ones are gone, run it again"

# --- app-password create, stdout lost
said=$(drive "(?s)could not be shown.*it was revoked again.*cannot write to standard output \(No space left on device\): run 'sesame app-password create' again" \
  app-password create phone) || fail "app-password create >/dev/full: $said"
[ "$(live_count "$USER_A")" = 0 ] || fail "app-password create >/dev/full left a live app password"
admin app-password list "$USER_A" --json | grep -q '"name":"phone"' ||
  fail "app-password create >/dev/full: no record of 'phone' (made, then revoked) in the store"
pass "app-password create >/dev/full: exit 1, revoked again and said so; nothing live"

# --- listings: exit 1 to /dev/full, 0 to a terminal-less pipe that works
admin app-password create "$USER_A" laptop >/dev/null || fail "sesame-admin app-password create"
for cmd in "app-password list --json" "app-password list" "activity --json" "activity" "status" \
  "status --json"; do
  rc=0
  # shellcheck disable=SC2086  # the words of $cmd
  err=$(runuser -u "$USER_A" -- "$TOOL" $cmd 2>&1 >/dev/full) || rc=$?
  [ "$rc" -eq 1 ] && grep -q "cannot write to standard output (No space left on device): your .* not .*; nothing was changed" <<<"$err" ||
    fail "'sesame $cmd' >/dev/full: exit $rc, want 1 with what was lost: $err"
  rc=0
  # shellcheck disable=SC2086
  runuser -u "$USER_A" -- "$TOOL" $cmd >/dev/null || rc=$?
  [ "$rc" -eq 0 ] || fail "'sesame $cmd' >/dev/null: exit $rc, want 0"
done
[ "$(live_count "$USER_A")" = 1 ] || fail "a listing changed the app passwords"
pass "app-password list, activity, status (text and --json) >/dev/full: exit 1 naming what was lost; to /dev/null: exit 0"
