#!/bin/bash
# The system passwd(1) (shadow-utils, built with PAM) changing a Sesame
# user's password through a PAM service "passwd" that stacks pam_sesame.so.
# /etc/pam.d/passwd is never touched: pam_wrapper makes passwd read the
# service from the test's temp service dir. The user exists only for
# nss_wrapper (temp passwd/group files), not as a system account: passwd
# run by root looks the user up with getpwnam() and then hands everything to
# pam_chauthtok(), so nss_wrapper is enough and no useradd is needed.
#
# Run as root, passwd asks no current password (pam_chauthtok without
# PAM_CHANGE_EXPIRED_AUTHTOK and getuid() == 0). Checked: a change with one
# mismatched retype, the new password signs in and the old one does not, the
# change is recorded with service "passwd", /etc/shadow is unchanged; a new
# password the policy refuses three times makes passwd fail (exit 10) with
# "BAD PASSWORD: ..." and the password unchanged.
#
# Not tested here: a non-root user running passwd. passwd is setuid root;
# exec'ing it as another user is a secure exec, so the loader drops
# LD_PRELOAD and neither pam_wrapper nor nss_wrapper would be loaded (it
# would read /etc/pam.d/passwd). tests/integration/sesame_tool.sh covers a
# non-root change through the setuid `sesame passwd`.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import pexpect' 2>/dev/null || fail "python3-pexpect is not installed for $PY"
command -v pamtester >/dev/null || fail "pamtester is not installed"
PASSWD=/usr/bin/passwd
[ -x "$PASSWD" ] || fail "$PASSWD is missing (Debian: passwd)"
# The list is read whole first: with pipefail, `ldconfig -p | grep -q` fails
# whenever grep stops reading before ldconfig is done writing (SIGPIPE).
libs=$(ldconfig -p)
for lib in libpam_wrapper.so libnss_wrapper.so; do
  grep -qF "$lib" <<<"$libs" || fail "$lib is not installed (Debian: libpam-wrapper, libnss-wrapper)"
done

USER_P="sesit-pw-$$"

cleanup() {
  set +e
  [ -n "${IT_TMP:-}" ] && rm -rf "$IT_TMP"
}
trap cleanup EXIT

it_setup
admin() { "$SESAME_ADMIN" --config "$IT_CONF" "$@"; }

getent passwd "$USER_P" >/dev/null && fail "$USER_P exists as a system user already"

# nss_wrapper's view of the system: root (passwd looks up its caller) and the user.
uid=$((60000 + $$ % 5000))
cat >"$IT_TMP/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
$USER_P:x:$uid:$uid:Sesame passwd test:/nonexistent:/bin/sh
EOF
cat >"$IT_TMP/group" <<EOF
root:x:0:
$USER_P:x:$uid:
EOF

# The service a sysadmin would write for passwd (passwd itself only runs the
# password group; the auth and account lines are there for completeness).
it_service passwd \
  "auth required $SESAME_MODULE config=$IT_CONF" \
  "account required $SESAME_MODULE config=$IT_CONF" \
  "password required $SESAME_MODULE config=$IT_CONF"
it_service sesame-check \
  "auth required $SESAME_MODULE config=$IT_CONF" \
  "account required $SESAME_MODULE config=$IT_CONF"

PW_OLD="passwd-old-pass-1"
PW_NEW="passwd-new-pass-2"
printf '%s\n' "$PW_OLD" | admin user add "$USER_P" --password-stdin >/dev/null ||
  fail "sesame-admin user add $USER_P"

pam_ok() { printf '%s\n' "$2" | it_pamtester sesame-check "$1" authenticate >/dev/null 2>&1; }
assert_pw() { pam_ok "$1" "$2" || fail "$3: PAM refuses the password of $1 it should accept"; }
assert_not_pw() { ! pam_ok "$1" "$2" || fail "$3: PAM accepts a password of $1 it should refuse"; }

# The pty driver: passwd_drive.py SCENARIO; passwords come through the environment.
cat >"$IT_TMP/passwd_drive.py" <<'PYEOF'
import os, sys
import pexpect

user, new = os.environ["PW_USER"], os.environ.get("PW_NEW", "")
scenario = sys.argv[1]
env = {k: os.environ[k] for k in ("LD_PRELOAD", "PAM_WRAPPER", "PAM_WRAPPER_SERVICE_DIR",
                                  "PAM_WRAPPER_DISABLE_DEEPBIND", "UID_WRAPPER_DISABLE_DEEPBIND",
                                  "NSS_WRAPPER_PASSWD", "NSS_WRAPPER_GROUP", "ASAN_OPTIONS")}
env.update({"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb", "LC_ALL": "C"})
child = pexpect.spawn(os.environ["PASSWD"], [user], env=env, timeout=20, encoding="utf-8",
                      codec_errors="replace")


def expect(pattern):
    try:
        return child.expect(pattern)
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        sys.exit("%s: waited for %r, got %s; passwd said:\n%s"
                 % (scenario, pattern, type(e).__name__, child.before))


def first_prompt():
    # Root is not asked for the current password.
    i = expect(["Current password: ", "New password: "])
    if i == 0:
        sys.exit("%s: passwd run by root asked for the current password" % scenario)


def finish(want):
    expect(pexpect.EOF)
    child.close()
    if child.exitstatus != want:
        sys.exit("%s: passwd exit %r (signal %r), want %d; output:\n%s"
                 % (scenario, child.exitstatus, child.signalstatus, want, child.before))


if scenario == "change":
    first_prompt()
    child.sendline(new)
    expect("Retype new password: ")
    child.sendline(new + "x")
    expect("Sorry, passwords do not match")
    expect("New password: ")  # asked again
    child.sendline(new)
    expect("Retype new password: ")
    child.sendline(new)
    expect("passwd: password updated successfully")
    finish(0)
elif scenario == "refused":
    first_prompt()
    for attempt in range(3):
        if attempt > 0:
            expect("New password: ")
        child.sendline("short1")
        expect("Retype new password: ")
        child.sendline("short1")
        expect(r"BAD PASSWORD: it is shorter than 8")
    expect("passwd: Authentication token manipulation error")
    expect("passwd: password unchanged")
    finish(10)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF

# Under ASan, pam_wrapper must not dlopen libpam with RTLD_DEEPBIND. passwd
# clears LD_* from its environment first thing (shadow's sanitize_env()), so
# pam_wrapper 1.1.4 no longer sees libasan in LD_PRELOAD when it loads
# libpam, and the variable it then reads is UID_WRAPPER_DISABLE_DEEPBIND
# (sic; PAM_WRAPPER_DISABLE_DEEPBIND is not read by 1.1.4).
drive() {
  LD_PRELOAD="$(it_preload "libpam_wrapper.so libnss_wrapper.so")" PAM_WRAPPER=1 \
    PAM_WRAPPER_SERVICE_DIR="$IT_TMP/pam.d" PAM_WRAPPER_DISABLE_DEEPBIND=1 \
    UID_WRAPPER_DISABLE_DEEPBIND=1 \
    NSS_WRAPPER_PASSWD="$IT_TMP/passwd" NSS_WRAPPER_GROUP="$IT_TMP/group" \
    PASSWD="$PASSWD" PW_USER="$USER_P" timeout 60 "$PY" "$IT_TMP/passwd_drive.py" "$@"
}

shadow_sum() { sha256sum /etc/shadow | cut -d' ' -f1; }
shadow_before=$(shadow_sum)

assert_pw "$USER_P" "$PW_OLD" "before passwd"

# --- root changes the user's password: no current password asked
PW_NEW="$PW_NEW" drive change || fail "passwd change scenario"
assert_pw "$USER_P" "$PW_NEW" "after passwd"
assert_not_pw "$USER_P" "$PW_OLD" "after passwd (old password)"
show=$(admin user show "$USER_P" --json) || fail "sesame-admin user show $USER_P"
"$PY" - "$show" <<'PYEOF' || fail "the change is not recorded as a password-change by service passwd: $show"
import json, sys
u = json.loads(sys.argv[1])
assert any(e["outcome"] == "success" and e["method"] == "password-change" and
           e["service"] == "passwd" for e in u["recent_events"]), u
assert u["must_change"] is False, u
PYEOF
[ "$(shadow_sum)" = "$shadow_before" ] || fail "/etc/shadow changed during passwd"
pass "root's passwd USER: no current password asked, mismatch re-asked, new password works, old refused, /etc/shadow untouched"

# --- the policy refuses the new password three times: passwd fails, nothing changed
drive refused || fail "passwd refusal scenario"
assert_pw "$USER_P" "$PW_NEW" "after three refused new passwords"
[ "$(shadow_sum)" = "$shadow_before" ] || fail "/etc/shadow changed during a refused passwd"
pass "passwd with a too short password: BAD PASSWORD three times, exit 10, password unchanged"

# The user never became a system account.
getent passwd "$USER_P" >/dev/null && fail "$USER_P became a system user"
pass "the user existed only for nss_wrapper"
