# shellcheck shell=bash disable=SC2154  # it_name, IT_TMP, IT_CONF ... come from lib.sh
# Shared by the sshd integration tests; sourced after lib.sh (not a test).
# sshd_init USER checks the tools (or skips for an ASan module), names the
# PAM service, arms the cleanup and runs it_setup; sshd_add_user makes the
# test user; start_sshd writes the PAM service and starts sshd on a free
# 127.0.0.1 port (through a symlink named after the service: sshd takes its
# PAM service name from its program name).

sshd_init() {
  USER_S="$1"
  # Read whole before grep: with pipefail, `readelf | grep -q` fails when grep
  # stops reading before readelf is done (SIGPIPE), and the skip is missed.
  local dynamic
  dynamic=$(readelf -d "$SESAME_MODULE" 2>/dev/null || true)
  if grep -q 'NEEDED.*libasan' <<<"$dynamic"; then
    echo "$it_name: SKIP: $SESAME_MODULE is an ASan build; the system sshd (not built with ASan) cannot load it"
    exit 0
  fi
  PY=/usr/bin/python3
  "$PY" -c 'import pexpect' 2>/dev/null || fail "python3-pexpect is not installed for $PY"
  SSHD_BIN=/usr/sbin/sshd
  [ -x "$SSHD_BIN" ] || fail "$SSHD_BIN is missing (Debian: openssh-server)"
  for c in ssh ssh-keygen; do
    command -v "$c" >/dev/null || fail "$c is missing (Debian: openssh-client)"
  done
  SERVICE="sshd-sesame-$$"
  PAM_FILE="/etc/pam.d/$SERVICE"
  CREATED_USER=0
  EXTRA_USERS=()  # more system users a test made; removed on exit too
  WROTE_PAM=0
  MADE_RUN_SSHD=0
  sshd_pid=""
  trap cleanup EXIT
  it_setup
}

cleanup() {
  set +e
  if [ -n "$sshd_pid" ]; then
    local c
    for c in $(pgrep -P "$sshd_pid" 2>/dev/null); do kill "$c" 2>/dev/null; done
    kill "$sshd_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$sshd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$sshd_pid" 2>/dev/null
    wait "$sshd_pid" 2>/dev/null
  fi
  [ "$CREATED_USER" = 1 ] && userdel "$USER_S" 2>/dev/null
  local extra
  for extra in "${EXTRA_USERS[@]}"; do userdel "$extra" 2>/dev/null; done
  [ "$WROTE_PAM" = 1 ] && rm -f "$PAM_FILE"
  [ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
  [ -n "${IT_TMP:-}" ] && rm -rf "$IT_TMP"
}

admin() { "$SESAME_ADMIN" --config "$IT_CONF" "$@"; }

# sshd_add_user PASSWORD: the system account $USER_S (home in $IT_TMP,
# removed on exit) and its Sesame account with PASSWORD. Also checks that
# neither the user nor the PAM service existed before.
sshd_add_user() {
  getent passwd "$USER_S" >/dev/null && fail "user $USER_S exists already"
  [ -e "$PAM_FILE" ] && fail "$PAM_FILE exists already"
  useradd -M -N -d "$IT_TMP/home" -s /bin/sh "$USER_S" || fail "useradd $USER_S"
  CREATED_USER=1
  install -d -m 0700 -o "$USER_S" "$IT_TMP/home"
  printf '%s\n' "$1" | admin user add "$USER_S" --password-stdin >/dev/null ||
    fail "sesame-admin user add $USER_S"
}
sshd_log() { echo "--- sshd log:"; tail -n 40 "$IT_TMP/sshd.log" 2>/dev/null; }
fail_log() { fail "$*"$'\n'"$(sshd_log)"; }

start_sshd() {
# (Not indented: the here-documents below end at column 0.)
WROTE_PAM=1
cat >"$PAM_FILE" <<EOF
# Written by Sesame's integration test $it_name (pid $$); removed when it ends.
auth     required $SESAME_MODULE config=$IT_CONF
account  required $SESAME_MODULE config=$IT_CONF
password required $SESAME_MODULE config=$IT_CONF
session  required pam_permit.so
EOF
chmod 0644 "$PAM_FILE"

# --- sshd
if [ ! -d /run/sshd ]; then
  mkdir -m 0755 /run/sshd
  MADE_RUN_SSHD=1
fi
ssh-keygen -q -t ed25519 -N '' -C '' -f "$IT_TMP/ssh_host_ed25519_key" || fail "ssh-keygen"
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$IT_TMP/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $IT_TMP/ssh_host_ed25519_key
PidFile $IT_TMP/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
HostbasedAuthentication no
AuthorizedKeysFile none
AllowUsers $USER_S
PermitRootLogin no
StrictModes no
MaxAuthTries 3
LoginGraceTime 30
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
EOF
SSHD="$IT_TMP/$SERVICE"
ln -s "$SSHD_BIN" "$SSHD"
"$SSHD" -t -f "$IT_TMP/sshd_config" 2>"$IT_TMP/sshd-t.err" ||
  fail "sshd -t rejects the config: $(cat "$IT_TMP/sshd-t.err")"
"$SSHD" -D -f "$IT_TMP/sshd_config" -E "$IT_TMP/sshd.log" &
sshd_pid=$!
listening=0
for _ in $(seq 100); do
  kill -0 "$sshd_pid" 2>/dev/null || fail_log "sshd exited at start"
  if grep -qF "Server listening on 127.0.0.1 port $PORT." "$IT_TMP/sshd.log" 2>/dev/null; then
    listening=1
    break
  fi
  sleep 0.1
done
[ "$listening" = 1 ] || fail_log "sshd does not listen on 127.0.0.1:$PORT after 10 s"
pass "sshd runs as $SERVICE on 127.0.0.1:$PORT"
}
