#!/bin/bash
# banned_passwords_file may be root's alone (mode 0600: sesame.conf(5) only
# asks for root-owned, not group/other-writable). `sesame passwd`, the
# setuid tool run by an ordinary user on a pty (pexpect), reads it as root:
# a password with a word from it is refused as banned ("BAD PASSWORD: it
# contains a banned word"), never "cannot be checked now", and a fine
# password is then accepted (proved through PAM with pamtester).
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init
USER_A="sesban-a-$$"
BANNED="$IT_TMP/banned.txt"
printf '# site list\nzanzibar\n' >"$BANNED"
chown root:root "$BANNED"
chmod 0600 "$BANNED"
printf 'banned_passwords_file = %s\n' "$BANNED" >>"$IT_CONF"
tool_install

tool_make_users "$USER_A"
PW_A="alpha-banned-pass-1"
PW_A_NEW="alpha-banned-pass-2"
tool_add_user "$USER_A" "$PW_A"
# The user cannot read the file (so the tool must read it as root).
! runuser -u "$USER_A" -- cat "$BANNED" >/dev/null 2>&1 || fail "the banned file is readable by $USER_A"

it_service sesame-check "auth required $SESAME_MODULE" "account required $SESAME_MODULE"
pam_ok() { printf '%s\n' "$2" | it_pamtester sesame-check "$1" authenticate >/dev/null 2>&1; }

cat >"$IT_TMP/drive.py" <<'PYEOF'
import os, sys
import pexpect

tool, user = os.environ["TOOL"], os.environ["RUN_AS"]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}
child = pexpect.spawn("runuser", ["-u", user, "--", tool, "passwd"], env=env, timeout=60,
                      encoding="utf-8", codec_errors="replace")
out = []

def want(pattern):
    try:
        child.expect(pattern)
    except (pexpect.EOF, pexpect.TIMEOUT):
        sys.exit("waited for %r; output:\n%s%s" % (pattern, "".join(out), child.before or ""))
    out.append(child.before + child.after)

want("Current password: ")
child.sendline(os.environ["OLD"])
want("New password: ")
child.sendline(os.environ["BANNED_PW"])
want("Retype new password: ")
child.sendline(os.environ["BANNED_PW"])
want(r"BAD PASSWORD: it contains a banned word \(banned_passwords_file\)")
want("New password: ")  # asked again
child.sendline(os.environ["NEW"])
want("Retype new password: ")
child.sendline(os.environ["NEW"])
want(r"sesame: password changed\.")
child.expect(pexpect.EOF)
out.append(child.before)
child.close()
if child.exitstatus != 0:
    sys.exit("exit %r, want 0; output:\n%s" % (child.exitstatus, "".join(out)))
PYEOF
TOOL="$TOOL" RUN_AS="$USER_A" OLD="$PW_A" BANNED_PW="my-Zanzibar-2026" NEW="$PW_A_NEW" \
  "$PY" "$IT_TMP/drive.py" || fail "sesame passwd with a root-only banned file"
pam_ok "$USER_A" "$PW_A_NEW" || fail "PAM refuses the new password"
! pam_ok "$USER_A" "my-Zanzibar-2026" || fail "PAM accepts the banned password"
[ "$(stat -c %a "$BANNED")" = 600 ] || fail "the banned file's mode changed"
pass "banned file 0600 root: sesame passwd refuses a banned word as banned, then accepts a fine password"
