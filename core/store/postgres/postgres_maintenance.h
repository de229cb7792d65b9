// Looking after a PostgreSQL store from outside the Store interface: what
// `sesame-admin doctor`, `db check` and `db copy --from-sqlite` need (the
// PostgreSQL side of core/store/sqlite/sqlite_maintenance.h).
//
// MUST rules:
//  - a connection is opened under the store's rules (postgres_store.h):
//    the DSN checked, no PG* environment, the passfile trusted, verified
//    TLS for TCP hosts, a read-write primary, a bounded connect;
//  - inspecting never creates, migrates or otherwise writes the store;
//  - a copy is one PostgreSQL transaction: on any failure nothing of it is
//    left in the target; the SQLite file is opened read-only and passes the
//    store's trust checks first;
//  - no message or log line holds a secret (hashes, sealed secrets and
//    digests are data, never text of a message).
#ifndef SESAME_CORE_STORE_POSTGRES_POSTGRES_MAINTENANCE_H_
#define SESAME_CORE_STORE_POSTGRES_POSTGRES_MAINTENANCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/safe_file.h"
#include "core/base/status.h"
#include "core/store/postgres/postgres_store.h"

namespace sesame {

// True when the DSN reaches a host over TCP (so TLS must be in use); false
// for Unix sockets and for a DSN that does not parse.
bool PostgresDsnUsesTcp(const std::string& dsn);

// The host names a connection to `dsn` looks up (hosts that are names,
// without a hostaddr of their own), looked up as it does: all at once, for
// at most `timeout_s` (postgres_lookup.cc). Empty when there are none.
struct PostgresHostLookup {
  std::string name;
  std::vector<std::string> addresses;
  std::string error;   // "" when addresses were found
  double seconds = 0;  // how long the lookups of the DSN took, together
};
std::vector<PostgresHostLookup> LookUpPostgresHosts(const std::string& dsn, int timeout_s);

// Each server of a DSN that lists more than one (none for a DSN that names
// one), reached alone, primary or standby: doctor's view of a failover
// list. Nothing is written.
struct PostgresServerState {
  std::string server;    // "db1.example.org port 5432": the DSN's entry
  bool reached = false;  // connected and answered
  bool standby = false;  // pg_is_in_recovery(), when reached
  std::string error;     // why not, when not reached
  // The one runtime_dir/postgres-primary names (PostgresOptions::
  // primary_hint): the store's connections try it first.
  bool remembered = false;
};
std::vector<PostgresServerState> CheckPostgresServers(const PostgresOptions& options);

// "15.4" for PQserverVersion's 150004.
std::string PostgresVersionText(int server_version);

struct PostgresFacts {
  PostgresConnectionInfo connection;
  // What the role may do beyond reading and writing rows (docs/install.md,
  // "Fleet": a host's role should have neither).
  bool superuser = false;
  bool ddl_rights = false;  // owns a table of the store's schema, or may CREATE in it
  int schema_version = 0;   // 0: no schema yet (an empty database)
  int known_version = kPostgresSchemaVersion;
  // Rows per table (schema_version >= 1 only), in schema order.
  std::vector<std::pair<std::string, int64_t>> rows;
  // What the consistency queries found (rows that no sign-in could have
  // left, orphan rows, invalid indexes); empty: consistent.
  std::vector<std::string> problems;
};

// Connection facts, schema version, row counts and consistency of the
// store `options` names. Errors as the store's own when it cannot connect;
// kCorrupt for a database that has tables but is not a sesame store.
Result<PostgresFacts> InspectPostgresStore(const PostgresOptions& options);

// The SQLite schema version CopySqliteIntoPostgres reads (tools/admin
// asserts it is kSqliteSchemaVersion, so a new SQLite schema cannot be
// copied without its columns), and the oldest one it reads as well:
// versions 9 and 10 have the same tables (10 dropped an index).
inline constexpr int kCopiedSqliteSchemaVersion = 10;
inline constexpr int kOldestCopiedSqliteSchemaVersion = 9;

struct SqliteCopySource {
  std::string path;
  TrustRule trust{0, true};  // as the store's (root's, no group/other access)
  int busy_timeout_ms = 5000;
};

struct CopyOptions {
  // false: the target must be empty (no user, event or app password).
  // true: add to it; a user of the file who is in the target already is an
  // error naming the user (nothing is copied); events are appended; a
  // required group in both keeps the target's row.
  bool merge = false;
  // Called for each user with an authenticator before anything is
  // committed; a non-OK status ends the copy with it (nothing written).
  // The admin tool checks that the sealed secret opens with this host's
  // key: the file's TOTP secrets, recovery codes and app passwords only
  // work under the key of the host that made them.
  std::function<Status(const std::string& user, const std::string& totp_sealed)> check_totp;
};

struct CopyCounts {
  int64_t users = 0;
  int64_t password_history = 0;
  int64_t recovery_codes = 0;
  int64_t mfa_required_groups = 0;       // added
  int64_t mfa_required_groups_kept = 0;  // merge: in the target already, kept as there
  int64_t app_passwords = 0;             // revoked and expired ones included
  int64_t app_password_lockouts = 0;
  int64_t events = 0;
  int64_t orphans_skipped = 0;  // rows of the file naming a user it does not have
  int64_t pending_dropped = 0;  // attempts in flight at the file's host, not copied
};

// Copies the SQLite store `source` (schema version kCopiedSqliteSchemaVersion,
// read in one read transaction) into the PostgreSQL store `target` (schema
// current; not created, not migrated) in ONE PostgreSQL transaction. Every
// field is copied as stored, but attempts still pending at the file's host
// (they settle there, never here): failures minus pending, nothing pending.
// Ids are the target's own, in the file's order.
//
// kNotFound: no such file. kPermissionDenied: the file fails the trust
// checks. kCorrupt: not a SQLite database, not a sesame store, or its
// integrity check fails. kUnavailable: another schema version on either
// side (the target is neither created nor migrated here). kAlreadyExists:
// without merge, a target that is not empty; with merge, a user of the
// file who is in the target. The store's errors otherwise. On success
// `counts` says what was copied; on any failure nothing was written.
Status CopySqliteIntoPostgres(const SqliteCopySource& source, const PostgresOptions& target,
                              const CopyOptions& options, CopyCounts* counts);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_POSTGRES_POSTGRES_MAINTENANCE_H_
