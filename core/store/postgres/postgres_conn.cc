// PostgreSQL backend, the connection: what postgres_dsn may say, how a
// connection is opened (parameters that leave nothing to the environment),
// and how a statement runs within a deadline. The MUST rules are in
// core/store/postgres/postgres_store.h.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/safe_file.h"
#include "core/base/secret.h"
#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {

int ClampToInt(int64_t value) {
  return static_cast<int>(
      std::clamp<int64_t>(value, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

int64_t PgResult::Int(int row, int col) const {
  const char* text = PQgetvalue(r_.get(), row, col);
  return std::strtoll(text, nullptr, 10);
}

int64_t PgResult::Affected() const {
  const char* text = r_ ? PQcmdTuples(r_.get()) : "";
  return text[0] == '\0' ? 0 : std::strtoll(text, nullptr, 10);
}

Params::~Params() {
  for (auto& value : values_) {
    if (value.has_value() && !value->empty()) WipeMemory(value->data(), value->size());
  }
}

Params& Params::Text(std::string_view value) {
  if (value.find('\0') != std::string_view::npos) has_nul_ = true;
  values_.emplace_back(std::string(value));
  return *this;
}

Params& Params::Int(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

Params& Params::Null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> Params::Pointers() const {
  std::vector<const char*> pointers;
  pointers.reserve(values_.size());
  for (const auto& value : values_)
    pointers.push_back(value.has_value() ? value->c_str() : nullptr);
  return pointers;
}

namespace {

// libpq's connection options, parsed from a DSN.
struct ConninfoFree {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using ConninfoPtr = std::unique_ptr<PQconninfoOption, ConninfoFree>;

struct ParsedDsn {
  ConninfoPtr options;
  std::string Get(const char* keyword) const {
    for (const PQconninfoOption* o = options.get(); o != nullptr && o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, keyword) == 0) return o->val != nullptr ? o->val : "";
    }
    return "";
  }
};

Result<ParsedDsn> ParseDsn(const std::string& dsn) {
  if (dsn.empty()) {
    return Status(Code::kInvalidArgument,
                  "postgres_dsn is empty; name the server, e.g. postgres_dsn = "
                  "host=db.example.org dbname=sesame user=sesame");
  }
  char* error = nullptr;
  ParsedDsn parsed{ConninfoPtr(PQconninfoParse(dsn.c_str(), &error))};
  if (!parsed.options) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Status(Code::kInvalidArgument,
                  "postgres_dsn is not a valid libpq connection string (" + why +
                      "); write key=value pairs, e.g. host=db.example.org dbname=sesame "
                      "user=sesame");
  }
  return parsed;
}

// True when the DSN reaches some host over TCP (a host that is not a
// socket directory, or any hostaddr).
bool UsesTcp(const ParsedDsn& dsn) {
  if (!dsn.Get("hostaddr").empty()) return true;
  const std::string host = dsn.Get("host");
  if (host.empty()) return false;  // the default socket directory
  for (const std::string& h : SplitList(host)) {
    if (h.empty() || h[0] == '/' || h[0] == '@') continue;
    return true;
  }
  return false;
}

// The environment variables through which libpq would take connection
// settings (every option's envvar, and the service-file and session ones).
const std::vector<std::string>& LibpqEnvironment() {
  static const std::vector<std::string>* names = [] {
    auto* list = new std::vector<std::string>{"PGSERVICEFILE", "PGSYSCONFDIR", "PGDATESTYLE",
                                              "PGTZ",          "PGGEQO",       "PGREQUIRESSL"};
    PQconninfoOption* defaults = PQconndefaults();
    for (const PQconninfoOption* o = defaults; o != nullptr && o->keyword != nullptr; ++o) {
      if (o->envvar != nullptr && o->envvar[0] != '\0') list->emplace_back(o->envvar);
    }
    PQconninfoFree(defaults);
    return list;
  }();
  return *names;
}

// A path that names no file: libpq finds no passfile or client
// certificate there, silently (stat fails), instead of looking under $HOME,
// which whoever runs su or the setuid tool chooses.
constexpr const char* kNoFile = "/dev/null/none";
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

}  // namespace

bool NamesOwnCa(const std::string& sslrootcert) {
  if (sslrootcert.empty() || sslrootcert == "system") return false;
  if (sslrootcert == kSystemCaBundle) return false;
  // The bundle under another spelling (a symlink, "//", "/./"): the same
  // file is the same CAs.
  struct stat named {};
  struct stat bundle {};
  if (stat(sslrootcert.c_str(), &named) == 0 && stat(kSystemCaBundle, &bundle) == 0 &&
      named.st_dev == bundle.st_dev && named.st_ino == bundle.st_ino) {
    return false;
  }
  return true;
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    items.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string joined;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) joined += ',';
    joined += items[i];
  }
  return joined;
}

std::string ConnectedServer(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  std::string server = host != nullptr && *host != '\0' ? host : "(default host)";
  if (port != nullptr && *port != '\0') server += std::string(" port ") + port;
  return server;
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  std::string squeezed;
  for (char c : text) {
    if (c == ' ' && (squeezed.empty() || squeezed.back() == ' ')) continue;
    squeezed += c;
  }
  while (!squeezed.empty() && squeezed.back() == ' ') squeezed.pop_back();
  return squeezed;
}

HostPlan PlanDsnHostLookups(const std::string& dsn) {
  Result<ParsedDsn> parsed = ParseDsn(dsn);
  if (!parsed.ok()) return HostPlan{};
  return PlanHostLookups(parsed->Get("host"), parsed->Get("hostaddr"), parsed->Get("port"));
}

std::vector<HostEntry> DsnListedEntries(const std::string& dsn) {
  Result<ParsedDsn> parsed = ParseDsn(dsn);
  if (!parsed.ok()) return {};
  return ListHostEntries(parsed->Get("host"), parsed->Get("hostaddr"), parsed->Get("port"));
}

std::vector<HostEntry> DsnHostEntries(const std::string& dsn) {
  Result<ParsedDsn> parsed = ParseDsn(dsn);
  if (!parsed.ok()) return {};
  const std::string port = parsed->Get("port");
  std::vector<HostEntry> entries =
      ListHostEntries(parsed->Get("host"), parsed->Get("hostaddr"), port);
  for (HostEntry& e : entries) {
    if (e.port.empty()) e.port = port;  // the one port for all (or none)
  }
  return entries;
}

bool DsnUsesTcp(const std::string& dsn) {
  Result<ParsedDsn> parsed = ParseDsn(dsn);
  return parsed.ok() && UsesTcp(*parsed);
}

Result<PGconn*> OpenConnection(const PostgresOptions& options, const char* application_name,
                               int statement_timeout_s, bool* unreachable, const HostEntry* only) {
  *unreachable = false;
  const std::string where = DescribePostgresDsn(options.dsn);
  for (const std::string& name : LibpqEnvironment()) {
    if (std::getenv(name.c_str()) != nullptr) {
      return Status(Code::kUnavailable,
                    "PostgreSQL " + where + ": the environment sets " + name +
                        "; sesame takes its PostgreSQL connection only from postgres_dsn and "
                        "postgres_passfile, never from libpq's PG* variables: unset " +
                        name);
    }
  }
  SESAME_RETURN_IF_ERROR(CheckPostgresDsn(options.dsn));
  Result<ParsedDsn> parsed = ParseDsn(options.dsn);
  if (!parsed.ok()) return parsed.status();
  if (!options.passfile.empty()) {
    SESAME_RETURN_IF_ERROR(
        CheckTrustedPath(options.passfile, "postgres_passfile", options.passfile_trust));
  }

  // Keyword order matters: the DSN is expanded first (expand_dbname), and
  // every later keyword overrides what it said.
  std::vector<std::string> keys;
  std::vector<std::string> values;
  auto set = [&](const char* key, std::string value) {
    keys.emplace_back(key);
    values.push_back(std::move(value));
  };
  std::string host_list = parsed->Get("host");
  std::string hostaddr_list = parsed->Get("hostaddr");
  std::string port_list = parsed->Get("port");
  if (only == nullptr) {
    set("dbname", options.dsn);
  } else {
    // The DSN's settings one by one (not expanded: its host lists would
    // come back), without its hosts; the one entry's instead, below.
    for (const PQconninfoOption* o = parsed->options.get(); o != nullptr && o->keyword != nullptr;
         ++o) {
      if (o->val == nullptr || o->val[0] == '\0') continue;
      const std::string keyword = o->keyword;
      if (keyword == "host" || keyword == "hostaddr" || keyword == "port") continue;
      set(o->keyword, o->val);
    }
    host_list = only->host;
    hostaddr_list = only->hostaddr;
    if (!only->port.empty()) port_list = only->port;
    if (!host_list.empty()) set("host", host_list);
    if (!hostaddr_list.empty()) set("hostaddr", hostaddr_list);
    if (!port_list.empty()) set("port", port_list);
  }
  // A list of servers: the last primary reached first (ReadPrimaryHint).
  std::vector<HostEntry> listed;
  size_t hinted = 0;
  bool have_hint = false;
  if (only == nullptr && !options.primary_hint.empty()) {
    listed = ListHostEntries(host_list, hostaddr_list, port_list);
    if (listed.size() < 2) listed.clear();
  }
  if (!listed.empty()) {
    if (std::optional<HostEntry> hint = ReadPrimaryHint(options.primary_hint)) {
      have_hint = true;
      hinted = std::find(listed.begin(), listed.end(), *hint) - listed.begin();
    }
    if (have_hint && hinted > 0 && hinted < listed.size()) {
      const HostKeywords order = HostKeywordsTryingFirst(listed, hinted, !hostaddr_list.empty(),
                                                         port_list.find(',') != std::string::npos);
      if (!order.host.empty()) set("host", host_list = order.host);
      if (!order.hostaddr.empty()) set("hostaddr", hostaddr_list = order.hostaddr);
      if (!order.port.empty()) set("port", port_list = order.port);
    }
  }
  set("passfile", options.passfile.empty() ? kNoFile : options.passfile);
  set("connect_timeout", std::to_string(options.connect_timeout_s));
  set("target_session_attrs", only == nullptr ? "read-write" : "any");
  set("application_name", application_name);
  set("client_encoding", "UTF8");
  // libpq's default (prefer) tries GSSAPI encryption before TLS wherever a
  // Kerberos ticket is at hand, bypassing the TLS rules above, and talks to
  // the KDC outside connect_timeout. Only a DSN that asks for it gets it.
  if (parsed->Get("gssencmode").empty()) set("gssencmode", "disable");
  if (UsesTcp(*parsed)) {
    if (parsed->Get("sslmode").empty()) set("sslmode", "verify-full");
    if (parsed->Get("sslrootcert").empty()) set("sslrootcert", kSystemCaBundle);
    set("keepalives", "1");
    set("keepalives_idle", "30");
    set("tcp_user_timeout", std::to_string(statement_timeout_s * 1000 + 1000));
  }
  // The names of the hosts, looked up within the connect timeout (see
  // LookUpNames): libpq is given their addresses and connects to those.
  std::string lookup_errors;
  const HostPlan plan = PlanHostLookups(host_list, hostaddr_list, port_list);
  if (!plan.lookups.empty()) {
    std::vector<std::string> names;
    for (size_t i : plan.lookups) names.push_back(plan.entries[i].host);
    const HostKeywords hosts = ExpandHostEntries(
        plan, LookUpNames(names, options.connect_timeout_s * 1000), &lookup_errors);
    if (hosts.host.empty()) {
      *unreachable = true;
      return Status(Code::kUnavailable,
                    "cannot connect to PostgreSQL " + where + ": " + OneLine(lookup_errors));
    }
    set("host", hosts.host);
    set("hostaddr", hosts.hostaddr);
    if (!hosts.port.empty()) set("port", hosts.port);
  }
  if (parsed->Get("sslcert").empty()) set("sslcert", kNoFile);
  if (parsed->Get("sslkey").empty()) set("sslkey", kNoFile);
  // Bounds the server keeps: a statement, a lock wait, and a session left
  // idle inside a transaction (a process stopped while it holds a user's
  // row lock must not block that user on every host for long); then the
  // planner's settings (kPlannerOptions).
  std::string server_options = parsed->Get("options");
  if (!server_options.empty()) server_options += ' ';
  server_options +=
      "-c statement_timeout=" + std::to_string(statement_timeout_s * 1000) +
      " -c lock_timeout=" + std::to_string(std::max(options.lock_timeout_ms, 1)) +
      " -c idle_in_transaction_session_timeout=" + std::to_string(statement_timeout_s * 2000) +
      " -c default_transaction_isolation=read\\ committed " + kPlannerOptions;
  set("options", server_options);

  std::vector<const char*> key_ptrs;
  std::vector<const char*> value_ptrs;
  for (size_t i = 0; i < keys.size(); ++i) {
    key_ptrs.push_back(keys[i].c_str());
    value_ptrs.push_back(values[i].c_str());
  }
  key_ptrs.push_back(nullptr);
  value_ptrs.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(key_ptrs.data(), value_ptrs.data(),
                                   /*expand_dbname=*/only == nullptr ? 1 : 0);
  if (conn == nullptr) {
    *unreachable = true;
    return Status(Code::kUnavailable, "cannot connect to PostgreSQL " + where + ": out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = OneLine(PQerrorMessage(conn));
    PQfinish(conn);
    *unreachable = true;
    if (why.find("read-only") != std::string::npos || why.find("standby") != std::string::npos) {
      why +=
          "; sesame writes at every sign-in, so it needs a read-write primary: point "
          "postgres_dsn at the primary (list several hosts to follow a failover)";
    }
    if (!lookup_errors.empty()) why += "; " + OneLine(lookup_errors);
    return Status(Code::kUnavailable, "cannot connect to PostgreSQL " + where + ": " + why);
  }
  if (!listed.empty()) {
    auto text = [](const char* value) { return std::string(value != nullptr ? value : ""); };
    const size_t reached =
        ReachedEntry(listed, text(PQhost(conn)), text(PQhostaddr(conn)), text(PQport(conn)));
    // Written when it changes; removed when the DSN's first server is the
    // primary again (its order is then right as it is).
    if (reached == 0 && have_hint) {
      RemovePrimaryHint(options.primary_hint);
    } else if (reached > 0 && reached < listed.size() && (!have_hint || reached != hinted)) {
      WritePrimaryHint(options.primary_hint, listed[reached]);
    }
  }
  return conn;
}

Status PostgresStore::NoSuchUser(std::string_view name) const {
  return Status(Code::kNotFound, "no user " + std::string(name) + " in store " + where_);
}

PostgresStore::PostgresStore(PostgresOptions options)
    : options_(std::move(options)), where_(DescribePostgresDsn(options_.dsn)) {}

PostgresStore::~PostgresStore() { Disconnect(); }

void PostgresStore::Disconnect() {
  // A connection opened by another process (we were forked) is never used
  // or closed here: PQfinish would end the parent's session.
  if (conn_ != nullptr && pid_ == getpid()) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

Status PostgresStore::Connect() {
  if (!dead_.ok()) {
    last_failure_ = Failure::kTimeout;
    return dead_;
  }
  if (conn_ != nullptr) {
    if (pid_ != getpid()) {
      conn_ = nullptr;  // the parent's; never touched (Disconnect)
      prepared_.clear();
      return Fail(Failure::kStatement,
                  "this process inherited its parent's connection across fork(); it opens no "
                  "store (open the store after forking)");
    }
    if (PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
    Disconnect();
  }
  bool unreachable = false;
  Result<PGconn*> opened =
      OpenConnection(options_, "sesame", options_.statement_timeout_s, &unreachable);
  if (!opened.ok()) {
    last_failure_ = unreachable ? Failure::kTimeout : Failure::kStatement;
    // Not asked again by this object (the rest of the call fails at once);
    // the PAM module's pool drops it (StillUsable) and the next call
    // connects anew.
    if (unreachable) dead_ = opened.status();
    return opened.status();
  }
  PGconn* conn = *opened;
  if (PQsetnonblocking(conn, 1) != 0) {
    PQfinish(conn);
    return Status(Code::kUnavailable, "PostgreSQL " + where_ + ": cannot use non-blocking mode");
  }
  conn_ = conn;
  pid_ = getpid();
  prepared_.clear();
  return Status::Ok();
}

Status PostgresStore::Fail(Failure kind, const std::string& message) {
  last_failure_ = kind;
  const std::string line = OneLine("PostgreSQL " + where_ + ": " + message);
  Status failed(Code::kUnavailable, line);
  if (kind == Failure::kConnection || kind == Failure::kTimeout) Disconnect();
  // A server that did not answer in time is not asked again by this
  // object: the rest of the call (recording its event) fails at once
  // instead of waiting a second time.
  if (kind == Failure::kTimeout) dead_ = failed;
  return failed;
}

Status PostgresStore::AwaitAll(std::vector<PgResult>* results, int commands, bool pipeline,
                               std::string_view doing) {
  ++round_trips_;
  results->clear();
  using Clock = std::chrono::steady_clock;
  const int timeout_s = migrating_ ? kMigrationStatementTimeoutS : options_.statement_timeout_s;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_s * 1000 + 1000);
  const int fd = PQsocket(conn_);
  auto wait = [&](short events) -> int {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    pollfd p{fd, events, 0};
    int rc;
    do {
      rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60000)));
    } while (rc < 0 && errno == EINTR);
    return rc;
  };
  auto no_answer = [&]() {
    return Fail(Failure::kTimeout, "no answer within " +
                                       std::to_string(options_.statement_timeout_s + 1) +
                                       " s while " + std::string(doing) +
                                       " (postgres_statement_timeout); the connection was dropped");
  };
  auto broken = [&]() {
    return Fail(Failure::kConnection, std::string(doing) + ": " + OneLine(PQerrorMessage(conn_)));
  };
  for (;;) {
    int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) return broken();
    int rc = wait(POLLIN | POLLOUT);
    if (rc == 0) return no_answer();
    if (rc < 0 || PQconsumeInput(conn_) == 0) return broken();
  }
  // The next result, within the deadline (nullptr: this command's results
  // are done).
  auto next = [&](PgResult* r) -> Status {
    while (PQisBusy(conn_) != 0) {
      int rc = wait(POLLIN);
      if (rc == 0) return no_answer();
      if (rc < 0 || PQconsumeInput(conn_) == 0) return broken();
    }
    *r = PgResult(PQgetResult(conn_));
    return Status::Ok();
  };
  for (int i = 0; i < commands; ++i) {
    PgResult kept;
    for (;;) {
      PgResult r;
      SESAME_RETURN_IF_ERROR(next(&r));
      if (r.get() == nullptr) break;
      // The first error wins; otherwise the last result.
      const bool kept_error =
          kept.get() != nullptr && PQresultStatus(kept.get()) == PGRES_FATAL_ERROR;
      if (!kept_error) kept = std::move(r);
    }
    if (kept.get() == nullptr || PQstatus(conn_) != CONNECTION_OK) return broken();
    results->push_back(std::move(kept));
  }
  if (pipeline) {
    PgResult sync;
    SESAME_RETURN_IF_ERROR(next(&sync));
    if (sync.get() == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
        PQexitPipelineMode(conn_) == 0) {
      return broken();
    }
  }
  return Status::Ok();
}

Status PostgresStore::ErrorFrom(const PGresult* result, std::string_view doing) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary != nullptr ? primary : PQresultErrorMessage(result);
  message = OneLine(message);
  const std::string where = "PostgreSQL " + where_ + ": " + std::string(doing) + ": ";
  last_failure_ = Failure::kStatement;
  if (sqlstate == "55P03" || sqlstate == "40001" || sqlstate == "40P01") {
    return Status(Code::kBusy, where + message + " (waited " +
                                   std::to_string(options_.lock_timeout_ms) +
                                   " ms for another transaction); try again");
  }
  if (sqlstate == "57014") {
    return Status(Code::kUnavailable, where + "took longer than postgres_statement_timeout (" +
                                          std::to_string(options_.statement_timeout_s) +
                                          " s) and was cancelled");
  }
  if (sqlstate == "25006") {
    return Status(Code::kUnavailable,
                  where +
                      "the server is a read-only standby; point postgres_dsn at the "
                      "primary (sesame writes at every sign-in)");
  }
  if (sqlstate == "42501") {
    if (doing.rfind("migrating the schema", 0) == 0) {
      return Status(Code::kUnavailable,
                    where + message +
                        "; the schema is changed by the role that owns sesame's tables, not "
                        "the hosts' role: run `sesame-admin db migrate` with the owner's config "
                        "(docs/install.md, \"Fleet\")");
    }
    return Status(Code::kUnavailable,
                  where + message +
                      "; grant the role SELECT, INSERT, UPDATE, DELETE on sesame's tables "
                      "(docs/install.md, \"Fleet\")");
  }
  if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0) {
    return Fail(Failure::kConnection, std::string(doing) + ": " + message);
  }
  return Status(Code::kUnavailable,
                where + message + (sqlstate.empty() ? "" : " [" + sqlstate + "]"));
}

Result<PgResult> PostgresStore::Exec(const char* sql, const Params& params, std::string_view doing,
                                     bool commit) {
  if (params.HasNul()) {
    return Status(Code::kInvalidArgument,
                  std::string(doing) + ": a value holds a NUL byte, which PostgreSQL text cannot");
  }
  if (conn_ == nullptr) return Fail(Failure::kConnection, std::string(doing) + ": not connected");
  auto found = prepared_.find(sql);
  const bool begin = begin_pending_;
  const bool prepare = found == prepared_.end();
  // COMMIT rides along only on a connection this transaction has used
  // already: a kept connection found broken at its first round trip is
  // opened again and the transaction run once more (Transaction), which
  // must not happen once COMMIT may have reached the server.
  const bool commit_here = commit && !begin;
  std::string name = prepare ? "sesame_" + std::to_string(next_statement_ + 1) : found->second;
  std::vector<const char*> values = params.Pointers();
  auto send_failed = [&]() {
    return Fail(Failure::kConnection, std::string(doing) + ": " + PQerrorMessage(conn_));
  };
  std::vector<PgResult> results;
  if (!begin && !prepare && !commit_here) {
    if (PQsendQueryPrepared(conn_, name.c_str(), params.size(), values.data(), nullptr, nullptr,
                            0) == 0) {
      return send_failed();
    }
    SESAME_RETURN_IF_ERROR(AwaitAll(&results, 1, /*pipeline=*/false, doing));
  } else {
    // One round trip: [BEGIN] [PREPARE] statement [COMMIT], then a sync. A
    // command after a failed one is skipped by the server (its result is
    // PGRES_PIPELINE_ABORTED) and the first failure is the one reported.
    if (PQenterPipelineMode(conn_) == 0) return send_failed();
    int commands = 0;
    if (begin) {
      begin_pending_ = false;
      if (PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 0)
        return send_failed();
      ++commands;
    }
    if (prepare) {
      if (PQsendPrepare(conn_, name.c_str(), sql, 0, nullptr) == 0) return send_failed();
      ++commands;
    }
    if (PQsendQueryPrepared(conn_, name.c_str(), params.size(), values.data(), nullptr, nullptr,
                            0) == 0) {
      return send_failed();
    }
    ++commands;
    if (commit_here) {
      commit_sent_ = true;
      if (PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 0)
        return send_failed();
      ++commands;
    }
    if (PQpipelineSync(conn_) == 0) return send_failed();
    SESAME_RETURN_IF_ERROR(AwaitAll(&results, commands, /*pipeline=*/true, doing));
  }
  // In the order sent; the first that failed is the answer.
  size_t at = 0;
  if (begin) {
    if (PQresultStatus(results[at].get()) != PGRES_COMMAND_OK)
      return ErrorFrom(results[at].get(), doing);
    ++at;
  }
  if (prepare) {
    if (PQresultStatus(results[at].get()) != PGRES_COMMAND_OK)
      return ErrorFrom(results[at].get(), doing);
    ++next_statement_;
    prepared_.emplace(sql, name);
    ++at;
  }
  PgResult result = std::move(results[at]);
  ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    return ErrorFrom(result.get(), doing);
  ++at;
  if (commit_here) {
    if (PQresultStatus(results[at].get()) != PGRES_COMMAND_OK)
      return ErrorFrom(results[at].get(), doing);
    committed_ = true;
  } else if (commit) {
    commit_sent_ = true;
    SESAME_RETURN_IF_ERROR(Simple("COMMIT", doing));
    committed_ = true;
  }
  return result;
}

Status PostgresStore::Simple(const char* sql, std::string_view doing) {
  if (conn_ == nullptr) return Fail(Failure::kConnection, std::string(doing) + ": not connected");
  if (begin_pending_) {
    // SQL text inside a transaction (a migration): its BEGIN first.
    begin_pending_ = false;
    SESAME_RETURN_IF_ERROR(Simple("BEGIN", doing));
  }
  if (PQsendQuery(conn_, sql) == 0) {
    return Fail(Failure::kConnection, std::string(doing) + ": " + PQerrorMessage(conn_));
  }
  std::vector<PgResult> results;
  SESAME_RETURN_IF_ERROR(AwaitAll(&results, 1, /*pipeline=*/false, doing));
  ExecStatusType status = PQresultStatus(results[0].get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    return ErrorFrom(results[0].get(), doing);
  return Status::Ok();
}

Status PostgresStore::LockUser(std::string_view name, std::string_view doing) {
  Params p;
  p.Text(name);
  Result<PgResult> r = Exec("SELECT 1 FROM users WHERE name = $1 FOR UPDATE", p, doing);
  if (!r.ok()) return r.status();
  return r->rows() == 0 ? NoSuchUser(name) : Status::Ok();
}

Status PostgresStore::DoStillUsable() {
  if (conn_ == nullptr)
    return Status(Code::kUnavailable, "PostgreSQL " + where_ + ": not connected");
  if (pid_ != getpid()) {
    return Status(Code::kUnavailable,
                  "PostgreSQL " + where_ + ": connection inherited across fork()");
  }
  if (PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    return Status(Code::kUnavailable, "PostgreSQL " + where_ + ": the connection broke");
  }
  return Status::Ok();
}

std::string PostgresStore::ConnectionOption(const char* keyword) const {
  if (conn_ == nullptr) return "";
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(PQconninfo(conn_),
                                                                         PQconninfoFree);
  for (const PQconninfoOption* o = options.get(); o != nullptr && o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, keyword) == 0) return o->val != nullptr ? o->val : "";
  }
  return "";
}

Result<PostgresConnectionInfo> PostgresStore::Describe() {
  PostgresConnectionInfo info;
  info.server = where_;
  Status st = Read("describing the connection", [&]() -> Status {
    Params none;
    Result<PgResult> r =
        Exec("SELECT current_user, pg_is_in_recovery()", none, "describing the connection");
    if (!r.ok()) return r.status();
    info.user = r->Text(0, 0);
    info.read_only = r->Bool(0, 1);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  info.connected_to = ConnectedServer(conn_);
  info.server_version = PQserverVersion(conn_);
  info.tls = PQsslInUse(conn_) != 0;
  if (info.tls) {
    const char* protocol = PQsslAttribute(conn_, "protocol");
    info.tls_protocol = protocol != nullptr ? protocol : "";
  }
  return info;
}

}  // namespace postgres_internal

Status CheckPostgresDsn(const std::string& dsn) {
  using postgres_internal::ParsedDsn;
  Result<ParsedDsn> parsed = postgres_internal::ParseDsn(dsn);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->Get("password").empty()) {
    return Status(Code::kInvalidArgument,
                  "postgres_dsn contains a password, and the config file is readable by every "
                  "user: remove it, and put it in a root-only passfile named by "
                  "postgres_passfile (lines host:port:dbname:user:password, mode 0600), or use a "
                  "TLS client certificate (sslcert, sslkey)");
  }
  if (!parsed->Get("passfile").empty()) {
    return Status(Code::kInvalidArgument,
                  "postgres_dsn names a passfile; name it with postgres_passfile instead, so "
                  "sesame checks that only root can read it");
  }
  if (!parsed->Get("service").empty()) {
    return Status(Code::kInvalidArgument,
                  "postgres_dsn names a service; write the connection settings in postgres_dsn "
                  "itself (sesame reads no pg_service.conf)");
  }
  if (parsed->Get("user").empty() || parsed->Get("dbname").empty()) {
    return Status(Code::kInvalidArgument,
                  "postgres_dsn must name the database and the role: add dbname=... and "
                  "user=..., e.g. host=db.example.org dbname=sesame user=sesame");
  }
  const std::string attrs = parsed->Get("target_session_attrs");
  if (!attrs.empty() && attrs != "read-write" && attrs != "primary") {
    return Status(Code::kInvalidArgument,
                  "postgres_dsn says target_session_attrs=" + attrs +
                      "; sesame writes at every sign-in, so it must reach the primary: remove "
                      "it or use read-write");
  }
  if (postgres_internal::UsesTcp(*parsed)) {
    const std::string mode = parsed->Get("sslmode");
    if (!mode.empty() && mode != "verify-full" && mode != "verify-ca") {
      return Status(Code::kInvalidArgument,
                    "postgres_dsn says sslmode=" + mode + " for a TCP host (" +
                        parsed->Get("host") + parsed->Get("hostaddr") +
                        "): password hashes and codes would cross the network to a server "
                        "nobody verified; use sslmode=verify-full (the default when unset) "
                        "with sslrootcert=CA-FILE, or connect over the Unix socket "
                        "(host=/var/run/postgresql)");
    }
    if (mode == "verify-ca" && !postgres_internal::NamesOwnCa(parsed->Get("sslrootcert"))) {
      return Status(Code::kInvalidArgument,
                    "postgres_dsn says sslmode=verify-ca for a TCP host (" + parsed->Get("host") +
                        parsed->Get("hostaddr") +
                        ") without a CA of its own: verify-ca does not check the server's name, "
                        "so with the system's CA bundle any certificate a public CA signed for "
                        "any name would pass; name the CA that signed the server's certificate "
                        "with sslrootcert=CA-FILE, or use sslmode=verify-full (the default when "
                        "unset)");
    }
  }
  return Status::Ok();
}

std::string DescribePostgresDsn(const std::string& dsn) {
  Result<postgres_internal::ParsedDsn> parsed = postgres_internal::ParseDsn(dsn);
  if (!parsed.ok()) return "(invalid postgres_dsn)";
  std::string host = parsed->Get("host");
  if (host.empty()) host = parsed->Get("hostaddr");
  if (host.empty()) host = "/var/run/postgresql";
  std::string described = "host=" + host;
  const std::string port = parsed->Get("port");
  described += " port=" + (port.empty() ? std::string("5432") : port);
  described += " dbname=" + parsed->Get("dbname") + " user=" + parsed->Get("user");
  return described;
}

Result<PostgresConnectionInfo> DescribePostgresConnection(Store& store) {
  auto* postgres = dynamic_cast<postgres_internal::PostgresStore*>(&store);
  if (postgres == nullptr) {
    return Status(Code::kInvalidArgument, "the store is not a PostgreSQL store");
  }
  return postgres->Describe();
}

}  // namespace sesame
