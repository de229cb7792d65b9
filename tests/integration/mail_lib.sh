# shellcheck shell=bash disable=SC2154  # it_name, IT_TMP, IT_CONF ... come from lib.sh
# Shared by the mail integration tests; sourced after lib.sh (not a test).
# A private Dovecot 2.3 (IMAP, POP3, submission) and a private Postfix 3.7
# smtpd (SMTP AUTH through Dovecot's auth socket) on free 127.0.0.1 ports,
# with everything (configs, queue, mail, logs, PAM service files) under
# $IT_TMP/mail. /etc/dovecot, /etc/postfix, /etc/pam.d, the system spool and
# the system services are never used. The recipe, with the pitfalls met on
# the way, is ../shared/MAIL-PEERS.md (verified on Debian 12).
#
#  mail_init          checks the programs (or skips for an ASan module), arms
#                     the cleanup (mail_cleanup, on EXIT) and runs it_setup
#  mail_stack SVC LINES...
#                     the PAM stack of service SVC (imap, pop3, submission,
#                     smtp). Read at every login: change it at any time.
#  mail_start         writes the configs, starts Dovecot, then Postfix (after
#                     Dovecot's auth socket exists: an smtpd that starts
#                     without it throttles the service for
#                     service_throttle_time)
#  mail_client PROTO USER PASSWORD
#                     one login (mail_client.py): prints the server's answer,
#                     exit 0 signed in, 1 refused, 2 anything else
#  mail_swaks PORT USER PASSWORD
#                     AUTH PLAIN with swaks (the password through the
#                     environment), quitting after AUTH: exit 0 signed in,
#                     28 refused
#  mail_reload        Dovecot reads its config again, written anew (for a
#                     setting such as MAIL_AUTH_CACHE), on the same ports
#  mail_logs          the tail of Dovecot's and Postfix's logs (for failures)
#
# PAM: Dovecot's passdb is `pam` with `args = failure_show_msg=yes %s`, so
# the PAM service is the protocol (imap, pop3, submission; Postfix's AUTH
# arrives as smtp). Only the auth-worker calls PAM, and only it is started
# with pam_wrapper preloaded, its service dir $MAIL_D/pam.d. pam_wrapper
# copies that dir once per worker start, so each file there only includes
# $MAIL_W/stack-SVC by absolute path: mail_stack rewrites that one, and the
# next login reads it. The auth cache is off (auth_cache_size = 0) unless
# MAIL_AUTH_CACHE=1 when mail_start runs: then it is on, set as
# conf/dovecot.example says (1 MB, `cache_key=%u%s` in the passdb args,
# auth_cache_negative_ttl = 0, the default auth_cache_ttl), and
# `doveadm -c $MAIL_D/dovecot.conf auth cache flush USER` reaches this
# instance. The failure delays are off (auth_failure_delay = 0, and anvil's
# per-IP penalty through its socket's mode 0): a refused login takes ~0.5 s
# instead of 2 to 15 s.

mail_init() {
  local dynamic
  dynamic=$(readelf -d "$SESAME_MODULE" 2>/dev/null || true)
  if grep -q 'NEEDED.*libasan' <<<"$dynamic"; then
    echo "$it_name: SKIP: $SESAME_MODULE is an ASan build; the system Dovecot (not built with ASan) cannot load it"
    exit 0
  fi
  PY=/usr/bin/python3
  local p
  for p in dovecot doveconf postfix script readelf pgrep timeout; do
    command -v "$p" >/dev/null || fail "$p is not installed (scripts/install-deps test)"
  done
  for p in /usr/lib/dovecot/auth /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 /usr/lib/dovecot/submission \
    /usr/lib/postfix/sbin/smtpd; do
    [ -x "$p" ] || fail "$p is missing (scripts/install-deps test: dovecot-imapd, dovecot-pop3d, dovecot-submissiond, postfix)"
  done
  PAM_WRAPPER_LIB=""
  for p in /usr/lib/*/libpam_wrapper.so; do
    [ -e "$p" ] && PAM_WRAPPER_LIB=$p && break
  done
  [ -n "$PAM_WRAPPER_LIB" ] || fail "libpam_wrapper.so is missing (Debian: libpam-wrapper)"
  for p in postfix dovecot dovenull; do
    getent passwd "$p" >/dev/null || fail "the user $p is missing (the Dovecot and Postfix packages make it)"
  done
  MAIL_DPID=""
  MAIL_PF_STARTED=0
  MAIL_AUTH_CACHE=${MAIL_AUTH_CACHE:-0}
  MAIL_WORKERS=()
  trap mail_cleanup EXIT
  trap 'exit 1' INT TERM HUP  # the EXIT trap then stops the daemons
  it_setup
  MAIL_W="$IT_TMP/mail"
  MAIL_D="$MAIL_W/dovecot"
  MAIL_P="$MAIL_W/postfix"
  mkdir -p "$MAIL_D/run" "$MAIL_D/state" "$MAIL_D/home" "$MAIL_D/pam.d" \
    "$MAIL_P/etc" "$MAIL_P/spool" "$MAIL_P/data"
  chmod -R 0755 "$MAIL_W"
  chown 65534:65534 "$MAIL_D/home"  # the static userdb's uid/gid
  chown postfix: "$MAIL_P/data"       # data_directory belongs to mail_owner
  local s
  for s in imap pop3 submission smtp; do
    printf 'auth    include %s/stack-%s\naccount include %s/stack-%s\n' "$MAIL_W" "$s" "$MAIL_W" "$s" \
      >"$MAIL_D/pam.d/$s"
    mail_stack "$s" "auth required pam_deny.so" "account required pam_deny.so"
  done
  # Without "other", libpam refuses every service ("no default config").
  printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$MAIL_D/pam.d/other"
}

mail_stack() {
  local svc="$1"
  shift
  printf '%s\n' "$@" >"$MAIL_W/stack-$svc.new"
  mv -f "$MAIL_W/stack-$svc.new" "$MAIL_W/stack-$svc"
}

mail_freeport() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# mail_waitport PORT: up to 10 s for a listener. Never for Postfix's port
# before Dovecot's auth socket exists (the probe would start an smtpd).
mail_waitport() {
  local _
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

mail_logs() {
  echo "--- dovecot log:"
  tail -n 40 "$MAIL_D/dovecot.log" 2>/dev/null
  tail -n 10 "$MAIL_D/stdout" 2>/dev/null
  echo "--- postfix log:"
  tail -n 20 "$MAIL_P/maillog" 2>/dev/null
}
fail_mail() { fail "$*"$'\n'"$(mail_logs)"; }

mail_start() {
  MAIL_IMAP=$(mail_freeport)
  MAIL_POP3=$(mail_freeport)
  MAIL_SUBM=$(mail_freeport)
  MAIL_SMTP=$(mail_freeport)
  mail_write_dovecot_conf
  mail_write_postfix_conf
  doveconf -c "$MAIL_D/dovecot.conf" -n >/dev/null 2>"$MAIL_D/doveconf.err" ||
    fail "doveconf rejects the config: $(cat "$MAIL_D/doveconf.err")"
  # Postfix prints its errors only to a terminal (or syslog): script(1) gives it one.
  local out
  out=$(script -qec "postfix -c $MAIL_P/etc check" /dev/null 2>&1) ||
    fail "postfix check: $out"

  dovecot -F -c "$MAIL_D/dovecot.conf" >"$MAIL_D/stdout" 2>&1 &
  MAIL_DPID=$!
  local port
  for port in "$MAIL_IMAP" "$MAIL_POP3" "$MAIL_SUBM"; do
    mail_waitport "$port" || fail_mail "Dovecot does not listen on 127.0.0.1:$port after 10 s"
  done
  local _
  for _ in $(seq 100); do
    [ -S "$MAIL_P/spool/private/auth" ] && break
    sleep 0.1
  done
  [ -S "$MAIL_P/spool/private/auth" ] || fail_mail "Dovecot's auth socket for Postfix is missing after 10 s"

  MAIL_PF_STARTED=1
  out=$(script -qec "postfix -c $MAIL_P/etc start" /dev/null 2>&1) || fail_mail "postfix start: $out"
  [ -n "$(mail_postfix_pid)" ] || fail_mail "Postfix wrote no master.pid"
  mail_waitport "$MAIL_SMTP" || fail_mail "Postfix does not listen on 127.0.0.1:$MAIL_SMTP after 10 s"
  pass "Dovecot (imap $MAIL_IMAP, pop3 $MAIL_POP3, submission $MAIL_SUBM) and Postfix (smtp $MAIL_SMTP) run on 127.0.0.1"
}

# SIGHUP to Dovecot, then `postfix reload`: each smtpd keeps its connection
# to Dovecot's auth process, and would go on being served by the auth
# process of the old config. Returns once that process has exited, so every
# login after it gets the new config.
mail_reload() {
  local old w out
  old=$(pgrep -P "$MAIL_DPID" -f '/auth$' 2>/dev/null || true)
  for w in $(pgrep -P "$MAIL_DPID" -f '^/usr/lib/dovecot/auth -w' 2>/dev/null); do
    MAIL_WORKERS+=("$w")  # their pam_wrapper dirs, for mail_stop
  done
  mail_write_dovecot_conf
  doveconf -c "$MAIL_D/dovecot.conf" -n >/dev/null 2>"$MAIL_D/doveconf.err" ||
    fail "doveconf rejects the config: $(cat "$MAIL_D/doveconf.err")"
  kill -HUP "$MAIL_DPID" || fail_mail "Dovecot ($MAIL_DPID) is gone"
  out=$(script -qec "postfix -c $MAIL_P/etc reload" /dev/null 2>&1) || fail_mail "postfix reload: $out"
  if [ -n "$old" ] && ! mail_wait_gone "$old" 100; then
    fail_mail "Dovecot's auth process of the old config ($old) still runs 10 s after the reload"
  fi
}

# (Not indented: the here-documents end at column 0.)
mail_write_dovecot_conf() {
local cache_size=0 negative_ttl="1 hour" passdb_args="failure_show_msg=yes %s"
if [ "$MAIL_AUTH_CACHE" = 1 ]; then
  cache_size=1M
  negative_ttl=0
  passdb_args="failure_show_msg=yes cache_key=%u%s %s"
fi
cat >"$MAIL_D/dovecot.conf" <<EOF
# Written by Sesame's integration test $it_name (pid $$).
instance_name = sesame-$it_name-$$
base_dir = $MAIL_D/run
state_dir = $MAIL_D/state
log_path = $MAIL_D/dovecot.log
protocols = imap pop3 submission
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = $cache_size
auth_cache_negative_ttl = $negative_ttl
auth_failure_delay = 0
auth_verbose = yes
hostname = mail.test
passdb {
  driver = pam
  args = $passdb_args
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$MAIL_D/home/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $MAIL_IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $MAIL_POP3
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = $MAIL_SUBM
  }
}
submission_relay_host = 127.0.0.1
submission_relay_port = $MAIL_SMTP
service auth {
  unix_listener $MAIL_P/spool/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service auth-worker {
  process_limit = 1
  executable = /usr/bin/env LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$MAIL_D/pam.d /usr/lib/dovecot/auth -w
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

mail_write_postfix_conf() {
cat >"$MAIL_P/etc/main.cf" <<EOF
# Written by Sesame's integration test $it_name (pid $$).
compatibility_level = 3.6
queue_directory = $MAIL_P/spool
data_directory = $MAIL_P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
maillog_file = $MAIL_P/maillog
maillog_file_prefixes = $MAIL_P
service_throttle_time = 1s
smtpd_peername_lookup = no
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard
EOF
cat >"$MAIL_P/etc/master.cf" <<EOF
127.0.0.1:$MAIL_SMTP inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

mail_client() {
  timeout 30 "$PY" "$(dirname "$0")/mail_client.py" "$@"
}
# mail_login PROTO USER PASSWORD: mail_client with the port of PROTO (imap,
# pop3, submission, smtp = Postfix).
mail_login() {
  local port
  case "$1" in
    imap) port=$MAIL_IMAP ;;
    pop3) port=$MAIL_POP3 ;;
    submission) port=$MAIL_SUBM ;;
    smtp) port=$MAIL_SMTP ;;
    *) fail "mail_login: unknown protocol $1" ;;
  esac
  MAIL_PW="$3" mail_client "$1" "$port" "$2"
}

mail_swaks() {
  HOME="$IT_TMP" SWAKS_OPT_auth_password="$3" timeout 30 swaks --server "127.0.0.1:$1" \
    --ehlo client.test --auth PLAIN --auth-user "$2" --to someone@example.test \
    --quit-after AUTH </dev/null
}

# mail_wait_gone PID TRIES: waits up to TRIES/10 s for PID to exit.
mail_wait_gone() {
  local pid=$1 tries=$2 _
  for _ in $(seq "$tries"); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}
# mail_kill_tree PID: SIGKILL to PID and its children.
mail_kill_tree() {
  local pid=$1 c
  for c in $(pgrep -P "$pid" 2>/dev/null); do kill -9 "$c" 2>/dev/null; done
  kill -9 "$pid" 2>/dev/null
}

# The Postfix master's pid (master.pid is space-padded), after up to 5 s.
mail_postfix_pid() {
  local _ pid
  for _ in $(seq 50); do
    pid=$(tr -d ' \n' <"$MAIL_P/spool/pid/master.pid" 2>/dev/null || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  echo "$pid"
}

mail_stop() {
  # Postfix: "stop" returns before the master has exited; then wait on it.
  if [ "$MAIL_PF_STARTED" = 1 ]; then
    local pfpid
    pfpid=$(mail_postfix_pid)
    timeout 10 postfix -c "$MAIL_P/etc" stop >/dev/null 2>&1
    if [ -n "$pfpid" ] && ! mail_wait_gone "$pfpid" 50; then
      echo "$it_name: note: Postfix master $pfpid still runs 5 s after 'postfix stop'; killing it" >&2
      mail_kill_tree "$pfpid"
      mail_wait_gone "$pfpid" 20
    fi
    MAIL_PF_STARTED=0
  fi
  if [ -n "$MAIL_DPID" ]; then
    # The auth-workers' pam_wrapper dirs (/tmp/pam.?), removed below if left.
    local w
    for w in $(pgrep -f "^/usr/lib/dovecot/auth -w" 2>/dev/null); do
      [ "$(ps -o ppid= -p "$w" 2>/dev/null | tr -d ' ')" = "$MAIL_DPID" ] && MAIL_WORKERS+=("$w")
    done
    kill -TERM "$MAIL_DPID" 2>/dev/null
    if ! mail_wait_gone "$MAIL_DPID" 50; then
      echo "$it_name: note: Dovecot $MAIL_DPID still runs 5 s after SIGTERM; killing it" >&2
      mail_kill_tree "$MAIL_DPID"
      mail_wait_gone "$MAIL_DPID" 20
    fi
    wait "$MAIL_DPID" 2>/dev/null
    MAIL_DPID=""
  fi
  # pam_wrapper's copies whose pid file names one of our auth-workers (only
  # ours: other users of pam_wrapper may hold other slots).
  local d
  for d in /tmp/pam.?; do
    [ -f "$d/pid" ] || continue
    for w in "${MAIL_WORKERS[@]}"; do
      [ "$(tr -d ' \n' <"$d/pid" 2>/dev/null)" = "$w" ] && rm -rf "$d"
    done
  done
  return 0
}

mail_cleanup() {
  set +e
  mail_stop
  [ -n "${IT_TMP:-}" ] && rm -rf "$IT_TMP"
}
