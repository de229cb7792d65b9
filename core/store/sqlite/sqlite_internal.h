// Private to the SQLite backend (core/store/sqlite/sqlite_store.cc,
// core/store/sqlite/sqlite_users.cc, core/store/sqlite/sqlite_mfa.cc,
// core/store/sqlite/sqlite_app_passwords.cc): statement and transaction
// helpers and the SqliteStore class. Not part of any API; include only from those files.
#ifndef SESAME_CORE_STORE_SQLITE_SQLITE_INTERNAL_H_
#define SESAME_CORE_STORE_SQLITE_SQLITE_INTERNAL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/store/sqlite/sqlite_lock_holder.h"
#include "core/store/sqlite/sqlite_store.h"
#include "core/store/store.h"

namespace sesame {
namespace sqlite_internal {

// Closing checkpoints the WAL first (PASSIVE: it waits for no one), which
// syncs it: what this connection committed is on the disk once it is
// closed, even when other connections stay open (SQLite checkpoints at
// close only for the last one). See Sync below.
struct DbCloser {
  void operator()(sqlite3* db) const {
    sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    sqlite3_close_v2(db);
  }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement. Bind errors are remembered and returned by Step, so
// call sites need not check each bind. Either owned (finalized at the end)
// or lent from the connection's statement cache (SqliteStore::Prepare):
// then reset and its bindings cleared at the end, so it holds no pointer to
// the caller's data and is ready for the next use.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    if (in_use_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      *in_use_ = false;
    } else {
      sqlite3_finalize(stmt_);
    }
  }

  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }
  // Uses a cached statement; `*in_use` is set until this Stmt ends.
  void Lend(sqlite3_stmt* stmt, bool* in_use) {
    stmt_ = stmt;
    in_use_ = in_use;
    *in_use_ = true;
  }

  void BindText(int index, std::string_view text) {
    // A null pointer would bind SQL NULL; an empty view must stay ''.
    const char* data = text.data() != nullptr ? text.data() : "";
    Check(sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_STATIC));
  }
  void BindInt(int index, int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
  // Ready to Step again (bindings are kept until bound anew).
  void Reset() { sqlite3_reset(stmt_); }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    if (p == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  void Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;  // lent from a cache
  int bind_rc_ = SQLITE_OK;
};

// Rolls back a transaction still open when it goes out of scope.
class RollbackGuard {
 public:
  explicit RollbackGuard(sqlite3* db) : db_(db) {}
  RollbackGuard(const RollbackGuard&) = delete;
  RollbackGuard& operator=(const RollbackGuard&) = delete;
  ~RollbackGuard() {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_;
};

// A stored counter as the int of UserRecord/FailureResult (clamped, so a
// hand-edited row cannot overflow the conversion).
int ClampToInt(int64_t value);

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, DbPtr db, int busy_timeout_ms, TrustRule trust)
      : path_(std::move(path)),
        db_(std::move(db)),
        busy_timeout_ms_(busy_timeout_ms),
        trust_(trust),
        halted_holder_(HaltedHolderGraceMs(busy_timeout_ms)) {}
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Pragmas, then the schema check and (when allowed) migrations.
  Status Init(const SqliteOptions& options);

  // sqlite_store.cc
  Result<std::optional<UserRecord>> DoGetUser(std::string_view name) override;
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
  Result<int64_t> DoPruneEvents(int64_t older_than, int64_t batch) override;
  Result<int> DoSchemaVersion() override;
  Status DoStillUsable() override;

  // sqlite_users.cc: lockout counters and password history.
  Result<Reservation> DoReserveAttempt(std::string_view name, int64_t now,
                                       const LockoutPolicy& policy,
                                       std::string_view attempt) override;
  Result<SettleOutcome> DoSettleAttempt(std::string_view name, const Settlement& settlement,
                                        const SignInEvent* event) override;
  Status DoClearFailures(std::string_view name) override;
  Status DoSetPassword(std::string_view name, std::string_view new_hash, int64_t changed_at,
                       bool must_change, int history_keep, bool revoke_app_passwords) override;
  Result<std::vector<std::string>> DoPasswordHistory(std::string_view name) override;
  Status DoSetMustChange(std::string_view name, bool must_change) override;

  // sqlite_mfa.cc: authenticator secret, last time step, recovery codes.
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

  // sqlite_app_passwords.cc: app passwords and their lockout bucket.
  Status DoAddAppPassword(AppPasswordRecord& record, int max_live, int64_t now) override;
  Result<std::vector<AppPasswordRecord>> DoListAppPasswords(std::string_view user) override;
  Result<std::optional<AppPasswordRecord>> DoFindAppPassword(std::string_view digest) override;
  Result<int> DoRevokeAppPasswords(std::string_view user, std::string_view name,
                                   int64_t now) override;
  Result<LockoutRecord> DoAppPasswordLockout(std::string_view user) override;

 private:
  Status Error(int rc, std::string_view doing) const;
  // kNotFound naming the user and the file.
  Status NoSuchUser(std::string_view name) const;
  // How long a holder of the write lock must be seen halted before a
  // waiter ends it (sqlite_lock_holder.h): a second, or a quarter of a
  // shorter busy timeout, so it happens well inside the wait; 0 (never)
  // for a busy timeout under 1 s.
  static int64_t HaltedHolderGraceMs(int busy_timeout_ms);
  // SQLite's busy handler for this connection: waits up to busy_timeout_ms_
  // in short naps, as sqlite3_busy_timeout would; from HaltedHolderGraceMs
  // on it also looks at who holds the lock (HaltedHolderWatch).
  static int OnBusy(void* self, int count);
  // Inside a transaction: OK when user `name` exists, NoSuchUser when not.
  Status CheckUserExists(std::string_view name, std::string_view doing);
  Status Prepare(const char* sql, Stmt* stmt, std::string_view doing);
  Status Exec(const char* sql, std::string_view doing);
  // Runs `sql` (no parameters, no rows: BEGIN IMMEDIATE, COMMIT) from the
  // statement cache: unlike Exec it is compiled once per connection, not at
  // every write (two compiles were a visible part of a sign-in's event).
  Status Run(const char* sql, std::string_view doing);
  // How a write's COMMIT reaches the disk. The connection runs with
  // synchronous=NORMAL (WAL): a commit survives a crash of the process but
  // reaches the disk at the next checkpoint, at the latest when the
  // connection closes (~SqliteStore checkpoints): the tools close theirs at
  // exit, the PAM module keeps one per process (store_pool.h). kDurable
  // syncs the WAL at COMMIT (synchronous=FULL for that write), for the rare
  // changes a person makes through PAM, where the process may live on for
  // hours: a new password, an enrollment in the session, a used recovery
  // code. What every sign-in writes (events, failure counts, time steps)
  // stays kRelaxed, so a sign-in does not wait for the disk; a power cut
  // may lose the last of those (never corrupt the file), as it may lose the
  // last lines of syslog. Durable writes hold the write lock longer (the
  // fsync), so they are kept to those few.
  enum class Sync { kDurable, kRelaxed };
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on failure.
  template <typename Body>
  Status Write(std::string_view doing, Body&& body, Sync sync = Sync::kRelaxed);
  // Runs one UPDATE of exactly the row of user `name` (bound as ?1, the
  // other parameters bound by `bind`) in its own transaction; kNotFound
  // when no row matched.
  template <typename Bind>
  Status UpdateUser(const char* sql, std::string_view name, std::string_view doing, Bind&& bind,
                    Sync sync = Sync::kRelaxed);
  // Version in schema_version; 0 for a database with no tables at all.
  Result<int> ReadVersion();
  Status Migrate();
  // Inside a Write: inserts `event` (or coalesces it, see Store::RecordEvent).
  Status InsertEvent(const SignInEvent& event, int64_t coalesce_seconds);
  // Inside a Write: deletes the oldest `batch` events whose time is before
  // `older_than` (index events_time), sets `*deleted` to how many.
  Status DeleteOldEvents(int64_t older_than, int64_t batch, std::string_view doing,
                         int64_t* deleted);
  // Inside a Write that records a sign-in: with prune_before > 0, at most
  // kPruneInPassingBatch of them (Settlement::prune_before).
  Status PruneInPassing(int64_t prune_before, std::string_view doing);
  // Inside a Write, after a code use changed no row: kLocked, kAlreadyUsed
  // or kNotFound, from the user's row as the same write lock sees it.
  Result<CodeUse> WhyCodeUnused(std::string_view name, const LockGuard& guard,
                                std::string_view doing);
  // Inside a Write: replaces the user's recovery codes with `digests`.
  Status ReplaceRecoveryCodes(std::string_view name, const std::vector<std::string>& digests);

  // Prepared statements kept for the life of the connection (the PAM
  // module reuses a connection for handle after handle, and compiling the
  // SQL was a good part of a sign-in), keyed by the SQL text, which is
  // always a string literal (the MUST rules above).
  struct CachedStmt {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  std::string path_;
  DbPtr db_;
  int busy_timeout_ms_;
  TrustRule trust_;
  HaltedHolderWatch halted_holder_;
  int64_t busy_since_ms_ = 0;  // monotonic, when the current wait began
  std::unordered_map<std::string_view, CachedStmt> statements_;
};

template <typename Body>
Status SqliteStore::Write(std::string_view doing, Body&& body, Sync sync) {
  // Back to NORMAL after a durable write, whatever happened.
  struct SyncGuard {
    sqlite3* db;
    bool active;
    ~SyncGuard() {
      if (active) sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    }
  } sync_guard{db_.get(), sync == Sync::kDurable};
  if (sync == Sync::kDurable) SESAME_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL", doing));
  SESAME_RETURN_IF_ERROR(Run("BEGIN IMMEDIATE", doing));
  RollbackGuard guard(db_.get());
  // A connection can outlive the file it opened (the module keeps one for a
  // PAM handle): if the path now names another file (restored, replaced,
  // removed), writing here would report success for a change no one sees.
  int moved = 0;
  if (sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
      moved != 0) {
    return Status(Code::kUnavailable, "store " + path_ +
                                          " was moved, replaced or removed while in use; "
                                          "nothing was written (" +
                                          std::string(doing) + ")");
  }
  SESAME_RETURN_IF_ERROR(body());
  return Run("COMMIT", doing);
}

template <typename Bind>
Status SqliteStore::UpdateUser(const char* sql, std::string_view name, std::string_view doing,
                               Bind&& bind, Sync sync) {
  return Write(
      doing,
      [&]() -> Status {
        Stmt stmt;
        SESAME_RETURN_IF_ERROR(Prepare(sql, &stmt, doing));
        stmt.BindText(1, name);
        bind(stmt);
        int rc = stmt.Step();
        if (rc != SQLITE_DONE) return Error(rc, doing);
        // Rows matched by WHERE, whether or not a value changed.
        if (sqlite3_changes(db_.get()) == 0) return NoSuchUser(name);
        return Status::Ok();
      },
      sync);
}

}  // namespace sqlite_internal
}  // namespace sesame

#endif  // SESAME_CORE_STORE_SQLITE_SQLITE_INTERNAL_H_
