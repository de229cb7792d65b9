// InspectPostgresStore: what `sesame-admin doctor` and `db check` report
// about a PostgreSQL store, read in one read-only transaction. The copy
// from SQLite is in postgres_copy.cc.
#include "core/store/postgres/postgres_maintenance.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/store/postgres/postgres_internal.h"
#include "core/store/postgres/postgres_session.h"

namespace sesame {

using postgres_internal::AdminSession;
using postgres_internal::PgResult;

namespace {

// Counting and the consistency queries read whole tables: more time than a
// sign-in's statement gets.
constexpr int kInspectStatementTimeoutS = 120;

// The tables of schema version 1, in schema order, with their count query
// (SQL text is a literal: no table name is spliced in).
struct Table {
  const char* name;
  const char* count_sql;
};
constexpr Table kTables[] = {
    {"users", "SELECT count(*) FROM users"},
    {"password_history", "SELECT count(*) FROM password_history"},
    {"recovery_codes", "SELECT count(*) FROM recovery_codes"},
    {"mfa_required_groups", "SELECT count(*) FROM mfa_required_groups"},
    {"app_passwords", "SELECT count(*) FROM app_passwords"},
    {"app_password_lockout", "SELECT count(*) FROM app_password_lockout"},
    {"events", "SELECT count(*) FROM events"},
};
static_assert(kPostgresSchemaVersion == 3 && kPostgresOldestUsableVersion == 1,
              "InspectPostgresStore knows the tables of schema versions 1 to 3 (the same "
              "tables): add the new ones");

// One consistency query: its rows are names (at most a few shown), each a
// problem; `what` and `fix` make the message.
struct Consistency {
  const char* sql;  // SELECT a name ... ORDER BY 1 LIMIT 6
  const char* what;
  const char* fix;
};
constexpr Consistency kChecks[] = {
    {"SELECT name FROM users WHERE failures < 0 OR pending_attempts < 0 OR "
     "pending_attempts > failures OR first_failure < 0 OR locked_until < 0 OR "
     "totp_last_step < -1 OR mfa_required_since < 0 OR created < 0 OR password_changed < 0 "
     "ORDER BY 1 LIMIT 6",
     "users whose lockout counters or times no sign-in can leave (negative, or more attempts "
     "pending than failures)",
     "`sesame-admin unlock NAME` resets the counters"},
    {"SELECT user_name FROM app_password_lockout WHERE failures < 0 OR pending_attempts < 0 OR "
     "pending_attempts > failures OR first_failure < 0 OR locked_until < 0 ORDER BY 1 LIMIT 6",
     "users whose app-password lockout counters no sign-in can leave",
     "`sesame-admin unlock NAME` resets them"},
    {"SELECT DISTINCT user_name FROM password_history h WHERE NOT EXISTS "
     "(SELECT 1 FROM users u WHERE u.name = h.user_name) ORDER BY 1 LIMIT 6",
     "password history rows of users not in the store (a foreign key is missing)",
     "delete those rows as the tables' owner and restore the schema from docs/storage.md"},
    {"SELECT DISTINCT user_name FROM recovery_codes r WHERE NOT EXISTS "
     "(SELECT 1 FROM users u WHERE u.name = r.user_name) ORDER BY 1 LIMIT 6",
     "recovery codes of users not in the store (a foreign key is missing)",
     "delete those rows as the tables' owner and restore the schema from docs/storage.md"},
    {"SELECT DISTINCT user_name FROM app_passwords a WHERE NOT EXISTS "
     "(SELECT 1 FROM users u WHERE u.name = a.user_name) ORDER BY 1 LIMIT 6",
     "app passwords of users not in the store (a foreign key is missing)",
     "delete those rows as the tables' owner and restore the schema from docs/storage.md"},
    {"SELECT user_name FROM app_password_lockout l WHERE NOT EXISTS "
     "(SELECT 1 FROM users u WHERE u.name = l.user_name) ORDER BY 1 LIMIT 6",
     "app-password lockout rows of users not in the store (a foreign key is missing)",
     "delete those rows as the tables' owner and restore the schema from docs/storage.md"},
    {"SELECT DISTINCT user_name FROM events WHERE count < 1 ORDER BY 1 LIMIT 6",
     "users with sign-in events whose count is below 1",
     "`sesame-admin activity prune` or a DELETE of those rows as the tables' owner"},
    {"SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND "
     "NOT (i.indisvalid AND i.indisready) ORDER BY 1 LIMIT 6",
     "invalid indexes (a CREATE INDEX that failed half-way)",
     "REINDEX INDEX NAME as the tables' owner"},
};

}  // namespace

bool PostgresDsnUsesTcp(const std::string& dsn) { return postgres_internal::DsnUsesTcp(dsn); }

std::vector<PostgresHostLookup> LookUpPostgresHosts(const std::string& dsn, int timeout_s) {
  const postgres_internal::HostPlan plan = postgres_internal::PlanDsnHostLookups(dsn);
  std::vector<std::string> names;
  for (size_t i : plan.lookups) names.push_back(plan.entries[i].host);
  std::vector<PostgresHostLookup> lookups;
  if (names.empty()) return lookups;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<postgres_internal::LookupResult> found =
      postgres_internal::LookUpNames(names, timeout_s * 1000);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (size_t i = 0; i < names.size() && i < found.size(); ++i)
    lookups.push_back({names[i], found[i].addresses, found[i].error, seconds});
  return lookups;
}

std::vector<PostgresServerState> CheckPostgresServers(const PostgresOptions& options) {
  std::vector<PostgresServerState> servers;
  const std::vector<postgres_internal::HostEntry> entries =
      postgres_internal::DsnHostEntries(options.dsn);
  if (entries.size() < 2) return servers;
  // The hint holds an entry as the DSN lists it (a port of its own or
  // none), as OpenConnection compares it.
  size_t remembered = entries.size();
  if (std::optional<postgres_internal::HostEntry> hint =
          options.primary_hint.empty() ? std::nullopt
                                       : postgres_internal::ReadPrimaryHint(options.primary_hint)) {
    const std::vector<postgres_internal::HostEntry> listed =
        postgres_internal::DsnListedEntries(options.dsn);
    remembered = std::find(listed.begin(), listed.end(), *hint) - listed.begin();
  }
  for (const postgres_internal::HostEntry& entry : entries) {
    PostgresServerState state;
    state.remembered = servers.size() == remembered;
    state.server = entry.host.empty() ? entry.hostaddr : entry.host;
    if (!entry.port.empty()) state.server += " port " + entry.port;
    Result<std::unique_ptr<postgres_internal::AdminSession>> session =
        postgres_internal::AdminSession::Open(options, options.statement_timeout_s, &entry);
    if (session.ok()) {
      Result<postgres_internal::PgResult> r =
          (*session)->Exec("SELECT pg_is_in_recovery()", "asking whether it is a standby");
      if (r.ok()) {
        state.reached = true;
        state.standby = r->Bool(0, 0);
      } else {
        state.error = r.status().message();
      }
    } else {
      state.error = session.status().message();
    }
    servers.push_back(std::move(state));
  }
  return servers;
}

std::string PostgresVersionText(int server_version) {
  if (server_version <= 0) return "unknown";
  if (server_version >= 100000) {
    return std::to_string(server_version / 10000) + "." + std::to_string(server_version % 10000);
  }
  return std::to_string(server_version / 10000) + "." + std::to_string(server_version / 100 % 100) +
         "." + std::to_string(server_version % 100);
}

Result<PostgresFacts> InspectPostgresStore(const PostgresOptions& options) {
  Result<std::unique_ptr<AdminSession>> opened =
      AdminSession::Open(options, std::max(options.statement_timeout_s, kInspectStatementTimeoutS));
  if (!opened.ok()) return opened.status();
  AdminSession& session = **opened;
  PostgresFacts facts;
  Result<PostgresConnectionInfo> info = session.Describe();
  if (!info.ok()) return info.status();
  facts.connection = *info;

  // One snapshot for every count and check; nothing is written.
  Result<PgResult> begun =
      session.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting a read");
  if (!begun.ok()) return begun.status();
  Result<int> version = postgres_internal::ReadSchemaVersion(session);
  if (!version.ok()) return version.status();
  facts.schema_version = *version;
  Result<PgResult> rights = session.Exec(
      "SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false), "
      "coalesce(has_schema_privilege(current_schema(), 'CREATE'), false) OR EXISTS (SELECT 1 "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
      "current_schema() AND c.relkind = 'r' AND pg_has_role(current_user, c.relowner, 'USAGE'))",
      "reading the role's rights");
  if (!rights.ok()) return rights.status();
  facts.superuser = rights->Bool(0, 0);
  facts.ddl_rights = rights->Bool(0, 1);
  if (facts.schema_version >= kPostgresOldestUsableVersion &&
      facts.schema_version <= kPostgresSchemaVersion) {
    for (const Table& table : kTables) {
      Result<PgResult> r = session.Exec(table.count_sql, "counting rows");
      if (!r.ok()) return r.status();
      facts.rows.emplace_back(table.name, r->Int(0, 0));
    }
    for (const Consistency& check : kChecks) {
      Result<PgResult> r = session.Exec(check.sql, "checking consistency");
      if (!r.ok()) return r.status();
      if (r->rows() == 0) continue;
      std::string names;
      for (int i = 0; i < r->rows() && i < 5; ++i) names += (i > 0 ? ", " : "") + r->Text(i, 0);
      if (r->rows() > 5) names += ", ...";
      facts.problems.push_back(std::string(check.what) + ": " + names + "; " + check.fix);
    }
  }
  Result<PgResult> ended = session.Exec("COMMIT", "ending the read");
  if (!ended.ok()) return ended.status();
  return facts;
}

}  // namespace sesame
