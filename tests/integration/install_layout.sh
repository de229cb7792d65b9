# shellcheck shell=bash
# `cmake --install` into a staging directory (DESTDIR), as a packager runs
# it: every file lands under DESTDIR where docs/install.md says, with its
# mode (sesame setuid root), the sample config is installed once and an
# edited one is kept by a second install, and a prefix other than /usr puts
# the config under that prefix; the daily prune's systemd units pass
# `systemd-analyze verify` and run the prefix's sesame-admin. Touches
# nothing outside its temp dir.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -n "${SESAME_BUILD_DIR:-}" ] || fail "SESAME_BUILD_DIR is not set (run through ctest)"
[ -n "${SESAME_PAM_MODULE_DIR:-}" ] || fail "SESAME_PAM_MODULE_DIR is not set (run through ctest)"
STAGE=$(mktemp -d /tmp/sesame-install.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT

real_conf_before=$(stat -c '%Y %s' /etc/security/sesame.conf 2>/dev/null || echo none)

install_to() {  # DESTDIR PREFIX -> cmake's output
  DESTDIR="$1" cmake --install "$SESAME_BUILD_DIR" --prefix "$2" 2>&1
}

# mode_of PATH: octal mode, or "missing"
mode_of() { stat -c '%a' "$1" 2>/dev/null || echo missing; }

d="$STAGE/usr-prefix"
out=$(install_to "$d" /usr) || fail "cmake --install failed: $out"
want=(
  "usr/$SESAME_PAM_MODULE_DIR/pam_sesame.so 644"
  "usr/sbin/sesame-admin 755"
  "usr/bin/sesame 4755"
  "etc/security/sesame.conf 644"
  "usr/share/man/man1/sesame.1 644"
  "usr/share/man/man5/sesame.conf.5 644"
  "usr/share/man/man8/pam_sesame.8 644"
  "usr/share/man/man8/sesame-admin.8 644"
  "usr/lib/systemd/system/sesame-activity-prune.service 644"
  "usr/lib/systemd/system/sesame-activity-prune.timer 644"
)
# The PostgreSQL store's plugin, beside the module (postgres_plugin.h).
[ "${SESAME_HAVE_POSTGRES:-0}" = 1 ] && want+=("usr/$SESAME_PAM_MODULE_DIR/sesame/store_postgres.so 644")
for entry in "${want[@]}"; do
  path=${entry% *} mode=${entry##* }
  got=$(mode_of "$d/$path")
  [ "$got" = "$mode" ] || fail "$path: mode $got, want $mode"$'\n'"$out"
done
# Nothing else, and nothing under a doubled DESTDIR.
found=$(cd "$d" && find . -type f | sed 's|^\./||' | sort)
expected=$(for entry in "${want[@]}"; do echo "${entry% *}"; done | sort)
[ "$found" = "$expected" ] || fail "installed files differ from the list:"$'\n'"$found"
cmp -s "$d/etc/security/sesame.conf" "$SESAME_SOURCE_DIR/conf/sesame.conf" ||
  fail "the installed sesame.conf is not conf/sesame.conf"
# The daily prune's service runs the prefix's sesame-admin, which is there.
exec_start() { sed -n 's/^ExecStart=//p' "$1/sesame-activity-prune.service"; }
[ "$(exec_start "$d/usr/lib/systemd/system")" = "/usr/sbin/sesame-admin activity prune" ] ||
  fail "prefix /usr: ExecStart is '$(exec_start "$d/usr/lib/systemd/system")'"
grep -qx 'WantedBy=timers.target' "$d/usr/lib/systemd/system/sesame-activity-prune.timer" ||
  fail "the timer is not wanted by timers.target"
# systemd's own check of both units (an unknown key is only a warning to
# it, so any output fails too); ExecStart pointed at the staged binary,
# since verify wants it to exist.
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (scripts/install-deps test)"
mkdir "$STAGE/units"
sed "s|^ExecStart=/usr/sbin/|ExecStart=$d/usr/sbin/|" "$d/usr/lib/systemd/system/sesame-activity-prune.service" \
  >"$STAGE/units/sesame-activity-prune.service"
cp "$d/usr/lib/systemd/system/sesame-activity-prune.timer" "$STAGE/units/"
verify_out=$(systemd-analyze verify --man=no "$STAGE/units/sesame-activity-prune.timer" \
  "$STAGE/units/sesame-activity-prune.service" 2>&1) || fail "systemd-analyze verify: $verify_out"
[ -z "$verify_out" ] || fail "systemd-analyze verify: $verify_out"
pass "DESTDIR install with prefix /usr: every file where it belongs, with its mode"

# A second install keeps an edited config and says so.
echo "deny = 3  # edited by the admin" >>"$d/etc/security/sesame.conf"
edited=$(cat "$d/etc/security/sesame.conf")
out=$(install_to "$d" /usr) || fail "second cmake --install failed: $out"
[ "$(cat "$d/etc/security/sesame.conf")" = "$edited" ] || fail "a reinstall overwrote the edited sesame.conf"
case "$out" in
  *"Kept existing: $d/etc/security/sesame.conf"*) ;;
  *) fail "the reinstall does not say it kept sesame.conf:"$'\n'"$out" ;;
esac
pass "a reinstall keeps an edited sesame.conf and says so"

# Another prefix: the config goes under it.
d="$STAGE/opt-prefix"
out=$(install_to "$d" /opt/sesame) || fail "cmake --install --prefix /opt/sesame failed: $out"
[ "$(mode_of "$d/opt/sesame/etc/security/sesame.conf")" = 644 ] ||
  fail "prefix /opt/sesame: no opt/sesame/etc/security/sesame.conf:"$'\n'"$(cd "$d" && find . -type f)"
[ ! -e "$d/etc" ] || fail "prefix /opt/sesame: something was installed in DESTDIR/etc"
[ "$(exec_start "$d/opt/sesame/lib/systemd/system")" = "/opt/sesame/sbin/sesame-admin activity prune" ] ||
  fail "prefix /opt/sesame: ExecStart is '$(exec_start "$d/opt/sesame/lib/systemd/system")'"
[ -x "$d/opt/sesame/sbin/sesame-admin" ] || fail "prefix /opt/sesame: no sbin/sesame-admin"
pass "prefix /opt/sesame: the config and the systemd units under the prefix, ExecStart its sesame-admin"

[ "$(stat -c '%Y %s' /etc/security/sesame.conf 2>/dev/null || echo none)" = "$real_conf_before" ] ||
  fail "the host's /etc/security/sesame.conf changed"
pass "the host's own files untouched"
