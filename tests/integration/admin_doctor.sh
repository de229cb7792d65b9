# shellcheck shell=bash
# sesame-admin doctor, db check | migrate and calibrate against prepared
# setups: a good pam.d tree, each risky stack of issue 14 in a tree of its
# own, and broken config, key and store files. Asserts each finding and the
# exit code (0 nothing to say, 1 warnings, 2 errors); db migrate on a
# version-1 store (a backup first, then the current schema); calibrate's
# output within --max-memory. Works in its own temp dir only.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

it_setup
trap 'rm -rf "$IT_TMP"' EXIT
mod=$SESAME_MODULE
state=$IT_TMP/state

# tree NAME FILE LINES...: one pam.d file in tree NAME.
tree() {
  local name=$1 file=$2
  shift 2
  mkdir -p "$IT_TMP/trees/$name"
  printf '%s\n' "$@" >"$IT_TMP/trees/$name/$file"
}

# doctor TREE [ARGS...]: runs doctor (with the global options in $global),
# leaves its output in $out and its exit code in $rc.
global=()
doctor() {
  local t=$1
  shift
  rc=0
  out=$("$SESAME_ADMIN" --config "$IT_CONF" "${global[@]}" doctor --pam-dir "$IT_TMP/trees/$t" "$@" 2>&1) ||
    rc=$?
}

# expect WHAT RC NEEDLE...: the last doctor run exited RC and printed each NEEDLE.
expect() {
  local what=$1 want=$2 needle
  shift 2
  [ "$rc" = "$want" ] || fail "$what: exit $rc, expected $want; output:
$out"
  for needle in "$@"; do
    grep -qF -- "$needle" <<<"$out" || fail "$what: no '$needle' in:
$out"
  done
  pass "$what (exit $want)"
}

good_sshd=(
  "auth       [success=done user_unknown=ignore default=die] $mod"
  "auth       [success=1 default=ignore]  pam_unix.so try_first_pass"
  "auth       requisite   pam_deny.so"
  "auth       required    pam_permit.so"
  "account    required     pam_nologin.so"
  "account    [success=ok new_authtok_reqd=ok user_unknown=ignore default=die] $mod"
  "@include common-account"
  "session    required     pam_limits.so")
common_account=(
  "account	[success=1 new_authtok_reqd=done default=ignore]	pam_unix.so"
  "account	requisite			pam_deny.so"
  "account	required			pam_permit.so")

# --- a good setup: no warning, no error
tree good sshd "${good_sshd[@]}"
tree good common-account "${common_account[@]}"
tree good imap "auth required $mod mode=app_password" "account required $mod"
tree good login "auth required pam_unix.so" "account required pam_unix.so"
tree good sshd.dpkg-old "auth sufficient $mod mode=app_password"
doctor good
expect "good stacks" 0 "info: sshd: uses Sesame: auth (mode=interactive), account" \
  "info: imap: uses Sesame: auth (mode=app_password), account" "0 errors, 0 warnings"
grep -q "login\|dpkg-old" <<<"$out" && fail "good stacks: a service without Sesame or a backup file reported: $out"
global=(--verbose)
doctor good
global=()
expect "good setup, --verbose" 0 "configuration parses" "key file present" \
  "schema version" "integrity ok"
doctor good --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["errors"]==0 and d["warnings"]==0, d' <<<"$out" ||
  fail "good stacks --json: $out"
pass "good stacks --json: errors 0, warnings 0"

# --- each risky stack
tree sufficient sshd "auth sufficient $mod" "auth required pam_unix.so try_first_pass" \
  "account [success=ok user_unknown=ignore default=die] $mod"
doctor sufficient
expect "sufficient before a prompting module" 1 \
  "warning: $IT_TMP/trees/sufficient/sshd:1: pam_sesame is 'sufficient' before pam_unix.so"

tree app_on_sshd sshd "auth [success=done user_unknown=ignore default=die] $mod mode=app_password" \
  "auth required pam_unix.so" "account [success=ok user_unknown=ignore default=die] $mod"
doctor app_on_sshd
expect "mode=app_password on sshd" 1 "mode=app_password on sshd: an app password would open a session"

tree interactive_mail dovecot "auth required $mod" "account required $mod"
doctor interactive_mail
expect "mode=interactive on a mail service" 1 "mode=interactive on mail service dovecot"
expect "mode=interactive on a mail service stalls the auth worker" 1 "auth worker sleep 2 s"

tree no_account sshd "auth [success=done user_unknown=ignore default=die] $mod" \
  "auth required pam_unix.so" "account required pam_unix.so"
doctor no_account
expect "no account line" 1 "warning: sshd: pam_sesame is in the auth stack but not in the account stack"

tree fragment common-auth "auth [success=1 user_unknown=ignore default=die] $mod" \
  "auth [success=1 default=ignore] pam_unix.so try_first_pass" "auth requisite pam_deny.so" \
  "auth required pam_permit.so"
tree fragment common-account "account [success=ok new_authtok_reqd=ok user_unknown=ignore default=die] $mod" \
  "${common_account[@]}"
tree fragment login "@include common-auth" "@include common-account"
doctor fragment
expect "common-auth holds only auth lines (a fragment)" 0 "info: common-auth: uses Sesame: auth (mode=interactive)" \
  "info: login: uses Sesame: auth (mode=interactive), account" "0 errors, 0 warnings"

tree after_deny common-auth "auth [success=1 default=ignore] pam_unix.so" "auth requisite pam_deny.so" \
  "auth required pam_permit.so" "auth [success=ok user_unknown=ignore default=die] $mod" \
  "account [success=ok user_unknown=ignore default=die] $mod"
tree after_deny sshd "@include common-auth"
doctor after_deny
expect "after pam_deny, through @include" 1 \
  "$IT_TMP/trees/after_deny/common-auth:4: pam_sesame comes after pam_deny.so ($IT_TMP/trees/after_deny/common-auth:2)" \
  "info: sshd: uses Sesame"

tree root_required sshd "auth required $mod" "account required $mod"
doctor root_required
expect "required turns PAM_USER_UNKNOWN into a failure for root" 1 \
  "sshd:2: in sshd this line turns PAM_USER_UNKNOWN into a failure ('required'): root" \
  "key logins included"

tree session_line sshd "${good_sshd[@]}" "session required $mod"
tree session_line common-account "${common_account[@]}"
doctor session_line
expect "a session line" 2 "pam_sesame has no session group"

tree missing_module sshd "auth [success=done user_unknown=ignore default=die] /nonexistent/pam_sesame.so" \
  "account [success=ok user_unknown=ignore default=die] /nonexistent/pam_sesame.so"
doctor missing_module
expect "module file missing" 2 "names /nonexistent/pam_sesame.so, which does not exist"

# --- root not exempt: a broken store would lock root out
cp "$IT_CONF" "$IT_TMP/conf.orig"
echo "exempt_users = none" >>"$IT_CONF"
doctor good
expect "exempt_users = none" 1 "exempt_users does not name root" \
  "root is not in exempt_users and this line denies when the store or key is unusable"
cp "$IT_TMP/conf.orig" "$IT_CONF"

# --- broken setups (good stacks)
echo "argon2_memory_kb = 16" >>"$IT_CONF"
doctor good
expect "config with an unknown key" 2 "error: $IT_CONF: $IT_CONF:8: unknown key 'argon2_memory_kb'"
cp "$IT_TMP/conf.orig" "$IT_CONF"
chmod 0666 "$IT_CONF"
doctor good
expect "config writable by others" 2 "(config file) is writable by group or others"
chmod 0644 "$IT_CONF"

chown 65534 "$state/sesame.key"
doctor good
expect "key of another owner" 2 "error: $state/sesame.key:" "owned by uid 65534"
chown 0 "$state/sesame.key"
chmod 0444 "$state/sesame.key"
doctor good
expect "key readable by others" 2 "(key file) is readable by group or others"
chmod 0400 "$state/sesame.key"
cp "$state/sesame.key" "$IT_TMP/key.orig"
head -c 31 /dev/urandom >"$state/sesame.key"
doctor good
expect "key of the wrong size" 2 "has 31 bytes, expected 32"
cp "$IT_TMP/key.orig" "$state/sesame.key"
chmod 0400 "$state/sesame.key"

chmod 0644 "$state/sesame.db"
doctor good
expect "store readable by others" 2 "error: $state/sesame.db:"
chmod 0600 "$state/sesame.db"
chown 65534 "$state/sesame.db"
doctor good
expect "store of another owner" 2 "owned by uid 65534"
chown 0 "$state/sesame.db"
doctor good
expect "repaired setup" 0 "0 errors, 0 warnings"

# --- db check | migrate
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" db check 2>&1) || rc=$?
expect "db check, current store" 0 "schema version:" "integrity: ok"
current=$("$SESAME_ADMIN" --config "$IT_CONF" db check --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["current_version"])')
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" db migrate 2>&1) || rc=$?
expect "db migrate, nothing to do" 0 "nothing to migrate"
ls "$state"/sesame.db.v*.bak >/dev/null 2>&1 && fail "db migrate made a backup with nothing to migrate"
mv "$state/sesame.db" "$state/sesame.db.aside"
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" db migrate 2>&1) || rc=$?
expect "db migrate without a store" 3 "does not exist; run \`sesame-admin init\`"
mv "$state/sesame.db.aside" "$state/sesame.db"

rm -f "$state"/sesame.db*
python3 - "$state/sesame.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE schema_version(version INTEGER NOT NULL);
INSERT INTO schema_version(version) VALUES (1);
CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,
  user TEXT NOT NULL, service TEXT NOT NULL, remote_host TEXT NOT NULL,
  method TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);
INSERT INTO users(name, password_hash, disabled, created) VALUES ('alice', 'h1', 1, 4242);
""")
db.commit()
PY
chmod 0600 "$state/sesame.db"
doctor good
expect "doctor on a version-1 store" 2 "schema version 1, this sesame needs $current" "sesame-admin db migrate"
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" db check 2>&1) || rc=$?
expect "db check, version-1 store" 1 "schema version: 1 (this sesame: $current)" "run \`sesame-admin db migrate\`"
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" db migrate 2>&1) || rc=$?
expect "db migrate, version 1" 0 "migrated from schema version 1 to $current; backup: $state/sesame.db.v1-"
backup=$(ls "$state"/sesame.db.v1-*.bak)
[ "$(stat -c %a:%u "$backup")" = "600:0" ] || fail "backup $backup is $(stat -c %a:%u "$backup"), expected 600:0"
[ "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select max(version) from schema_version").fetchone()[0])' "$backup")" = 1 ] ||
  fail "backup $backup is not the version-1 store"
pass "the backup is the version-1 store, 0600 root"
"$SESAME_ADMIN" --config "$IT_CONF" user show alice >/dev/null || fail "alice is gone after the migration"
pass "alice kept through the migration"
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" db check 2>&1) || rc=$?
expect "db check after the migration" 0 "schema version: $current (this sesame: $current)"

# --- calibrate: within the limits asked
for args in "--max-memory 32M --concurrent 4 --target-ms 30" "--max-memory 8M --concurrent 2 --target-ms 200"; do
  # shellcheck disable=SC2086  # words on purpose
  json=$("$SESAME_ADMIN" --config "$IT_CONF" calibrate $args --json) || fail "calibrate $args failed"
  # shellcheck disable=SC2086  # words on purpose
  python3 - "$json" $args <<'PY' || fail "calibrate $args: $json"
import json, sys
d = json.loads(sys.argv[1])
a = dict(zip(sys.argv[2::2], sys.argv[3::2]))
mib = int(a["--max-memory"].rstrip("M"))
assert d["argon2_memory_kib"] * int(a["--concurrent"]) <= mib * 1024, d
assert d["total_memory_kib"] <= d["max_memory_kib"] == mib * 1024, d
assert d["argon2_max_concurrent"] == int(a["--concurrent"]), d
assert d["argon2_time_cost"] >= 1 and d["argon2_parallelism"] == 1, d
if d["target_met"]:
    assert d["measured_ms"] <= int(a["--target-ms"]), d
PY
  pass "calibrate $args: $json"
done
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" calibrate --max-memory 16M --concurrent 2 --target-ms 20 2>&1) || rc=$?
expect "calibrate prints config lines" 0 "argon2_memory_kib = " "argon2_max_concurrent = 2"
rc=0
out=$("$SESAME_ADMIN" --config "$IT_CONF" calibrate --max-memory 10K --concurrent 4 2>&1) || rc=$?
expect "calibrate with too little memory" 2 "leaves less than 8 KiB each"
