#!/bin/bash
# Sign-in activity after a known sequence of sign-ins through pam_sesame.so
# (pamtester, with PAM_RHOST set) and an administrator's action, read back
# with the real setuid `sesame activity` run by the user and with
# `sesame-admin activity`, both as --json. Checked:
#  - the user's own events, newest first: method (as stored and in words),
#    service, remote host, outcome, the new-host mark (a host with no earlier
#    success is "new", failures from it too; a known host is not);
#  - --failures, --limit, --since (a span, a date), the table on stdout;
#    bad values are usage errors (exit 2) before anything is opened;
#  - the "Last sign-in" line pamtester shows after a success, with the
#    failures since;
#  - sesame-admin activity: --user, --outcome, --service, --since/--until,
#    every user by default; another user's events are not in the user's list;
#  - an administrator's action deletes the oldest due event in passing, as a
#    sign-in does; sesame-admin activity prune: deletes exactly the events
#    older than activity_retention_days (2,500 old ones written into the
#    store), in batches, and keeps the rest.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init sqlite3
USER_A="sesact-a-$$"
USER_B="sesact-b-$$"
printf 'activity_retention_days = 30\n' >>"$IT_CONF"
tool_install

tool_make_users "$USER_A" "$USER_B"
PW_A="alpha-activity-1"
PW_B="bravo-activity-1"
tool_add_user "$USER_A" "$PW_A"
tool_add_user "$USER_B" "$PW_B"
HOME_A="$IT_TMP/home-a"
install -d -m 0700 -o "$USER_A" "$HOME_A"
as_a() { (cd "$HOME_A" && runuser -u "$USER_A" -- "$@"); }

it_service sesame-check "auth required $SESAME_MODULE" "account required $SESAME_MODULE"
# sign_in USER PASSWORD RHOST: pamtester authenticate; its output in $IT_TMP/pam.out.
sign_in() {
  printf '%s\n' "$2" | it_pamtester "-Irhost=$3" sesame-check "$1" authenticate \
    >"$IT_TMP/pam.out" 2>&1
}

# --- the sequence ---
sign_in "$USER_A" "$PW_A" 203.0.113.7 || fail "first sign-in: $(cat "$IT_TMP/pam.out")"
grep -q "Last sign-in" "$IT_TMP/pam.out" && fail "the first sign-in told a last sign-in"
sign_in "$USER_A" "wrong-one" 192.0.2.66 && fail "a wrong password signed in"
sign_in "$USER_A" "wrong-two" 192.0.2.66 && fail "a wrong password signed in"
sleep 1  # the line shows minutes; the events' order needs distinct seconds only
sign_in "$USER_A" "$PW_A" 203.0.113.7 || fail "second sign-in: $(cat "$IT_TMP/pam.out")"
grep -Eq "Last sign-in: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} from 203\.0\.113\.7 \(sesame-check\)\. 2 failed attempts since\." \
  "$IT_TMP/pam.out" || fail "no last-sign-in line with 2 failures: $(cat "$IT_TMP/pam.out")"
sleep 1
sign_in "$USER_A" "$PW_A" 198.51.100.4 || fail "third sign-in: $(cat "$IT_TMP/pam.out")"
grep -Eq "Last sign-in: .* from 203\.0\.113\.7 \(sesame-check\)\.$" "$IT_TMP/pam.out" ||
  fail "the third sign-in's line: $(cat "$IT_TMP/pam.out")"
sign_in "$USER_B" "$PW_B" 203.0.113.99 || fail "B's sign-in: $(cat "$IT_TMP/pam.out")"
sleep 1
admin mfa require "$USER_A" >/dev/null
pass "sign-ins and the last-sign-in line"

# --- sesame activity --json: the user's own, newest first ---
as_a "$TOOL" activity --json >"$IT_TMP/a.json" || fail "sesame activity --json failed"
python3 - "$IT_TMP/a.json" "$USER_A" <<'PY' || fail "sesame activity --json: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
user = sys.argv[2]
assert doc["user"] == user, doc
ev = doc["events"]
got = [(e["method"], e["method_words"], e["outcome"], e["remote_host"], e["new_host"], e["service"])
       for e in ev]
want = [
    ("admin", "admin action", "mfa-required", "", False, "sesame-admin"),
    ("password", "password", "success", "198.51.100.4", True, "sesame-check"),
    ("password", "password", "success", "203.0.113.7", False, "sesame-check"),
    ("password", "password", "failure", "192.0.2.66", True, "sesame-check"),
    ("password", "password", "failure", "192.0.2.66", True, "sesame-check"),
    ("password", "password", "success", "203.0.113.7", True, "sesame-check"),
]
if got != want:
    sys.exit("events:\n  got  %r\n  want %r" % (got, want))
assert all(e["user"] == user for e in ev), ev
times = [e["time"] for e in ev]
assert times == sorted(times, reverse=True), times
assert all(e["time_local"][:4].isdigit() and e["time_local"][10] == "T" for e in ev), ev
assert all(e["count"] == 1 for e in ev), ev
PY
pass "sesame activity --json: methods, outcomes, hosts, new-host marks, newest first"

as_a "$TOOL" activity --json --failures >"$IT_TMP/f.json"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; assert [x["outcome"] for x in e]==["failure","failure"], e' \
  "$IT_TMP/f.json" || fail "--failures"
as_a "$TOOL" activity --json --limit 2 >"$IT_TMP/l.json"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; assert [x["outcome"] for x in e]==["mfa-required","success"], e' \
  "$IT_TMP/l.json" || fail "--limit 2"
as_a "$TOOL" activity --json --since 1h >"$IT_TMP/s.json"
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["events"])==6' "$IT_TMP/s.json" ||
  fail "--since 1h"
as_a "$TOOL" activity --json --since 2999-01-01 >"$IT_TMP/s.json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["events"]==[]' "$IT_TMP/s.json" ||
  fail "--since a future date"
as_a "$TOOL" activity >"$IT_TMP/table.txt" || fail "sesame activity (table)"
head -1 "$IT_TMP/table.txt" | grep -q "^TIME *SERVICE *FROM *NEW *METHOD *OUTCOME" ||
  fail "the table's head: $(head -1 "$IT_TMP/table.txt")"
grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +sesame-check +198\.51\.100\.4 +new +password +success" \
  "$IT_TMP/table.txt" || fail "the table: $(cat "$IT_TMP/table.txt")"
grep -q "$USER_B\|203.0.113.99" "$IT_TMP/table.txt" && fail "another user's event in the user's list"
for bad in "--since yesterday" "--since 2026-02-30" "--limit 0" "--limit x"; do
  # shellcheck disable=SC2086  # the words are meant to split
  if as_a "$TOOL" activity $bad >/dev/null 2>"$IT_TMP/err"; then fail "activity $bad was accepted"; fi
  rc=0; as_a "$TOOL" activity $bad >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "activity $bad: exit $rc, want 2"
  grep -q "^sesame: error: " "$IT_TMP/err" || fail "activity $bad: $(cat "$IT_TMP/err")"
done
pass "sesame activity: --failures, --limit, --since, the table, bad values"

# --- sesame-admin activity ---
admin activity --json --user "$USER_A" --outcome failure >"$IT_TMP/af.json"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; assert [(x["outcome"],x["remote_host"]) for x in e]==[("failure","192.0.2.66")]*2, e' \
  "$IT_TMP/af.json" || fail "admin --outcome failure"
admin activity --json --outcome success --service sesame-check --since 1h >"$IT_TMP/as.json"
python3 - "$IT_TMP/as.json" "$USER_A" "$USER_B" <<'PY' || fail "admin --outcome success --service"
import json, sys
e = json.load(open(sys.argv[1]))["events"]
got = [(x["user"], x["remote_host"], x["new_host"]) for x in e]
a, b = sys.argv[2], sys.argv[3]
want = [(b, "203.0.113.99", True), (a, "198.51.100.4", True), (a, "203.0.113.7", False),
        (a, "203.0.113.7", True)]
if got != want:
    sys.exit("got %r want %r" % (got, want))
PY
admin activity --json --until 2000-01-01 >"$IT_TMP/au.json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["events"]==[]' "$IT_TMP/au.json" ||
  fail "--until 2000-01-01"
admin activity --user "$USER_A" >"$IT_TMP/at.txt"
head -1 "$IT_TMP/at.txt" | grep -q "^TIME *USER *SERVICE *FROM" || fail "admin table: $(cat "$IT_TMP/at.txt")"
for bad in "--outcome maybe" "--until tomorrow" "--user -x" "--limit 100001"; do
  rc=0
  # shellcheck disable=SC2086
  admin activity $bad >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "admin activity $bad: exit $rc, want 2"
done
pass "sesame-admin activity: --user, --outcome, --service, --since, --until, bad values"

# --- retention: 2,500 events older than 30 days, 3 at the limit's safe side ---
now=$(date +%s)
sqlite3 "$IT_TMP/state/sesame.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
INSERT INTO events(time, user, service, remote_host, method, outcome, detail, count)
  SELECT $now - 31 * 86400 - i, 'old-user', 'sshd', '192.0.2.1', 'password', 'failure', '', 1 FROM n;
INSERT INTO events(time, user, service, remote_host, method, outcome, detail, count)
  VALUES ($now - 29 * 86400, 'recent-user', 'sshd', '', 'password', 'success', '', 1);
SQL
before=$(sqlite3 "$IT_TMP/state/sesame.db" "SELECT count(*) FROM events")
# An administrator's action records its event and, as a sign-in's write
# does, deletes the oldest due one in passing (kPruneInPassingBatch = 1).
oldest=$(sqlite3 "$IT_TMP/state/sesame.db" "SELECT min(time) FROM events")
admin mfa require "$USER_B" >/dev/null || fail "admin mfa require $USER_B"
[ "$(sqlite3 "$IT_TMP/state/sesame.db" "SELECT count(*) FROM events")" = "$before" ] ||
  fail "an admin action did not delete one due event as it added its own"
[ "$(sqlite3 "$IT_TMP/state/sesame.db" "SELECT count(*) FROM events WHERE time = $oldest")" = 0 ] ||
  fail "an admin action did not delete the oldest due event"
admin activity prune --json >"$IT_TMP/prune.json" || fail "activity prune failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"deleted":2499,"retention_days":30}, d' \
  "$IT_TMP/prune.json" || fail "prune: $(cat "$IT_TMP/prune.json")"
after=$(sqlite3 "$IT_TMP/state/sesame.db" "SELECT count(*) FROM events")
[ "$after" = $((before - 2499)) ] || fail "prune left $after of $before events"
[ "$(sqlite3 "$IT_TMP/state/sesame.db" "SELECT count(*) FROM events WHERE user = 'recent-user'")" = 1 ] ||
  fail "prune deleted a recent event"
admin activity prune | grep -q "^deleted 0 sign-in event(s) older than 30 days" || fail "a second prune"
pass "sesame-admin activity prune: exactly the older events"
