# shellcheck shell=bash
# The Debian package, end to end, in a throwaway Debian 12 root (the host's
# PAM configuration is never touched):
#  - dpkg-buildpackage -us -uc -b builds it; lintian reports no error and no
#    warning (the setuid tool's elevated-privileges tag is overridden, with
#    the reason, in debian/sesame.lintian-overrides);
#  - in a minbase root made by debootstrap: apt installs it (Depends
#    resolved), `pam-auth-update --enable sesame` puts pam_sesame before
#    pam_unix in common-*, pamtester through common-auth/-account signs in a
#    Sesame user and a pam_unix-only user (wrong passwords refused),
#    `sesame-admin doctor` reports the stacks; the daily prune's timer is
#    enabled and its service's command prunes the store;
#  - the store made unusable: root still signs in with pam_unix, the Sesame
#    user is refused;
#  - upgrade to a version-bumped rebuild of the same package: the store (an
#    old schema, migrated once, with a backup), the key and an edited
#    conffile are kept, the Sesame user still signs in;
#  - a fleet host (store = postgres, its server unreachable, no key yet):
#    a reinstall configures without touching the database or the key;
#  - disable the profile, then remove the package while enabled (prerm takes
#    the profile out): the pam_unix user still signs in and no file in
#    /etc/pam.d names pam_sesame; the store and key stay;
#  - purge: store, key and conffile gone.
# Timings of each phase are printed. For development only (CI sets neither):
# SESAME_DEBIAN_ROOT_CACHE=FILE.tar reuses a debootstrapped root kept there,
# or makes it; SESAME_DEBIAN_PREBUILT=FILE.deb skips dpkg-buildpackage.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

src=${SESAME_SOURCE_DIR:?SESAME_SOURCE_DIR is not set (run through ctest)}
for p in debootstrap dpkg-buildpackage dpkg-deb lintian dh chroot mount python3; do
  command -v "$p" >/dev/null || fail "$p is not installed (scripts/install-deps test)"
done

T=$(mktemp -d /tmp/sesame-deb.XXXXXX)
R=$T/root
cleanup() {
  if mountpoint -q "$R/proc" 2>/dev/null; then umount "$R/proc" || umount -l "$R/proc" || true; fi
  rm -rf "$T"
}
trap cleanup EXIT

t0=$(date +%s)
phase_start=$t0
phase() {  # phase NAME: prints how long the phase that ends here took
  local now
  now=$(date +%s)
  echo "$it_name: time: $1: $((now - phase_start)) s"
  phase_start=$now
}

# --- build: a copy of the sources, without build directories or VCS data
# (SESAME_DEBIAN_PREBUILT=FILE.deb, for development only: skip the build)
if [ -n "${SESAME_DEBIAN_PREBUILT:-}" ]; then
  cp "$SESAME_DEBIAN_PREBUILT" "$T/"
else
  mkdir "$T/src"
  tar -C "$src" --exclude='./build*' --exclude=./.git --exclude='./debian/sesame' \
    --exclude='./debian/.debhelper' --exclude='./obj-*' -cf - . | tar -C "$T/src" -xf -
  (cd "$T/src" && DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" dpkg-buildpackage -us -uc -b) \
    >"$T/build.log" 2>&1 || { tail -40 "$T/build.log" >&2; fail "dpkg-buildpackage failed"; }
fi
deb=$(ls "$T"/sesame_*.deb)
[ -f "$deb" ] || fail "no sesame_*.deb built"
phase "dpkg-buildpackage"

# --- lintian: no error, no warning (info and overridden tags are fine)
lintian_out=$(lintian --fail-on error,warning "$deb" 2>&1) || fail "lintian: $lintian_out"
if grep -E '^[EW]: ' <<<"$lintian_out"; then fail "lintian reports errors or warnings"; fi
pass "lintian: no error or warning${lintian_out:+ ($(wc -l <<<"$lintian_out") info line(s))}"
phase "lintian"

# --- what the package holds
contents=$(dpkg-deb -c "$deb")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for want in "-rwsr-xr-x root/root .* ./usr/bin/sesame$" \
  "-rwxr-xr-x root/root .* ./usr/sbin/sesame-admin$" \
  "-rw-r--r-- root/root .* ./usr/lib/$multiarch/security/pam_sesame.so$" \
  "./usr/share/pam-configs/sesame$" "./etc/security/sesame.conf$" \
  "./usr/share/man/man8/pam_sesame.8.gz$" "./usr/share/man/man8/sesame-admin.8.gz$" \
  "./usr/share/man/man1/sesame.1.gz$" "./usr/share/man/man5/sesame.conf.5.gz$" \
  "./usr/share/doc/sesame/examples/pam.d/sshd.example$" "./usr/share/doc/sesame/examples/postfix.example$"; do
  grep -qE -- "$want" <<<"$contents" || fail "package lacks $want"
done
dpkg-deb -f "$deb" Depends | grep -q libpam-pwquality || fail "Depends lacks libpam-pwquality"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" = /etc/security/sesame.conf ] ||
  fail "conffiles is not /etc/security/sesame.conf"
pass "package contents: modes, module path, profile, conffile, man pages, examples"

# A version-bumped rebuild of the same files, for the upgrade.
mkdir "$T/repack"
dpkg-deb -R "$deb" "$T/repack/pkg"
version=$(dpkg-deb -f "$deb" Version)
sed -i "s/^Version: .*/Version: ${version}+upgrade1/" "$T/repack/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -b "$T/repack/pkg" "$T/sesame_upgrade.deb" >/dev/null
phase "repack for the upgrade"

# --- the Debian 12 root
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
cache=${SESAME_DEBIAN_ROOT_CACHE:-}
mkdir "$R"
if [ -n "$cache" ] && [ -f "$cache" ]; then
  tar -C "$R" -xf "$cache"
else
  # The package's dependencies and pamtester come with the root: no apt
  # index to download afterwards.
  include=$(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/|[^,]*//g; s/[[:space:]]//g')
  debootstrap --variant=minbase --include="pamtester,$include" bookworm "$R" "$mirror" \
    >"$T/debootstrap.log" 2>&1 ||
    { tail -20 "$T/debootstrap.log" >&2; fail "debootstrap failed"; }
  if [ -n "$cache" ]; then tar -C "$R" -cf "$cache" .; fi
fi
phase "debian root (debootstrap minbase${cache:+, cache $cache})"
mount -t proc proc "$R/proc"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

cp "$deb" "$R/tmp/sesame.deb"
cp "$T/sesame_upgrade.deb" "$R/tmp/sesame_upgrade.deb"
# apt resolves the Depends from what the root has (an index only when
# something is missing, e.g. a cached root made before a new Depends).
if ! in_root apt-get install -y -qq --no-install-recommends pamtester /tmp/sesame.deb >"$T/apt.log" 2>&1; then
  in_root apt-get update -qq >>"$T/apt.log" 2>&1 || { cat "$T/apt.log" >&2; fail "apt-get update"; }
  in_root apt-get install -y -qq --no-install-recommends pamtester /tmp/sesame.deb >>"$T/apt.log" 2>&1 ||
    { tail -30 "$T/apt.log" >&2; fail "apt-get install ./sesame.deb"; }
fi
pass "apt installs the package and its dependencies"
phase "apt install"

[ "$(in_root stat -c %a:%U /etc/security/sesame.key)" = 400:root ] || fail "postinst made no key 0400"
[ "$(in_root stat -c %a:%U /var/lib/sesame/sesame.db)" = 600:root ] || fail "postinst made no store 0600"
grep -rq pam_sesame "$R/etc/pam.d" && fail "installing enabled the profile (it is Default: no)"
pass "postinst: key 0400 and store 0600 made, profile not enabled"

# Users: bob in Sesame (no Unix password), alice with pam_unix only, root with
# a Unix password.
in_root useradd -m bob
in_root useradd -m alice
printf 'alice:%s\nroot:%s\n' 'alice unix pw 1' 'root unix pw 2' | in_root chpasswd
printf '%s\n' 'bob sesame pw 3' | in_root sesame-admin user add bob --password-stdin >/dev/null
printf '%s\n' '@include common-auth' '@include common-account' '@include common-password' \
  >"$R/etc/pam.d/sesame-check"

in_root pam-auth-update --enable sesame
auth_lines=$(grep -E '^auth' "$R/etc/pam.d/common-auth")
sesame_line=$(grep -n pam_sesame.so <<<"$auth_lines" | cut -d: -f1)
unix_line=$(grep -n pam_unix.so <<<"$auth_lines" | cut -d: -f1)
{ [ -n "$sesame_line" ] && [ "$sesame_line" -lt "$unix_line" ]; } ||
  fail "pam_sesame is not before pam_unix in common-auth:
$auth_lines"
grep -qE '^account.*new_authtok_reqd=ok user_unknown=ignore default=die.*pam_sesame.so' "$R/etc/pam.d/common-account" ||
  fail "common-account has no pam_sesame line keeping new_authtok_reqd"
grep -qE '^password.*pam_sesame.so use_authtok' "$R/etc/pam.d/common-password" ||
  fail "common-password has no pam_sesame use_authtok line (after pam_pwquality)"
pass "pam-auth-update --enable sesame: before pam_unix in common-auth, account and password lines"

# signs_in USER PASSWORD: pamtester authenticate + acct_mgmt through common-*.
signs_in() { printf '%s\n' "$2" | in_root pamtester sesame-check "$1" authenticate acct_mgmt >/dev/null 2>&1; }
check_sign_ins() {  # WHAT: bob and alice in, wrong passwords out
  signs_in bob 'bob sesame pw 3' || fail "$1: the Sesame user does not sign in"
  signs_in bob 'alice unix pw 1' && fail "$1: the Sesame user signs in with a wrong password"
  signs_in alice 'alice unix pw 1' || fail "$1: the pam_unix user does not sign in"
  signs_in alice 'bob sesame pw 3' && fail "$1: the pam_unix user signs in with a wrong password"
  signs_in root 'root unix pw 2' || fail "$1: root does not sign in with pam_unix"
  pass "$1: Sesame user and pam_unix users sign in through common-auth, wrong passwords refused"
}
check_sign_ins "profile enabled"
in_root sesame-admin user show bob --json | grep -q '"name":"bob"' || fail "sesame-admin user show bob"

rc=0
doctor_out=$(in_root sesame-admin doctor 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "doctor reports findings on the profile's stacks (exit $rc):
$doctor_out"
grep -q "info: common-auth: uses Sesame: auth (mode=interactive)" <<<"$doctor_out" ||
  fail "doctor does not report common-auth:
$doctor_out"
grep -q "info: sesame-check: uses Sesame: auth (mode=interactive), account, password" <<<"$doctor_out" ||
  fail "doctor does not report the service:
$doctor_out"
grep -E '^(warning|error): ' <<<"$doctor_out" | sed "s/^/$it_name: doctor said: /" || true
pass "doctor (exit $rc) reports the stacks using Sesame"

# The daily prune: both units shipped, the timer enabled (no systemd runs in
# the root, so deb-systemd-helper's symlink is what shows it), and what the
# service runs works on the package's store.
units=$R/lib/systemd/system
{ [ -f "$units/sesame-activity-prune.timer" ] && [ -f "$units/sesame-activity-prune.service" ]; } ||
  fail "no sesame-activity-prune units in /lib/systemd/system"
[ -L "$R/etc/systemd/system/timers.target.wants/sesame-activity-prune.timer" ] ||
  fail "the package did not enable sesame-activity-prune.timer"
[ ! -e "$R/etc/systemd/system/multi-user.target.wants/sesame-activity-prune.service" ] ||
  fail "the package enabled the prune service itself (only the timer should start it)"
prune_cmd=$(sed -n 's/^ExecStart=//p' "$units/sesame-activity-prune.service")
[ "$prune_cmd" = "/usr/sbin/sesame-admin activity prune" ] || fail "prune service: ExecStart=$prune_cmd"
# shellcheck disable=SC2086  # the unit's command line, split as systemd does here
prune_out=$(in_root $prune_cmd 2>&1) || fail "the prune service's command failed: $prune_out"
grep -q "^deleted 0 sign-in event(s) older than 90 days" <<<"$prune_out" ||
  fail "the prune service's command said: $prune_out"
pass "sesame-activity-prune.timer enabled; its service's command prunes the package's store"
phase "enable, sign-ins, doctor, prune timer"

# --- a broken store: root is not locked out, the Sesame user is
mv "$R/var/lib/sesame/sesame.db" "$T/sesame.db.aside"
head -c 8192 /dev/urandom >"$R/var/lib/sesame/sesame.db"
chmod 0600 "$R/var/lib/sesame/sesame.db"
signs_in root 'root unix pw 2' || fail "broken store: root is locked out"
signs_in alice 'alice unix pw 1' && fail "broken store: alice (not exempt, not in the store) signed in"
signs_in bob 'bob sesame pw 3' && fail "broken store: the Sesame user signed in"
printf '' | in_root pamtester sesame-check root acct_mgmt >/dev/null 2>&1 ||
  fail "broken store: root's account check (a key login) fails"
rm -f "$R"/var/lib/sesame/sesame.db*
mv "$T/sesame.db.aside" "$R/var/lib/sesame/sesame.db"
pass "store unusable: root signs in with pam_unix (password and account), Sesame's users refused"

# --- upgrade: an old schema is migrated once, store, key, edited conffile kept
key_sum=$(sha256sum <"$R/etc/security/sesame.key")
echo "deny = 7" >>"$R/etc/security/sesame.conf"
python3 - "$R/var/lib/sesame/sesame.db" "$T/v1.db" <<'PY'
import sqlite3, sys
bob = sqlite3.connect(sys.argv[1]).execute("select password_hash from users where name='bob'").fetchone()[0]
db = sqlite3.connect(sys.argv[2])
db.executescript("""
CREATE TABLE schema_version(version INTEGER NOT NULL);
INSERT INTO schema_version(version) VALUES (1);
CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,
  user TEXT NOT NULL, service TEXT NOT NULL, remote_host TEXT NOT NULL,
  method TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);
""")
db.execute("INSERT INTO users VALUES ('bob', ?, 0, 4242)", (bob,))
db.commit()
PY
rm -f "$R"/var/lib/sesame/sesame.db*
cp "$T/v1.db" "$R/var/lib/sesame/sesame.db"
chmod 0600 "$R/var/lib/sesame/sesame.db"
in_root apt-get install -y -qq --no-install-recommends /tmp/sesame_upgrade.deb >"$T/upgrade.log" 2>&1 ||
  { tail -30 "$T/upgrade.log" >&2; fail "upgrade failed"; }
# shellcheck disable=SC2016  # dpkg-query's own ${Version}
[ "$(in_root dpkg-query -W -f='${Version}' sesame)" = "${version}+upgrade1" ] || fail "not upgraded"
backups=$(find "$R/var/lib/sesame" -name 'sesame.db.v1-*.bak' | wc -l)
[ "$backups" = 1 ] || fail "upgrade: expected one backup of the version-1 store, found $backups"
in_root sesame-admin db check >/dev/null || fail "upgrade: the store is not at the current schema"
[ "$(sha256sum <"$R/etc/security/sesame.key")" = "$key_sum" ] || fail "upgrade: the key changed"
grep -qx "deny = 7" "$R/etc/security/sesame.conf" || fail "upgrade: the edited conffile was replaced"
grep -rq pam_sesame "$R/etc/pam.d/common-auth" || fail "upgrade: the profile was disabled"
check_sign_ins "after the upgrade"
pass "upgrade: schema migrated once (one backup), key, edited conffile and profile kept"
# Password changes through common-password: pam_pwquality asks, pam_sesame
# (Sesame user) or pam_unix (everyone else) takes it with use_authtok.
changes_password() {  # USER NEW: root runs it, so no current password is asked
  printf '%s\n%s\n' "$2" "$2" | in_root pamtester sesame-check "$1" chauthtok >"$T/chauthtok.log" 2>&1 ||
    { cat "$T/chauthtok.log" >&2; fail "chauthtok of $1 through common-password failed"; }
}
changes_password bob 'Quartz-Meadow-Lantern-47'
signs_in bob 'Quartz-Meadow-Lantern-47' || fail "bob does not sign in with the changed password"
signs_in bob 'bob sesame pw 3' && fail "bob signs in with the old password"
changes_password alice 'Velvet-Harbor-Compass-83'
signs_in alice 'Velvet-Harbor-Compass-83' || fail "alice does not sign in with the changed password"
printf 'alice:%s\n' 'alice unix pw 1' | in_root chpasswd
pass "password changes through common-password (pam_pwquality, then pam_sesame or pam_unix with use_authtok)"
phase "broken store, upgrade"

# --- a fleet host (store = postgres) whose database server is unreachable
# and whose key has not been copied yet: the package still configures (a
# reinstall runs postinst configure as an upgrade does), touches neither the
# database nor the key, and says what to do. Before, postinst ran
# `sesame-admin init`, which connected and failed the whole upgrade.
cp "$R/etc/security/sesame.conf" "$T/sesame.conf.aside"
mv "$R/etc/security/sesame.key" "$T/sesame.key.aside"
printf '%s\n' 'store = postgres' 'postgres_dsn = host=/nonexistent-sesame-pg dbname=sesame user=sesame' \
  >>"$R/etc/security/sesame.conf"
store_sum=$(sha256sum <"$R/var/lib/sesame/sesame.db")
backups_before=$(find "$R/var/lib/sesame" -name '*.bak' | wc -l)
fleet_out=$(in_root dpkg -i /tmp/sesame_upgrade.deb 2>&1) ||
  fail "reinstall on a fleet host with its database unreachable failed: $fleet_out"
grep -q "store = postgres: not migrated here" <<<"$fleet_out" ||
  fail "postinst did not say the fleet's schema is migrated elsewhere: $fleet_out"
grep -q "no key at /etc/security/sesame.key; copy the fleet's key there" <<<"$fleet_out" ||
  fail "postinst did not say to copy the fleet's key: $fleet_out"
[ ! -e "$R/etc/security/sesame.key" ] || fail "postinst made a key of its own on a fleet host"
[ "$(sha256sum <"$R/var/lib/sesame/sesame.db")" = "$store_sum" ] ||
  fail "postinst changed the SQLite store of a host configured for PostgreSQL"
[ "$(find "$R/var/lib/sesame" -name '*.bak' | wc -l)" = "$backups_before" ] ||
  fail "postinst backed up or migrated a SQLite store on a fleet host"
cp "$T/sesame.conf.aside" "$R/etc/security/sesame.conf"
mv "$T/sesame.key.aside" "$R/etc/security/sesame.key"
signs_in bob 'Quartz-Meadow-Lantern-47' || fail "back on SQLite after the fleet reinstall: bob does not sign in"
signs_in alice 'alice unix pw 1' || fail "back on SQLite after the fleet reinstall: alice does not sign in"
pass "store = postgres, server unreachable, no key: the package configures, makes no key, touches no store, and says what to do"
phase "fleet host reinstall"

# --- disable, then remove while enabled: no stack names pam_sesame after either
in_root pam-auth-update --disable sesame
grep -rl pam_sesame "$R/etc/pam.d" && fail "pam-auth-update --disable left pam_sesame in /etc/pam.d"
signs_in alice 'alice unix pw 1' || fail "disabled: the pam_unix user does not sign in"
pass "profile disabled: pam.d clean, pam_unix user signs in"
in_root pam-auth-update --enable sesame
in_root apt-get remove -y -qq sesame >"$T/remove.log" 2>&1 || { cat "$T/remove.log" >&2; fail "remove failed"; }
grep -rl pam_sesame "$R/etc/pam.d" && fail "remove left pam_sesame in /etc/pam.d"
[ ! -e "$R/usr/lib/$multiarch/security/pam_sesame.so" ] || fail "remove left the module"
signs_in alice 'alice unix pw 1' || fail "removed: the pam_unix user does not sign in"
signs_in root 'root unix pw 2' || fail "removed: root does not sign in"
{ [ -f "$R/var/lib/sesame/sesame.db" ] && [ -f "$R/etc/security/sesame.key" ]; } ||
  fail "remove deleted the store or the key"
pass "removed while enabled: prerm took the profile out, pam.d names no missing module, pam_unix users sign in, store and key kept"

in_root dpkg --purge sesame >"$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "purge failed"; }
for gone in /var/lib/sesame /etc/security/sesame.key /etc/security/sesame.conf \
  /etc/systemd/system/timers.target.wants/sesame-activity-prune.timer; do
  [ ! -e "$R$gone" ] || fail "purge left $gone"
done
pass "purge: store, key, conffile and the timer's enablement gone"
phase "disable, remove, purge"
echo "$it_name: time: total: $(($(date +%s) - t0)) s"
