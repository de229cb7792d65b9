# Shared helpers for the integration scripts (sourced, not a test itself:
# the glob takes *.sh, so this file is named lib.sh and skipped below).
set -euo pipefail

it_name=$(basename "$0" .sh)
fail() { echo "$it_name: FAIL: $*" >&2; exit 1; }
pass() { echo "$it_name: ok: $*"; }

[ "$(id -u)" -eq 0 ] || fail "integration tests run as root (they create system users and root-owned files)"
for v in SESAME_ADMIN SESAME_MODULE; do
  [ -n "${!v:-}" ] || fail "$v is not set (run through ctest)"
done

# Under ASan the module needs libasan loaded first in any host process.
it_preload() {
  local pre="$1"
  if [ "${SESAME_SANITIZE:-0}" = 1 ]; then
    pre="$(gcc -print-file-name=libasan.so) $pre"
  fi
  echo "$pre"
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# A fresh temp dir (0755 so unprivileged test users can reach binaries in it)
# with a config whose store, key and runtime dir live inside it.
it_setup() {
  IT_TMP=$(mktemp -d /tmp/sesame-it.XXXXXX)
  chmod 0755 "$IT_TMP"
  mkdir -m 0700 "$IT_TMP/state"
  IT_CONF="$IT_TMP/sesame.conf"
  cat >"$IT_CONF" <<CONF
store_path = $IT_TMP/state/sesame.db
key_file = $IT_TMP/state/sesame.key
runtime_dir = $IT_TMP/state/run
argon2_memory_kib = 8
argon2_time_cost = 1
password_quality = no
password_min_length = 8
CONF
  chmod 0644 "$IT_CONF"
  "$SESAME_ADMIN" --config "$IT_CONF" init >/dev/null
  mkdir -m 0755 "$IT_TMP/pam.d"
  printf 'auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\n' \
    >"$IT_TMP/pam.d/other"
}

# it_service NAME LINES...: a PAM service file in the temp service dir.
it_service() {
  local name="$1"; shift
  printf '%s\n' "$@" >"$IT_TMP/pam.d/$name"
}

# pamtester through pam_wrapper with the temp service dir: it_pamtester SERVICE USER OPS...
it_pamtester() {
  LD_PRELOAD="$(it_preload libpam_wrapper.so)" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$IT_TMP/pam.d" \
    PAM_WRAPPER_DISABLE_DEEPBIND=1 pamtester "$@"
}
