#!/bin/bash
# `sesame passwd --forgot`, the setuid tool run by an ordinary user on a pty
# (pexpect): with self_service_reset on, a user enrolled with an
# authenticator (a known key; codes from oathtool) gives a code and a
# recovery code and sets a new password, which then signs in through PAM
# (pamtester); a wrong code is refused (exit 6) with the refusal everyone
# gets; a user who registered nothing is refused the same way, and
# `sesame status` tells each what a reset needs.
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init oathtool
USER_A="sesfg-a-$$"
USER_B="sesfg-b-$$"
printf 'self_service_reset = yes\n' >>"$IT_CONF"
tool_install

tool_make_users "$USER_A" "$USER_B"
PW_A="alpha-forgot-pass-1"
PW_A_NEW="Violet tractor sings 42 loud"
tool_add_user "$USER_A" "$PW_A"
tool_add_user "$USER_B" "bravo-forgot-pass-2"
KEY_B32=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
tool_enroll "$USER_A" "$KEY_B32" 2

it_service sesame-check "auth required $SESAME_MODULE" "account required $SESAME_MODULE"
# The password, then a recovery code (the reset used the code's time step).
pam_ok() { printf '%s\n%s\n' "$2" "$3" | it_pamtester sesame-check "$1" authenticate >/dev/null 2>&1; }

cat >"$IT_TMP/drive.py" <<'PYEOF'
import os, sys
import pexpect

tool, user, scenario = os.environ["TOOL"], os.environ["RUN_AS"], sys.argv[1]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}
child = pexpect.spawn("runuser", ["-u", user, "--", tool, "passwd", "--forgot"], env=env,
                      timeout=60, encoding="utf-8", codec_errors="replace")
out = []

def want(pattern):
    try:
        child.expect(pattern)
    except (pexpect.EOF, pexpect.TIMEOUT):
        sys.exit("%s: waited for %r; output:\n%s%s" % (scenario, pattern, "".join(out),
                                                       child.before or ""))
    out.append(child.before + child.after)

def finish(code):
    child.expect(pexpect.EOF)
    out.append(child.before)
    child.close()
    if child.exitstatus != code:
        sys.exit("%s: exit %r, want %d; output:\n%s" % (scenario, child.exitstatus, code,
                                                          "".join(out)))

REFUSED = r"Your password was not reset: a code was not right, or this account has not registered"
want("Verification code: ")
child.sendline(os.environ["CODE"])
if scenario == "reset":
    want("Recovery code: ")
    child.sendline(os.environ["RECOVERY"])
    want("New password: ")
    child.sendline(os.environ["NEW"])
    want("Retype new password: ")
    child.sendline(os.environ["NEW"])
    want(r"sesame: password reset\.")
    finish(0)
elif scenario == "refused":
    want(REFUSED)
    finish(6)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF
drive() { TOOL="$TOOL" RUN_AS="$1" "$PY" "$IT_TMP/drive.py" "$2"; }
status_json() { runuser -u "$1" -- "$TOOL" status --json; }

# --- sesame status says who is ready
"$PY" - "$(status_json "$USER_A")" "$(status_json "$USER_B")" <<'PYEOF' ||
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["reset_enabled"] and a["reset_ready"] and a["reset_missing"] == [], a
assert b["reset_enabled"] and not b["reset_ready"], b
assert b["reset_missing"] == ["totp", "recovery_code"], b
PYEOF
  fail "sesame status --json does not say who can reset"
out=$(runuser -u "$USER_B" -- "$TOOL" status)
grep -q "^Forgotten password: no: it needs an authenticator app and recovery codes (set them up: sesame mfa enroll)" <<<"$out" ||
  fail "status of a user who registered nothing: $out"
pass "sesame status: ready with an authenticator and recovery codes; the other told what to set up"

# --- a wrong code, and a user who registered nothing: the same refusal
left=$((30 - $(date +%s) % 30))
[ "$left" -lt 8 ] && sleep "$left"
CODE=$(oathtool --totp -b "$KEY_B32") || fail "oathtool"
WRONG="${CODE:0:5}$(((${CODE:5:1} + 5) % 10))"
CODE="$WRONG" drive "$USER_A" refused || fail "a wrong code"
CODE="$CODE" drive "$USER_B" refused || fail "a user who registered nothing"
pam_ok "$USER_A" "$PW_A" "${RECOVERY[1]}" || fail "the password changed after a refused reset"
pass "a wrong code and an unregistered user get the same refusal (exit 6); nothing changed"

# --- the reset
left=$((30 - $(date +%s) % 30))
[ "$left" -lt 8 ] && sleep "$left"
CODE=$(oathtool --totp -b "$KEY_B32") || fail "oathtool"
CODE="$CODE" RECOVERY="${RECOVERY[0]}" NEW="$PW_A_NEW" drive "$USER_A" reset ||
  fail "sesame passwd --forgot"
pam_ok "$USER_A" "$PW_A_NEW" "${RECOVERY[2]}" || fail "PAM refuses the new password"
! pam_ok "$USER_A" "$PW_A" "${RECOVERY[3]}" || fail "PAM still accepts the old password"
json=$(admin user show "$USER_A" --json) || fail "user show"
"$PY" - "$json" <<'PYEOF' || fail "after the reset: $json"
import json, sys
u = json.loads(sys.argv[1])
assert u["must_change"] is False, u
# enroll made 10; the reset used one, the two sign-ins above one each.
assert u["recovery_codes_left"] == 7, u
PYEOF
pass "sesame passwd --forgot: code, recovery code, new password; the new one signs in, the old one not"
