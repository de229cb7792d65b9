# shellcheck shell=bash
# The PostgreSQL server named by a host name (issue 13: an unreachable
# server fails a sign-in closed within postgres_connect_timeout, never a
# hung sshd). libpq's connect_timeout does not cover its own name lookup,
# which waits as long as the resolver does (10 s per silent name server
# with glibc's defaults); sesame looks the names up first, within the
# timeout (core/store/postgres/postgres_lookup.cc).
#
# In a mount namespace of its own (the host's files untouched): /etc/hosts
# names db.sesame-test.example (127.0.0.1, the test cluster), and
# /etc/resolv.conf points at a name server on 127.0.0.2 that takes every
# query and never answers. Then:
#  - the name in /etc/hosts: sesame-admin init, user add, and a sign-in
#    through pam_sesame.so (pamtester) work, TLS verify-full (sesame's
#    default): libpq connects to the address found and checks the
#    certificate against the name (tests/pg/pg-cluster puts it in the
#    certificate), and the passfile line keyed by the name is the one
#    used; another name for the same address is refused, since the
#    certificate does not name it;
#  - doctor says where the name leads and how long the lookup took;
#  - a name only DNS could answer: sesame-admin and the sign-in fail
#    closed within the 2 s timeout plus a margin, saying the name service
#    did not answer and what to do (before: 10 s); doctor warns;
#  - host=<that name>,<the good one>: the second host is used; doctor
#    says the first cannot be reached and the second is the primary.
# Skipped (77) without a cluster (pg_lib.sh) or where unshare --mount is
# refused, saying why.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
for t in pamtester python3 unshare mount; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/install-deps test)"
done
# shellcheck source=tests/integration/pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"

if ! unshare --mount --propagation private true 2>/dev/null; then
  echo "$it_name: SKIP: unshare --mount is not allowed here (the test changes /etc/hosts and /etc/resolv.conf in a mount namespace of its own)"
  exit 77
fi

it_setup
DNS_PID=""
cleanup() {
  set +e
  if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; fi
  rm -rf "$IT_TMP"
}
trap cleanup EXIT
# shellcheck disable=SC2119  # pg_load takes no arguments
pg_load
trap 'pg_cleanup; cleanup' EXIT
db=$(pg_new_db lookup)

# The name server that never answers (UDP and TCP on 127.0.0.2:53).
cat >"$IT_TMP/silent_dns.py" <<'PY'
import select, socket, sys
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.2", 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.2", 53))
tcp.listen(64)
print("ready", flush=True)
held = []
while True:
    ready, _, _ = select.select([udp, tcp], [], [])
    for s in ready:
        if s is udp:
            udp.recvfrom(65536)
        else:
            held.append(tcp.accept()[0])
PY
python3 "$IT_TMP/silent_dns.py" >"$IT_TMP/dns.log" 2>&1 &
DNS_PID=$!
for _ in $(seq 50); do grep -q ready "$IT_TMP/dns.log" && break; sleep 0.1; done
grep -q ready "$IT_TMP/dns.log" || fail "the silent name server did not start: $(cat "$IT_TMP/dns.log")"

printf '127.0.0.1 localhost\n127.0.0.1 db.sesame-test.example\n127.0.0.1 other.sesame-test.example\n' \
  >"$IT_TMP/hosts"
printf 'nameserver 127.0.0.2\n' >"$IT_TMP/resolv.conf"
chmod 0644 "$IT_TMP/hosts" "$IT_TMP/resolv.conf"
# in_ns CMD...: CMD with those two files, in a mount namespace of its own.
# shellcheck disable=SC2016  # the inner script's own $1 and $@
in_ns() {
  unshare --mount --propagation private bash -c \
    'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && shift && "$@"' \
    bash "$IT_TMP" "$@"
}
export -f it_pamtester it_preload
export IT_TMP

# Keyed by the name, as docs/install.md writes it: libpq matches the
# passfile on host (the name), not on the hostaddr sesame adds.
printf 'db.sesame-test.example:%s:%s:sesame:%s\n' "$PG_PORT" "$db" "$PG_SESAME_PASSWORD" >"$IT_TMP/pgpass"
chmod 0600 "$IT_TMP/pgpass"
# it_setup's config (key, runtime dir, minimum argon2 cost), its SQLite
# store replaced by the cluster.
grep -v '^store_path' "$IT_CONF" >"$IT_TMP/base.conf"
conf() {  # conf HOSTS: the config, reaching the cluster through HOSTS
  {
    cat "$IT_TMP/base.conf"
    printf '%s\n' 'store = postgres' \
      "postgres_dsn = host=$1 port=$PG_PORT dbname=$db user=sesame sslrootcert=$PG_CA" \
      "postgres_passfile = $IT_TMP/pgpass" 'postgres_connect_timeout = 2'
  } >"$IT_CONF"
}
# nodelay: the bound measured below is the name lookup's, not the 2 s fail
# delay libpam adds after a refusal.
it_service lookup "auth required $SESAME_MODULE config=$IT_CONF nodelay"
sign_in() {  # sign_in PASSWORD: exit status of pamtester authenticate as alice
  printf '%s\n' "$1" | in_ns it_pamtester lookup alice authenticate >"$IT_TMP/pam.out" 2>&1
}
seconds_since() { python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$1"; }
within() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$2"; }

# --- the name in /etc/hosts
conf db.sesame-test.example
in_ns "$SESAME_ADMIN" --config "$IT_CONF" init >"$IT_TMP/init.out" 2>&1 ||
  fail "init through the name in /etc/hosts: $(cat "$IT_TMP/init.out")"
printf '%s\n' 'alice pw 12345' | in_ns "$SESAME_ADMIN" --config "$IT_CONF" user add alice --password-stdin >/dev/null ||
  fail "user add through the name"
sign_in 'alice pw 12345' || fail "the sign-in through the name in /etc/hosts failed: $(cat "$IT_TMP/pam.out")"
sign_in 'wrong pw 12345' && fail "a wrong password signed in"
pass "a host name from /etc/hosts: init, user add and a sign-in (TLS verify-full against the name), a wrong password refused"
out=$(in_ns "$SESAME_ADMIN" --config "$IT_CONF" --verbose doctor 2>&1) || true
grep -q '^info: postgres_dsn: db.sesame-test.example is 127.0.0.1 (looked up in [0-9.]* ms;' <<<"$out" ||
  fail "doctor does not say where the name leads and how long its lookup took: $out"
grep -q '^warning: postgres_dsn: ' <<<"$out" && fail "doctor warns about a name from /etc/hosts: $out"
pass "doctor: the name, its address and the lookup's time"

conf other.sesame-test.example
rc=0
out=$(in_ns "$SESAME_ADMIN" --config "$IT_CONF" user list 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "a name the certificate does not name was accepted (same address)"
grep -q 'does not match host name "other.sesame-test.example"' <<<"$out" ||
  fail "the error does not say the certificate does not name the host: $out"
pass "another name for the same address: refused, the certificate is checked against the name"

# --- a name only the silent name server could answer
conf db2.sesame-test.example
start=$(date +%s.%N)
rc=0
out=$(in_ns "$SESAME_ADMIN" --config "$IT_CONF" user list 2>&1) || rc=$?
took=$(seconds_since "$start")
[ "$rc" != 0 ] || fail "user list through an unanswered name succeeded"
within "$took" 3.5 || fail "sesame-admin waited ${took} s for the name server (bound: 2 s + margin)"
grep -q 'no answer for the name "db2.sesame-test.example" within 2 s (postgres_connect_timeout)' <<<"$out" ||
  fail "the error does not say the name was not answered: $out"
grep -q 'hostaddr=' <<<"$out" || fail "the error does not say what to do: $out"
pass "sesame-admin: an unanswered name fails in ${took} s (timeout 2 s) saying what to do"

start=$(date +%s.%N)
out=$(in_ns "$SESAME_ADMIN" --config "$IT_CONF" --verbose doctor 2>&1) || true
took=$(seconds_since "$start")
grep -q '^warning: postgres_dsn: no answer for the name "db2.sesame-test.example" within 2 s' <<<"$out" ||
  fail "doctor does not warn that the name was not answered: $out"
# The lookup, then the connection (which waits for that same lookup).
within "$took" 6 || fail "doctor took ${took} s with an unanswered name"
pass "doctor: an unanswered name is a warning (${took} s)"

start=$(date +%s.%N)
sign_in 'alice pw 12345' && fail "a sign-in through an unanswered name succeeded"
took=$(seconds_since "$start")
within "$took" 3.5 || fail "the sign-in waited ${took} s for the name server (bound: 2 s + margin)"
pass "pam_sesame: the sign-in fails closed in ${took} s (timeout 2 s)"

# --- two hosts, the first unanswered: the second is used
conf db2.sesame-test.example,db.sesame-test.example
start=$(date +%s.%N)
sign_in 'alice pw 12345' || fail "the sign-in through the second host failed: $(cat "$IT_TMP/pam.out")"
took=$(seconds_since "$start")
within "$took" 3.5 || fail "the sign-in through the second host took ${took} s"
pass "host=<unanswered>,<good>: signed in through the second host in ${took} s"
out=$(in_ns "$SESAME_ADMIN" --config "$IT_CONF" --verbose doctor 2>&1) || true
grep -q '^warning: postgres_dsn: server 1 of 2 (db2.sesame-test.example port [0-9]*) cannot be reached: .*no answer for the name "db2.sesame-test.example"' <<<"$out" ||
  fail "doctor does not say the first server of the list cannot be reached: $out"
# The sign-in above remembered the second server as the primary
# (runtime_dir/postgres-primary); it does not spare the lookup of the first
# name, which is asked with the others, all at once, before connecting.
grep -q '^info: postgres_dsn: server 2 of 2 (db.sesame-test.example port [0-9]*), the primary last reached (.*/postgres-primary), tried first: a primary$' <<<"$out" ||
  fail "doctor does not say the second server of the list is the primary, remembered: $out"
pass "doctor: each server of the list, the unanswered one a warning"
