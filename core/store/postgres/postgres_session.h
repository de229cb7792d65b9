// Private to core/store/postgres/ (postgres_maintenance.cc,
// postgres_copy.cc): a plain, blocking libpq connection for the
// administrator's maintenance commands, which need SQL the Store interface
// does not offer (row counts, consistency queries, COPY in one transaction).
//
// It connects as the store does, through OpenConnection (postgres_internal.h:
// the DSN checked, no PG* environment, the passfile trusted, verify-full for
// TCP, a read-write primary, connect_timeout), with a statement_timeout the
// caller picks (bulk work needs more than a sign-in).
#ifndef SESAME_CORE_STORE_POSTGRES_POSTGRES_SESSION_H_
#define SESAME_CORE_STORE_POSTGRES_POSTGRES_SESSION_H_

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/status.h"
#include "core/store/postgres/postgres_internal.h"
#include "core/store/postgres/postgres_store.h"

namespace sesame {
namespace postgres_internal {

class AdminSession {
 public:
  // Connects; `statement_timeout_s` bounds each statement on the server.
  // `only`: to that host entry alone, primary or standby (OpenConnection).
  static Result<std::unique_ptr<AdminSession>> Open(const PostgresOptions& options,
                                                    int statement_timeout_s,
                                                    const HostEntry* only = nullptr);
  ~AdminSession();
  AdminSession(const AdminSession&) = delete;
  AdminSession& operator=(const AdminSession&) = delete;

  // DescribePostgresDsn: where it is connected, for messages.
  const std::string& where() const { return where_; }
  PGconn* conn() const { return conn_; }
  // PostgresConnectionInfo of this connection (one query).
  Result<PostgresConnectionInfo> Describe();

  // One statement (`sql` a literal; values only as parameters), its rows.
  Result<PgResult> Exec(const char* sql, const Params& params, std::string_view doing);
  Result<PgResult> Exec(const char* sql, std::string_view doing);

  // COPY ... FROM STDIN: Begin, then Put the rows (text format, see
  // CopyField), then End, which returns how many rows the server took.
  // On a failure the transaction is aborted (the caller rolls back).
  Status BeginCopy(const char* sql, std::string_view doing);
  Status PutCopy(std::string& rows, std::string_view doing);  // sends, wipes and clears `rows`
  Result<int64_t> EndCopy(std::string_view doing);
  // Ends a COPY the caller cannot finish (the server fails it, so the
  // transaction is aborted); drains its results.
  void AbortCopy();

  // The message for a failed statement: what the server said (and where
  // in a COPY), with what to do for the common causes.
  Status ErrorFrom(const PGresult* result, std::string_view doing) const;

 private:
  AdminSession(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}
  Status ConnectionError(std::string_view doing) const;

  PGconn* conn_;
  std::string where_;
};

// The schema version of the store `session` is connected to, read as
// PostgresStore::ReadVersion (postgres_store.cc) reads it: 0 for a database
// without tables; kCorrupt for tables without a schema_version table.
Result<int> ReadSchemaVersion(AdminSession& session);

// Appends `value` to a COPY text-format row (backslash, tab, newline and
// carriage return escaped), then `end` ('\t' between fields, '\n' after
// the last).
void CopyField(std::string& row, std::string_view value, char end);

}  // namespace postgres_internal
}  // namespace sesame

#endif  // SESAME_CORE_STORE_POSTGRES_POSTGRES_SESSION_H_
