# shellcheck shell=bash
# sesame-admin db copy --from-sqlite, db check, db migrate and doctor on a
# PostgreSQL store (issue 13: "Admin", and the proof "db copy round trip").
#
# A SQLite store gets every kind of row through sesame-admin and sign-ins
# through pam_sesame.so (pamtester): users with passwords, a changed
# password (history) and a forced change, an authenticator (a known key;
# codes from oathtool) with a used time step and a used recovery code, MFA
# required of a user and of a group, app passwords (active with a last use,
# revoked, expiring), wrong app passwords (the app-password lockout bucket),
# a user locked by wrong passwords, and the events of all of it. Then:
#  - db copy into a fresh PostgreSQL database (least-privilege setup of
#    docs/install.md "Fleet": an owner role for init, the hosts' role with
#    rows only): every table equal, column by column, to the file's;
#  - signed in over PostgreSQL (pamtester, config with store = postgres):
#    the same password, a new code (the code used before is refused: its
#    time step came along), an unused recovery code (the used one is gone),
#    the app password in mode=app_password (the revoked one refused), the
#    locked user refused until `unlock`;
#  - a non-empty target without --merge, and --merge with a user in both:
#    refused (exit 4) and nothing changed; --merge of another host's store
#    adds its user and appends its events;
#  - a garbage file, an old schema, a group-readable file and a file from a
#    host with another key: refused with what to do, nothing written;
#  - db check (rows, consistency; an orphan row made by hand is found), db
#    migrate (nothing to do, no backup, pg_dump named), doctor (DSN,
#    passfile, TLS, role, schema; the owner role warned about, a
#    group-readable passfile an error).
#
# PostgreSQL: the cluster ctest starts (pg_lib.sh); without one the test is
# skipped (exit 77) unless SESAME_REQUIRE_POSTGRES=1. Works in its own temp
# dir, roles and databases (dropped at the end).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

for t in pamtester oathtool sqlite3 python3; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/install-deps test)"
done

# shellcheck source=tests/integration/pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"

it_setup
ROLES=()
cleanup() {
  set +e
  local r
  for r in "${ROLES[@]}"; do
    "$PG_BIN/psql" -X -w -q "$PG_ADMIN_DSN" -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
  done
  rm -rf "$IT_TMP"
}
trap cleanup EXIT
# Skips (77) without a cluster; at exit drops pg_new_db's databases, then
# runs cleanup.
# shellcheck disable=SC2119  # pg_load takes no arguments
pg_load
admin() { "$SESAME_ADMIN" "$@"; }
psql_db() { pg_psql "$(pg_admin_dsn "$1")" "$2"; } # psql_db DB SQL, as the superuser
psql_admin() { pg_psql "$PG_ADMIN_DSN" "$1" >/dev/null; }

# Roles of this run (cluster-wide names, so unique per run), as in
# docs/install.md "Fleet": OWNER runs init and migrations, HOST has rows only.
tag="dbc$$"
OWNER="${tag}_owner"
HOST="${tag}_host"
pw() { head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 24; }
OWNER_PW=$(pw)
HOST_PW=$(pw)
ROLES=("$OWNER" "$HOST")
psql_admin "CREATE ROLE $OWNER LOGIN PASSWORD '$OWNER_PW'"
psql_admin "CREATE ROLE $HOST LOGIN PASSWORD '$HOST_PW'"
state=$IT_TMP/state
umask 077
printf '127.0.0.1:%s:*:%s:%s\n127.0.0.1:%s:*:%s:%s\n' "$PG_PORT" "$OWNER" "$OWNER_PW" \
  "$PG_PORT" "$HOST" "$HOST_PW" >"$state/pgpass"
umask 022
chmod 0600 "$state/pgpass"

# new_db NAME: a fresh database (pg_new_db) given to OWNER, whose tables
# HOST may read and write (rows only); its name in $DB, and two configs:
# $IT_TMP/$DB-owner.conf and $IT_TMP/$DB-host.conf (the key of the SQLite
# host: the fleet's key). Not in $(...): it sets DB.
new_db() {
  local db role
  db=$(pg_new_db "$1")
  psql_admin "ALTER DATABASE $db OWNER TO $OWNER"
  psql_db "$db" "ALTER DEFAULT PRIVILEGES FOR ROLE $OWNER IN SCHEMA public
                 GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $HOST;
                 GRANT USAGE ON SCHEMA public TO $HOST" >/dev/null
  for role in owner host; do
    local user=$OWNER
    [ $role = host ] && user=$HOST
    {
      grep -v '^store_path' "$IT_CONF"
      echo "store = postgres"
      echo "postgres_dsn = host=127.0.0.1 port=$PG_PORT dbname=$db user=$user sslmode=verify-full sslrootcert=$PG_CA"
      echo "postgres_passfile = $state/pgpass"
    } >"$IT_TMP/$db-$role.conf"
    chmod 0644 "$IT_TMP/$db-$role.conf"
  done
  local said
  if ! said=$(admin --config "$IT_TMP/$db-owner.conf" init 2>&1); then
    # A build without libpq (SESAME_WITH_POSTGRES=OFF) has nothing to test.
    if grep -q "has no PostgreSQL backend" <<<"$said" && [ "${SESAME_REQUIRE_POSTGRES:-0}" != 1 ]; then
      echo "$it_name: SKIP: this sesame-admin has no PostgreSQL backend: $said"
      exit 77
    fi
    fail "init of database $db: $said"
  fi
  DB=$db
}

# run WHAT ARGS...: runs sesame-admin; output in $out, exit code in $rc.
run() {
  rc=0
  out=$("$SESAME_ADMIN" "$@" 2>&1) || rc=$?
}
# expect WHAT RC NEEDLE...: the last run exited RC and printed each NEEDLE.
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

# ---- the SQLite host: every kind of row ----
cat >>"$IT_CONF" <<'CONF'
deny = 3
totp_window = 10
password_history = 5
CONF
SQ=$IT_CONF
SQ_DB=$state/sesame.db
KEY=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
A="dbca-$$"
B="dbcb-$$"
C="dbcc-$$"
PW_A="alpha-copy-pass-1"
PW_B="bravo-copy-pass-1"
PW_C="charlie-copy-pass-1"
printf '%s\n' "$PW_A" | admin --config "$SQ" user add "$A" --password-stdin >/dev/null
printf '%s\n' "bravo-first-pass" | admin --config "$SQ" user add "$B" --password-stdin >/dev/null
printf '%s\n' "$PW_C" | admin --config "$SQ" user add "$C" --password-stdin >/dev/null
# B: a changed password (history) and a forced change.
printf '%s\n' "$PW_B" | admin --config "$SQ" password reset "$B" --password-stdin >/dev/null
enroll=$(printf '%s\n' "$KEY" | admin --config "$SQ" mfa enroll "$A" --secret-stdin) ||
  fail "mfa enroll $A"
mapfile -t RECOVERY < <(awk '/^Recovery codes/ { f = 1; next } f && /^  [^ ]/ { sub(/^  /, ""); print }' \
  <<<"$enroll")
[ "${#RECOVERY[@]}" -ge 3 ] || fail "no recovery codes in the enroll output: $enroll"
admin --config "$SQ" mfa require "$B" >/dev/null
admin --config "$SQ" mfa require @users >/dev/null
APP=$(admin --config "$SQ" app-password create "$A" mail --services imap --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["app_password"])')
OLD_APP=$(admin --config "$SQ" app-password create "$A" old-phone --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["app_password"])')
admin --config "$SQ" app-password revoke "$A" old-phone >/dev/null
admin --config "$SQ" app-password create "$A" short --expires 30d >/dev/null

# Codes for later and later time steps (totp_window = 10): each a new
# step. The offset lives in a file: code runs in $(...), a subshell.
echo -240 >"$IT_TMP/offset"
code() {
  local offset
  offset=$(cat "$IT_TMP/offset")
  echo $((offset + 30)) >"$IT_TMP/offset"
  oathtool --totp -b "$KEY" -N "$offset seconds"
}
# sign_in CONF USER ANSWERS...: pamtester through the service of CONF
# (services_for CONF makes it).
services_for() {
  it_service "$(basename "$1" .conf)" "auth required $SESAME_MODULE config=$1"
}
sign_in() {
  local conf=$1 user=$2
  shift 2
  printf '%s\n' "$@" | it_pamtester -I rhost=192.0.2.7 "$(basename "$conf" .conf)" "$user" \
    authenticate >"$IT_TMP/pam.out" 2>&1
}
# app_sign_in CONF USER APP-PASSWORD: through service imap (an app
# password's services name the PAM service) in mode=app_password.
app_sign_in() {
  it_service imap "auth required $SESAME_MODULE config=$1 mode=app_password"
  printf '%s\n' "$3" | it_pamtester -I rhost=192.0.2.8 imap "$2" authenticate >"$IT_TMP/pam.out" 2>&1
}
services_for "$SQ"
USED_CODE=$(code)
sign_in "$SQ" "$A" "$PW_A" "$USED_CODE" || fail "SQLite: $A with a code: $(cat "$IT_TMP/pam.out")"
sign_in "$SQ" "$A" "$PW_A" "${RECOVERY[0]}" ||
  fail "SQLite: $A with a recovery code: $(cat "$IT_TMP/pam.out")"
app_sign_in "$SQ" "$A" "$APP" || fail "SQLite: $A's app password: $(cat "$IT_TMP/pam.out")"
app_sign_in "$SQ" "$A" "wrongwrongwrongwrongwron" && fail "SQLite: a wrong app password signed in"
app_sign_in "$SQ" "$A" "anotherwrongappasswordxx" && fail "SQLite: a wrong app password signed in"
for wrong in wrong-one-1 wrong-two-2 wrong-three-3; do
  sign_in "$SQ" "$C" "$wrong" && fail "SQLite: a wrong password of $C signed in"
done
sign_in "$SQ" "$C" "$PW_C" && fail "SQLite: $C signed in although locked"
[ "$(admin --config "$SQ" user show "$C" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["locked"])')" = True ] ||
  fail "SQLite: $C is not locked after 3 wrong passwords"
pass "SQLite store with users, history, a forced change, TOTP, recovery codes, required MFA, app passwords, lockouts and events"

# dump_sqlite FILE / dump_pg DB: every table, ids left out, booleans 0/1.
dump_sqlite() {
  sqlite3 -noheader -separator '|' "$1" "
    SELECT 'users', name, password_hash, disabled, created, password_changed, must_change,
      failures, pending_attempts, first_failure, locked_until, recent_failures, totp_sealed,
      totp_last_step, mfa_required, mfa_required_since FROM users ORDER BY name;
    SELECT 'password_history', user, hash, changed FROM password_history ORDER BY user, id;
    SELECT 'recovery_codes', user, digest FROM recovery_codes ORDER BY user, digest;
    SELECT 'mfa_required_groups', name, since FROM mfa_required_groups ORDER BY name;
    SELECT 'app_passwords', user, name, digest, services, created, expires, last_used,
      last_used_from, revoked FROM app_passwords ORDER BY id;
    SELECT 'app_password_lockout', user, failures, pending_attempts, first_failure,
      locked_until, recent_failures FROM app_password_lockout ORDER BY user;
    SELECT 'events', time, user, service, remote_host, method, outcome, detail, count
      FROM events ORDER BY id;"
}
dump_pg() {
  psql_db "$1" "
    SELECT 'users', name, password_hash, disabled::int, created, password_changed,
      must_change::int, failures, pending_attempts, first_failure, locked_until,
      recent_failures, totp_sealed, totp_last_step, mfa_required::int, mfa_required_since
      FROM users ORDER BY name;
    SELECT 'password_history', user_name, hash, changed FROM password_history
      ORDER BY user_name, id;
    SELECT 'recovery_codes', user_name, digest FROM recovery_codes ORDER BY user_name, digest;
    SELECT 'mfa_required_groups', name, since FROM mfa_required_groups ORDER BY name;
    SELECT 'app_passwords', user_name, name, digest, services, created, expires, last_used,
      last_used_from, revoked FROM app_passwords ORDER BY id;
    SELECT 'app_password_lockout', user_name, failures, pending_attempts, first_failure,
      locked_until, recent_failures FROM app_password_lockout ORDER BY user_name;
    SELECT 'events', time, user_name, service, remote_host, method, outcome, detail, count
      FROM events ORDER BY id;"
}
dump_sqlite "$SQ_DB" >"$IT_TMP/sqlite.dump"
for table in users password_history recovery_codes mfa_required_groups app_passwords \
  app_password_lockout events; do
  grep -q "^$table|" "$IT_TMP/sqlite.dump" || fail "the SQLite store has no $table row to copy"
done

# ---- db copy into a fresh database ----
new_db copy_one
DB1=$DB
PGC=$IT_TMP/$DB1-host.conf
run --config "$PGC" db check
expect "db check, fresh database" 0 "store: postgres host=127.0.0.1 port=$PG_PORT dbname=$DB1 user=$HOST" \
  "server: 127.0.0.1 port $PG_PORT: PostgreSQL 15" "TLS TLSv1." "role $HOST, primary" "schema version: 3 (this sesame: 3)" "users 0," "consistency: ok"
sq_sum=$(sha256sum "$SQ_DB" | cut -d' ' -f1)
run --config "$PGC" db copy --from-sqlite "$SQ_DB"
expect "db copy into an empty store" 0 "copied $SQ_DB into store postgres host=127.0.0.1" \
  "3 users," "1 required group," "3 app passwords," "events"
grep -qF -e "$HOST_PW" -e "$OWNER_PW" <<<"$out" && fail "db copy printed a password"
[ "$(sha256sum "$SQ_DB" | cut -d' ' -f1)" = "$sq_sum" ] || fail "db copy changed the SQLite file"
dump_pg "$DB1" >"$IT_TMP/pg.dump"
diff "$IT_TMP/sqlite.dump" "$IT_TMP/pg.dump" >"$IT_TMP/dump.diff" ||
  fail "the PostgreSQL store differs from the SQLite file:
$(cat "$IT_TMP/dump.diff")"
pass "every table equal to the file's, column by column ($(wc -l <"$IT_TMP/pg.dump") rows); the file untouched"
for u in "$A" "$B" "$C"; do
  [ "$(admin --config "$SQ" user show "$u" --json)" = "$(admin --config "$PGC" user show "$u" --json)" ] ||
    fail "user show $u differs between the SQLite and the PostgreSQL store"
done
pass "user show --json of each user is the same on both stores"
run --config "$PGC" db check --json
python3 - "$out" "$PG_PORT" <<'PY' || fail "db check --json after the copy: $out"
import json, sys
d = json.loads(sys.argv[1])
assert d["backend"] == "postgres" and d["integrity"] == "ok", d
assert d["rows"]["users"] == 3 and d["rows"]["mfa_required_groups"] == 1, d
assert d["rows"]["app_passwords"] == 3 and d["rows"]["app_password_lockout"] == 1, d
assert d["server"]["tls"] and d["server"]["read_only"] is False, d
assert d["server"]["connected_to"] == "127.0.0.1 port " + sys.argv[2], d
PY
pass "db check --json: rows per table, consistency ok, TLS, primary"

# ---- signed in over PostgreSQL ----
services_for "$PGC"
sign_in "$PGC" "$A" "$PW_A" "$USED_CODE" && fail "PostgreSQL: the code used on the SQLite host was accepted again"
sign_in "$PGC" "$A" "$PW_A" "$(code)" || fail "PostgreSQL: $A with password and a new code: $(cat "$IT_TMP/pam.out")"
pass "over PostgreSQL: the same password and a new code sign in; the code used before is refused (its time step came along)"
sign_in "$PGC" "$A" "$PW_A" "${RECOVERY[0]}" && fail "PostgreSQL: a used recovery code was accepted"
sign_in "$PGC" "$A" "$PW_A" "${RECOVERY[1]}" ||
  fail "PostgreSQL: $A with an unused recovery code: $(cat "$IT_TMP/pam.out")"
pass "over PostgreSQL: an unused recovery code signs in, the used one is gone"
app_sign_in "$PGC" "$A" "$APP" || fail "PostgreSQL: $A's app password: $(cat "$IT_TMP/pam.out")"
app_sign_in "$PGC" "$A" "$OLD_APP" && fail "PostgreSQL: the revoked app password signed in"
pass "over PostgreSQL: the app password signs in (mode=app_password), the revoked one does not"
sign_in "$PGC" "$C" "$PW_C" && fail "PostgreSQL: $C signed in although locked on the SQLite host"
admin --config "$PGC" unlock "$C" >/dev/null || fail "unlock $C over PostgreSQL"
sign_in "$PGC" "$C" "$PW_C" || fail "PostgreSQL: $C after unlock: $(cat "$IT_TMP/pam.out")"
pass "over PostgreSQL: the locked user stays locked until unlock, then signs in"

# ---- refusals that change nothing ----
before=$(dump_pg "$DB1")
run --config "$PGC" db copy --from-sqlite "$SQ_DB"
expect "a non-empty target without --merge" 4 "is not empty (3 users, 3 app passwords," \
  "nothing copied" "add --merge"
run --config "$PGC" db copy --from-sqlite "$SQ_DB" --merge
expect "--merge with users in both" 4 "users $A, $B, $C of $SQ_DB are in PostgreSQL store" "nothing copied"
[ "$(dump_pg "$DB1")" = "$before" ] || fail "a refused copy changed the store"
pass "the refused copies changed nothing"

# Another host's store (same fleet key): one new user.
mkdir -m 0700 "$IT_TMP/host2"
sed "s#^store_path = .*#store_path = $IT_TMP/host2/sesame.db#" "$SQ" >"$IT_TMP/host2.conf"
chmod 0644 "$IT_TMP/host2.conf"
admin --config "$IT_TMP/host2.conf" init >/dev/null
D="dbcd-$$"
printf '%s\n' "delta-copy-pass-1" | admin --config "$IT_TMP/host2.conf" user add "$D" --password-stdin >/dev/null
admin --config "$IT_TMP/host2.conf" mfa require @users >/dev/null
events_before=$(psql_db "$DB1" "SELECT count(*) FROM events")
run --config "$PGC" db copy --from-sqlite "$IT_TMP/host2/sesame.db" --merge
expect "--merge of another host's store" 0 "(merged)" "1 user," "1 group was required already, kept"
events_after=$(psql_db "$DB1" "SELECT count(*) FROM events")
host2_events=$(sqlite3 "$IT_TMP/host2/sesame.db" "SELECT count(*) FROM events")
[ "$events_after" -eq $((events_before + host2_events)) ] ||
  fail "--merge: $events_before + $host2_events events, the store has $events_after"
sign_in "$PGC" "$D" "delta-copy-pass-1" || fail "PostgreSQL: $D merged from the second host: $(cat "$IT_TMP/pam.out")"
pass "--merge added the other host's user (who signs in) and appended its events"

# Files that are refused: each into a fresh database, which stays empty.
new_db copy_two
DB2=$DB
PGC2=$IT_TMP/$DB2-host.conf
head -c 8192 /dev/urandom >"$IT_TMP/host2/garbage.db"
chmod 0600 "$IT_TMP/host2/garbage.db"
run --config "$PGC2" db copy --from-sqlite "$IT_TMP/host2/garbage.db"
expect "a garbage file" 1 "is not a valid SQLite database" "nothing copied"
run --config "$PGC2" db copy --from-sqlite "$IT_TMP/host2/none.db"
expect "a missing file" 3 "does not exist"
python3 - "$IT_TMP/host2/old.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE schema_version(version INTEGER NOT NULL);
INSERT INTO schema_version(version) VALUES (1);
CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
""")
db.commit()
PY
chmod 0600 "$IT_TMP/host2/old.db"
run --config "$PGC2" db copy --from-sqlite "$IT_TMP/host2/old.db"
expect "a store of an old schema" 1 "has schema version 1; db copy reads versions 9 to 10" "sesame-admin db migrate"
cp "$IT_TMP/host2/sesame.db" "$IT_TMP/host2/open.db"
chmod 0640 "$IT_TMP/host2/open.db"
run --config "$PGC2" db copy --from-sqlite "$IT_TMP/host2/open.db"
expect "a group-readable file" 5 "$IT_TMP/host2/open.db"
# A host with another key: its authenticator secrets would not open here.
mkdir -m 0700 "$IT_TMP/host3"
sed -e "s#^store_path = .*#store_path = $IT_TMP/host3/sesame.db#" \
  -e "s#^key_file = .*#key_file = $IT_TMP/host3/sesame.key#" "$SQ" >"$IT_TMP/host3.conf"
chmod 0644 "$IT_TMP/host3.conf"
admin --config "$IT_TMP/host3.conf" init >/dev/null
printf '%s\n' "echo-copy-pass-1" | admin --config "$IT_TMP/host3.conf" user add "dbce-$$" --password-stdin >/dev/null
printf '%s\n' "$KEY" | admin --config "$IT_TMP/host3.conf" mfa enroll "dbce-$$" --secret-stdin >/dev/null
run --config "$PGC2" db copy --from-sqlite "$IT_TMP/host3/sesame.db"
expect "a store made under another key" 1 "the authenticator secret of user dbce-$$" \
  "does not open with key file $state/sesame.key" "nothing copied"
[ "$(psql_db "$DB2" "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM events) + (SELECT count(*) FROM app_passwords)")" = 0 ] ||
  fail "a refused file left rows in $DB2"
pass "refused files wrote nothing"

# ---- db migrate, db check, doctor ----
run --config "$PGC" db migrate
expect "db migrate, current schema" 0 "is at schema version 3: nothing to migrate"
run --config "$PGC" db migrate --json
expect "db migrate --json" 0 '"action":"none"' '"backup":""'
mkdir -m 0755 "$IT_TMP/pam-empty"
run --config "$PGC" --verbose doctor --pam-dir "$IT_TMP/pam-empty"
expect "doctor, the hosts' role" 0 "info: postgres_dsn: names host=127.0.0.1 port=$PG_PORT dbname=$DB1 user=$HOST, no password in it" \
  "info: $state/pgpass: passfile present" "connected to 127.0.0.1 port $PG_PORT: PostgreSQL 15" "TLS TLSv1." "role $HOST, primary" \
  "schema version 3 (current), consistency checks ok" "0 errors, 0 warnings"
# A store only indexes behind (version 1: no events_user_success_time nor
# events_user_failure_time, and events_user_host_success), as a fleet's
# hosts find it once they run this sesame and before the owner migrates
# (docs/install.md, "Upgrading a fleet"): usable, reported, and migrated
# by the owner only.
event_indexes="SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'events'"
psql_db "$DB1" "DROP INDEX events_user_success_time; DROP INDEX events_user_failure_time;
  CREATE INDEX events_user_host_success ON events(user_name, remote_host, id) WHERE outcome = 'success';
  UPDATE schema_version SET version = 1" >/dev/null
run --config "$PGC" db check
expect "db check, a store indexes behind" 1 "schema version: 1 (this sesame: 3)" \
  "sign-ins work meanwhile" "run \`sesame-admin db migrate\` from one host as the owner role"
run --config "$PGC" doctor --pam-dir "$IT_TMP/pam-empty"
expect "doctor, a store indexes behind" 1 \
  "schema version 1, this sesame knows 3: sign-ins work, without the newer indexes" "0 errors, 1 warning"
run --config "$PGC" activity --limit 1
expect "the hosts' role reads it" 0 ""
run --config "$PGC" db migrate
expect "db migrate by the hosts' role" 1 "must be owner of table events" \
  "the schema is changed by the role that owns sesame's tables"
[ "$(psql_db "$DB1" "SELECT version FROM schema_version")" = 1 ] || fail "a refused migration changed the version"
# docs/install.md, "Upgrading a fleet": version 3's index built beforehand,
# without holding up the hosts; the migration finds it there.
psql_db "$DB1" "CREATE INDEX CONCURRENTLY events_user_failure_time ON events(user_name, time)
  WHERE outcome <> 'success'" >/dev/null
run --config "$IT_TMP/$DB1-owner.conf" db migrate
expect "db migrate by the owner" 0 "migrated from schema version 1 to 3"
indexes=$(psql_db "$DB1" "$event_indexes")
[ "$indexes" = events_pkey,events_time,events_user_failure_time,events_user_success_time,events_user_time ] ||
  fail "db migrate left the events table with the indexes $indexes"
run --config "$PGC" db check
expect "db check after the migration" 0 "schema version: 3 (this sesame: 3)" "consistency: ok"
run --config "$IT_TMP/$DB1-owner.conf" doctor --pam-dir "$IT_TMP/pam-empty"
expect "doctor, the owner role" 1 "role $OWNER owns sesame's tables or may create objects" "0 errors, 1 warning"
chmod 0640 "$state/pgpass"
run --config "$PGC" doctor --pam-dir "$IT_TMP/pam-empty"
expect "doctor, a group-readable passfile" 2 "error: $state/pgpass:"
chmod 0600 "$state/pgpass"
# A row no sign-in could leave: an orphan, after the foreign key is dropped.
psql_db "$DB1" "ALTER TABLE recovery_codes DROP CONSTRAINT recovery_codes_user_name_fkey;
                INSERT INTO recovery_codes(user_name, digest) VALUES ('nobody-$$', 'x')" >/dev/null
run --config "$PGC" db check
expect "db check finds an orphan row" 1 "consistency: FAILED" "recovery codes of users not in the store" "nobody-$$"
run --config "$PGC" doctor --pam-dir "$IT_TMP/pam-empty"
expect "doctor finds it too" 2 "recovery codes of users not in the store"
