// Private to the PostgreSQL backend (core/store/postgres/*.cc): the
// connection with its deadlines and statement cache, results, parameters,
// and the PostgresStore class. Not part of any API.
#ifndef SESAME_CORE_STORE_POSTGRES_POSTGRES_INTERNAL_H_
#define SESAME_CORE_STORE_POSTGRES_POSTGRES_INTERNAL_H_

#include <libpq-fe.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/store/postgres/postgres_store.h"
#include "core/store/store.h"

namespace sesame {
namespace postgres_internal {

// A stored counter as an int (clamped: a hand-edited row cannot overflow).
int ClampToInt(int64_t value);

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};

// One statement's rows (text format).
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }
  const PGresult* get() const { return r_.get(); }
  PGresult* release() { return r_.release(); }
  // Rows an INSERT, UPDATE or DELETE touched.
  int64_t Affected() const;

 private:
  std::unique_ptr<PGresult, ResultFree> r_;
};

// A statement's parameters, as text. The copies are wiped when done: some
// are hashes and sealed secrets.
class Params {
 public:
  Params() = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;
  ~Params();
  Params& Text(std::string_view value);
  Params& Int(int64_t value);
  Params& Bool(bool value) { return Text(value ? "t" : "f"); }
  Params& Null();
  int size() const { return static_cast<int>(values_.size()); }
  // A parameter holding a NUL byte (libpq's text parameters end at one).
  bool HasNul() const { return has_nul_; }
  // Pointers for libpq, valid until the next change.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
  bool has_nul_ = false;
};

// A user's record as users' columns (ReadUser reads them from column 0).
#define SESAME_USER_COLUMNS                                                                      \
  "name, password_hash, disabled, created, password_changed, must_change, failures, "            \
  "first_failure, locked_until, totp_sealed, totp_last_step, mfa_required, mfa_required_since, " \
  "pending_attempts"
inline constexpr int kUserColumns = 14;  // SESAME_USER_COLUMNS
// The groups that must use MFA as one column (UserRecord::mfa_required_groups):
// joined by unit separators (group names hold no control character:
// CheckGroupName), NULL when there are none.
#define SESAME_REQUIRED_GROUPS \
  "(SELECT string_agg(g.name, chr(31) ORDER BY g.name) FROM mfa_required_groups g)"

// Row `row` as a record: SESAME_USER_COLUMNS from column 0.
UserRecord ReadUser(const PgResult& r, int row);
// The same, then SESAME_REQUIRED_GROUPS at column kUserColumns.
UserRecord ReadUserForSignIn(const PgResult& r, int row);

// PostgresConnectionInfo::connected_to of an open connection.
std::string ConnectedServer(PGconn* conn);

// A libpq message as one log line (its line breaks and tabs as spaces).
std::string OneLine(std::string text);

// Pruning in passing (Settlement::prune_before, RecordEvent's
// prune_before) as one SQL condition on events: $T the cutoff. The batch
// is kPruneInPassingBatch written into the text, not a parameter: under a
// parameter LIMIT the planner guesses a tenth of the rows, and the plan it
// keeps for the prepared statement (the generic plan, used after five
// executions when it looks no dearer) was a hash join over a sequential
// scan of every event; with the constant it is one step down events_time
// and a primary-key lookup, whatever the parameters, so that plan is
// kept and the statement is not planned again at every sign-in.
#define SESAME_PRUNE_IN_PASSING_BATCH "1"
#define SESAME_PRUNE_IN_PASSING_WHERE(T)                                     \
  T "::bigint > 0 AND id = ANY (ARRAY(SELECT id FROM events WHERE time < " T \
    "::bigint ORDER BY time LIMIT " SESAME_PRUNE_IN_PASSING_BATCH " FOR UPDATE SKIP LOCKED))"
static_assert(kPruneInPassingBatch == 1, "SESAME_PRUNE_IN_PASSING_BATCH is kPruneInPassingBatch");
// PruneInPassing's statement ($1 the cutoff).
inline constexpr char kPruneInPassingSql[] =
    "DELETE FROM events WHERE " SESAME_PRUNE_IN_PASSING_WHERE("$1");
// The one statement of a reserved attempt's success in `bucket`'s table
// (SettleAttempt; with the "Last sign-in" answer when `last_sign_in`).
const char* SuccessSqlFor(LockBucket bucket, bool last_sign_in);

// Store::ReadLastSignIn's query as SQL pieces, for DoReadLastSignIn and
// for the success statement that answers it with its write: $1 the user;
// M and O the parameters holding the methods and the failure outcomes
// (AddLastSignInParams); OFFSET how many of the newest matching successes
// are skipped ("1": the one just recorded). A statement is WITH ...
// SESAME_LAST_SIGN_IN_BEFORE SELECT ... SESAME_LAST_SIGN_IN_COLUMNS
// SESAME_LAST_SIGN_IN_FROM. Neither part reads all of a user's events: the
// previous success is one step down index events_user_success_time (its
// WHERE and its order are the query's). The events since it are counted in
// two parts, so that neither reads the successes of its second: those
// that are not successes through events_user_failure_time (schema 3; the
// range time >= its time, no OR that would hide it), and successes only
// when O names "success" (never, in sesame's own use: a one-time filter,
// no scan) through events_user_success_time, starting right after it by
// the row comparison (time, id) > (its time, its id), which the other two
// conditions imply. With one range over events_user_time, each sign-in of
// a user who signs in hundreds of times a second (a script, a benchmark)
// read every earlier success of that second from the table.
#define SESAME_LAST_SIGN_IN_BEFORE(M, OFFSET)                                           \
  "before AS (SELECT e.id, e.time, e.service, e.remote_host FROM events e WHERE "       \
  "e.user_name = $1 AND e.outcome = 'success' AND (" M "::text IS NULL OR strpos(" M    \
  "::text, chr(31) || e.method || chr(31)) > 0) ORDER BY e.time DESC, e.id DESC LIMIT " \
  "1 OFFSET " OFFSET ") "
// The conditions both parts share: outcome O, method M, since b.
#define SESAME_LAST_SIGN_IN_SINCE(M, O)                                               \
  " AND (" O "::text IS NULL OR strpos(" O                                            \
  "::text, chr(31) || f.outcome || chr(31)) "                                         \
  "> 0) AND (" M "::text IS NULL OR strpos(" M                                        \
  "::text, chr(31) || f.method || "                                                   \
  "chr(31)) > 0) AND f.time >= coalesce(b.time, '-9223372036854775808'::bigint) AND " \
  "f.id > coalesce(b.id, 0)"
#define SESAME_LAST_SIGN_IN_NOT_SUCCESSES(M, O)            \
  "(SELECT coalesce(sum(f.count), 0) FROM events f WHERE " \
  "f.user_name = $1 AND f.outcome <> 'success'" SESAME_LAST_SIGN_IN_SINCE(M, O) ")"
#define SESAME_LAST_SIGN_IN_SUCCESSES(M, O)                                                 \
  "(SELECT coalesce(sum(f.count), 0) FROM events f WHERE (" O "::text IS NULL OR strpos(" O \
  "::text, chr(31) || 'success' || chr(31)) > 0) AND f.user_name = $1 AND f.outcome = "     \
  "'success' AND (f.time, f.id) > (coalesce(b.time, '-9223372036854775808'::bigint), "      \
  "coalesce(b.id, 0))" SESAME_LAST_SIGN_IN_SINCE(M, O) ")"
#define SESAME_LAST_SIGN_IN_COLUMNS(M, O)                                                   \
  "b.id IS NOT NULL, b.time, b.service, b.remote_host, " SESAME_LAST_SIGN_IN_NOT_SUCCESSES( \
      M, O) " + " SESAME_LAST_SIGN_IN_SUCCESSES(M, O) " "
#define SESAME_LAST_SIGN_IN_FROM "FROM (SELECT 1) AS one LEFT JOIN before b ON true"
// Store::ReadLastSignIn as one statement: $1 the user, $2 the methods, $3
// the failure outcomes (AddLastSignInParams).
inline constexpr char kReadLastSignInSql[] = "WITH " SESAME_LAST_SIGN_IN_BEFORE(
    "$2", "1") "SELECT " SESAME_LAST_SIGN_IN_COLUMNS("$2", "$3") SESAME_LAST_SIGN_IN_FROM;
// Appends the methods, then the failure outcomes, as the query's two
// parameters (JoinForEventFilter; an empty list is NULL: any).
void AddLastSignInParams(Params& p, const std::vector<std::string>& methods,
                         const std::vector<std::string>& failure_outcomes);
// The query's five columns, from column `first` of row 0.
LastSignIn LastSignInFrom(const PgResult& r, int first);

// The elements of a comma-separated libpq list (host, hostaddr, port),
// empty ones kept: "a,,b" is {"a", "", "b"}.
// True when sslrootcert names a CA file of the admin's own: not empty, not
// libpq's "system", not the system's CA bundle. sslmode=verify-ca checks no
// server name, so it is safe only with a CA that signs nothing but the
// admin's servers.
bool NamesOwnCa(const std::string& sslrootcert);

std::vector<std::string> SplitList(const std::string& list);
// The other way: items joined with commas.
std::string JoinList(const std::vector<std::string>& items);

// True when the DSN reaches some host over TCP (a host that is not a socket
// directory, or any hostaddr).
bool DsnUsesTcp(const std::string& dsn);

// Planner settings of every connection (server options, as the timeouts).
// enable_bitmapscan=off: each sign-in's statements are kept prepared, and
// after five runs the server may keep one plan for every user (the generic
// plan), costed for the average user's few events. For the "Last sign-in"
// step (ORDER BY time DESC, id DESC LIMIT 1) a bitmap scan with a sort and
// one step down events_user_success_time were then a near tie (12.34
// against 12.47), and the bitmap won when a heavy user's events had come
// since the last ANALYZE: it read all of that user's successes, 20,000 of
// them, at every sign-in (3-5 ms instead of 0.1-0.2 ms in the benchmark).
// No statement of sesame's wants a bitmap scan: each reads one user's rows
// in index order, or one row by key.
inline constexpr char kPlannerOptions[] = "-c enable_bitmapscan=off";

// Name lookups within postgres_connect_timeout (postgres_lookup.cc).
// libpq's connect_timeout does not cover its getaddrinfo(), which waits
// as long as the resolver does: 5 s x 2 tries for each name server of
// /etc/resolv.conf that does not answer (glibc's defaults), so a DNS
// outage held every sign-in for 10-30 s. So the names are looked up here
// first, all at once (getaddrinfo_a, the system's own resolution:
// /etc/hosts, nsswitch), for at most the connect timeout, and libpq is
// given the addresses (hostaddr), keeping each name as host, which the
// certificate check (verify-full) and the passfile use.
//
// One host a connection may try: host, hostaddr and port are the
// comma-separated lists' elements of the same position.
struct HostEntry {
  std::string host;
  std::string hostaddr;
  std::string port;  // "" when the DSN's port (one value, or none) is for all
  bool operator==(const HostEntry& o) const {
    return host == o.host && hostaddr == o.hostaddr && port == o.port;
  }
};
// What a lookup of one host's name gave: its addresses (numeric, in the
// resolver's order), or why none.
struct LookupResult {
  std::vector<std::string> addresses;
  std::string error;  // "" when addresses were found
};
// The DSN's hosts as entries, and which of them need a name looked up
// (a host that is a name: not a socket directory, not an address, and
// without a hostaddr of its own). Empty when none does, or when the lists
// do not match (libpq then says so itself): the DSN is used as written.
struct HostPlan {
  std::vector<HostEntry> entries;
  std::vector<size_t> lookups;  // indexes into entries
  bool per_host_ports = false;  // the DSN has one port per host
};
HostPlan PlanHostLookups(const std::string& host, const std::string& hostaddr,
                         const std::string& port);
// The same for a whole DSN (an empty plan for one that does not parse).
HostPlan PlanDsnHostLookups(const std::string& dsn);
// Every server a DSN's host, hostaddr and port lists name, in order, names
// or not (port "" when one port, or none, is for all); none when the lists
// do not match (libpq refuses such a DSN) or the DSN does not parse.
std::vector<HostEntry> ListHostEntries(const std::string& host, const std::string& hostaddr,
                                       const std::string& port);
// The same for a whole DSN, as listed (ListHostEntries).
std::vector<HostEntry> DsnListedEntries(const std::string& dsn);
// The same for a whole DSN, each entry with its port: the DSN's one port
// for all when it has one ("" for libpq's default).
std::vector<HostEntry> DsnHostEntries(const std::string& dsn);
// host, hostaddr and port keywords for libpq: each looked-up entry
// replaced by one entry per address found (same host, same port), an
// entry whose lookup failed left out, its error in *errors ("; "
// between). All left out: an empty host list.
struct HostKeywords {
  std::string host;
  std::string hostaddr;
  std::string port;  // "" when the DSN's port stays as it is
};
HostKeywords ExpandHostEntries(const HostPlan& plan, const std::vector<LookupResult>& results,
                               std::string* errors);
// Looks up `names` at once, giving up on those without an answer after
// `timeout_ms`. A lookup still running then is left to finish in the
// resolver's thread; a later call of this process for the same name waits
// for it instead of starting another.
std::vector<LookupResult> LookUpNames(const std::vector<std::string>& names, int timeout_ms);

// The last primary reached through a list of servers (PostgresOptions::
// primary_hint, runtime_dir/postgres-primary), tried first by the next
// connection: a server ahead of it in the list that does not answer at
// all (a dead machine) then costs one connect timeout, at the connection
// that finds it dead, instead of one at every new connection, which is
// every sshd sign-in (docs/install.md, "Replication and failover"). Only
// the order among the DSN's own servers changes: a hint naming none of
// them is ignored, and target_session_attrs=read-write still refuses a
// standby.
//
// The file: lines host=, hostaddr= and port= (an entry as ListHostEntries
// gives it), # comments. Read only when it is a regular file owned by
// geteuid(), not writable by group or others, in such a directory
// (OpenOwnDirectory); anything else reads as no hint.
std::optional<HostEntry> ReadPrimaryHint(const std::string& path);
// Replaces the file (a temporary file renamed over it, 0600), making its
// directory 0700 when missing. A failure is ignored: it is a hint.
void WritePrimaryHint(const std::string& path, const HostEntry& entry);
// Removes the file (no hint: the DSN's order). A failure is ignored.
void RemovePrimaryHint(const std::string& path);
std::string FormatPrimaryHint(const HostEntry& entry);
std::optional<HostEntry> ParsePrimaryHint(std::string_view text);
// Which of `entries` a connection reached (PQhost, PQhostaddr, PQport);
// entries.size() when none.
size_t ReachedEntry(const std::vector<HostEntry>& entries, const std::string& host,
                    const std::string& hostaddr, const std::string& port);
// host, hostaddr and port keywords for `entries` in the order given, with
// `first` moved to the front: a list only where the DSN had one (hostaddr
// when it had addresses, port when it had one per host).
HostKeywords HostKeywordsTryingFirst(const std::vector<HostEntry>& entries, size_t first,
                                     bool with_hostaddr, bool per_host_ports);

// Opens a blocking connection under the MUST rules of postgres_store.h:
// refuses when the environment sets one of libpq's PG* variables, when
// CheckPostgresDsn refuses the DSN or the passfile is not trusted; then
// PQconnectdbParams with the DSN and the keywords that override it
// (passfile, connect_timeout, read-write, TLS defaults for TCP, keepalives,
// and the server-side statement, lock and idle-in-transaction timeouts for
// `statement_timeout_s`). kUnavailable naming the server on failure, with
// *unreachable set when the server was asked and did not let us in (not
// there, no answer in time, refused the login, a standby).
// PostgresStore::Connect and the administrator's AdminSession both open
// their connections here.
//
// `only` (doctor's look at each server of a list): that one of the DSN's
// host entries (DsnHostEntries) instead of the list, and a standby
// accepted (target_session_attrs=any); every other rule the same.
Result<PGconn*> OpenConnection(const PostgresOptions& options, const char* application_name,
                               int statement_timeout_s, bool* unreachable,
                               const HostEntry* only = nullptr);

// What kind of failure a statement had, for retry and messages.
enum class Failure {
  kNone,
  kStatement,   // the server refused this statement; the connection is fine
  kConnection,  // the connection broke (closed, reset): nothing more is known
  kTimeout,     // no answer within the deadline: the connection was dropped
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresOptions options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // Connects, then the schema check and (when allowed) migrations.
  Status Init();
  Result<PostgresConnectionInfo> Describe();
  const std::string& where() const { return where_; }
  // Round trips to the server so far (AwaitAll calls), for the tests.
  int64_t round_trips() const { return round_trips_; }
  // What the open connection uses for a libpq keyword ("" when none), for
  // the tests.
  std::string ConnectionOption(const char* keyword) const;

  // postgres_store.cc
  Result<std::optional<UserRecord>> DoGetUser(std::string_view name) override;
  Result<std::optional<UserRecord>> DoGetUserForSignIn(std::string_view name) override;
  Result<std::vector<UserRecord>> DoListUsers() override;
  Status DoAddUser(const UserRecord& user) override;
  Status DoRemoveUser(std::string_view name) override;
  Status DoSetDisabled(std::string_view name, bool disabled) override;
  Result<bool> DoReplacePasswordHash(std::string_view name, std::string_view expected_hash,
                                     std::string_view new_hash, int64_t changed_at) override;
  Status DoRecordEvent(const SignInEvent& event, int64_t coalesce_seconds,
                       int64_t prune_before) override;
  Result<std::vector<SignInEvent>> DoListEvents(const EventFilter& filter) override;
  Result<int64_t> DoCountEvents(const EventFilter& filter) override;
  Result<LastSignIn> DoReadLastSignIn(std::string_view user,
                                      const std::vector<std::string>& methods,
                                      const std::vector<std::string>& failure_outcomes) override;
  Result<int64_t> DoPruneEvents(int64_t older_than, int64_t batch) override;
  Result<int> DoSchemaVersion() override;
  Status DoStillUsable() override;

  // postgres_users.cc
  Result<Reservation> DoReserveAttempt(std::string_view name, int64_t now,
                                       const LockoutPolicy& policy,
                                       std::string_view attempt) override;
  Result<SignInStart> DoGetUserForSignInAndReserve(std::string_view name, int64_t now,
                                                   const LockoutPolicy& policy,
                                                   std::string_view attempt) override;
  Result<SettleOutcome> DoSettleAttempt(std::string_view name, const Settlement& settlement,
                                        const SignInEvent* event) override;
  Status DoClearFailures(std::string_view name) override;
  Status DoSetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                       bool must_change, int history_keep, bool revoke_app_passwords) override;
  Result<std::vector<std::string>> DoPasswordHistory(std::string_view name) override;
  Status DoSetMustChange(std::string_view name, bool must_change) override;

  // postgres_mfa.cc
  Status DoSetTotp(std::string_view name, std::string_view sealed,
                   const std::vector<std::string>& recovery_digests) override;
  Status DoEnrollTotp(std::string_view name, std::string_view expected_sealed,
                      std::string_view sealed, const std::vector<std::string>& recovery_digests,
                      int64_t confirmed_step) override;
  Status DoSetRecoveryCodes(std::string_view name,
                            const std::vector<std::string>& recovery_digests) override;
  Status DoClearMfa(std::string_view name) override;
  Status DoSetMfaRequired(std::string_view name, bool required, int64_t now) override;
  Result<int64_t> DoBeginMfaGrace(std::string_view name, int64_t now) override;
  Status DoSetMfaRequiredGroup(std::string_view group, bool required, int64_t now) override;
  Result<std::vector<std::string>> DoMfaRequiredGroups() override;
  Result<CodeUse> DoUseTotpStep(std::string_view name, int64_t step,
                                const LockGuard& guard) override;
  Result<CodeUse> DoUseRecoveryCode(std::string_view name, std::string_view digest,
                                    const LockGuard& guard) override;
  Result<int> DoCountRecoveryCodes(std::string_view name) override;

  // postgres_app_passwords.cc
  Status DoAddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) override;
  Result<std::vector<AppPasswordRecord>> DoListAppPasswords(std::string_view user) override;
  Result<std::optional<AppPasswordRecord>> DoFindAppPassword(std::string_view digest) override;
  Result<int> DoRevokeAppPasswords(std::string_view user, std::string_view name,
                                   int64_t now) override;
  Result<LockoutRecord> DoAppPasswordLockout(std::string_view user) override;

 private:
  // ---- postgres_conn.cc: the connection ----
  // Connects when there is no connection (or it broke).
  Status Connect();
  void Disconnect();
  // Runs a prepared `sql` (a string literal: the MUST rules) with `params`.
  // Inside Transaction(), the first Exec carries the transaction's BEGIN
  // in the same round trip (libpq pipeline mode), as does the PREPARE of
  // a statement not yet prepared on this connection. `commit`: the
  // statement is the body's last: COMMIT goes with it, in the same round
  // trip when BEGIN has gone already (else right after it), and
  // Transaction() sends no other.
  Result<PgResult> Exec(const char* sql, const Params& params, std::string_view doing,
                        bool commit = false);
  // Runs SQL text without parameters (BEGIN, COMMIT, a migration).
  Status Simple(const char* sql, std::string_view doing);
  // Sends what is queued and waits for the results of `commands` commands
  // sent in one go, within the statement deadline: (*results)[i] is
  // command i's first error, else its last result. `pipeline`: they were
  // sent in pipeline mode, ended by one sync, which is read and the mode
  // left.
  Status AwaitAll(std::vector<PgResult>* results, int commands, bool pipeline,
                  std::string_view doing);
  Status Fail(Failure kind, const std::string& message);
  Status ErrorFrom(const PGresult* result, std::string_view doing);
  // kNotFound naming the user.
  Status NoSuchUser(std::string_view name) const;
  // Inside a transaction: locks user `name`'s row (FOR UPDATE); NoSuchUser
  // when there is none.
  Status LockUser(std::string_view name, std::string_view doing);
  // A kept connection a write may go out on now: open, this process's, not
  // dead, idle, and nothing from the server waiting on it (a server that
  // ended the session has said so and closed it, so its socket is
  // readable). A write is never sent twice (it may have run), so one that
  // finds its connection broken fails closed; this check lets the usual
  // one-statement writes go only where that is unlikely.
  bool ReadyForWrite();
  // ReserveAttempt's transaction: every case, one round trip or more.
  Result<Reservation> ReserveInTransaction(std::string_view name, int64_t now,
                                           const LockoutPolicy& policy, std::string_view attempt);

  // Runs `body` in one transaction (BEGIN ... COMMIT, rolled back on any
  // failure). A connection found broken before COMMIT was sent (a server
  // restart, a failover) is opened again and the whole transaction run
  // once more; nothing of the first try was committed.
  template <typename Body>
  Status Transaction(std::string_view doing, Body&& body);
  // Runs `body`, which only reads, with one statement (autocommit), with
  // the same one retry on a connection found broken.
  template <typename Body>
  Status Read(std::string_view doing, Body&& body);

  // ---- postgres_store.cc ----
  Result<int> ReadVersion();
  Status Migrate();
  // Inside a transaction: deletes at most kPruneInPassingBatch of the
  // oldest events before `prune_before` (nothing when <= 0); rows another
  // host is deleting now are skipped, not waited for.
  Status PruneInPassing(int64_t prune_before);
  // Inside a transaction: inserts `event` or coalesces it.
  Status InsertEvent(const SignInEvent& event, int64_t coalesce_seconds);
  // Inside a transaction, after a code use changed no row.
  Result<CodeUse> WhyCodeUnused(std::string_view name, const LockGuard& guard,
                                std::string_view doing);
  // One transaction: `sql` (an UPDATE or DELETE with `params` that uses the
  // code when the guard allows, changing one row), else WhyCodeUnused.
  Result<CodeUse> UseCode(const char* sql, const Params& params, std::string_view name,
                          const LockGuard& guard, std::string_view doing);
  Status ReplaceRecoveryCodes(std::string_view name, const std::vector<std::string>& digests);

  PostgresOptions options_;
  std::string where_;  // DescribePostgresDsn, for messages
  PGconn* conn_ = nullptr;
  pid_t pid_ = 0;  // the process that opened conn_
  Failure last_failure_ = Failure::kNone;
  // Set when the server could not be reached or did not answer in time:
  // every later call of this object fails at once with it (one wait and
  // one log line per PAM call, not one per store call). Open the store
  // again to retry.
  Status dead_ = Status::Ok();
  bool commit_sent_ = false;
  // Inside Transaction(): BEGIN not sent yet (it goes with the first Exec).
  bool begin_pending_ = false;
  // Inside Transaction(): the body's last Exec committed.
  bool committed_ = false;
  int next_statement_ = 0;
  int64_t round_trips_ = 0;
  std::unordered_map<const char*, std::string> prepared_;  // SQL literal -> statement name
  // Inside Migrate(): the server's statement_timeout and this side's
  // deadline are kMigrationStatementTimeoutS instead of postgres_statement_timeout.
  bool migrating_ = false;
};

// A migration's bound on each statement (an index over a large events
// table: about 1 s per million events, measured with PostgreSQL 15).
inline constexpr int kMigrationStatementTimeoutS = 600;

template <typename Body>
Status PostgresStore::Transaction(std::string_view doing, Body&& body) {
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn_ != nullptr;
    commit_sent_ = false;
    committed_ = false;
    last_failure_ = Failure::kNone;
    Status st = Connect();
    begin_pending_ = st.ok();
    if (st.ok()) st = body();
    const bool began = !begin_pending_;
    begin_pending_ = false;
    if (st.ok()) {
      if (committed_ || !began) return st;  // committed, or nothing was sent
      commit_sent_ = true;
      st = Simple("COMMIT", doing);
      if (st.ok()) return st;
    }
    if (conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      const Failure why = last_failure_;
      Status rolled_back = Simple("ROLLBACK", doing);
      (void)rolled_back;  // a failed rollback drops the connection (Fail)
      last_failure_ = why;
    }
    if (attempt == 0 && reused && last_failure_ == Failure::kConnection && !commit_sent_) continue;
    return st;
  }
}

template <typename Body>
Status PostgresStore::Read(std::string_view doing, Body&& body) {
  (void)doing;
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn_ != nullptr;
    last_failure_ = Failure::kNone;
    Status st = Connect();
    if (st.ok()) st = body();
    if (st.ok() || attempt > 0 || !reused || last_failure_ != Failure::kConnection) return st;
  }
}

}  // namespace postgres_internal
}  // namespace sesame

#endif  // SESAME_CORE_STORE_POSTGRES_POSTGRES_INTERNAL_H_
