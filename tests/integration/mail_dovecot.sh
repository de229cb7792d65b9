#!/bin/bash
# Real mail servers with pam_sesame.so: a private Dovecot 2.3 (IMAP, POP3,
# submission) and a private Postfix smtpd (SMTP AUTH through Dovecot's auth
# socket, `smtpd_sasl_type = dovecot`) on 127.0.0.1, both started and
# stopped here (mail_lib.sh; nothing under /etc/dovecot, /etc/postfix or
# /etc/pam.d is used). Dovecot's passdb is PAM with `%s`, so the PAM
# services are imap, pop3, submission and smtp; each names the built module
# by its path with this test's sesame.conf. The auth cache is off.
#
# Checked, with pam_sesame in mode=interactive (a user without an
# authenticator app): the right password signs in through IMAP (LOGIN, then
# SELECT INBOX), POP3 (USER/PASS), Dovecot's submission (AUTH PLAIN, then
# one message relayed through Postfix) and Postfix's smtpd (AUTH PLAIN,
# swaks); a wrong password is refused by each; the sign-in events name the
# service and 127.0.0.1.
#
# Dovecot only answers "Authentication failed" whatever PAM said (it does
# not pass PAM messages to mail clients), so why a login was refused is
# read from the sign-in events in the store.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/mail_lib.sh
source "$(dirname "$0")/mail_lib.sh"
command -v swaks >/dev/null || fail "swaks is missing (Debian: swaks)"
mail_init
started=$(date +%s.%N)

admin() { "$SESAME_ADMIN" --config "$IT_CONF" "$@"; }
# events USER: the user's sign-in events, one "service method outcome
# remote_host detail" a line (the detail last: it has spaces).
events() {
  "$PY" - "$IT_TMP/state/sesame.db" "$1" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute("SELECT service, method, outcome, remote_host, detail FROM events "
                      "WHERE user = ? ORDER BY id", (sys.argv[2],)):
    print(" ".join(r if r else "-" for r in row))
PYEOF
}
# expect_login PROTO USER PASSWORD ok|refused WHAT
expect_login() {
  local proto=$1 user=$2 pw=$3 want=$4 what=$5 out rc
  set +e
  out=$(mail_login "$proto" "$user" "$pw" 2>&1)
  rc=$?
  set -e
  case "$want:$rc" in
    ok:0 | refused:1) echo "  $proto $user: $(head -n 1 <<<"$out")" ;;
    *) fail_mail "$what: $proto login of $user gave exit $rc (wanted $want):"$'\n'"$out" ;;
  esac
}

# --- the Sesame user (no system account: Dovecot's userdb is static)
USER_A="sesmail-a-$$"
PW_A="mail-pass-alpha-1"
printf '%s\n' "$PW_A" | admin user add "$USER_A" --password-stdin >/dev/null ||
  fail "sesame-admin user add $USER_A"

# --- PAM stacks: pam_sesame in mode=interactive (today's mail setup)
for s in imap pop3 submission smtp; do
  mail_stack "$s" \
    "auth    required $SESAME_MODULE config=$IT_CONF mode=interactive" \
    "account required $SESAME_MODULE config=$IT_CONF"
done
mail_start

# --- the right password, through each protocol
for p in imap pop3 submission smtp; do
  expect_login "$p" "$USER_A" "$PW_A" ok "the right password (mode=interactive)"
done
MAIL_PW="$PW_A" mail_client submission "$MAIL_SUBM" "$USER_A" --send >"$IT_TMP/send.out" 2>&1 ||
  fail_mail "a message sent through submission (relayed by Postfix): $(cat "$IT_TMP/send.out")"
[ -d "$MAIL_D/home/$USER_A/Maildir" ] || fail_mail "no Maildir for $USER_A after SELECT INBOX"
out=$(mail_swaks "$MAIL_SMTP" "$USER_A" "$PW_A" 2>&1) ||
  fail_mail "swaks AUTH PLAIN to Postfix with the right password: exit $?"$'\n'"$out"
grep -qE '^<[-*~]* +235 ' <<<"$out" || fail_mail "swaks: no 235 from Postfix:"$'\n'"$out"
pass "the right password signs in through IMAP (and SELECT INBOX), POP3, submission (and relays a message through Postfix) and Postfix AUTH PLAIN (smtplib and swaks)"

# --- a wrong password, through each protocol
for p in imap pop3 submission smtp; do
  expect_login "$p" "$USER_A" "wrong-$PW_A" refused "a wrong password (mode=interactive)"
done
set +e
out=$(mail_swaks "$MAIL_SMTP" "$USER_A" "wrong-$PW_A" 2>&1)
rc=$?
set -e
[ "$rc" = 28 ] || fail_mail "swaks AUTH PLAIN to Postfix with a wrong password: exit $rc, not 28 (AUTH refused)"$'\n'"$out"
grep -qE '^<[-*~]* +535 ' <<<"$out" || fail_mail "swaks: no 535 from Postfix:"$'\n'"$out"
pass "a wrong password is refused through IMAP, POP3, submission and Postfix"

# --- the events: service, outcome and 127.0.0.1 for each
ev=$(events "$USER_A") || fail "cannot read the events from $IT_TMP/state/sesame.db"
"$PY" - "$ev" <<'PYEOF' || fail "the mail sign-ins are not recorded as expected:"$'\n'"$ev"
import collections, sys
ev = [l.split(" ", 4) for l in sys.argv[1].splitlines()]
count = collections.Counter((e[0], e[2]) for e in ev)
assert all(e[3] == "127.0.0.1" for e in ev), ev
# imap, pop3: 1 each way; submission: 2 right (one with --send); smtp: 2
# right, 2 wrong (smtplib and swaks). The same wrong password is one
# failure per service.
want = {("imap", "success"): 1, ("pop3", "success"): 1, ("submission", "success"): 2,
        ("smtp", "success"): 2, ("imap", "failure"): 1, ("pop3", "failure"): 1,
        ("submission", "failure"): 1, ("smtp", "failure"): 2}
assert dict(count) == want, dict(count)
PYEOF
pass "each sign-in is an event with its service (imap, pop3, submission, smtp) and 127.0.0.1"

grep -E 'Fatal|Panic|segfault' "$MAIL_D/dovecot.log" && fail_mail "Dovecot logged a fatal error"
grep -E 'fatal|panic' "$MAIL_P/maillog" && fail_mail "Postfix logged a fatal error"
t0=$(date +%s.%N)
mail_stop
pgrep -f "$MAIL_W" >/dev/null && fail "processes of the private instances are left: $(pgrep -af "$MAIL_W")"
pass "Dovecot and Postfix stopped in $("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)") s; the whole test took $("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$started" "$(date +%s.%N)") s"
