#!/bin/bash
# on_revoke_command run by the setuid tool runs as root: `sesame passwd`
# and `sesame passwd --forgot`, run by ordinary users on a pty (pexpect),
# revoke the user's app passwords with the old password and run the
# command, which records the real, effective and saved uids it ran with.
# Each run must be root's (0 0 0): a command with the caller's effective
# uid cannot reach a root-only socket (doveadm auth cache flush) and the
# caller could stop or kill it. The app passwords are revoked in the store.
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init oathtool
USER_A="sesrc-a-$$"
USER_B="sesrc-b-$$"
# The hook: writes "USER real effective saved" into a directory anyone may
# write to, so that a run with the caller's ids is recorded too (and fails
# the check below with what it ran as).
mkdir -m 1777 "$IT_TMP/rec"
cat >"$IT_TMP/revoke-hook" <<EOF
#!/bin/sh
ids=\$(awk '/^Uid:/ { print \$2, \$3, \$4 }' /proc/\$\$/status)
echo "\$1 \$ids" >>"$IT_TMP/rec/revoke.log"
EOF
chmod 0755 "$IT_TMP/revoke-hook"
printf 'on_revoke_command = %s %%u\nself_service_reset = yes\napp_passwords_for = all\n' \
  "$IT_TMP/revoke-hook" >>"$IT_CONF"
tool_install

tool_make_users "$USER_A" "$USER_B"
PW_A="alpha-revoke-pass-1"
PW_A_NEW="alpha-revoke-pass-2"
PW_B_NEW="Bravo revoke pass 3"
tool_add_user "$USER_A" "$PW_A"
tool_add_user "$USER_B" "bravo-revoke-pass-1"
KEY_B32=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
tool_enroll "$USER_B" "$KEY_B32" 1
for u in "$USER_A" "$USER_B"; do
  admin app-password create "$u" mail >/dev/null || fail "sesame-admin app-password create $u"
done

cat >"$IT_TMP/drive.py" <<'PYEOF'
import os, sys
import pexpect

tool, user, scenario = os.environ["TOOL"], os.environ["RUN_AS"], sys.argv[1]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}
args = ["passwd", "--forgot"] if scenario == "forgot" else ["passwd"]
child = pexpect.spawn("runuser", ["-u", user, "--", tool] + args, env=env, timeout=60,
                      encoding="utf-8", codec_errors="replace")
out = []

def want(pattern):
    try:
        child.expect(pattern)
    except (pexpect.EOF, pexpect.TIMEOUT):
        sys.exit("%s: waited for %r; output:\n%s%s" % (scenario, pattern, "".join(out),
                                                       child.before or ""))
    out.append(child.before + child.after)

if scenario == "forgot":
    want("Verification code: ")
    child.sendline(os.environ["CODE"])
    want("Recovery code: ")
    child.sendline(os.environ["RECOVERY"])
else:
    want("Current password: ")
    child.sendline(os.environ["OLD"])
want("New password: ")
child.sendline(os.environ["NEW"])
want("Retype new password: ")
child.sendline(os.environ["NEW"])
want(r"app password was revoked with the old password")
want(r"sesame: password (changed|reset)\.")
child.expect(pexpect.EOF)
out.append(child.before)
child.close()
if child.exitstatus != 0:
    sys.exit("%s: exit %r, want 0; output:\n%s" % (scenario, child.exitstatus, "".join(out)))
PYEOF
drive() { TOOL="$TOOL" RUN_AS="$1" "$PY" "$IT_TMP/drive.py" "$2"; }
live_count() {
  admin app-password list "$1" --json |
    "$PY" -c 'import json,sys; print(sum(a["state"] == "active" for a in json.load(sys.stdin)))'
}
# ran_as_root USER WHAT: the hook ran for USER, and only ever as root.
ran_as_root() {
  local log="$IT_TMP/rec/revoke.log" lines
  [ -s "$log" ] || fail "$2: on_revoke_command did not run (no record); the tool's log said nothing here"
  lines=$(grep -c "^$1 " "$log" || true)
  [ "$lines" -eq 1 ] || fail "$2: on_revoke_command ran $lines times for $1:"$'\n'"$(cat "$log")"
  grep -q "^$1 0 0 0$" "$log" ||
    fail "$2: on_revoke_command ran with uids (real effective saved) $(grep "^$1 " "$log"), want 0 0 0"
}

[ "$(live_count "$USER_A")" = 1 ] || fail "the app password of $USER_A is not live"
OLD="$PW_A" NEW="$PW_A_NEW" drive "$USER_A" change || fail "sesame passwd"
ran_as_root "$USER_A" "sesame passwd"
[ "$(live_count "$USER_A")" = 0 ] || fail "sesame passwd left an app password of $USER_A live"
pass "sesame passwd: the app passwords revoked, on_revoke_command run as root (uids 0 0 0)"

[ "$(live_count "$USER_B")" = 1 ] || fail "the app password of $USER_B is not live"
left=$((30 - $(date +%s) % 30))
[ "$left" -lt 8 ] && sleep "$left"
CODE=$(oathtool --totp -b "$KEY_B32") || fail "oathtool"
CODE="$CODE" RECOVERY="${RECOVERY[0]}" NEW="$PW_B_NEW" drive "$USER_B" forgot ||
  fail "sesame passwd --forgot"
ran_as_root "$USER_B" "sesame passwd --forgot"
[ "$(live_count "$USER_B")" = 0 ] || fail "sesame passwd --forgot left an app password of $USER_B live"
pass "sesame passwd --forgot: the app passwords revoked, on_revoke_command run as root (uids 0 0 0)"
