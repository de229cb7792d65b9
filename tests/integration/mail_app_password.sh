#!/bin/bash
# App passwords through real mail servers: a private Dovecot 2.3 (IMAP,
# POP3, submission) and a private Postfix smtpd (SMTP AUTH through Dovecot's
# auth socket) on 127.0.0.1, started and stopped here (mail_lib.sh; nothing
# under /etc/dovecot, /etc/postfix or /etc/pam.d is used). The PAM services
# imap, pop3, submission and smtp each have the stack of
# conf/pam.d/imap.example, with the built module and this test's config:
#   auth    required pam_sesame.so mode=app_password config=...
#   account required pam_sesame.so config=...
#
# Checked, for a user with an authenticator (sesame-admin mfa enroll) and
# app passwords made with sesame-admin app-password create:
#  - an app password signs in through IMAP (LOGIN, SELECT INBOX), POP3
#    (USER/PASS), Dovecot's submission (AUTH PLAIN, and a message relayed
#    through Postfix) and Postfix (AUTH PLAIN: smtplib and swaks); each
#    sign-in is an event with method app-password:NAME, the service and
#    127.0.0.1; typed in upper case, with dashes or without spaces it still
#    signs in;
#  - that user's main password is refused by each, and the event's outcome
#    is app-password-required (app_password_main_password = deny_if_mfa,
#    the default); a user without MFA signs in with the main password;
#  - an app password made with --services imap signs in to IMAP, not to
#    submission or Postfix;
#  - sign-in activity after a known sequence over IMAP and Postfix, read
#    with sesame-admin activity --json and with the user's own setuid
#    `sesame activity --json` (run as that user, with a private
#    /etc/security/sesame.conf in a mount namespace of its own): methods
#    with the app password's name, services, 127.0.0.1, outcomes, the
#    new-host mark only on the first success from it, newest first;
#  - with Dovecot's auth cache off, a revoked app password fails at its next
#    login, on every service;
#  - a forced change (sesame-admin password reset) is refused by Dovecot and
#    Postfix as "Password expired" (PAM_NEW_AUTHTOK_REQD from the account
#    group), for the main password and for an app password made after the
#    reset; the reset revoked the app passwords made before it;
#  - with the auth cache on (cache_key=%u%s, auth_cache_negative_ttl = 0,
#    as conf/dovecot.example says): a repeated login is answered from the
#    cache (no new event), so a revoked app password keeps working when
#    nothing flushes the cache; with on_revoke_command = /usr/bin/doveadm -c
#    <this Dovecot's config> auth cache flush %u, the revoked one fails at
#    once; after a refusal, a new app password signs in at once.
#
# Why a login was refused is read from the sign-in events (sesame-admin user
# show --json, sesame-admin activity --json): Dovecot answers only
# "Authentication failed".
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/mail_lib.sh
source "$(dirname "$0")/mail_lib.sh"
command -v swaks >/dev/null || fail "swaks is missing (Debian: swaks)"
command -v doveadm >/dev/null || fail "doveadm is missing (Debian: dovecot-core)"
mail_init
started=$(date +%s.%N)

admin() { "$SESAME_ADMIN" --config "$IT_CONF" "$@"; }
"$SESAME_ADMIN" help | grep -q 'app-password create' ||
  fail "sesame-admin has no 'app-password create' command"
elapsed() { "$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }

# make_app_password USER NAME [OPTIONS...]: prints the new app password.
make_app_password() {
  local user=$1 name=$2 json
  shift 2
  json=$(admin app-password create "$user" "$name" "$@" --json) ||
    fail "sesame-admin app-password create $user $name $*: exit $?"
  "$PY" -c '
import json, re, sys
v = json.loads(sys.argv[1])
if isinstance(v, list):
    v = v[0]
p = v["app_password"]
assert re.fullmatch(r"[a-z]{4}( [a-z]{4}){5}", p), "not 24 letters in groups of four"
print(p)' "$json" || fail "app-password create --json printed no app_password: $json"
}

# last_event USER: "service method outcome remote_host" of the user's newest
# sign-in event, from sesame-admin user show --json.
last_event() {
  admin user show "$1" --json | "$PY" -c '
import json, sys
e = json.load(sys.stdin)["recent_events"][-1]
print(" ".join(e[k] or "-" for k in ("service", "method", "outcome", "remote_host")))'
}
# expect_event USER "SERVICE METHOD OUTCOME REMOTE" WHAT
expect_event() {
  local got
  got=$(last_event "$1") || fail "sesame-admin user show $1 --json failed"
  [ "$got" = "$2" ] || fail_mail "$3: the newest event of $1 is '$got', not '$2'"
}
# success_count USER: how many of USER's sign-ins succeeded (sesame-admin
# activity; a login answered from Dovecot's auth cache records none).
success_count() {
  admin activity --user "$1" --outcome success --limit 10000 --json |
    "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["events"]))'
}
# expect_detail USER TEXT WHAT: the newest event's detail (sesame-admin
# activity) says TEXT.
expect_detail() {
  local got
  got=$(admin activity --user "$1" --limit 1 --json |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["events"][0]["detail"])') ||
    fail "sesame-admin activity --user $1 --json failed"
  [[ $got == *"$2"* ]] || fail_mail "$3: the newest event of $1 says '$got', not '$2'"
}
# app_password_field USER NAME FIELD: FIELD of app password NAME in
# sesame-admin app-password list USER --json.
app_password_field() {
  admin app-password list "$1" --json | "$PY" -c '
import json, sys
print([a for a in json.load(sys.stdin) if a["name"] == sys.argv[1]][0][sys.argv[2]])' "$2" "$3"
}

# expect_login PROTO USER PASSWORD ok|refused|expired WHAT: one login; for
# refused, Dovecot's "Authentication failed"; for expired, its "Password
# expired" (PAM_NEW_AUTHTOK_REQD).
expect_login() {
  local proto=$1 user=$2 pw=$3 want=$4 what=$5 out rc
  set +e
  out=$(mail_login "$proto" "$user" "$pw" 2>&1)
  rc=$?
  set -e
  case "$want:$rc" in
    ok:0) ;;
    refused:1) grep -q 'Password expired' <<<"$out" && fail_mail "$what: $proto: 'Password expired', wanted a plain refusal: $out" ;;
    expired:1) grep -q 'Password expired' <<<"$out" || fail_mail "$what: $proto: refused, but not as 'Password expired': $out" ;;
    *) fail_mail "$what: $proto login of $user gave exit $rc (wanted $want):"$'\n'"$out" ;;
  esac
  echo "  $proto $user: $(head -n 1 <<<"$out")"
}
# expect_swaks USER PASSWORD ok|refused WHAT: AUTH PLAIN to Postfix with swaks.
expect_swaks() {
  local out rc
  set +e
  out=$(mail_swaks "$MAIL_SMTP" "$1" "$2" 2>&1)
  rc=$?
  set -e
  case "$3:$rc" in
    ok:0) grep -qE '^<[-*~]* +235 ' <<<"$out" || fail_mail "$4: swaks: no 235 from Postfix:"$'\n'"$out" ;;
    refused:28) grep -qE '^<[-*~]* +535 ' <<<"$out" || fail_mail "$4: swaks: no 535 from Postfix:"$'\n'"$out" ;;
    *) fail_mail "$4: swaks AUTH PLAIN of $1 to Postfix: exit $rc (wanted $3)"$'\n'"$out" ;;
  esac
  echo "  smtp (swaks) $1: $(grep -E '^<[-*~]* +(235|535) ' <<<"$out" | head -n 1)"
}

PROTOS=(imap pop3 submission smtp)

# --- users: M and R with an authenticator; N without MFA
USER_M="sesap-m-$$" PW_M="mail-main-pass-m1"
USER_N="sesap-n-$$" PW_N="mail-main-pass-n1"
USER_R="sesap-r-$$" PW_R="mail-main-pass-r1"
for u in "$USER_M:$PW_M" "$USER_N:$PW_N" "$USER_R:$PW_R"; do
  printf '%s\n' "${u#*:}" | admin user add "${u%%:*}" --password-stdin >/dev/null ||
    fail "sesame-admin user add ${u%%:*}"
done
for u in "$USER_M" "$USER_R"; do
  printf 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n' | admin mfa enroll --secret-stdin "$u" >/dev/null ||
    fail "sesame-admin mfa enroll --secret-stdin $u"
done

# --- the PAM stacks of conf/pam.d/{imap,pop3,submission,smtp}.example
for s in "${PROTOS[@]}"; do
  mail_stack "$s" \
    "auth    required $SESAME_MODULE config=$IT_CONF mode=app_password" \
    "account required $SESAME_MODULE config=$IT_CONF"
done
mail_start

# --- an app password (no --services: every service) signs in everywhere
AP_LAPTOP=$(make_app_password "$USER_M" laptop)
AP_PHONE=$(make_app_password "$USER_M" phone --services imap)
for p in "${PROTOS[@]}"; do
  expect_login "$p" "$USER_M" "$AP_LAPTOP" ok "an app password"
  expect_event "$USER_M" "$p app-password:laptop success 127.0.0.1" "an app password through $p"
done
MAIL_PW="$AP_LAPTOP" mail_client submission "$MAIL_SUBM" "$USER_M" --send >"$IT_TMP/send.out" 2>&1 ||
  fail_mail "a message sent through submission with an app password: $(cat "$IT_TMP/send.out")"
expect_swaks "$USER_M" "$AP_LAPTOP" ok "an app password"
[ -d "$MAIL_D/home/$USER_M/Maildir" ] || fail_mail "no Maildir for $USER_M after SELECT INBOX"
from=$(app_password_field "$USER_M" laptop last_used_from) || fail "sesame-admin app-password list $USER_M --json"
[ "$from" = 127.0.0.1 ] || fail "app-password list: laptop was last used from '$from', not 127.0.0.1"
pass "an app password signs in through IMAP (and SELECT INBOX), POP3, submission (and relays a message) and Postfix (smtplib, swaks); each event is app-password:laptop with its service and 127.0.0.1; app-password list says it was last used from 127.0.0.1"

# --- the same app password as people type it
upper=${AP_LAPTOP^^}
expect_login imap "$USER_M" "$upper" ok "in upper case, with spaces"
expect_event "$USER_M" "imap app-password:laptop success 127.0.0.1" "an app password in upper case"
expect_login smtp "$USER_M" "${upper// /-}" ok "in upper case, with dashes for spaces"
expect_event "$USER_M" "smtp app-password:laptop success 127.0.0.1" "an app password with dashes"
pass "typed in upper case, with spaces or with dashes, the app password still signs in (IMAP, Postfix)"

# --- the main password of a user with an authenticator: refused everywhere
for p in "${PROTOS[@]}"; do
  expect_login "$p" "$USER_M" "$PW_M" refused "the main password of an MFA user"
  expect_event "$USER_M" "$p app-password app-password-required 127.0.0.1" \
    "the main password of an MFA user through $p"
done
expect_detail "$USER_M" "an app password is required" "the main password of an MFA user"
expect_swaks "$USER_M" "$PW_M" refused "the main password of an MFA user"
pass "the main password of a user with an authenticator is refused by IMAP, POP3, submission and Postfix; each event says app-password-required"

# --- an app password for imap only
expect_login imap "$USER_M" "$AP_PHONE" ok "an app password for imap"
expect_event "$USER_M" "imap app-password:phone success 127.0.0.1" "an app password for imap"
for p in submission smtp; do
  expect_login "$p" "$USER_M" "$AP_PHONE" refused "an app password for imap only"
  expect_event "$USER_M" "$p app-password:phone failure 127.0.0.1" "an app password for imap only, through $p"
done
expect_detail "$USER_M" "is not for service smtp" "an app password for imap only, through smtp"
pass "an app password made with --services imap signs in to IMAP and is refused by submission and Postfix ('is not for service smtp')"

# --- a user without MFA: the main password (deny_if_mfa lets it through)
for p in imap smtp; do
  expect_login "$p" "$USER_N" "$PW_N" ok "the main password of a user without MFA"
  expect_event "$USER_N" "$p password success 127.0.0.1" "the main password of a user without MFA, $p"
done
pass "a user without MFA signs in with the main password through IMAP and Postfix (deny_if_mfa)"

# --- sign-in activity over Dovecot and Postfix, for the admin and for the
# user: USER_N so far has the two main-password successes above.
AP_N=$(make_app_password "$USER_N" tablet --services imap)
expect_login imap "$USER_N" "$AP_N" ok "an app password of a user without MFA"
expect_login smtp "$USER_N" "$AP_N" refused "an app password for imap only, through smtp"
expect_login imap "$USER_N" "not-the-password-$$" refused "a wrong password"
# activity_check FILE WHAT: FILE is `activity --json` of USER_N, all of it.
activity_check() {
  "$PY" - "$1" "$USER_N" <<'PY' || fail "$2: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
user = sys.argv[2]
ev = doc["events"]
got = [(e["service"], e["method"], e["method_words"], e["outcome"], e["remote_host"], e["new_host"])
       for e in ev]
want = [
    # not an app password of this user: checked as the main password
    ("imap", "password", "password", "failure", "127.0.0.1", False),
    ("smtp", "app-password:tablet", "app password tablet", "failure", "127.0.0.1", False),
    ("imap", "app-password:tablet", "app password tablet", "success", "127.0.0.1", False),
    ("sesame-admin", "app-password:tablet", "app password tablet", "created", "", False),
    ("smtp", "password", "password", "success", "127.0.0.1", False),
    ("imap", "password", "password", "success", "127.0.0.1", True),
]
if got != want:
    sys.exit("events of %s:\n  got  %r\n  want %r" % (user, got, want))
assert all(e["user"] == user for e in ev), ev
times = [e["time"] for e in ev]
assert times == sorted(times, reverse=True), times
PY
}
admin activity --user "$USER_N" --json >"$IT_TMP/n-admin.json" || fail "sesame-admin activity --user $USER_N --json"
activity_check "$IT_TMP/n-admin.json" "sesame-admin activity --json after IMAP and Postfix sign-ins"
# The user's own view: the setuid tool reads only /etc/security/sesame.conf,
# so it runs in a mount namespace of its own with this test's config bound
# there (as tool_lib.sh does); USER_N becomes a system user for it.
useradd -M -N -s /usr/sbin/nologin "$USER_N" || fail "useradd $USER_N"
trap 'userdel "$USER_N" 2>/dev/null; mail_cleanup' EXIT
etc="$IT_TMP/etc-security"
mkdir -m 0755 "$etc" "$IT_TMP/bin"
cp -a /etc/security/. "$etc/"
install -m 0644 -o root -g root "$IT_CONF" "$etc/sesame.conf"
install -m 4755 -o root -g root "${SESAME_TOOL:?SESAME_TOOL is not set (run through ctest)}" "$IT_TMP/bin/sesame"
unshare --mount --propagation private bash -c \
  'mount --bind "$1" /etc/security && cd / && runuser -u "$2" -- "$3" activity --json' \
  _ "$etc" "$USER_N" "$IT_TMP/bin/sesame" >"$IT_TMP/n-own.json" 2>"$IT_TMP/n-own.err" ||
  fail "sesame activity --json as $USER_N: $(cat "$IT_TMP/n-own.err")"
activity_check "$IT_TMP/n-own.json" "sesame activity --json (the user's own) after IMAP and Postfix sign-ins"
"$PY" -c 'import json, sys; assert json.load(open(sys.argv[1]))["user"] == sys.argv[2]' \
  "$IT_TMP/n-own.json" "$USER_N" || fail "sesame activity --json: not the caller's own"
pass "activity after IMAP and Postfix sign-ins (password, app password tablet made for imap only, a wrong one): sesame-admin activity --json and the user's own sesame activity --json agree on methods and names, services, 127.0.0.1, outcomes, the new-host mark (first success only), newest first"

# --- revoke, with the auth cache off: refused at the next login
admin app-password revoke "$USER_M" laptop >/dev/null || fail "sesame-admin app-password revoke $USER_M laptop"
[ "$(app_password_field "$USER_M" laptop state)" = revoked ] || fail "app-password list: laptop is not 'revoked'"
for p in "${PROTOS[@]}"; do
  expect_login "$p" "$USER_M" "$AP_LAPTOP" refused "a revoked app password (auth cache off)"
  expect_event "$USER_M" "$p app-password:laptop failure 127.0.0.1" "a revoked app password through $p"
done
expect_detail "$USER_M" "was revoked" "a revoked app password"
expect_login imap "$USER_M" "$AP_PHONE" ok "the app password not revoked"
pass "after sesame-admin app-password revoke, the app password is refused at once by IMAP, POP3, submission and Postfix (auth cache off); the other one still works"

# --- a forced change (administrator's reset): Dovecot says "Password expired"
printf 'mail-temp-pass-n2\n' | admin password reset --password-stdin "$USER_N" >/dev/null ||
  fail "sesame-admin password reset $USER_N"
for p in imap smtp; do
  expect_login "$p" "$USER_N" "mail-temp-pass-n2" expired "the temporary password after a reset"
  expect_event "$USER_N" "$p account must-change 127.0.0.1" "a forced change, through $p"
done
AP_R_OLD=$(make_app_password "$USER_R" old-phone)
expect_login imap "$USER_R" "$AP_R_OLD" ok "an app password before the reset"
printf 'mail-temp-pass-r2\n' | admin password reset --password-stdin "$USER_R" >/dev/null ||
  fail "sesame-admin password reset $USER_R"
expect_login imap "$USER_R" "$AP_R_OLD" refused "an app password made before a reset (revoked by it)"
expect_event "$USER_R" "imap app-password:old-phone failure 127.0.0.1" "an app password made before a reset"
AP_R_NEW=$(make_app_password "$USER_R" new-phone)
for p in pop3 submission; do
  expect_login "$p" "$USER_R" "$AP_R_NEW" expired "an app password of a user who must change the password"
  expect_event "$USER_R" "$p account must-change 127.0.0.1" "an app password, forced change, through $p"
done
pass "after an administrator's reset, Dovecot and Postfix refuse as 'Password expired' (PAM_NEW_AUTHTOK_REQD) the temporary password (IMAP, Postfix) and an app password made after the reset (POP3, submission); the reset revoked the older app password"

# --- the auth cache on: a revoked app password is refused at once only
# when on_revoke_command flushes the cache
t0=$(date +%s.%N)
MAIL_AUTH_CACHE=1
mail_reload
echo "  Dovecot reloaded with the auth cache on in $(elapsed "$t0") s"
FLUSH_CONF="$IT_TMP/sesame-flush.conf"
cp "$IT_CONF" "$FLUSH_CONF"
printf 'on_revoke_command = %s -c %s auth cache flush %%u\n' "$(command -v doveadm)" "$MAIL_D/dovecot.conf" \
  >>"$FLUSH_CONF"
chmod 0644 "$FLUSH_CONF"
AP_A=$(make_app_password "$USER_M" cached-a)
AP_B=$(make_app_password "$USER_M" cached-b)
expect_login imap "$USER_M" "$AP_A" ok "an app password (auth cache on)"
n=$(success_count "$USER_M")
expect_login imap "$USER_M" "$AP_A" ok "an app password again (auth cache on)"
[ "$(success_count "$USER_M")" = "$n" ] ||
  fail_mail "the second IMAP login with the same app password reached PAM: Dovecot's auth cache is not in use"
admin app-password revoke "$USER_M" cached-a >/dev/null || fail "sesame-admin app-password revoke $USER_M cached-a"
expect_login imap "$USER_M" "$AP_A" ok "a revoked app password, answered from the cache (no on_revoke_command)"
[ "$(success_count "$USER_M")" = "$n" ] || fail_mail "the login after the revoke reached PAM"
echo "  (the cache on and nothing flushing it: the revoked app password still signs in)"
# After a refusal, another password for the same key goes to PAM again
# (auth_cache_negative_ttl = 0; with Dovecot's default of 1 hour, the cache
# would refuse a new app password without asking PAM).
expect_login imap "$USER_M" "$AP_LAPTOP" refused "an app password revoked long ago (auth cache on)"
AP_C=$(make_app_password "$USER_M" cached-c)
expect_login imap "$USER_M" "$AP_C" ok "a new app password right after a refusal (auth cache on)"
expect_event "$USER_M" "imap app-password:cached-c success 127.0.0.1" "a new app password (auth cache on)"
for p in pop3 smtp; do
  expect_login "$p" "$USER_M" "$AP_B" ok "an app password (auth cache on)"
  n=$(success_count "$USER_M")
  expect_login "$p" "$USER_M" "$AP_B" ok "an app password again (auth cache on)"
  [ "$(success_count "$USER_M")" = "$n" ] ||
    fail_mail "the second $p login with the same app password reached PAM: it is not in the auth cache"
done
"$SESAME_ADMIN" --config "$FLUSH_CONF" app-password revoke "$USER_M" cached-b >/dev/null ||
  fail "sesame-admin app-password revoke $USER_M cached-b (with on_revoke_command)"
for p in pop3 smtp; do
  expect_login "$p" "$USER_M" "$AP_B" refused "a revoked app password (auth cache on, flushed by on_revoke_command)"
  expect_event "$USER_M" "$p app-password:cached-b failure 127.0.0.1" "a revoked app password, cache flushed, $p"
done
[ "$(success_count "$USER_M")" = "$n" ] || fail_mail "a revoked app password signed in after the flush"
expect_login imap "$USER_M" "$AP_C" ok "the app password not revoked, after the flush"
pass "with the auth cache on (cache_key=%u%s, auth_cache_negative_ttl = 0) a revoked app password keeps working from the cache unless something flushes it; with on_revoke_command = doveadm -c <config> auth cache flush %u it is refused at once; a new app password works at once after a refusal"

grep -E 'Fatal|Panic|segfault' "$MAIL_D/dovecot.log" && fail_mail "Dovecot logged a fatal error"
grep -E 'fatal|panic' "$MAIL_P/maillog" && fail_mail "Postfix logged a fatal error"
t0=$(date +%s.%N)
mail_stop
pgrep -f "$MAIL_W" >/dev/null && fail "processes of the private instances are left: $(pgrep -af "$MAIL_W")"
pass "Dovecot and Postfix stopped in $(elapsed "$t0") s; the whole test took $(elapsed "$started") s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
