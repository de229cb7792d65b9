# shellcheck shell=bash
# PostgreSQL helpers for the integration scripts (sourced after lib.sh; not
# a test itself: tests/integration/CMakeLists.txt leaves *lib.sh out).
#
# ctest starts one private cluster for the run (the fixture "postgres",
# tests/pg/pg-cluster) and hands its directory to every test as
# SESAME_TEST_POSTGRES; DIR/cluster.env holds the connection facts.
#
#   pg_load            source DIR/cluster.env (PG_BIN, PG_PORT, PG_ADMIN_DSN,
#                      PG_CA, PG_SESAME_PASSWORD, ...: see tests/pg/pg-cluster).
#                      Without a cluster the test is skipped (exit 77, which
#                      ctest shows as Skipped), saying why; with
#                      SESAME_REQUIRE_POSTGRES=1 (scripts/test, CI) it fails.
#   pg_new_db NAME     a fresh database owned by role sesame; prints its name
#                      (NAME with this run's pid: tests run in parallel in
#                      one cluster). Dropped at exit by pg_cleanup.
#   pg_psql DSN SQL    runs SQL (one or more statements, each on its own, stop
#                      at the first error); prints rows unaligned, '|' between
#                      columns, no header. Never asks for a password.
#   pg_admin_dsn [DB]  superuser postgres over the Unix socket (trust).
#   pg_sesame_dsn [DB] role sesame over TCP on 127.0.0.1, TLS with the server
#                      checked (sslmode=verify-full), no password: give one
#                      with PGPASSWORD or a passfile (pg_write_passfile).
#   pg_write_passfile FILE
#                      a libpq passfile with role sesame's password, owned by
#                      root (the caller) and 0600, as postgres_passfile wants.
#   pg_cleanup         drops the databases pg_new_db made. pg_load puts it in
#                      the EXIT trap, before the trap the script had; a
#                      script that sets its EXIT trap after pg_load calls
#                      pg_cleanup from it. (A database left over goes with
#                      the cluster at the end of the run.)
#
# Usage:
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/pg_lib.sh"
#   pg_load
#   db=$(pg_new_db fleet)
#   PGPASSWORD=$PG_SESAME_PASSWORD pg_psql "$(pg_sesame_dsn "$db")" 'select 1'

: "${it_name:?pg_lib.sh: source lib.sh first}"
PG_LIB_DBS_FILE=""

pg_load() {
  local dir=${SESAME_TEST_POSTGRES:-} why=""
  if [ -z "$dir" ]; then
    why="SESAME_TEST_POSTGRES is not set (ctest sets it in a build with the PostgreSQL store)"
  elif [ ! -r "$dir/cluster.env" ]; then
    why="no $dir/cluster.env: the cluster did not start (see the test postgres_cluster_start)"
  fi
  if [ -n "$why" ]; then
    if [ "${SESAME_REQUIRE_POSTGRES:-0}" = 1 ]; then
      fail "no PostgreSQL cluster: $why (SESAME_REQUIRE_POSTGRES=1)"
    fi
    echo "$it_name: SKIP: no PostgreSQL cluster: $why"
    exit 77
  fi
  # Nothing from the environment steers libpq (PGHOST, PGPASSWORD, ...).
  local v
  while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG' || true)
  # shellcheck source=/dev/null
  source "$dir/cluster.env"
  local need
  for need in PG_BIN PG_PORT PG_SOCKET_DIR PG_ADMIN_DSN PG_CA PG_SESAME_PASSWORD; do
    [ -n "${!need:-}" ] || fail "$dir/cluster.env has no $need"
  done
  PG_LIB_DBS_FILE=$(mktemp /tmp/sesame-pg-dbs.XXXXXX)
  # pg_cleanup first, then the EXIT trap the script had (trap -p prints it
  # quoted for the shell: set -- gives trap, --, COMMAND, EXIT).
  local had
  had=$(trap -p EXIT)
  if [ -n "$had" ]; then
    eval "set -- $had"
    # shellcheck disable=SC2064  # the command is fixed now, on purpose
    trap "pg_cleanup; $3" EXIT
  else
    trap pg_cleanup EXIT
  fi
}

pg_admin_dsn() {
  echo "host=$PG_SOCKET_DIR port=$PG_PORT user=postgres dbname=${1:-postgres}"
}

pg_sesame_dsn() {
  echo "host=127.0.0.1 port=$PG_PORT dbname=${1:-sesame} user=sesame sslmode=verify-full sslrootcert=$PG_CA connect_timeout=3"
}

pg_psql() {
  [ $# -eq 2 ] || fail "usage: pg_psql DSN SQL"
  printf '%s\n' "$2" | "$PG_BIN/psql" -X -w -q -A -t -F'|' -v ON_ERROR_STOP=1 "$1" -f -
}

pg_new_db() {
  [ $# -eq 1 ] || fail "usage: pg_new_db NAME"
  [ -n "$PG_LIB_DBS_FILE" ] || fail "pg_new_db: call pg_load first"
  local name
  # Lower case, letters, digits and _ only: no quoting needed in SQL.
  name=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_' '_')
  name="${name:0:40}_$$_$RANDOM"
  pg_psql "$PG_ADMIN_DSN" "CREATE DATABASE $name OWNER sesame" >/dev/null ||
    fail "pg_new_db: cannot create database $name"
  echo "$name" >>"$PG_LIB_DBS_FILE"
  echo "$name"
}

pg_write_passfile() {
  [ $# -eq 1 ] || fail "usage: pg_write_passfile FILE"
  (
    umask 077
    printf '127.0.0.1:%s:*:sesame:%s\n' "$PG_PORT" "$PG_SESAME_PASSWORD" >"$1"
  )
  chmod 0600 "$1"
}

pg_cleanup() {
  local name
  if [ -n "$PG_LIB_DBS_FILE" ] && [ -f "$PG_LIB_DBS_FILE" ]; then
    while IFS= read -r name; do
      [ -n "$name" ] || continue
      "$PG_BIN/psql" -X -w -q "$PG_ADMIN_DSN" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
        >/dev/null 2>&1 || echo "$it_name: note: could not drop database $name" >&2
    done <"$PG_LIB_DBS_FILE"
    rm -f -- "$PG_LIB_DBS_FILE"
  fi
  PG_LIB_DBS_FILE=""
}
