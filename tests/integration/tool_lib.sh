# shellcheck shell=bash disable=SC2154  # it_name, IT_TMP, IT_CONF ... come from lib.sh
# Shared by the tests of the setuid tool; sourced after lib.sh (not a test).
# The setuid `sesame` reads only /etc/security/sesame.conf. So that these
# tests never touch the host's (nor each other's, when two runs overlap),
# tool_init re-runs the script in a private mount namespace (unshare), and
# tool_install mounts a private copy of /etc/security, holding the test's
# sesame.conf, over /etc/security there: the host's file is never written,
# and nothing is left behind whatever way the test ends. tool_init also
# checks the tools, arms the cleanup (users in CREATED_USERS) and runs
# it_setup; tool_install defines admin() and installs the tool setuid root
# as $TOOL in a directory everyone can reach.

tool_init() {
  [ -n "${SESAME_TOOL:-}" ] || fail "SESAME_TOOL is not set (run through ctest)"
  if [ -z "${SESAME_IT_PRIVATE_MOUNTS:-}" ]; then
    command -v unshare >/dev/null || fail "unshare (util-linux) is not installed"
    export SESAME_IT_PRIVATE_MOUNTS=1
    exec unshare --mount --propagation private bash "$0"
  fi
  PY=/usr/bin/python3
  "$PY" -c 'import pexpect' 2>/dev/null || fail "python3-pexpect is not installed for $PY"
  local t
  for t in pamtester runuser "$@"; do
    command -v "$t" >/dev/null || fail "$t is not installed"
  done
  ETC_CONF=/etc/security/sesame.conf
  CREATED_USERS=()
  trap tool_cleanup EXIT
  it_setup
}

tool_cleanup() {
  set +e
  local u
  for u in "${CREATED_USERS[@]}"; do userdel "$u" 2>/dev/null; done
  # The private /etc/security goes with the mount namespace.
  [ -n "${IT_TMP:-}" ] && { umount /etc/security 2>/dev/null; rm -rf "$IT_TMP"; }
}

admin() { "$SESAME_ADMIN" --config "$ETC_CONF" "$@"; }

tool_install() {
  # A copy of the host's /etc/security (pwquality.conf and the rest stay
  # as they are) with the test's sesame.conf, over /etc/security in this
  # process's own mount namespace only.
  local etc="$IT_TMP/etc-security"
  mkdir -m 0755 "$etc"
  cp -a /etc/security/. "$etc/"
  rm -f "$etc/sesame.conf"
  install -m 0644 -o root -g root "$IT_CONF" "$etc/sesame.conf"
  mount --bind "$etc" /etc/security || fail "cannot mount a private /etc/security"
  mkdir -m 0755 "$IT_TMP/bin"
  TOOL="$IT_TMP/bin/sesame"
  install -m 4755 -o root -g root "$SESAME_TOOL" "$TOOL"
}

# System users for the test (no home, no login shell), removed at exit.
tool_make_users() {
  local u
  for u in "$@"; do
    useradd -M -N -s /usr/sbin/nologin "$u" || fail "useradd $u"
    CREATED_USERS+=("$u")
  done
}

# sesame-admin user add USER, with PASSWORD on stdin (never in argv).
tool_add_user() {
  printf '%s\n' "$2" | admin user add "$1" --password-stdin >/dev/null ||
    fail "sesame-admin user add $1"
}

# sesame-admin mfa enroll USER with the base32 KEY on stdin; the recovery
# codes it printed go to the array RECOVERY, which must hold at least MIN.
tool_enroll() {
  local out
  out=$(printf '%s\n' "$2" | admin mfa enroll "$1" --secret-stdin) ||
    fail "sesame-admin mfa enroll $1"
  mapfile -t RECOVERY < <(awk '/^Recovery codes/ { f = 1; next } f && /^  [^ ]/ { sub(/^  /, ""); print }' \
    <<<"$out")
  [ "${#RECOVERY[@]}" -ge "$3" ] || fail "no recovery codes in the enroll output:"$'\n'"$out"
}
