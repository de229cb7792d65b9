#!/bin/bash
# sesame app-password create | list | revoke and sesame-admin app-password,
# through the real setuid tool run by an ordinary user on a pty (pexpect,
# sesame_app_password.py), codes from oathtool, QR codes decoded by zbarimg,
# and sign-ins through pam_sesame.so mode=app_password (pamtester with
# pam_wrapper, on a pty). Checked:
#  - bad NAME (empty, 65 bytes, 100 kB, a control character, not UTF-8),
#    bad --expires, bad --services: exit 2 before any prompt, nothing made;
#  - a user without MFA under app_passwords_for = mfa_users: exit 5 before
#    any prompt, pointing to 'sesame mfa enroll';
#  - a wrong code: exit 6, nothing shown, nothing made;
#  - create with password + code, --qr-png, --qr-svg and --copy on a UTF-8
#    terminal: the shown app password is 24 letters in groups of four; the
#    half-block drawing, the PNG and the SVG decode to exactly it; the files
#    are the user's, 0600; the OSC 52 sequence carries it;
#  - it signs in through PAM (imap, one prompt, with spaces or without), not
#    on a service it does not allow; the main password of the MFA user does
#    not; list shows last used and from where, never the secret;
#  - a duplicate name (exit 4) and a third one at app_password_max = 2
#    (exit 5), before any prompt; status counts them;
#  - revoke NAME: it no longer signs in; an unknown name is exit 3; --all;
#  - sesame-admin app-password create --json / list --json / revoke, user
#    show (the name, never the secret), and password reset revoking all.
#
# NUL cannot be passed in argv (the kernel ends the string there), and one
# argument is limited to 128 kB (MAX_ARG_STRLEN): the longest NAME tried is
# 100 kB.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init oathtool zbarimg
USER_A="sesap-a-$$"
USER_B="sesap-b-$$"
printf 'totp_window = 10\napp_password_max = 2\n' >>"$IT_CONF"

tool_install

PW_A="alpha-app-pass-1"
PW_B="bravo-app-pass-1"
KEY_A="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
tool_make_users "$USER_A" "$USER_B"
tool_add_user "$USER_A" "$PW_A"
tool_add_user "$USER_B" "$PW_B"
printf '%s\n' "$KEY_A" | admin mfa enroll "$USER_A" --secret-stdin >/dev/null

HOME_A="$IT_TMP/home-a"
HOME_B="$IT_TMP/home-b"
install -d -m 0700 -o "$USER_A" "$HOME_A"
install -d -m 0700 -o "$USER_B" "$HOME_B"

for svc in imap pop3; do
  it_service "$svc" "auth required $SESAME_MODULE mode=app_password" \
    "account required $SESAME_MODULE"
done

DRIVER="$(dirname "$0")/sesame_app_password.py"
echo -240 >"$IT_TMP/offset"
OUT="$IT_TMP/out.json"
# drive_a / drive_b SCENARIO ARGS...: the driver as that user.
drive_as() {
  local who=$1 home=$2 pw=$3 key=$4
  shift 4
  TOOL="$TOOL" RUN_AS="$who" HOME_DIR="$home" PW="$pw" KEY="$key" OFFSET_FILE="$IT_TMP/offset" \
    OUT="$OUT" PAM_DIR="$IT_TMP/pam.d" PAM_PRELOAD="$(it_preload libpam_wrapper.so)" \
    "$PY" "$DRIVER" "$@"
}
drive_a() { drive_as "$USER_A" "$HOME_A" "$PW_A" "$KEY_A" "$@"; }
drive_b() { drive_as "$USER_B" "$HOME_B" "$PW_B" "" "$@"; }
as_a() { (cd "$HOME_A" && runuser -u "$USER_A" -- "$@"); }
json_get() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT" "$1"; }
live_names() {
  as_a "$TOOL" app-password list --json |
    "$PY" -c 'import json,sys; print(",".join(a["name"] for a in json.load(sys.stdin)))'
}

# --- bad input: exit 2, no prompt, nothing made
long=$(head -c 65 /dev/zero | tr '\0' a)
huge=$(head -c 100000 /dev/zero | tr '\0' a)
for bad in "" "   " "$long" "$huge" "$(printf 'a\tb')" "$(printf 'a\033[2Jb')" "$(printf 'a\nb')" \
  "$(printf 'caf\xe9')" "$(printf '\xc2\x85x')"; do
  rc=0; err=$(as_a "$TOOL" app-password create -- "$bad" 2>&1 </dev/null) || rc=$?
  [ "$rc" -eq 2 ] || fail "NAME '${bad:0:20}': exit $rc, want 2: ${err:0:300}"
  grep -q "^sesame: error: app password name" <<<"$err" || fail "NAME '${bad:0:20}': no clear error: ${err:0:300}"
  [ "${#err}" -lt 1000 ] || fail "NAME '${bad:0:20}': the error echoes the whole name"
done
for bad in 0d 3651d 2020-01-01 2027-02-30 tomorrow "" "90d$(printf '\033')"; do
  rc=0; err=$(as_a "$TOOL" app-password create Phone --expires "$bad" 2>&1 </dev/null) || rc=$?
  [ "$rc" -eq 2 ] && grep -q "^sesame: error: --expires" <<<"$err" ||
    fail "--expires '$bad': exit $rc, want 2 with a clear error: $err"
done
for bad in "IMAP!" "" "imap,imap" "$(printf 'imap\x01')"; do
  rc=0; err=$(as_a "$TOOL" app-password create Phone --services "$bad" 2>&1 </dev/null) || rc=$?
  [ "$rc" -eq 2 ] && grep -q "^sesame: error: .*servic" <<<"$err" ||
    fail "--services '$bad': exit $rc, want 2 with a clear error: $err"
done
rc=0; err=$(as_a "$TOOL" app-password create 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 2 ] || fail "create without NAME: exit $rc: $err"
rc=0; err=$(as_a "$TOOL" app-password create a b 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 2 ] || fail "create with two NAMEs: exit $rc: $err"
rc=0; out=$(drive_a noprompt app-password create Phone --expires 2020-01-01) || rc=$?
[ "$rc" -eq 2 ] || fail "bad --expires on a terminal: exit $rc, want 2: $out"
[ -z "$(live_names)" ] || fail "bad input made an app password: $(live_names)"
pass "bad NAME, --expires, --services (empty, long, control characters, not UTF-8): exit 2, no prompt, nothing made"

# --- a user without MFA under app_passwords_for = mfa_users
rc=0; out=$(drive_b noprompt app-password create Phone) || rc=$?
[ "$rc" -eq 5 ] && grep -q "sesame mfa enroll" <<<"$out" ||
  fail "a user without MFA: exit $rc, want 5 pointing to 'sesame mfa enroll': $out"
pass "no MFA under app_passwords_for = mfa_users: exit 5 before any prompt, says to run 'sesame mfa enroll'"

# --- a wrong code: nothing shown, nothing made
rc=0; out=$(drive_a create-wrong Phone) || rc=$?
[ "$rc" -eq 6 ] || fail "a wrong code: exit $rc, want 6: $out"
[ -z "$(live_names)" ] || fail "a wrong code made an app password"
pass "a wrong code: exit 6, nothing shown or made"

# --- create, with both files and --copy, half blocks on a UTF-8 terminal
DRIVE_TERM=xterm drive_a create Thunderbird --services imap,submission --expires 90d \
  --copy --qr-png tb.png --qr-svg tb.svg || fail "create scenario"
SECRET=$(json_get secret)
[[ "$SECRET" =~ ^[a-z]{4}( [a-z]{4}){5}$ ]] || fail "the app password '$SECRET' is not 6 groups of 4 letters"
json_get drawing >"$IT_TMP/blocks.txt"
grep -q $'\u2580' "$IT_TMP/blocks.txt" || fail "no half blocks on a UTF-8 terminal"
decoded=$("$PY" "$(dirname "$0")/sesame_app_password_zbar.py" "$IT_TMP/blocks.txt")
[ "$decoded" = "$SECRET" ] || fail "the terminal QR code decodes to '$decoded', not '$SECRET'"
decoded=$(zbarimg --raw -q "$HOME_A/tb.png" 2>"$IT_TMP/zbar.err") ||
  fail "zbarimg cannot read tb.png: $(cat "$IT_TMP/zbar.err")"
[ "$decoded" = "$SECRET" ] || fail "tb.png decodes to '$decoded', not the shown '$SECRET'"
for f in tb.png tb.svg; do
  owner=$(stat -c '%U %a' "$HOME_A/$f")
  [ "$owner" = "$USER_A 600" ] || fail "$f is '$owner', want '$USER_A 600'"
done
if convert "$HOME_A/tb.svg" "$IT_TMP/tb-svg.png" 2>/dev/null && [ -s "$IT_TMP/tb-svg.png" ]; then
  decoded=$(zbarimg --raw -q "$IT_TMP/tb-svg.png" 2>"$IT_TMP/zbar.err") ||
    fail "zbarimg cannot read the rendered tb.svg: $(cat "$IT_TMP/zbar.err")"
  [ "$decoded" = "$SECRET" ] || fail "tb.svg decodes to '$decoded', not '$SECRET'"
  svg_note="the SVG decodes too"
else
  svg_note="SVG not rendered (no ImageMagick SVG support)"
fi
osc=$(json_get osc52)
want_osc=$(printf '\033]52;c;%s\a' "$(printf '%s' "$SECRET" | base64 -w0)")
[ "$osc" = "$want_osc" ] || fail "--copy: OSC 52 is '$(printf '%q' "$osc")', want '$(printf '%q' "$want_osc")'"
pass "created with password + code: '$SECRET'; half blocks and tb.png decode to it ($USER_A, 0600); $svg_note; OSC 52 carries it"

# --copy without a terminal: said so (a create needs a terminal: checked
# through the message only, the create is refused before a prompt)
# --- list, status
out=$(as_a "$TOOL" app-password list)
grep -q "^Thunderbird  *imap,submission  *[0-9-]*T[0-9:]*Z  *[0-9-]*T[0-9:]*Z  *never  *-$" <<<"$out" ||
  fail "list: $out"
json=$(as_a "$TOOL" app-password list --json)
"$PY" - "$json" <<'PYEOF' || fail "list --json: $json"
import json, sys
l = json.loads(sys.argv[1])
assert len(l) == 1 and l[0]["name"] == "Thunderbird", l
assert l[0]["services"] == ["imap", "submission"] and l[0]["last_used"] == "never", l
assert "app_password" not in l[0] and "digest" not in l[0], l
PYEOF
for text in "$out" "$json" "$(as_a "$TOOL" status)" "$(admin user show "$USER_A" --json)"; do
  grep -q "${SECRET// /}\|$SECRET" <<<"$text" && fail "the app password is shown again: $text"
done
grep -q "^App passwords: 1 " <<<"$(as_a "$TOOL" status)" || fail "status: $(as_a "$TOOL" status)"
pass "list (text, --json) and status: name, services, dates, never the secret"

# --- sign in through PAM mode=app_password
drive_a pam imap "$SECRET" 192.0.2.7 >/dev/null || fail "imap: the app password is refused"
drive_a pam imap "$(tr 'a-z' 'A-Z' <<<"${SECRET// /-}")" >/dev/null ||
  fail "imap: the app password with dashes, upper case, is refused"
drive_a pam pop3 "$SECRET" >/dev/null && fail "pop3: an app password for imap,submission signs in"
rc=0; out=$(drive_a pam imap "$PW_A") || rc=$?
[ "$rc" -eq 1 ] || fail "imap: the main password of an MFA user signs in: $out"
grep -q "sesame app-password create" <<<"$out" || fail "imap: main password refused without saying why: $out"
out=$(as_a "$TOOL" app-password list)
grep -q "^Thunderbird .* 192\.0\.2\.7$" <<<"$out" || grep -q "^Thunderbird .*T[0-9:]*Z  *-$" <<<"$out" ||
  fail "list after a sign-in: no last use: $out"
grep -q "never  *-$" <<<"$out" && fail "list after a sign-in still says never used: $out"
pass "PAM mode=app_password: the app password signs in on imap (spaces, dashes, case ignored), not on pop3; the main password does not, and says why; list shows the last use"

# --- a duplicate name, a third one at app_password_max = 2
rc=0; out=$(drive_a noprompt app-password create Thunderbird) || rc=$?
[ "$rc" -eq 4 ] && grep -q "already have an app password named" <<<"$out" ||
  fail "a duplicate name: exit $rc, want 4: $out"
DRIVE_TERM=dumb drive_a create Phone || fail "a second app password"
PHONE=$(json_get secret)
json_get drawing >"$IT_TMP/ascii.txt"
decoded=$("$PY" "$(dirname "$0")/sesame_app_password_zbar.py" "$IT_TMP/ascii.txt")
[ "$decoded" = "$PHONE" ] || fail "the ASCII QR code (TERM=dumb) decodes to '$decoded', not '$PHONE'"
rc=0; out=$(drive_a noprompt app-password create Tablet) || rc=$?
[ "$rc" -eq 5 ] && grep -q "app_password_max = 2" <<<"$out" ||
  fail "a third app password at app_password_max = 2: exit $rc, want 5: $out"
[ "$(live_names)" = "Thunderbird,Phone" ] || fail "live app passwords: $(live_names)"
drive_a pam pop3 "$PHONE" >/dev/null || fail "pop3: an app password for all services is refused"
pass "a duplicate name: exit 4; at app_password_max = 2: exit 5, before any prompt; an app password for all services signs in on pop3; the ASCII QR code decodes"

# --- revoke
rc=0; out=$(as_a "$TOOL" app-password revoke Nope 2>&1) || rc=$?
[ "$rc" -eq 3 ] && grep -q "no app password named \"Nope\"" <<<"$out" || fail "revoke an unknown name: exit $rc: $out"
rc=0; out=$(as_a "$TOOL" app-password revoke 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "revoke without NAME or --all: exit $rc: $out"
rc=0; out=$(as_a "$TOOL" app-password revoke Phone --all 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "revoke NAME --all: exit $rc: $out"
out=$(as_a "$TOOL" app-password revoke Thunderbird </dev/null) || fail "revoke Thunderbird: $out"
grep -q "Revoked app password \"Thunderbird\"" <<<"$out" || fail "revoke: $out"
drive_a pam imap "$SECRET" >/dev/null && fail "imap: a revoked app password signs in"
[ "$(live_names)" = "Phone" ] || fail "after revoke: $(live_names)"
out=$(as_a "$TOOL" app-password revoke --all </dev/null) || fail "revoke --all: $out"
grep -q "Revoked 1 app password\." <<<"$out" || fail "revoke --all: $out"
drive_a pam pop3 "$PHONE" >/dev/null && fail "pop3: an app password revoked with --all signs in"
grep -q "^App passwords: 0$" <<<"$(as_a "$TOOL" status)" || fail "status after revoke: $(as_a "$TOOL" status)"
events=$(admin user show "$USER_A" --json)
grep -q '"method":"app-password:Thunderbird","outcome":"revoked"\|"outcome":"revoked"' <<<"$events" ||
  fail "no revoked event: $events"
pass "revoke NAME (no prompt): it stops signing in at once; unknown NAME exit 3; --all says how many; status counts 0"

# --- sesame-admin app-password
for bad in "" "$(printf 'a\tb')" "$huge"; do
  rc=0; err=$(admin app-password create "$USER_B" "$bad" 2>&1) || rc=$?
  [ "$rc" -eq 2 ] || fail "admin create NAME '${bad:0:20}': exit $rc: ${err:0:200}"
done
rc=0; err=$(admin app-password create "$USER_B" Mail --expires 0d 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--expires" <<<"$err" || fail "admin create --expires 0d: exit $rc: $err"
rc=0; err=$(admin app-password create nosuchuser-$$ Mail 2>&1) || rc=$?
[ "$rc" -eq 3 ] || fail "admin create for no such user: exit $rc: $err"
json=$(admin app-password create "$USER_B" Mail --services imap --json) || fail "admin create --json: $json"
ADMIN_SECRET=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["name"]=="Mail" and d["services"]==["imap"], d; print(d["app_password"])' "$json") ||
  fail "admin create --json: $json"
[[ "$ADMIN_SECRET" =~ ^[a-z]{4}( [a-z]{4}){5}$ ]] || fail "admin create --json: app_password '$ADMIN_SECRET'"
drive_b pam imap "$ADMIN_SECRET" >/dev/null || fail "imap: the admin-made app password is refused"
json=$(admin app-password list "$USER_B" --json)
"$PY" - "$json" <<'PYEOF' || fail "admin list --json: $json"
import json, sys
l = json.loads(sys.argv[1])
assert [a["name"] for a in l] == ["Mail"] and l[0]["state"] == "active", l
assert l[0]["last_used"] != "never", l
assert "app_password" not in l[0], l
PYEOF
out=$(admin user show "$USER_B")
grep -q "^app passwords:    1 active" <<<"$out" && grep -q "^  Mail " <<<"$out" || fail "user show: $out"
grep -q "$ADMIN_SECRET" <<<"$out$(admin user show "$USER_B" --json)$(admin app-password list "$USER_B")" &&
  fail "the admin-made app password is shown again"
out=$(admin app-password revoke "$USER_B" Mail) || fail "admin revoke: $out"
drive_b pam imap "$ADMIN_SECRET" >/dev/null && fail "imap: an app password revoked by the admin signs in"
rc=0; out=$(admin app-password revoke "$USER_B" Mail 2>&1) || rc=$?
[ "$rc" -eq 3 ] || fail "admin revoke twice: exit $rc: $out"
pass "sesame-admin app-password: bad input exit 2, create --json (app_password) signs in, list --json, user show (never the secret), revoke"

# --- password reset revokes them all
admin app-password create "$USER_B" One --json >/dev/null
json=$(admin app-password create "$USER_B" Two --json)
TWO=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["app_password"])' "$json")
json=$(admin password reset "$USER_B" --json) || fail "password reset: $json"
grep -q '"app_passwords_revoked":2' <<<"$json" || fail "password reset --json: $json"
drive_b pam imap "$TWO" >/dev/null && fail "imap: an app password signs in after a password reset"
json=$(admin app-password list "$USER_B" --json)
"$PY" -c 'import json,sys; l=json.loads(sys.argv[1]); assert all(a["state"]=="revoked" for a in l) and len(l)==3, l' "$json" ||
  fail "after the reset: $json"
pass "password reset revokes every app password (the JSON says 2), and they stop signing in"
