# shellcheck shell=bash disable=SC2154  # it_name, IT_TMP, IT_CONF ... come from lib.sh
# Shared by the tests of the setuid tool; sourced after lib.sh (not a test).
# The setuid `sesame` reads only /etc/security/sesame.conf, so these tests
# write that file: tool_init checks the tools, arms the cleanup (users in
# CREATED_USERS, the config put back) and runs it_setup; after the test has
# added to $IT_CONF, tool_install puts it at /etc/security/sesame.conf (an
# existing one is moved aside and restored on exit), defines admin(), and
# installs the tool setuid root as $TOOL in a directory everyone can reach.

tool_init() {
  [ -n "${SESAME_TOOL:-}" ] || fail "SESAME_TOOL is not set (run through ctest)"
  PY=/usr/bin/python3
  "$PY" -c 'import pexpect' 2>/dev/null || fail "python3-pexpect is not installed for $PY"
  local t
  for t in pamtester runuser "$@"; do
    command -v "$t" >/dev/null || fail "$t is not installed"
  done
  ETC_CONF=/etc/security/sesame.conf
  BACKUP=""
  MOVED_ASIDE=0
  WROTE_CONF=0
  CREATED_USERS=()
  trap tool_cleanup EXIT
  it_setup
}

tool_cleanup() {
  set +e
  local u
  for u in "${CREATED_USERS[@]}"; do userdel "$u" 2>/dev/null; done
  [ "$WROTE_CONF" = 1 ] && rm -f "$ETC_CONF"
  [ "$MOVED_ASIDE" = 1 ] && mv -f "$BACKUP" "$ETC_CONF"
  [ -n "${IT_TMP:-}" ] && rm -rf "$IT_TMP"
}

admin() { "$SESAME_ADMIN" --config "$ETC_CONF" "$@"; }

tool_install() {
  if [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    BACKUP="$ETC_CONF.sesame-it-backup.$$.$RANDOM"
    mv -n "$ETC_CONF" "$BACKUP"
    MOVED_ASIDE=1
  fi
  WROTE_CONF=1
  install -m 0644 -o root -g root "$IT_CONF" "$ETC_CONF"
  mkdir -m 0755 "$IT_TMP/bin"
  TOOL="$IT_TMP/bin/sesame"
  install -m 4755 -o root -g root "$SESAME_TOOL" "$TOOL"
}
