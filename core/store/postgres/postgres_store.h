// The PostgreSQL backend of Store (`store = postgres`): one set of accounts,
// lockouts, codes and app passwords for a fleet of hosts.
//
// libpq, prepared statements, one transaction per change; counters, time
// steps, recovery codes and app-password uses change in the database, under
// the user's row lock (SELECT ... FOR UPDATE), so two hosts racing get
// exactly the answers one SQLite file gives. Schema versions live in table
// schema_version; Open applies forward migrations in one transaction each,
// serialized by an advisory lock. See docs/storage.md ("PostgreSQL").
//
// MUST rules for the connection (docs/install.md "Fleet"):
//  - the connection comes from postgres_dsn alone: no password in it (the
//    config is world-readable; credentials come from postgres_passfile or a
//    TLS client certificate), and a process whose environment sets one of
//    libpq's PG* variables opens nothing (libpq would let the environment of
//    whoever runs su or the setuid tool redirect it);
//  - a TCP host is reached with sslmode=verify-full (the default) or
//    verify-ca with a CA file of the admin's own (never the system bundle:
//    verify-ca checks no name); anything weaker is refused; GSSAPI
//    encryption only when the DSN asks for it;
//  - every wait is bounded: connect_timeout, the server's statement_timeout
//    and lock_timeout, and a client-side deadline on every statement (a
//    server that accepts and never answers cannot hang a sign-in);
//  - only a primary (read-write) server is used;
//  - a connection never crosses fork(): a child that finds its parent's
//    connection refuses to use it.
#ifndef SESAME_CORE_STORE_POSTGRES_POSTGRES_STORE_H_
#define SESAME_CORE_STORE_POSTGRES_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "core/base/safe_file.h"
#include "core/base/status.h"
#include "core/store/store.h"

namespace sesame {

inline constexpr int kPostgresSchemaVersion = 3;
// The oldest schema version this sesame uses as it is: the migrations
// after it only add indexes (speed, not meaning), so a fleet's hosts can
// run this sesame before one host migrates the schema with `sesame-admin
// db migrate` (docs/install.md, "Fleet"). An older schema is migrated, or
// refused, as `migrate` says.
inline constexpr int kPostgresOldestUsableVersion = 1;

struct PostgresOptions {
  std::string dsn;       // postgres_dsn: key=value pairs or a postgresql:// URI
  std::string passfile;  // postgres_passfile; empty: none
  int connect_timeout_s = 3;
  int statement_timeout_s = 5;
  int lock_timeout_ms = 5000;  // store_busy_timeout_ms: a row or table lock waited for
  // Create the schema in an empty database; otherwise an empty database is
  // kUnavailable naming `sesame-admin init`.
  bool create = false;
  // Apply pending forward migrations; otherwise an older schema is
  // kUnavailable naming `sesame-admin db migrate`.
  bool migrate = true;
  // Also apply the pending migrations of a schema this sesame can use as it
  // is (kPostgresOldestUsableVersion and later); `sesame-admin db
  // migrate` does. Without, such a schema is used as it is: the
  // hosts' role has no right to change it (docs/install.md, "Fleet").
  bool migrate_usable = false;
  // Ownership/mode rule for the passfile (root in production): like the key
  // file, no group/other access.
  TrustRule passfile_trust{0, true};
  // runtime_dir/postgres-primary: with several servers in postgres_dsn, the
  // last primary reached, tried first by the next connection (a dead server
  // ahead of it then costs one connect timeout, not one per connection).
  // Empty: the DSN's order, nothing remembered.
  std::string primary_hint;
};

// The checks on postgres_dsn alone (kInvalidArgument naming what is wrong
// and what to do): it parses, holds no password and names no passfile,
// names a user and a database, and reaches TCP hosts only with verified TLS.
Status CheckPostgresDsn(const std::string& dsn);

// Where the DSN points, for messages ("host=db1 port=5432 dbname=sesame
// user=sesame"); never a secret.
std::string DescribePostgresDsn(const std::string& dsn);

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

// What `sesame-admin doctor` reports about a PostgreSQL store's connection.
struct PostgresConnectionInfo {
  std::string server;  // DescribePostgresDsn
  // The one of the DSN's servers this connection reached, as libpq names
  // it: "db2.example.org port 5432" (a socket's directory for a Unix
  // socket). With a list of servers, the primary found.
  std::string connected_to;
  int server_version = 0;    // PQserverVersion (150004 = 15.4)
  bool tls = false;          // the connection is encrypted
  std::string tls_protocol;  // "TLSv1.3" when tls
  bool read_only = false;    // pg_is_in_recovery(): a standby
  std::string user;          // current_user
};
// kInvalidArgument when `store` is not a PostgreSQL store.
Result<PostgresConnectionInfo> DescribePostgresConnection(Store& store);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_POSTGRES_POSTGRES_STORE_H_
