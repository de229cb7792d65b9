// PostgreSQL backend of Store: schema and migrations, users and events
// (lockout counters and password history: postgres_users.cc; authenticator
// and recovery codes: postgres_mfa.cc; app passwords:
// postgres_app_passwords.cc). Schema and the SQL behind each counter:
// docs/storage.md ("PostgreSQL").
//
// MUST rules (besides the connection's, postgres_store.h):
//  - values reach SQL only as parameters; SQL text is a string literal;
//  - every change is one transaction; one that reads a row to decide
//    locks it first (SELECT ... FOR UPDATE), so concurrent hosts queue on
//    the row instead of deciding from a value another has changed;
//  - names sort and compare byte for byte (COLLATE "C").
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/store/backend_common.h"
#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {

namespace {

// One forward migration, as for SQLite: the SQL from `from_version` to
// `from_version + 1`; the runner bumps schema_version in the same
// transaction. Append only; never edit a shipped entry. Version 1 is the
// SQLite schema of version 9 (kSqliteSchemaVersion) in PostgreSQL's terms:
// `user` is a reserved word there, so that column is user_name.
constexpr SchemaMigration kMigrations[] = {
    {0,
     "CREATE TABLE users("
     "  name text COLLATE \"C\" PRIMARY KEY,"
     "  password_hash text NOT NULL,"
     "  disabled boolean NOT NULL DEFAULT false,"
     "  created bigint NOT NULL,"
     "  password_changed bigint NOT NULL DEFAULT 0,"
     "  must_change boolean NOT NULL DEFAULT false,"
     "  failures integer NOT NULL DEFAULT 0,"
     "  pending_attempts integer NOT NULL DEFAULT 0,"
     "  first_failure bigint NOT NULL DEFAULT 0,"
     "  locked_until bigint NOT NULL DEFAULT 0,"
     "  recent_failures text NOT NULL DEFAULT '',"
     "  totp_sealed text NOT NULL DEFAULT '',"
     "  totp_last_step bigint NOT NULL DEFAULT -1,"
     "  mfa_required boolean NOT NULL DEFAULT false,"
     "  mfa_required_since bigint NOT NULL DEFAULT 0);"
     "CREATE TABLE password_history("
     "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  user_name text COLLATE \"C\" NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
     "  hash text NOT NULL,"
     "  changed bigint NOT NULL);"
     "CREATE INDEX password_history_user ON password_history(user_name, id);"
     "CREATE TABLE recovery_codes("
     "  user_name text COLLATE \"C\" NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
     "  digest text NOT NULL,"
     "  PRIMARY KEY(user_name, digest));"
     "CREATE TABLE mfa_required_groups("
     "  name text COLLATE \"C\" PRIMARY KEY,"
     "  since bigint NOT NULL);"
     "CREATE TABLE events("
     "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  time bigint NOT NULL,"
     "  user_name text COLLATE \"C\" NOT NULL,"
     "  service text NOT NULL,"
     "  remote_host text NOT NULL,"
     "  method text NOT NULL,"
     "  outcome text NOT NULL,"
     "  detail text NOT NULL,"
     "  count bigint NOT NULL DEFAULT 1);"
     "CREATE INDEX events_user_time ON events(user_name, time);"
     "CREATE INDEX events_time ON events(time);"
     "CREATE INDEX events_user_host_success ON events(user_name, remote_host, id) "
     "  WHERE outcome = 'success';"
     "CREATE TABLE app_passwords("
     "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  user_name text COLLATE \"C\" NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
     "  name text COLLATE \"C\" NOT NULL,"
     "  digest text NOT NULL,"
     "  services text NOT NULL DEFAULT '',"
     "  created bigint NOT NULL,"
     "  expires bigint NOT NULL DEFAULT 0,"
     "  last_used bigint NOT NULL DEFAULT 0,"
     "  last_used_from text NOT NULL DEFAULT '',"
     "  revoked bigint NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX app_passwords_digest ON app_passwords(digest);"
     "CREATE UNIQUE INDEX app_passwords_live_name ON app_passwords(user_name, name) "
     "  WHERE revoked = 0;"
     "CREATE INDEX app_passwords_user ON app_passwords(user_name, id);"
     "CREATE TABLE app_password_lockout("
     "  user_name text COLLATE \"C\" PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,"
     "  failures integer NOT NULL DEFAULT 0,"
     "  pending_attempts integer NOT NULL DEFAULT 0,"
     "  first_failure bigint NOT NULL DEFAULT 0,"
     "  locked_until bigint NOT NULL DEFAULT 0,"
     "  recent_failures text NOT NULL DEFAULT '');"},
    // The "Last sign-in" line's previous success (SESAME_LAST_SIGN_IN_BEFORE)
    // in one step down this index, however many events the user has; with
    // only the others the planner may read and sort all of the user's
    // successes (it did, while the events table had no statistics yet).
    // Only an index: version 1 stays usable (kPostgresOldestUsableVersion).
    {1,
     "CREATE INDEX events_user_success_time ON events(user_name, time, id) "
     "  WHERE outcome = 'success';"},
    // The "Last sign-in" line's failures since the previous success without
    // the successes of that second (SESAME_LAST_SIGN_IN_COLUMNS), and one
    // index fewer for every sign-in's write and every pruned event to
    // update: the listings' new-host mark is worked out per listed user
    // (MarkNewHosts), as in SQLite since its schema 10. Only indexes:
    // versions 1 and 2 stay usable. Both statements wait for their table
    // lock at most the session's lock_timeout (store_busy_timeout_ms), so a
    // long reader of events (a pg_dump) fails the migration instead of
    // queueing every host's sign-ins behind it. IF NOT EXISTS: an admin may
    // build the index beforehand with CREATE INDEX CONCURRENTLY, which does
    // not hold up the hosts' writes while it reads the table
    // (docs/install.md, "Fleet").
    {2,
     "CREATE INDEX IF NOT EXISTS events_user_failure_time ON events(user_name, time) "
     "  WHERE outcome <> 'success';"
     "DROP INDEX IF EXISTS events_user_host_success;"},
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kPostgresSchemaVersion,
              "one migration per schema version");

// Serializes migrations of one database across hosts (any constant will
// do; this one spells "sesame" in hex).
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7537657361)";

}  // namespace

UserRecord ReadUserForSignIn(const PgResult& r, int row) {
  UserRecord user = ReadUser(r, row);
  user.mfa_required_groups = SplitNonEmpty(r.Text(row, kUserColumns), '\x1f');  // NULL: ""
  return user;
}

UserRecord ReadUser(const PgResult& r, int row) {
  UserRecord user;
  user.name = r.Text(row, 0);
  user.password_hash = r.Text(row, 1);
  user.disabled = r.Bool(row, 2);
  user.created = r.Int(row, 3);
  user.password_changed = r.Int(row, 4);
  user.must_change = r.Bool(row, 5);
  user.failures = ClampToInt(r.Int(row, 6));
  user.first_failure = r.Int(row, 7);
  user.locked_until = r.Int(row, 8);
  user.totp_sealed = r.Text(row, 9);
  user.totp_last_step = r.Int(row, 10);
  user.mfa_required = r.Bool(row, 11);
  user.mfa_required_since = r.Int(row, 12);
  user.pending_attempts = ClampToInt(r.Int(row, 13));
  return user;
}

Result<int> PostgresStore::ReadVersion() {
  const char* kDoing = "reading the schema version";
  Params none;
  Result<PgResult> tables = Exec(
      "SELECT count(*), count(*) FILTER (WHERE c.relname = 'schema_version') FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
      "n.nspname = current_schema()",
      none, kDoing);
  if (!tables.ok()) return tables.status();
  if (tables->Int(0, 0) == 0) return 0;
  if (tables->Int(0, 1) == 0) {
    return Status(Code::kCorrupt, "database " + where_ +
                                      " has tables but no schema_version table: it is not a "
                                      "sesame store; check postgres_dsn");
  }
  Result<PgResult> version =
      Exec("SELECT max(version), count(*) FROM schema_version", none, kDoing);
  if (!version.ok()) return version.status();
  if (version->Int(0, 1) != 1 || version->IsNull(0, 0) || version->Int(0, 0) < 1 ||
      version->Int(0, 0) > std::numeric_limits<int>::max()) {
    return Status(Code::kCorrupt, "store " + where_ +
                                      " has a malformed schema_version table (expected one "
                                      "positive integer row); restore it from a backup");
  }
  return static_cast<int>(version->Int(0, 0));
}

Status PostgresStore::Migrate() {
  // An index over a large events table takes longer than a sign-in's
  // statement: the server and this side allow a migration's statements
  // kMigrationStatementTimeoutS, and still bound them.
  migrating_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{migrating_};
  const std::string timeout =
      "SET LOCAL statement_timeout = '" + std::to_string(kMigrationStatementTimeoutS) + "s'";
  for (;;) {
    bool done = false;
    Status st = Transaction("migrating the schema", [&]() -> Status {
      SESAME_RETURN_IF_ERROR(Simple(timeout.c_str(), "migrating the schema"));
      SESAME_RETURN_IF_ERROR(Simple(kMigrationLock, "migrating the schema"));
      // Read again under the lock: another host may have migrated.
      Result<int> version = ReadVersion();
      if (!version.ok()) return version.status();
      if (*version >= kPostgresSchemaVersion) {
        done = true;
        return Status::Ok();
      }
      const SchemaMigration* m = nullptr;
      for (const SchemaMigration& candidate : kMigrations) {
        if (candidate.from_version == *version) m = &candidate;
      }
      if (m == nullptr) {
        return Status(Code::kInternal, "no migration from schema version " +
                                           std::to_string(*version) + " for store " + where_);
      }
      const std::string doing =
          "migrating the schema from version " + std::to_string(m->from_version);
      if (m->from_version == 0) {
        SESAME_RETURN_IF_ERROR(
            Simple("CREATE TABLE schema_version(version integer NOT NULL);"
                   "INSERT INTO schema_version(version) VALUES (0)",
                   doing));
      }
      SESAME_RETURN_IF_ERROR(Simple(m->sql, doing));
      Params bump;
      bump.Int(m->from_version + 1);
      Result<PgResult> r = Exec("UPDATE schema_version SET version = $1", bump, doing);
      return r.ok() ? Status::Ok() : r.status();
    });
    if (!st.ok() || done) return st;
  }
}

Status PostgresStore::Init() {
  Result<int> version = 0;
  Status st = Read("reading the schema version", [&]() -> Status {
    version = ReadVersion();
    return version.ok() ? Status::Ok() : version.status();
  });
  if (!st.ok()) return st;
  if (*version >= kPostgresOldestUsableVersion && *version < kPostgresSchemaVersion &&
      !options_.migrate_usable) {
    return Status::Ok();  // only indexes missing: used as it is
  }
  Result<SchemaStep> step = DecideSchemaStep("store " + where_, *version, kPostgresSchemaVersion,
                                             options_.create, options_.migrate);
  if (!step.ok()) return step.status();
  if (*step == SchemaStep::kUpToDate) return Status::Ok();
  return Migrate();
}

Result<int> PostgresStore::DoSchemaVersion() {
  Result<int> version = 0;
  Status st = Read("reading the schema version", [&]() -> Status {
    version = ReadVersion();
    return version.ok() ? Status::Ok() : version.status();
  });
  if (!st.ok()) return st;
  return version;
}

Result<std::optional<UserRecord>> PostgresStore::DoGetUser(std::string_view name) {
  std::optional<UserRecord> user;
  Status st = Read("reading a user", [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r =
        Exec("SELECT " SESAME_USER_COLUMNS " FROM users WHERE name = $1", p, "reading a user");
    if (!r.ok()) return r.status();
    user.reset();
    if (r->rows() > 0) user = ReadUser(*r, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return user;
}

Result<std::optional<UserRecord>> PostgresStore::DoGetUserForSignIn(std::string_view name) {
  // The record and the groups that must use MFA in one statement, one
  // round trip (the default takes two); the groups joined by unit
  // separators (group names hold no control character: CheckGroupName),
  // NULL when there are none.
  const char* kDoing = "reading a user";
  std::optional<UserRecord> user;
  Status st = Read(kDoing, [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r = Exec("SELECT " SESAME_USER_COLUMNS ", " SESAME_REQUIRED_GROUPS
                              " FROM users WHERE name = $1",
                              p, kDoing);
    if (!r.ok()) return r.status();
    user.reset();
    if (r->rows() == 0) return Status::Ok();
    user = ReadUserForSignIn(*r, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return user;
}

Result<std::vector<UserRecord>> PostgresStore::DoListUsers() {
  std::vector<UserRecord> users;
  Status st = Read("listing users", [&]() -> Status {
    Params none;
    Result<PgResult> r =
        Exec("SELECT " SESAME_USER_COLUMNS " FROM users ORDER BY name", none, "listing users");
    if (!r.ok()) return r.status();
    users.clear();
    for (int i = 0; i < r->rows(); ++i) users.push_back(ReadUser(*r, i));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return users;
}

Status PostgresStore::DoAddUser(const UserRecord& user) {
  return Transaction("adding a user", [&]() -> Status {
    Params p;
    p.Text(user.name)
        .Text(user.password_hash)
        .Bool(user.disabled)
        .Int(user.created)
        .Int(user.password_changed)
        .Bool(user.must_change)
        .Int(user.failures)
        .Int(user.first_failure)
        .Int(user.locked_until)
        .Text(user.totp_sealed)
        .Int(user.totp_last_step)
        .Bool(user.mfa_required)
        .Int(user.mfa_required_since)
        .Int(user.pending_attempts);
    Result<PgResult> r =
        Exec("INSERT INTO users(" SESAME_USER_COLUMNS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
             "ON CONFLICT (name) DO NOTHING",
             p, "adding a user");
    if (!r.ok()) return r.status();
    if (r->Affected() == 0) {
      return Status(Code::kAlreadyExists,
                    "user " + user.name + " already exists in store " + where_);
    }
    return Status::Ok();
  });
}

#undef SESAME_USER_COLUMNS

Status PostgresStore::DoRemoveUser(std::string_view name) {
  return Transaction("removing a user", [&]() -> Status {
    Params p;
    p.Text(name);
    Result<PgResult> r = Exec("DELETE FROM users WHERE name = $1", p, "removing a user");
    if (!r.ok()) return r.status();
    return r->Affected() == 0 ? NoSuchUser(name) : Status::Ok();
  });
}

Status PostgresStore::DoSetDisabled(std::string_view name, bool disabled) {
  return Transaction("changing a user", [&]() -> Status {
    Params p;
    p.Text(name).Bool(disabled);
    Result<PgResult> r =
        Exec("UPDATE users SET disabled = $2 WHERE name = $1", p, "changing a user");
    if (!r.ok()) return r.status();
    return r->Affected() == 0 ? NoSuchUser(name) : Status::Ok();
  });
}

Result<bool> PostgresStore::DoReplacePasswordHash(std::string_view name,
                                                  std::string_view expected_hash,
                                                  std::string_view new_hash, int64_t changed_at) {
  bool replaced = false;
  Status st = Transaction("replacing a password hash", [&]() -> Status {
    Params p;
    p.Text(name).Text(expected_hash).Text(new_hash).Int(changed_at);
    Result<PgResult> r = Exec(
        "UPDATE users SET password_hash = $3, password_changed = CASE WHEN $4::bigint <> 0 "
        "THEN $4::bigint ELSE password_changed END WHERE name = $1 AND password_hash = $2",
        p, "replacing a password hash");
    if (!r.ok()) return r.status();
    replaced = r->Affected() > 0;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return replaced;
}

Status PostgresStore::InsertEvent(const SignInEvent& event, int64_t coalesce_seconds) {
  const char* kDoing = "recording a sign-in event";
  Params p;
  p.Int(event.time)
      .Text(event.user)
      .Text(event.service)
      .Text(event.remote_host)
      .Text(event.method)
      .Text(event.outcome)
      .Text(event.detail)
      .Int(event.count < 1 ? 1 : event.count);
  if (coalesce_seconds <= 0) {
    Result<PgResult> r = Exec(
        "INSERT INTO events(time, user_name, service, remote_host, method, outcome, detail, count) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        p, kDoing);
    return r.ok() ? Status::Ok() : r.status();
  }
  // The newest equal event of the window takes this one, else a new row:
  // one statement.
  p.Int(event.time > std::numeric_limits<int64_t>::min() + coalesce_seconds
            ? event.time - coalesce_seconds
            : event.time);
  Result<PgResult> r = Exec(
      "WITH merged AS (UPDATE events SET count = count + 1, time = GREATEST(time, $1) WHERE id = ("
      "SELECT id FROM events WHERE user_name = $2 AND time >= $9 AND service = $3 AND "
      "remote_host = $4 AND method = $5 AND outcome = $6 AND detail = $7 "
      "ORDER BY time DESC, id DESC LIMIT 1) RETURNING id) "
      "INSERT INTO events(time, user_name, service, remote_host, method, outcome, detail, count) "
      "SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM merged)",
      p, kDoing);
  return r.ok() ? Status::Ok() : r.status();
}

Status PostgresStore::PruneInPassing(int64_t prune_before) {
  if (prune_before <= 0) return Status::Ok();
  Params p;
  p.Int(prune_before);
  Result<PgResult> r = Exec(kPruneInPassingSql, p, "pruning old sign-in events");
  return r.ok() ? Status::Ok() : r.status();
}

Status PostgresStore::DoRecordEvent(const SignInEvent& event, int64_t coalesce_seconds,
                                    int64_t prune_before) {
  return Transaction("recording a sign-in event", [&]() -> Status {
    SESAME_RETURN_IF_ERROR(PruneInPassing(prune_before));
    return InsertEvent(event, coalesce_seconds);
  });
}

namespace {

// The conditions of an EventFilter but the user ($1): $2 since, $3 until
// (NULL: none), $4 service (NULL: any), $5 and $6 the outcomes and methods,
// each list joined as US name US name US (NULL: any; CheckEventFilter keeps
// control characters out of the names), $9 after_id.
#define SESAME_EVENT_CONDITIONS                                                      \
  " e.time >= $2 AND ($3::bigint IS NULL OR e.time < $3::bigint)"                    \
  " AND ($4::text IS NULL OR e.service = $4::text)"                                  \
  " AND ($5::text IS NULL OR strpos($5::text, chr(31) || e.outcome || chr(31)) > 0)" \
  " AND ($6::text IS NULL OR strpos($6::text, chr(31) || e.method || chr(31)) > 0) AND e.id > $9"

// $7 (mark_new_hosts) is not used by the SQL (MarkNewHosts marks them), but
// named so that the server knows its type.
#define SESAME_EVENT_COLUMNS                                                                    \
  "SELECT e.id, e.time, e.user_name, e.service, e.remote_host, e.method, e.outcome, e.detail, " \
  "e.count FROM events e WHERE $7::boolean IS NOT NULL AND "

// $1 to $9 for the texts above ($7 and $8 as given).
void BindEventFilter(Params& p, const EventFilter& filter, bool mark_new_hosts,
                     std::optional<int64_t> limit) {
  if (filter.user.has_value()) {
    p.Text(*filter.user);
  } else {
    p.Null();
  }
  p.Int(filter.since);
  if (filter.until.has_value()) {
    p.Int(*filter.until);
  } else {
    p.Null();
  }
  if (filter.service.has_value()) {
    p.Text(*filter.service);
  } else {
    p.Null();
  }
  if (filter.outcomes.empty()) {
    p.Null();
  } else {
    p.Text(JoinForEventFilter(filter.outcomes));
  }
  if (filter.methods.empty()) {
    p.Null();
  } else {
    p.Text(JoinForEventFilter(filter.methods));
  }
  p.Bool(mark_new_hosts);
  if (limit.has_value()) {
    p.Int(*limit);
  } else {
    p.Null();
  }
  p.Int(filter.after_id);
}

}  // namespace

Result<std::vector<SignInEvent>> PostgresStore::DoListEvents(const EventFilter& filter) {
  static constexpr char kByUser[] =
      SESAME_EVENT_COLUMNS "e.user_name = $1 AND" SESAME_EVENT_CONDITIONS
                           " ORDER BY e.time DESC, e.id DESC LIMIT $8::bigint";
  static constexpr char kAll[] =
      SESAME_EVENT_COLUMNS "($1::text IS NULL) AND" SESAME_EVENT_CONDITIONS
                           " ORDER BY e.time DESC, e.id DESC LIMIT $8::bigint";
  std::vector<SignInEvent> events;
  Status st = Read("listing sign-in events", [&]() -> Status {
    Params p;
    const uint64_t max_limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    std::optional<int64_t> limit;
    if (filter.limit != 0)
      limit = static_cast<int64_t>(std::min<uint64_t>(filter.limit, max_limit));
    BindEventFilter(p, filter, filter.mark_new_hosts, limit);
    Result<PgResult> r =
        Exec(filter.user.has_value() ? kByUser : kAll, p, "listing sign-in events");
    if (!r.ok()) return r.status();
    events.clear();
    for (int i = 0; i < r->rows(); ++i) {
      SignInEvent e;
      e.id = r->Int(i, 0);
      e.time = r->Int(i, 1);
      e.user = r->Text(i, 2);
      e.service = r->Text(i, 3);
      e.remote_host = r->Text(i, 4);
      e.method = r->Text(i, 5);
      e.outcome = r->Text(i, 6);
      e.detail = r->Text(i, 7);
      e.count = r->Int(i, 8);
      events.push_back(std::move(e));
    }
    if (!filter.mark_new_hosts) return Status::Ok();
    // Through index events_user_success_time: the user's successes, not
    // the table. A later statement than the listing's, so a success
    // committed in between may count as the host's first (the listing as
    // if read a moment later); a display mark, decided by nothing.
    return MarkNewHosts(events, [&](const std::string& user) -> Result<FirstSuccessByHost> {
      Params who;
      who.Text(user);
      Result<PgResult> first = Exec(
          "SELECT remote_host, min(id) FROM events WHERE user_name = $1 AND outcome = "
          "'success' AND remote_host <> '' GROUP BY remote_host",
          who, "marking new remote hosts");
      if (!first.ok()) return first.status();
      FirstSuccessByHost found;
      for (int i = 0; i < first->rows(); ++i) found.emplace(first->Text(i, 0), first->Int(i, 1));
      return found;
    });
  });
  if (!st.ok()) return st;
  if (!filter.newest_first) std::reverse(events.begin(), events.end());
  return events;
}

Result<int64_t> PostgresStore::DoCountEvents(const EventFilter& filter) {
  static constexpr char kByUser[] =
      "SELECT coalesce(sum(e.count), 0) FROM events e WHERE $7::boolean IS NOT NULL AND "
      "$8::bigint IS NULL AND e.user_name = $1 AND" SESAME_EVENT_CONDITIONS;
  static constexpr char kAll[] =
      "SELECT coalesce(sum(e.count), 0) FROM events e WHERE $7::boolean IS NOT NULL AND "
      "$8::bigint IS NULL AND $1::text IS NULL AND" SESAME_EVENT_CONDITIONS;
  int64_t count = 0;
  Status st = Read("counting sign-in events", [&]() -> Status {
    Params p;
    BindEventFilter(p, filter, false, std::nullopt);
    Result<PgResult> r =
        Exec(filter.user.has_value() ? kByUser : kAll, p, "counting sign-in events");
    if (!r.ok()) return r.status();
    count = r->Int(0, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return count;
}

// One statement, one round trip, where the default takes two: this is
// every interactive sign-in's "Last sign-in" line. The same conditions as
// ListEvents (newest first, the second) then CountEvents (since its time,
// after its id); $2 the methods, $3 the failure outcomes, as JoinForFilter
// makes them (NULL: any).
void AddLastSignInParams(Params& p, const std::vector<std::string>& methods,
                         const std::vector<std::string>& failure_outcomes) {
  for (const std::vector<std::string>* list : {&methods, &failure_outcomes}) {
    if (list->empty()) {
      p.Null();
    } else {
      p.Text(JoinForEventFilter(*list));
    }
  }
}

LastSignIn LastSignInFrom(const PgResult& r, int first) {
  LastSignIn last;
  last.found = r.Bool(0, first);
  if (last.found) {
    last.time = r.Int(0, first + 1);
    last.service = r.Text(0, first + 2);
    last.remote_host = r.Text(0, first + 3);
  }
  last.failures_since = r.Int(0, first + 4);
  return last;
}

Result<LastSignIn> PostgresStore::DoReadLastSignIn(
    std::string_view user, const std::vector<std::string>& methods,
    const std::vector<std::string>& failure_outcomes) {
  const char* kDoing = "reading the last sign-in";
  LastSignIn last;
  Status st = Read(kDoing, [&]() -> Status {
    Params p;
    p.Text(user);
    AddLastSignInParams(p, methods, failure_outcomes);
    Result<PgResult> r = Exec(kReadLastSignInSql, p, kDoing);
    if (!r.ok()) return r.status();
    if (r->rows() != 1) return Status(Code::kUnavailable, std::string(kDoing) + ": no row");
    last = LastSignInFrom(*r, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return last;
}

#undef SESAME_EVENT_COLUMNS
#undef SESAME_EVENT_CONDITIONS

Result<int64_t> PostgresStore::DoPruneEvents(int64_t older_than, int64_t batch) {
  const char* kDoing = "pruning old sign-in events";
  int64_t deleted = 0;
  Status st = Transaction(kDoing, [&]() -> Status {
    Params p;
    p.Int(older_than).Int(batch);
    Result<PgResult> r = Exec(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < $1 ORDER BY time "
        "LIMIT $2)",
        p, kDoing);
    if (!r.ok()) return r.status();
    deleted = r->Affected();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return deleted;
}

}  // namespace postgres_internal

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  SESAME_RETURN_IF_ERROR(CheckPostgresDsn(options.dsn));
  auto store = std::make_unique<postgres_internal::PostgresStore>(options);
  SESAME_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sesame
