// The Store backends the conformance suite (tests/unit/store_contract_test.cc)
// runs against, and what the store tests share (records, events, one wrong
// attempt). A new backend is one more entry in StoreBackends(): a way to
// make a fresh, empty store for one test and to open connections to it.
#ifndef SESAME_TESTS_FAKES_STORE_BACKENDS_H_
#define SESAME_TESTS_FAKES_STORE_BACKENDS_H_

#include <ftw.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/crypto/app_password.h"
#include "core/crypto/wrong_attempt.h"
#include "core/store/open/open_store.h"
#include "core/store/store.h"
#ifdef SESAME_WITH_POSTGRES
#include <libpq-fe.h>

#include <atomic>
#include <fstream>
#include <map>
#endif

namespace sesame::testing {

// Something held on a store until destroyed (BackendStore::BlockWrites).
class StoreHold {
 public:
  virtual ~StoreHold() = default;
};

// One test's store: fresh and empty when made, gone when destroyed.
class BackendStore {
 public:
  virtual ~BackendStore() = default;
  // A new connection to this test's store. A write waits up to `wait_ms`
  // for a busy store, then fails with kBusy. A connection must not cross
  // fork(): a child process calls Connect itself (the object is only data).
  virtual Result<std::unique_ptr<Store>> Connect(int wait_ms) = 0;
  Result<std::unique_ptr<Store>> Connect() { return Connect(5000); }
  // Makes the store busy for writers, from outside any connection Connect
  // gives (another process holding the write lock), until the hold is
  // destroyed. Readers are not blocked.
  virtual Result<std::unique_ptr<StoreHold>> BlockWrites() = 0;
};

struct StoreBackend {
  const char* name;  // the suffix of the tests' names: "Sqlite"
  std::function<Result<std::unique_ptr<BackendStore>>()> make;
  // Why this backend cannot be tested here ("": it can). A test skips with
  // the reason printed, unless SESAME_REQUIRE_POSTGRES=1 (CI): then it fails.
  std::function<std::string()> unavailable = [] { return std::string(); };
};

// gtest prints the parameter with this.
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

// ---- SQLite: a file in a new private directory ----

inline int RemoveTreeEntry(const char* path, const struct stat*, int, struct FTW*) {
  return remove(path);
}

class SqliteBackendStore final : public BackendStore {
 public:
  // A new directory (0700) under SESAME_TEST_TMPDIR (or /tmp) with an
  // empty store in it, made through OpenStore as the tools make it.
  static Result<std::unique_ptr<BackendStore>> Make() {
    const char* env = std::getenv("SESAME_TEST_TMPDIR");
    const std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
    if (mkdir(base.c_str(), 0700) != 0 && errno != EEXIST)
      return Status(Code::kUnavailable, "cannot make " + base + ": " + std::strerror(errno));
    std::string tmpl = base + "/store_contract_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr)
      return Status(Code::kUnavailable, "mkdtemp " + tmpl + ": " + std::strerror(errno));
    std::unique_ptr<SqliteBackendStore> made(new SqliteBackendStore(tmpl));
    Result<std::unique_ptr<Store>> created = made->Open(5000, /*create=*/true);
    if (!created.ok()) return created.status();
    return std::unique_ptr<BackendStore>(std::move(made));
  }

  ~SqliteBackendStore() override { nftw(dir_.c_str(), RemoveTreeEntry, 16, FTW_DEPTH | FTW_PHYS); }

  Result<std::unique_ptr<Store>> Connect(int wait_ms) override { return Open(wait_ms, false); }

  Result<std::unique_ptr<StoreHold>> BlockWrites() override {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status failed(Code::kUnavailable, "cannot hold " + path_ + ": " + sqlite3_errmsg(db));
      sqlite3_close(db);
      return failed;
    }
    return std::unique_ptr<StoreHold>(new Holder(db));
  }

  const std::string& path() const { return path_; }

 private:
  class Holder final : public StoreHold {
   public:
    explicit Holder(sqlite3* db) : db_(db) {}
    ~Holder() override {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
    }

   private:
    sqlite3* db_;
  };

  explicit SqliteBackendStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/sesame.db") {}

  Result<std::unique_ptr<Store>> Open(int wait_ms, bool create) const {
    Config config;
    config.store = "sqlite";
    config.store_path = path_;
    config.store_busy_timeout_ms = wait_ms;
    StoreOptions options;
    options.create = create;
    options.owner = geteuid();
    return OpenStore(config, options);
  }

  std::string dir_;
  std::string path_;
};

#ifdef SESAME_WITH_POSTGRES
// ---- PostgreSQL: a new database in the test cluster ----
//
// The cluster is tests/pg/pg-cluster's: ctest starts it (fixture
// "postgres") and names its directory in SESAME_TEST_POSTGRES; its
// cluster.env has the connection facts (NAME='VALUE' lines).

// The facts of the test cluster, or an empty map with `why` set.
inline std::map<std::string, std::string> PostgresClusterFacts(std::string* why) {
  std::map<std::string, std::string> facts;
  const char* dir = std::getenv("SESAME_TEST_POSTGRES");
  if (dir == nullptr || *dir == '\0') {
    *why =
        "no PostgreSQL test cluster: SESAME_TEST_POSTGRES is not set (ctest starts one; by "
        "hand: tests/pg/pg-cluster start DIR, then SESAME_TEST_POSTGRES=DIR)";
    return facts;
  }
  std::ifstream in(std::string(dir) + "/cluster.env");
  if (!in) {
    *why = std::string("no PostgreSQL test cluster: ") + dir +
           "/cluster.env does not exist (did tests/pg/pg-cluster start fail? see its output)";
    return facts;
  }
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
      value = value.substr(1, value.size() - 2);
    facts[line.substr(0, eq)] = value;
  }
  if (facts["PG_ADMIN_DSN"].empty() || facts["PG_SOCKET_DIR"].empty() || facts["PG_PORT"].empty()) {
    *why = std::string("PostgreSQL test cluster facts in ") + dir + "/cluster.env are incomplete";
    facts.clear();
  }
  return facts;
}

inline std::string PostgresUnavailable() {
  std::string why;
  PostgresClusterFacts(&why);
  return why;
}

// Runs `sql` on a new connection to `dsn`; "" or the error.
inline std::string PostgresRun(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
      error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

// The first cell of `sql`'s result on a new connection to `dsn`, or
// "ERROR: " and why (no connection, a failed statement, no row).
inline std::string PostgresValue(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string value;
  if (PQstatus(conn) != CONNECTION_OK) {
    value = std::string("ERROR: ") + PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
      value = std::string("ERROR: ") + PQresultErrorMessage(r);
    } else {
      value = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
  }
  PQfinish(conn);
  return value;
}

class PostgresBackendStore final : public BackendStore {
 public:
  // A new, empty database, with the schema made through OpenStore as
  // `sesame-admin init` makes it.
  static Result<std::unique_ptr<BackendStore>> Make() {
    std::string why;
    auto facts = PostgresClusterFacts(&why);
    if (facts.empty()) return Status(Code::kUnavailable, why);
    static std::atomic<int> counter{0};
    const std::string db = "contract_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    std::string error = PostgresRun(facts["PG_ADMIN_DSN"], "CREATE DATABASE " + db);
    if (!error.empty()) return Status(Code::kUnavailable, "CREATE DATABASE " + db + ": " + error);
    std::unique_ptr<PostgresBackendStore> made(
        new PostgresBackendStore(facts["PG_ADMIN_DSN"],
                                 "host=" + facts["PG_SOCKET_DIR"] + " port=" + facts["PG_PORT"] +
                                     " user=postgres dbname=" + db,
                                 db));
    Result<std::unique_ptr<Store>> created = made->Open(5000, /*create=*/true);
    if (!created.ok()) return created.status();
    return std::unique_ptr<BackendStore>(std::move(made));
  }

  ~PostgresBackendStore() override {
    PostgresRun(admin_dsn_, "DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  Result<std::unique_ptr<Store>> Connect(int wait_ms) override { return Open(wait_ms, false); }

  // Another session holds every table in EXCLUSIVE mode: writers wait
  // (lock_timeout = wait_ms, then kBusy), plain readers do not.
  Result<std::unique_ptr<StoreHold>> BlockWrites() override {
    PGconn* conn = PQconnectdb(dsn_.c_str());
    PGresult* r = PQexec(conn,
                         "BEGIN; LOCK TABLE users, events, password_history, recovery_codes, "
                         "mfa_required_groups, app_passwords, app_password_lockout, "
                         "schema_version IN EXCLUSIVE MODE");
    const bool ok = PQstatus(conn) == CONNECTION_OK && PQresultStatus(r) == PGRES_COMMAND_OK;
    Status failed(Code::kUnavailable,
                  std::string("cannot hold ") + db_ + ": " + PQerrorMessage(conn));
    PQclear(r);
    if (!ok) {
      PQfinish(conn);
      return failed;
    }
    return std::unique_ptr<StoreHold>(new Holder(conn));
  }

  const std::string& dsn() const { return dsn_; }

 private:
  class Holder final : public StoreHold {
   public:
    explicit Holder(PGconn* conn) : conn_(conn) {}
    ~Holder() override {
      PQclear(PQexec(conn_, "ROLLBACK"));
      PQfinish(conn_);
    }

   private:
    PGconn* conn_;
  };

  PostgresBackendStore(std::string admin_dsn, std::string dsn, std::string db)
      : admin_dsn_(std::move(admin_dsn)), dsn_(std::move(dsn)), db_(std::move(db)) {}

  Result<std::unique_ptr<Store>> Open(int wait_ms, bool create) const {
    Config config;
    config.store = "postgres";
    config.postgres_dsn = dsn_;
    config.store_busy_timeout_ms = wait_ms;
    StoreOptions options;
    options.create = create;
    options.owner = geteuid();
    return OpenStore(config, options);
  }

  std::string admin_dsn_;
  std::string dsn_;
  std::string db_;
};
#endif  // SESAME_WITH_POSTGRES

// Every backend this build tests. The next one is one more line.
inline std::vector<StoreBackend> StoreBackends() {
  return {
      StoreBackend{"Sqlite", &SqliteBackendStore::Make},
#ifdef SESAME_WITH_POSTGRES
      StoreBackend{"Postgres", &PostgresBackendStore::Make, &PostgresUnavailable},
#endif
  };
}

// The PostgreSQL entry of StoreBackends(), or one that says why this build
// cannot test it (for the tests that need PostgreSQL only).
inline StoreBackend PostgresBackend() {
  for (const StoreBackend& backend : StoreBackends()) {
    if (std::string(backend.name) == "Postgres") return backend;
  }
  return StoreBackend{"Postgres", nullptr, [] {
                        return std::string(
                            "this build has no PostgreSQL backend (libpq was not found when it "
                            "was configured; install libpq-dev)");
                      }};
}

// In a test's SetUp: skips the test (reason printed) when `backend` cannot
// be tested here, unless SESAME_REQUIRE_POSTGRES=1, where that fails it.
#define SESAME_SKIP_UNAVAILABLE_BACKEND(backend)                                  \
  do {                                                                            \
    const std::string why_unavailable = (backend).unavailable();                  \
    if (!why_unavailable.empty()) {                                               \
      const char* require = std::getenv("SESAME_REQUIRE_POSTGRES");               \
      if (require != nullptr && std::string(require) == "1") {                    \
        FAIL() << why_unavailable << " (SESAME_REQUIRE_POSTGRES=1: not skipped)"; \
      }                                                                           \
      GTEST_SKIP() << why_unavailable;                                            \
    }                                                                             \
  } while (0)

// ---- What the store tests share ----

inline UserRecord User(const std::string& name, int64_t created = 1000) {
  UserRecord user;
  user.name = name;
  user.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA";
  user.created = created;
  user.password_changed = created;
  return user;
}

inline SignInEvent Event(const std::string& user, int64_t time, const std::string& outcome) {
  SignInEvent event;
  event.time = time;
  event.user = user;
  event.service = "sshd";
  event.remote_host = "192.0.2.7";
  event.method = "password";
  event.outcome = outcome;
  event.detail = "";
  return event;
}

// A digest of a wrong secret, as WrongAttemptDigest makes them.
inline std::string Digest(char c) { return std::string(kWrongAttemptDigestChars, c); }

// What one wrong attempt does: reserved, then settled as wrong with its
// digest (the flows in core/flows/ do exactly this). A reserved attempt's
// locked_until is the lock its settlement set. A call that fails is a test
// failure and returns failures = -1.
inline Reservation SettleWrong(Store& store, const std::string& name, int64_t now,
                               const LockoutPolicy& policy, const std::string& digest,
                               const Result<Reservation>& r);

inline Reservation Wrong(Store& store, const std::string& name, int64_t now,
                         const LockoutPolicy& policy, const std::string& digest = "") {
  return SettleWrong(store, name, now, policy, digest,
                     store.ReserveAttempt(name, now, policy, digest));
}

// The same, reserved as a password sign-in reserves: with the record, in
// one call (Store::GetUserForSignInAndReserve). No such user is a test
// failure.
inline Reservation WrongAtSignIn(Store& store, const std::string& name, int64_t now,
                                 const LockoutPolicy& policy, const std::string& digest = "") {
  auto start = store.GetUserForSignInAndReserve(name, now, policy, digest);
  EXPECT_TRUE(start.ok()) << start.status().message();
  EXPECT_TRUE(start.ok() && start->reservation.has_value()) << "no user " << name;
  if (!start.ok() || !start->reservation.has_value())
    return Reservation{Reservation::Verdict::kLocked, -1, -1, -1, false};
  return SettleWrong(store, name, now, policy, digest, *start->reservation);
}

// Settles reservation `r` as wrong with `digest` (when it was kReserved);
// a reservation that failed is a test failure and returns failures = -1.
inline Reservation SettleWrong(Store& store, const std::string& name, int64_t now,
                               const LockoutPolicy& policy, const std::string& digest,
                               const Result<Reservation>& r) {
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return Reservation{Reservation::Verdict::kLocked, -1, -1, -1, false};
  Reservation result = *r;
  if (r->verdict == Reservation::Verdict::kReserved) {
    Settlement wrong;
    wrong.kind = Settlement::Kind::kWrong;
    wrong.reservation = *r;
    wrong.attempt = digest;
    wrong.now = now;
    wrong.policy = policy;
    auto settled = store.SettleAttempt(name, wrong, nullptr);
    EXPECT_TRUE(settled.ok()) << settled.status().message();
    if (settled.ok()) result.locked_until = settled->locked_until;
  }
  return result;
}

// A distinct, well-formed app-password digest for each `n` (the store
// sees only digests; core/crypto/app_password.h makes the real ones).
inline std::string AppDigest(uint32_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string digest(kAppPasswordDigestChars, 'a');
  for (size_t i = 0; i < 8; ++i) digest[digest.size() - 1 - i] = kHex[(n >> (4 * i)) & 15];
  return digest;
}

// An app password of `user` named `name`, with digest AppDigest(n).
inline AppPasswordRecord AppPassword(const std::string& user, const std::string& name, uint32_t n,
                                     int64_t expires = 0, std::vector<std::string> services = {}) {
  AppPasswordRecord record;
  record.user = user;
  record.name = name;
  record.digest = AppDigest(n);
  record.services = std::move(services);
  record.expires = expires;
  return record;
}

// A record's lockout counters and must-change flag as a new user has them.
inline void ExpectNoFailures(const UserRecord& user) {
  EXPECT_FALSE(user.must_change);
  EXPECT_EQ(user.failures, 0);
  EXPECT_EQ(user.first_failure, 0);
  EXPECT_EQ(user.locked_until, 0);
}

// No authenticator, no time step used.
inline void ExpectNoAuthenticator(const UserRecord& user) {
  EXPECT_EQ(user.totp_sealed, "");
  EXPECT_EQ(user.totp_last_step, -1);
}

// MFA not required by an administrator, no grace period begun.
inline void ExpectNoMfaRequirement(const UserRecord& user) {
  EXPECT_FALSE(user.mfa_required);
  EXPECT_EQ(user.mfa_required_since, 0);
}

}  // namespace sesame::testing

#endif  // SESAME_TESTS_FAKES_STORE_BACKENDS_H_
