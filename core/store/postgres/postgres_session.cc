// The administrator's PostgreSQL connection (postgres_session.h): opened
// with the parameters PostgresStore::Connect uses, blocking, bounded by the
// server's timeouts.
#include "core/store/postgres/postgres_session.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/base/safe_file.h"
#include "core/base/secret.h"

namespace sesame {
namespace postgres_internal {

Result<std::unique_ptr<AdminSession>> AdminSession::Open(const PostgresOptions& options,
                                                         int statement_timeout_s,
                                                         const HostEntry* only) {
  bool unreachable = false;
  Result<PGconn*> conn =
      OpenConnection(options, "sesame-admin", statement_timeout_s, &unreachable, only);
  if (!conn.ok()) return conn.status();
  const std::string where = DescribePostgresDsn(options.dsn);
  return std::unique_ptr<AdminSession>(new AdminSession(*conn, where));
}

AdminSession::~AdminSession() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Status AdminSession::ConnectionError(std::string_view doing) const {
  return Status(Code::kUnavailable, "PostgreSQL " + where_ + ": " + std::string(doing) + ": " +
                                        OneLine(PQerrorMessage(conn_)));
}

Status AdminSession::ErrorFrom(const PGresult* result, std::string_view doing) const {
  if (result == nullptr) return ConnectionError(doing);
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = OneLine(primary != nullptr ? primary : PQresultErrorMessage(result));
  const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
  if (detail != nullptr) message += " (" + OneLine(detail) + ")";
  // A COPY names its line ("COPY events, line 42"); a value that failed
  // is not repeated (it could be a hash or a digest).
  const char* context = PQresultErrorField(result, PG_DIAG_CONTEXT);
  if (context != nullptr) {
    std::string where_in = OneLine(context);
    const size_t colon = where_in.find(':');
    if (where_in.rfind("COPY ", 0) == 0 && colon != std::string::npos) where_in.resize(colon);
    message += " [" + where_in + "]";
  }
  const std::string prefix = "PostgreSQL " + where_ + ": " + std::string(doing) + ": ";
  if (sqlstate == "55P03" || sqlstate == "40001" || sqlstate == "40P01") {
    return Status(Code::kBusy, prefix + message + " (another transaction holds a lock); try again");
  }
  if (sqlstate == "57014") {
    return Status(Code::kUnavailable,
                  prefix + "took too long and was cancelled (statement_timeout)");
  }
  if (sqlstate == "25006") {
    return Status(Code::kUnavailable, prefix +
                                          "the server is a read-only standby; point postgres_dsn "
                                          "at the primary");
  }
  if (sqlstate == "42501") {
    return Status(Code::kUnavailable,
                  prefix + message +
                      "; grant the role SELECT, INSERT, UPDATE, DELETE on sesame's tables "
                      "(docs/install.md, \"Fleet\")");
  }
  if (sqlstate == "23505") return Status(Code::kAlreadyExists, prefix + message);
  return Status(Code::kUnavailable,
                prefix + message + (sqlstate.empty() ? "" : " [" + sqlstate + "]"));
}

Result<PgResult> AdminSession::Exec(const char* sql, const Params& params, std::string_view doing) {
  if (params.HasNul()) {
    return Status(Code::kInvalidArgument,
                  std::string(doing) + ": a value holds a NUL byte, which PostgreSQL text cannot");
  }
  std::vector<const char*> values = params.Pointers();
  PGresult* raw =
      PQexecParams(conn_, sql, params.size(), nullptr, values.data(), nullptr, nullptr, 0);
  if (raw == nullptr) return ConnectionError(doing);
  PgResult result(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return ErrorFrom(raw, doing);
  return result;
}

Result<PgResult> AdminSession::Exec(const char* sql, std::string_view doing) {
  Params none;
  return Exec(sql, none, doing);
}

Status AdminSession::BeginCopy(const char* sql, std::string_view doing) {
  PGresult* raw = PQexec(conn_, sql);
  PgResult holder(raw);
  if (raw == nullptr) return ConnectionError(doing);
  if (PQresultStatus(raw) != PGRES_COPY_IN) return ErrorFrom(raw, doing);
  return Status::Ok();
}

Status AdminSession::PutCopy(std::string& rows, std::string_view doing) {
  int rc = rows.empty() ? 1 : PQputCopyData(conn_, rows.data(), static_cast<int>(rows.size()));
  if (!rows.empty()) WipeMemory(rows.data(), rows.size());
  rows.clear();
  if (rc != 1) return ConnectionError(doing);
  return Status::Ok();
}

Result<int64_t> AdminSession::EndCopy(std::string_view doing) {
  if (PQputCopyEnd(conn_, nullptr) != 1) return ConnectionError(doing);
  Status st;
  int64_t rows = 0;
  bool seen = false;
  while (PGresult* raw = PQgetResult(conn_)) {
    PgResult holder(raw);
    if (!seen && PQresultStatus(raw) == PGRES_COMMAND_OK) {
      rows = holder.Affected();
    } else if (!seen) {
      st = ErrorFrom(raw, doing);
    }
    seen = true;
  }
  if (!seen) return ConnectionError(doing);
  if (!st.ok()) return st;
  return rows;
}

void AdminSession::AbortCopy() {
  if (PQputCopyEnd(conn_, "sesame-admin gave up the copy") == 1) {
    while (PGresult* raw = PQgetResult(conn_)) PQclear(raw);
  }
}

Result<PostgresConnectionInfo> AdminSession::Describe() {
  Result<PgResult> r =
      Exec("SELECT current_user, pg_is_in_recovery()", "describing the connection");
  if (!r.ok()) return r.status();
  PostgresConnectionInfo info;
  info.server = where_;
  info.user = r->Text(0, 0);
  info.read_only = r->Bool(0, 1);
  info.connected_to = ConnectedServer(conn_);
  info.server_version = PQserverVersion(conn_);
  info.tls = PQsslInUse(conn_) != 0;
  if (info.tls) {
    const char* protocol = PQsslAttribute(conn_, "protocol");
    info.tls_protocol = protocol != nullptr ? protocol : "";
  }
  return info;
}

Result<int> ReadSchemaVersion(AdminSession& session) {
  const char* kDoing = "reading the schema version";
  Result<PgResult> tables = session.Exec(
      "SELECT count(*), count(*) FILTER (WHERE c.relname = 'schema_version') FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
      "n.nspname = current_schema()",
      kDoing);
  if (!tables.ok()) return tables.status();
  if (tables->Int(0, 0) == 0) return 0;
  if (tables->Int(0, 1) == 0) {
    return Status(Code::kCorrupt, "database " + session.where() +
                                      " has tables but no schema_version table: it is not a "
                                      "sesame store; check postgres_dsn");
  }
  Result<PgResult> version =
      session.Exec("SELECT max(version), count(*) FROM schema_version", kDoing);
  if (!version.ok()) return version.status();
  if (version->Int(0, 1) != 1 || version->IsNull(0, 0) || version->Int(0, 0) < 1 ||
      version->Int(0, 0) > std::numeric_limits<int>::max()) {
    return Status(Code::kCorrupt, "store " + session.where() +
                                      " has a malformed schema_version table (expected one "
                                      "positive integer row); restore it from a backup");
  }
  return static_cast<int>(version->Int(0, 0));
}

void CopyField(std::string& row, std::string_view value, char end) {
  for (char c : value) {
    switch (c) {
      case '\\':
        row += "\\\\";
        break;
      case '\t':
        row += "\\t";
        break;
      case '\n':
        row += "\\n";
        break;
      case '\r':
        row += "\\r";
        break;
      default:
        row += c;
    }
  }
  row += end;
}

}  // namespace postgres_internal
}  // namespace sesame
