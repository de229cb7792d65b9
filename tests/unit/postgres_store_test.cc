// What only the PostgreSQL backend has: what postgres_dsn may say, the
// environment libpq would read, the passfile's trust rule, verified TLS to a
// TCP host, the schema version, and every bound on a wait: a listener that
// never answers, a server process stopped mid-connection, a session the
// server ends (a restart or failover, seen from the client), and fork().
// What every backend must do is the conformance suite
// (tests/unit/store_contract_test.cc), which runs against PostgreSQL too.
#ifdef SESAME_WITH_POSTGRES
#include "core/store/postgres/postgres_store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/store/postgres/postgres_internal.h"
#include "tests/fakes/store_backends.h"

namespace sesame {
namespace {

using testing::PostgresClusterFacts;
using testing::PostgresRun;
using testing::PostgresValue;
using testing::User;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- postgres_dsn: no cluster needed ----

TEST(PostgresDsnTest, AcceptsSocketAndVerifiedTcp) {
  EXPECT_TRUE(CheckPostgresDsn("host=/var/run/postgresql dbname=sesame user=sesame").ok());
  EXPECT_TRUE(CheckPostgresDsn("dbname=sesame user=sesame").ok());  // the default socket
  EXPECT_TRUE(CheckPostgresDsn("host=db.example.org dbname=sesame user=sesame").ok());
  EXPECT_TRUE(CheckPostgresDsn("host=db1,db2 dbname=sesame user=sesame sslmode=verify-ca "
                               "sslrootcert=/etc/sesame/pg-ca.crt target_session_attrs=read-write")
                  .ok());
  EXPECT_TRUE(CheckPostgresDsn("postgresql://sesame@db.example.org/sesame").ok());
}

TEST(PostgresDsnTest, RefusesAPasswordWithTheFix) {
  for (const char* dsn : {"host=db dbname=sesame user=sesame password=hunter2",
                          "postgresql://sesame:hunter2@db.example.org/sesame"}) {
    Status st = CheckPostgresDsn(dsn);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << dsn;
    EXPECT_TRUE(Contains(st.message(), "contains a password")) << st.message();
    EXPECT_TRUE(Contains(st.message(), "postgres_passfile")) << st.message();
    EXPECT_FALSE(Contains(st.message(), "hunter2")) << st.message();
  }
}

TEST(PostgresDsnTest, RefusesWeakTlsToATcpHost) {
  for (const char* mode : {"disable", "allow", "prefer", "require"}) {
    const std::string dsn =
        std::string("host=db.example.org dbname=sesame user=sesame sslmode=") + mode;
    Status st = CheckPostgresDsn(dsn);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << dsn;
    EXPECT_TRUE(Contains(st.message(), "sslmode=verify-full")) << st.message();
  }
  Status addr = CheckPostgresDsn("hostaddr=192.0.2.7 dbname=sesame user=sesame sslmode=disable");
  EXPECT_EQ(addr.code(), Code::kInvalidArgument);
  // A socket needs no TLS.
  EXPECT_TRUE(CheckPostgresDsn("host=/run/postgresql dbname=s user=s sslmode=disable").ok());
}

// verify-ca checks no server name: with the system's CA bundle, a
// certificate any public CA signed for any name would pass, so it needs a
// CA of the admin's own.
TEST(PostgresDsnTest, RefusesVerifyCaWithoutACaOfItsOwn) {
  std::vector<std::string> roots = {"", "sslrootcert=system",
                                    "sslrootcert=/etc/ssl/certs/ca-certificates.crt"};
  struct stat bundle {};
  if (stat("/etc/ssl/certs/ca-certificates.crt", &bundle) == 0) {
    roots.emplace_back("sslrootcert=/etc/ssl/certs//ca-certificates.crt");
    roots.emplace_back("sslrootcert=/etc/ssl/./certs/ca-certificates.crt");
  }
  for (const std::string& root : roots) {
    for (const char* host : {"host=db.example.org", "hostaddr=192.0.2.7"}) {
      const std::string dsn =
          std::string(host) + " dbname=sesame user=sesame sslmode=verify-ca " + root;
      Status st = CheckPostgresDsn(dsn);
      EXPECT_EQ(st.code(), Code::kInvalidArgument) << dsn;
      EXPECT_TRUE(Contains(st.message(), "verify-ca")) << st.message();
      EXPECT_TRUE(Contains(st.message(), "sslrootcert=CA-FILE")) << st.message();
    }
  }
  // The same over the socket needs no TLS at all.
  EXPECT_TRUE(CheckPostgresDsn("host=/run/postgresql dbname=s user=s sslmode=verify-ca").ok());
}

TEST(PostgresDsnTest, RefusesWhatWouldBypassTheChecks) {
  struct Case {
    const char* dsn;
    const char* says;
  } cases[] = {
      {"host=db dbname=s user=s passfile=/tmp/p", "postgres_passfile"},
      {"service=sesame", "service"},
      {"host=db dbname=sesame", "user="},
      {"host=db user=sesame", "dbname="},
      {"host=db dbname=s user=s target_session_attrs=any", "primary"},
      {"host=db dbname=s user=s target_session_attrs=standby", "primary"},
      {"host=db dbname", "not a valid libpq connection string"},
      {"", "empty"},
  };
  for (const Case& c : cases) {
    Status st = CheckPostgresDsn(c.dsn);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << c.dsn;
    EXPECT_TRUE(Contains(st.message(), c.says)) << c.dsn << ": " << st.message();
  }
}

TEST(PostgresDsnTest, DescribesWithoutSecrets) {
  EXPECT_EQ(DescribePostgresDsn("host=db1 port=5433 dbname=sesame user=sesame sslmode=verify-ca"),
            "host=db1 port=5433 dbname=sesame user=sesame");
  EXPECT_EQ(DescribePostgresDsn("dbname=sesame user=sesame"),
            "host=/var/run/postgresql port=5432 dbname=sesame user=sesame");
}

// SQL that turns a store of kPostgresSchemaVersion into what version 1
// was: no events_user_success_time (version 2), events_user_host_success
// and no events_user_failure_time (version 3). Only indexes differ.
constexpr char kBackToVersion1[] =
    "DROP INDEX events_user_success_time; DROP INDEX events_user_failure_time; "
    "CREATE INDEX events_user_host_success ON events(user_name, remote_host, id) WHERE outcome "
    "= 'success'; UPDATE schema_version SET version = 1";
static_assert(kPostgresSchemaVersion == 3, "kBackToVersion1 undoes versions 2 and 3");

// The indexes of the events table, by name, sorted, comma-separated.
constexpr char kEventIndexes[] =
    "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = "
    "'events'";
constexpr char kVersion1EventIndexes[] =
    "events_pkey,events_time,events_user_host_success,events_user_time";
constexpr char kEventIndexesNow[] =
    "events_pkey,events_time,events_user_failure_time,events_user_success_time,"
    "events_user_time";

// ---- Against the test cluster ----

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SESAME_SKIP_UNAVAILABLE_BACKEND(
        (testing::StoreBackend{"Postgres", nullptr, &testing::PostgresUnavailable}));
    std::string why;
    facts_ = PostgresClusterFacts(&why);
    ASSERT_FALSE(facts_.empty()) << why;
    static int counter = 0;
    db_ = "pgstore_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    ASSERT_EQ(PostgresRun(facts_["PG_ADMIN_DSN"], "CREATE DATABASE " + db_), "");
    socket_dsn_ = "host=" + facts_["PG_SOCKET_DIR"] + " port=" + facts_["PG_PORT"] +
                  " user=postgres dbname=" + db_;
  }

  void TearDown() override {
    if (!db_.empty()) PostgresRun(facts_["PG_ADMIN_DSN"], "DROP DATABASE " + db_ + " WITH (FORCE)");
    for (const std::string& role : roles_) PostgresRun(facts_["PG_ADMIN_DSN"], "DROP ROLE " + role);
    for (const std::string& path : files_) unlink(path.c_str());
  }

  PostgresOptions Options(const std::string& dsn, bool create = false) {
    PostgresOptions options;
    options.dsn = dsn;
    options.create = create;
    options.connect_timeout_s = 2;
    options.statement_timeout_s = 1;
    options.passfile_trust = TrustRule{geteuid(), true};
    return options;
  }

  // A file with `text`, mode `mode`, removed at the end.
  std::string File(const std::string& name, const std::string& text, mode_t mode) {
    const char* env = std::getenv("SESAME_TEST_TMPDIR");
    const std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
    mkdir(dir.c_str(), 0700);
    const std::string path = dir + "/" + name + "." + std::to_string(getpid());
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    files_.push_back(path);
    return path;
  }

  // The sesame role's TCP DSN (verify-full against the test CA) into this
  // test's database, which it is granted.
  std::string TcpDsn(const std::string& host = "127.0.0.1") {
    EXPECT_EQ(PostgresRun(facts_["PG_ADMIN_DSN"], "ALTER DATABASE " + db_ + " OWNER TO sesame"),
              "");
    return "host=" + host + " port=" + facts_["PG_PORT"] + " dbname=" + db_ +
           " user=sesame sslrootcert=" + facts_["PG_CA"];
  }

  std::string Passfile() {
    return File(
        "passfile",
        "127.0.0.1:" + facts_["PG_PORT"] + ":*:sesame:" + facts_["PG_SESAME_PASSWORD"] + "\n",
        0600);
  }

  // docs/install.md "Fleet": an owner role that owns this test's database
  // and a hosts' role with rows only (SELECT, INSERT, UPDATE, DELETE by
  // default privileges); both dropped after the database by TearDown. The
  // caller checks HasFailure().
  struct FleetRoles {
    std::string owner, app, owner_dsn, app_dsn;
  };
  FleetRoles MakeFleetRoles() {
    FleetRoles r;
    r.owner = db_ + "_owner";
    r.app = db_ + "_app";
    const std::string admin = facts_["PG_ADMIN_DSN"];
    for (const std::string& role : {r.owner, r.app}) {
      EXPECT_EQ(PostgresRun(admin, "CREATE ROLE " + role + " LOGIN"), "");
      roles_.push_back(role);
    }
    EXPECT_EQ(PostgresRun(admin, "ALTER DATABASE " + db_ + " OWNER TO " + r.owner), "");
    EXPECT_EQ(PostgresRun(socket_dsn_, "ALTER DEFAULT PRIVILEGES FOR ROLE " + r.owner +
                                           " IN SCHEMA public GRANT SELECT, INSERT, UPDATE, "
                                           "DELETE ON TABLES TO " +
                                           r.app + "; GRANT USAGE ON SCHEMA public TO " + r.app),
              "");
    const std::string base =
        "host=" + facts_["PG_SOCKET_DIR"] + " port=" + facts_["PG_PORT"] + " dbname=" + db_;
    r.owner_dsn = base + " user=" + r.owner;
    r.app_dsn = base + " user=" + r.app;
    return r;
  }

  std::map<std::string, std::string> facts_;
  std::string db_;
  std::vector<std::string> roles_;
  std::string socket_dsn_;
  std::vector<std::string> files_;
};

TEST_F(PostgresStoreTest, EmptyDatabaseNeedsInitThenHasTheSchema) {
  auto refused = OpenPostgresStore(Options(socket_dsn_));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "sesame-admin init"))
      << refused.status().message();
  auto created = OpenPostgresStore(Options(socket_dsn_, /*create=*/true));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ((*created)->SchemaVersion().value(), kPostgresSchemaVersion);
  auto again = OpenPostgresStore(Options(socket_dsn_));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE((*again)->AddUser(User("alice")).ok());
}

TEST_F(PostgresStoreTest, NewerSchemaAndForeignDatabaseRefused) {
  ASSERT_TRUE(OpenPostgresStore(Options(socket_dsn_, true)).ok());
  ASSERT_EQ(PostgresRun(socket_dsn_, "UPDATE schema_version SET version = 99"), "");
  auto newer = OpenPostgresStore(Options(socket_dsn_));
  ASSERT_FALSE(newer.ok());
  EXPECT_TRUE(Contains(newer.status().message(), "upgrade sesame")) << newer.status().message();

  ASSERT_EQ(PostgresRun(socket_dsn_, "DROP TABLE schema_version"), "");
  auto foreign = OpenPostgresStore(Options(socket_dsn_, true));
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.status().code(), Code::kCorrupt);
  EXPECT_TRUE(Contains(foreign.status().message(), "not a sesame store"));
}

TEST_F(PostgresStoreTest, EnvironmentCannotRedirectTheConnection) {
  ASSERT_TRUE(OpenPostgresStore(Options(socket_dsn_, true)).ok());
  for (const char* name : {"PGHOST", "PGHOSTADDR", "PGSSLMODE", "PGPASSFILE", "PGSERVICE",
                           "PGSERVICEFILE", "PGOPTIONS"}) {
    setenv(name, "x", 1);
    auto opened = OpenPostgresStore(Options(socket_dsn_));
    unsetenv(name);
    ASSERT_FALSE(opened.ok()) << name;
    EXPECT_EQ(opened.status().code(), Code::kUnavailable);
    EXPECT_TRUE(Contains(opened.status().message(), std::string("unset ") + name))
        << opened.status().message();
  }
  EXPECT_TRUE(OpenPostgresStore(Options(socket_dsn_)).ok());
}

TEST_F(PostgresStoreTest, VerifiedTlsWithARootOnlyPassfile) {
  const std::string dsn = TcpDsn();
  PostgresOptions options = Options(dsn, true);
  options.passfile = Passfile();
  auto store = OpenPostgresStore(options);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto info = DescribePostgresConnection(**store);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->tls);
  EXPECT_FALSE(info->tls_protocol.empty());
  EXPECT_EQ(info->user, "sesame");
  EXPECT_FALSE(info->read_only);
  EXPECT_GE(info->server_version, 150000);
  EXPECT_TRUE((*store)->AddUser(User("alice")).ok());
  // Never GSSAPI encryption in TLS's place unless the DSN asks for it.
  auto* postgres = dynamic_cast<postgres_internal::PostgresStore*>(store->get());
  ASSERT_NE(postgres, nullptr);
  EXPECT_EQ(postgres->ConnectionOption("gssencmode"), "disable");
  EXPECT_EQ(postgres->ConnectionOption("sslmode"), "verify-full");
}

// verify-ca with the admin's own CA: the server's name is not checked, its
// certificate is.
TEST_F(PostgresStoreTest, VerifyCaWithItsOwnCaConnects) {
  PostgresOptions options =
      Options(TcpDsn("not-the-server.example") + " hostaddr=127.0.0.1 sslmode=verify-ca", true);
  options.passfile =
      File("passfile-any-host",
           "*:" + facts_["PG_PORT"] + ":*:sesame:" + facts_["PG_SESAME_PASSWORD"] + "\n", 0600);
  auto store = OpenPostgresStore(options);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto info = DescribePostgresConnection(**store);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->tls);
}

TEST_F(PostgresStoreTest, PassfileOthersCanReadIsRefused) {
  PostgresOptions options = Options(TcpDsn(), true);
  options.passfile = Passfile();
  chmod(options.passfile.c_str(), 0640);
  auto store = OpenPostgresStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(Contains(store.status().message(), "postgres_passfile")) << store.status().message();
}

TEST_F(PostgresStoreTest, NoPassfileMeansNoPasswordFromHome) {
  // Whoever runs su or the setuid tool chooses $HOME: libpq must not read
  // a ~/.pgpass there when postgres_passfile is unset.
  const char* env = std::getenv("SESAME_TEST_TMPDIR");
  std::string home = std::string(env != nullptr && *env != '\0' ? env : "/tmp") + "/pghome_XXXXXX";
  ASSERT_NE(mkdtemp(home.data()), nullptr);
  const std::string pgpass = home + "/.pgpass";
  std::ofstream(pgpass) << "*:*:*:sesame:" << facts_["PG_SESAME_PASSWORD"] << "\n";
  chmod(pgpass.c_str(), 0600);
  files_.push_back(pgpass);
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home != nullptr ? old_home : "";
  setenv("HOME", home.c_str(), 1);
  auto store = OpenPostgresStore(Options(TcpDsn(), true));
  if (old_home != nullptr) {
    setenv("HOME", saved.c_str(), 1);
  } else {
    unsetenv("HOME");
  }
  unlink(pgpass.c_str());
  rmdir(home.c_str());
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(Contains(store.status().message(), "password")) << store.status().message();
}

TEST_F(PostgresStoreTest, CertificateMustMatchTheHostName) {
  PostgresOptions options = Options(TcpDsn("localhost"), true);
  options.passfile = File(
      "passfile-localhost",
      "localhost:" + facts_["PG_PORT"] + ":*:sesame:" + facts_["PG_SESAME_PASSWORD"] + "\n", 0600);
  auto store = OpenPostgresStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(Contains(store.status().message(), "does not match host name"))
      << store.status().message();
}

// docs/install.md "Fleet": the schema belongs to an owner role that runs
// `sesame-admin init` and `db migrate`; the hosts connect as a role with
// SELECT, INSERT, UPDATE and DELETE only (default privileges), which can do
// every sign-in write but cannot change or drop the schema.
TEST_F(PostgresStoreTest, ALeastPrivilegeRoleSignsInButCannotChangeTheSchema) {
  const FleetRoles roles = MakeFleetRoles();
  ASSERT_FALSE(HasFailure());
  auto created = OpenPostgresStore(Options(roles.owner_dsn, /*create=*/true));
  ASSERT_TRUE(created.ok()) << created.status().message();
  created->reset();
  // docs/install.md, after init: the hosts may read the schema's version,
  // not write it.
  ASSERT_EQ(PostgresRun(roles.owner_dsn,
                        "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "
                        "schema_version FROM " +
                            roles.app),
            "");

  const std::string& app_dsn = roles.app_dsn;
  auto store = OpenPostgresStore(Options(app_dsn));
  ASSERT_TRUE(store.ok()) << store.status().message();
  Store& s = **store;
  ASSERT_TRUE(s.AddUser(User("alice")).ok());
  auto reserved = s.ReserveAttempt("alice", 2000, LockoutPolicy{}, "");
  ASSERT_TRUE(reserved.ok()) << reserved.status().message();
  Settlement success;
  success.kind = Settlement::Kind::kSuccess;
  success.reservation = *reserved;
  success.now = 2000;
  success.prune_before = 1000;
  SignInEvent event = testing::Event("alice", 2000, "success");
  auto settled = s.SettleAttempt("alice", success, &event);
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_TRUE(s.SetPassword("alice", "h2", 2001, false, 5, true).ok());
  AppPasswordRecord record = testing::AppPassword("alice", "mail", 1);
  EXPECT_TRUE(s.AddAppPassword(record, 25, 2002).ok());
  EXPECT_TRUE(s.SetTotp("alice", "sealed", {"d1", "d2"}).ok());
  EXPECT_EQ(s.UseRecoveryCode("alice", "d1", LockGuard{true, 2003}).value(), CodeUse::kUsed);
  EXPECT_EQ(s.PruneEvents(3000, 10).value(), 1);
  EXPECT_TRUE(s.RemoveUser("alice").ok());

  EXPECT_NE(PostgresRun(app_dsn, "CREATE TABLE evil(x int)"), "");
  EXPECT_NE(PostgresRun(app_dsn, "DROP TABLE events"), "");
  EXPECT_NE(PostgresRun(app_dsn, "ALTER TABLE users ADD COLUMN x int"), "");
  EXPECT_NE(PostgresRun(app_dsn, "UPDATE schema_version SET version = 99"), "");
  EXPECT_NE(PostgresRun(app_dsn, "DELETE FROM schema_version"), "");
  // ...and a host opening the store again still can (it only reads it).
  EXPECT_TRUE(OpenPostgresStore(Options(app_dsn)).ok());
}

// Schema versions 2 and 3 only changed indexes (kPostgresOldestUsableVersion):
// a fleet's hosts run the new sesame on a version-1 store, with a role
// that may not change the schema, until the owner migrates it; then the
// indexes are there and they go on.
TEST_F(PostgresStoreTest, AStoreOnlyIndexesBehindIsUsedAsItIsUntilTheOwnerMigrates) {
  static_assert(kPostgresOldestUsableVersion == 1, "this test uses a version-1 store");
  const FleetRoles roles = MakeFleetRoles();
  ASSERT_FALSE(HasFailure());
  const std::string& owner_dsn = roles.owner_dsn;
  const std::string& app_dsn = roles.app_dsn;
  const std::string& app = roles.app;
  const std::string admin = facts_["PG_ADMIN_DSN"];
  ASSERT_TRUE(OpenPostgresStore(Options(owner_dsn, /*create=*/true)).ok());
  EXPECT_EQ(PostgresValue(owner_dsn, kEventIndexes), kEventIndexesNow);
  ASSERT_EQ(PostgresRun(owner_dsn, std::string(kBackToVersion1) +
                                       "; REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "
                                       "schema_version FROM " +
                                       app),
            "");

  {
    auto host = OpenPostgresStore(Options(app_dsn));  // migrate = true, as pam_sesame opens it
    ASSERT_TRUE(host.ok()) << host.status().message();
    Store& s = **host;
    EXPECT_EQ(s.SchemaVersion().value(), 1);
    ASSERT_TRUE(s.AddUser(User("alice")).ok());
    for (int64_t t : {2000, 2100}) {
      auto reserved = s.ReserveAttempt("alice", t, LockoutPolicy{}, "");
      ASSERT_TRUE(reserved.ok()) << reserved.status().message();
      Settlement success;
      success.kind = Settlement::Kind::kSuccess;
      success.reservation = *reserved;
      success.now = t;
      SignInEvent event = testing::Event("alice", t, "success");
      ASSERT_TRUE(s.SettleAttempt("alice", success, &event).ok());
    }
    auto last = s.ReadLastSignIn("alice", {}, {"failure"});
    ASSERT_TRUE(last.ok()) << last.status().message();
    EXPECT_TRUE(last->found);
    EXPECT_EQ(last->time, 2000);
    EventFilter listing;
    listing.mark_new_hosts = true;
    auto listed = s.ListEvents(listing);
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    EXPECT_EQ(listed->size(), 2u);
  }
  EXPECT_EQ(PostgresValue(admin, "SELECT 1"), "1");
  EXPECT_EQ(PostgresValue(owner_dsn, kEventIndexes), kVersion1EventIndexes);
  EXPECT_EQ(PostgresValue(owner_dsn, "SELECT version FROM schema_version"), "1");

  // The migration the hosts' role may not make is refused, not half made.
  PostgresOptions by_app = Options(app_dsn);
  by_app.migrate_usable = true;
  EXPECT_FALSE(OpenPostgresStore(by_app).ok());
  EXPECT_EQ(PostgresValue(owner_dsn, "SELECT version FROM schema_version"), "1");

  // sesame-admin db migrate, as the owner.
  PostgresOptions by_owner = Options(owner_dsn);
  by_owner.migrate_usable = true;
  auto migrated = OpenPostgresStore(by_owner);
  ASSERT_TRUE(migrated.ok()) << migrated.status().message();
  EXPECT_EQ((*migrated)->SchemaVersion().value(), kPostgresSchemaVersion);
  migrated->reset();
  EXPECT_EQ(PostgresValue(owner_dsn, kEventIndexes), kEventIndexesNow);
  auto again = OpenPostgresStore(Options(app_dsn));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->SchemaVersion().value(), kPostgresSchemaVersion);
  EXPECT_TRUE((*again)->ReadLastSignIn("alice", {}, {"failure"}).ok());
  again->reset();
}

// A migration's statement may take longer than a sign-in's bound (an index
// over millions of events: ~1 s per million): here it waits 3 s for a
// transaction holding the events table, with postgres_statement_timeout = 1
// (the client's deadline 2 s), and completes, as the server's and the
// client's bounds are kMigrationStatementTimeoutS while it migrates.
TEST_F(PostgresStoreTest, AMigrationOutlastsTheSignInStatementTimeout) {
  ASSERT_TRUE(OpenPostgresStore(Options(socket_dsn_, /*create=*/true)).ok());
  ASSERT_EQ(PostgresRun(socket_dsn_, kBackToVersion1), "");
  PGconn* holder = PQconnectdb(socket_dsn_.c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK) << PQerrorMessage(holder);
  PQclear(PQexec(holder, "BEGIN; LOCK TABLE events IN ROW EXCLUSIVE MODE"));
  std::thread release([holder] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    PQclear(PQexec(holder, "COMMIT"));
  });
  PostgresOptions options = Options(socket_dsn_);
  ASSERT_EQ(options.statement_timeout_s, 1);
  options.lock_timeout_ms = 10000;
  options.migrate_usable = true;
  const auto start = std::chrono::steady_clock::now();
  auto migrated = OpenPostgresStore(options);
  const auto took = std::chrono::steady_clock::now() - start;
  release.join();
  PQfinish(holder);
  ASSERT_TRUE(migrated.ok()) << migrated.status().message();
  EXPECT_GE(took, std::chrono::milliseconds(2500));
  EXPECT_EQ((*migrated)->SchemaVersion().value(), kPostgresSchemaVersion);
  // ...and the store's later statements are bound as before.
  EXPECT_EQ(PostgresValue(socket_dsn_, kEventIndexes), kEventIndexesNow);
  PGconn* again = PQconnectdb(socket_dsn_.c_str());
  PQclear(PQexec(again, "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE"));
  const auto read_start = std::chrono::steady_clock::now();
  auto user = (*migrated)->GetUser("alice");
  const auto read_took = std::chrono::steady_clock::now() - read_start;
  PQclear(PQexec(again, "ROLLBACK"));
  PQfinish(again);
  EXPECT_FALSE(user.ok());
  EXPECT_LT(read_took, std::chrono::milliseconds(2500));
}

// docs/install.md, "Upgrading a fleet": schema 3's DROP INDEX needs the
// events table to itself. Behind a long reader (a pg_dump holds its lock
// for the whole dump) it waits at most the session's lock_timeout, then
// the migration fails as busy and changes nothing (the index it had built
// is rolled back with it); once the reader is done, it migrates.
TEST_F(PostgresStoreTest, AMigrationBehindALongReaderFailsBusyAndChangesNothing) {
  static_assert(kPostgresSchemaVersion == 3, "this test migrates from version 2");
  ASSERT_TRUE(OpenPostgresStore(Options(socket_dsn_, /*create=*/true)).ok());
  ASSERT_EQ(PostgresRun(socket_dsn_,
                        "CREATE INDEX events_user_host_success ON events(user_name, remote_host, "
                        "id) WHERE outcome = 'success'; DROP INDEX events_user_failure_time; "
                        "UPDATE schema_version SET version = 2"),
            "");
  const std::string version2 =
      "events_pkey,events_time,events_user_host_success,events_user_success_time,"
      "events_user_time";
  ASSERT_EQ(PostgresValue(socket_dsn_, kEventIndexes), version2);
  PGconn* reader = PQconnectdb(socket_dsn_.c_str());
  ASSERT_EQ(PQstatus(reader), CONNECTION_OK) << PQerrorMessage(reader);
  PQclear(PQexec(reader, "BEGIN; SELECT count(*) FROM events"));
  PostgresOptions options = Options(socket_dsn_);
  options.lock_timeout_ms = 500;
  options.migrate_usable = true;
  const auto start = std::chrono::steady_clock::now();
  auto refused = OpenPostgresStore(options);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kBusy) << refused.status().message();
  EXPECT_TRUE(Contains(refused.status().message(), "try again")) << refused.status().message();
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  EXPECT_EQ(PostgresValue(socket_dsn_, "SELECT version FROM schema_version"), "2");
  EXPECT_EQ(PostgresValue(socket_dsn_, kEventIndexes), version2);
  PQclear(PQexec(reader, "COMMIT"));
  PQfinish(reader);
  auto migrated = OpenPostgresStore(options);
  ASSERT_TRUE(migrated.ok()) << migrated.status().message();
  EXPECT_EQ((*migrated)->SchemaVersion().value(), 3);
  EXPECT_EQ(PostgresValue(socket_dsn_, kEventIndexes), kEventIndexesNow);
}

// The "Last sign-in" line of a user with 20,000 events reads a few pages,
// not all of them: measured by the server (EXPLAIN ANALYZE's buffers), on a
// table that was never analyzed, as in the first hours of a new store,
// where the planner once chose to read and sort all of the user's
// successes.
TEST_F(PostgresStoreTest, TheLastSignInReadsAFewPagesHoweverManyEventsTheUserHas) {
  auto store = OpenPostgresStore(Options(socket_dsn_, /*create=*/true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  ASSERT_TRUE((*store)->AddUser(User("bob")).ok());
  // alice: 20,000 events, one in ten a failure, and her mail app's
  // sign-ins between her own; bob's events in between.
  ASSERT_EQ(PostgresRun(socket_dsn_,
                        "INSERT INTO events(time, user_name, service, remote_host, method, "
                        "outcome, detail) SELECT 1000000 + g, CASE WHEN g % 4 = 0 THEN 'bob' "
                        "ELSE 'alice' END, 'sshd', '192.0.2.' || (g % 200), CASE WHEN g % 3 = 0 "
                        "THEN 'app-password' ELSE 'password' END, CASE WHEN g % 10 = 0 THEN "
                        "'failure' ELSE 'success' END, '' FROM generate_series(1, 26667) g"),
            "");
  ASSERT_EQ(PostgresValue(socket_dsn_, "SELECT count(*) FROM events WHERE user_name = 'alice'"),
            "20001");
  // Read through the store first: the same answer the statement gives.
  auto last = (*store)->ReadLastSignIn("alice", {"password"}, {"failure"});
  ASSERT_TRUE(last.ok()) << last.status().message();
  ASSERT_TRUE(last->found);

  const std::string plan = PostgresValue(
      socket_dsn_, std::string("PREPARE last_sign_in AS ") + postgres_internal::kReadLastSignInSql +
                       "; EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE last_sign_in('alice', "
                       "E'\\x1fpassword\\x1f', E'\\x1ffailure\\x1f')");
  ASSERT_EQ(plan.rfind("ERROR", 0), std::string::npos) << plan;
  // The first buffer counts are the top node's: everything it ran.
  auto count = [&](const std::string& key) -> long {
    const size_t at = plan.find("\"" + key + "\": ");
    if (at == std::string::npos) return -1;
    return std::stol(plan.substr(at + key.size() + 4));
  };
  const long hit = count("Shared Hit Blocks");
  const long read = count("Shared Read Blocks");
  ASSERT_GE(hit, 0) << plan;
  ASSERT_GE(read, 0) << plan;
  // alice's rows alone fill well over 150 pages of the table.
  EXPECT_LT(hit + read, 40) << plan;
  EXPECT_EQ(plan.find("\"Sort\""), std::string::npos) << plan;
}

// A user who signs in hundreds of times a second (a script; the benchmark
// does) has hundreds of successes with the same time. The failures since
// the previous success are counted without reading those (schema 3,
// events_user_failure_time); one range over events_user_time read each of
// them from the table, so every sign-in cost more the more sign-ins its
// second already had.
TEST_F(PostgresStoreTest, TheLastSignInSkipsTheSuccessesOfItsSecond) {
  auto store = OpenPostgresStore(Options(socket_dsn_, /*create=*/true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  // At time 5,000,000: a failure, 3,000 successes, two failures (3 and 2
  // attempts), then the success that just happened.
  ASSERT_EQ(PostgresRun(socket_dsn_,
                        "INSERT INTO events(time, user_name, service, remote_host, method, "
                        "outcome, detail, count) VALUES (5000000, 'alice', 'sshd', '192.0.2.1', "
                        "'password', 'failure', '', 1); "
                        "INSERT INTO events(time, user_name, service, remote_host, method, "
                        "outcome, detail) SELECT 5000000, 'alice', 'sshd', '192.0.2.1', "
                        "'password', 'success', '' FROM generate_series(1, 3000); "
                        "INSERT INTO events(time, user_name, service, remote_host, method, "
                        "outcome, detail, count) VALUES (5000000, 'alice', 'sshd', '192.0.2.2', "
                        "'password', 'failure', '', 3), (5000000, 'alice', 'sshd', '192.0.2.2', "
                        "'password', 'locked', '', 2), (5000000, 'alice', 'sshd', '192.0.2.1', "
                        "'password', 'success', '', 1); ANALYZE events"),
            "");
  auto last = (*store)->ReadLastSignIn("alice", {"password"}, {"failure", "locked"});
  ASSERT_TRUE(last.ok()) << last.status().message();
  ASSERT_TRUE(last->found);
  EXPECT_EQ(last->time, 5000000);
  EXPECT_EQ(last->remote_host, "192.0.2.1");
  EXPECT_EQ(last->failures_since, 5);
  // Outcomes that name "success" count those after it too (Store's
  // contract; sesame never asks for them): the one that just happened.
  auto with_successes = (*store)->ReadLastSignIn("alice", {"password"}, {"failure", "success"});
  ASSERT_TRUE(with_successes.ok()) << with_successes.status().message();
  EXPECT_EQ(with_successes->failures_since, 4);

  const std::string plan = PostgresValue(
      socket_dsn_, std::string("PREPARE last_sign_in AS ") + postgres_internal::kReadLastSignInSql +
                       "; EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE last_sign_in('alice', "
                       "E'\\x1fpassword\\x1f', E'\\x1ffailure\\x1flocked\\x1f')");
  ASSERT_EQ(plan.rfind("ERROR", 0), std::string::npos) << plan;
  // The most rows any step of the plan returned, or read and dropped. (Not
  // the buffers: the 3,000 rows lie on a few dozen pages, each read once.)
  auto most = [&](const std::string& key) -> long {
    long found = -1;
    for (size_t at = plan.find(key); at != std::string::npos; at = plan.find(key, at + 1))
      found = std::max(found, std::stol(plan.substr(at + key.size())));
    return found;
  };
  const long returned = most("\"Actual Rows\": ");
  const long dropped = most("\"Rows Removed by Filter\": ");
  ASSERT_GE(returned, 0) << plan;
  ASSERT_GE(dropped, 0) << plan;
  EXPECT_LT(returned, 10) << plan;
  EXPECT_LT(dropped, 10) << plan;
}

// The server may keep one plan of a prepared statement for every user (the
// generic plan), costed for the average user's few events. For a user
// whose 20,000 successes came after the last ANALYZE, such a plan of the
// "Last sign-in" step was a bitmap scan with a sort over all of them: a
// near tie with the one step down the index, won by the bitmap. The
// store's connections turn bitmap scans off (kPlannerOptions). Here the
// database makes every plan generic from the first run, and the server's
// own counters say how many index entries the store's connection read.
TEST_F(PostgresStoreTest, AGenericPlanStillTakesOneStepToTheLastSignIn) {
  auto store = OpenPostgresStore(Options(socket_dsn_, /*create=*/true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  store->reset();
  ASSERT_EQ(PostgresRun(socket_dsn_,
                        "ALTER TABLE events SET (autovacuum_enabled = false); "
                        // A host's history over 20,000 users, analyzed...
                        "INSERT INTO events(time, user_name, service, remote_host, method, "
                        "outcome, detail) SELECT 1000000 + g, 'user' || ((g::bigint * 7919) % "
                        "20000), 'sshd', '198.51.100.' || (g % 250), 'password', CASE WHEN g % 10 "
                        "= 0 THEN 'failure' ELSE 'success' END, '' FROM generate_series(1, 50000) "
                        "g; ANALYZE events; "
                        // ...then alice's script signing in, 500 times a second.
                        "INSERT INTO events(time, user_name, service, remote_host, method, "
                        "outcome, detail) SELECT 2000000 + g / 500, 'alice', 'sshd', '', "
                        "'password', 'success', '' FROM generate_series(1, 20000) g; "
                        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = "
                        "force_generic_plan', current_database()); END $$"),
            "");
  const std::string entries_read =
      "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = "
      "'events_user_success_time'";
  const std::string before = PostgresValue(socket_dsn_, entries_read);
  ASSERT_FALSE(before.empty());
  {
    auto host = OpenPostgresStore(Options(socket_dsn_));
    ASSERT_TRUE(host.ok()) << host.status().message();
    auto last = (*host)->ReadLastSignIn("alice", {"password"}, {"failure"});
    ASSERT_TRUE(last.ok()) << last.status().message();
    ASSERT_TRUE(last->found);
    EXPECT_EQ(last->time, 2000039);  // the second newest: OFFSET 1
    // A whole sign-in: the reservation, then the success statement that
    // also answers the "Last sign-in" line (its own prepared plan).
    auto reserved = (*host)->ReserveAttempt("alice", 3000000, LockoutPolicy{}, "");
    ASSERT_TRUE(reserved.ok()) << reserved.status().message();
    const LastSignInQuery query{{"password"}, {"failure"}};
    Settlement success;
    success.kind = Settlement::Kind::kSuccess;
    success.reservation = *reserved;
    success.now = 3000000;
    success.last_sign_in = &query;
    SignInEvent event = testing::Event("alice", 3000000, "success");
    event.method = "password";
    auto settled = (*host)->SettleAttempt("alice", success, &event);
    ASSERT_TRUE(settled.ok()) << settled.status().message();
    ASSERT_TRUE(settled->last_sign_in.has_value()) << settled->last_sign_in_error;
    EXPECT_EQ(settled->last_sign_in->time, 2000040);  // the newest before this one
  }
  // The store's session has ended; the server publishes its counts when
  // a session ends.
  std::string after = before;
  for (int i = 0; i < 50 && after == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = PostgresValue(socket_dsn_, entries_read);
  }
  ASSERT_NE(after, before) << "the server never counted the store's reads";
  // A few steps for both; a bitmap plan read all 20,000 entries each time.
  EXPECT_LT(std::stol(after) - std::stol(before), 100);
}

// Every sign-in's write (the success statement, with and without the
// "Last sign-in" answer, in both buckets) and pruning in passing are
// prepared once per connection; the server plans them anew at every
// execution unless the plan it keeps (the generic plan) looks no dearer.
// That plan must be chosen, on a store with old events due for pruning
// and a user with many events, and it must not scan a table from end to
// end. (With the batch as a parameter, LIMIT $4, the generic plan was a
// hash join over every event, so the server planned each sign-in's write
// again: about a third of its work for a sign-in.)
TEST_F(PostgresStoreTest, EverySignInsWriteKeepsOnePlanThatReadsNoWholeTable) {
  auto store = OpenPostgresStore(Options(socket_dsn_, /*create=*/true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  ASSERT_EQ(
      PostgresRun(socket_dsn_,
                  "INSERT INTO users(name, password_hash, created) SELECT 'user' || g, 'x', 1 FROM "
                  "generate_series(1, 500) g; "
                  "INSERT INTO app_password_lockout(user_name) SELECT name FROM users; "
                  // 20,000 events due for pruning (time < 100,000), spread over the
                  // users, then alice's own 5,000 recent ones.
                  "INSERT INTO events(time, user_name, service, remote_host, method, "
                  "outcome, detail) SELECT g, 'user' || (g % 500), 'sshd', '192.0.2.' || "
                  "(g % 200), 'password', CASE WHEN g % 10 = 0 THEN 'failure' ELSE "
                  "'success' END, '' FROM generate_series(1, 20000) g; "
                  "INSERT INTO events(time, user_name, service, remote_host, method, "
                  "outcome, detail) SELECT 1000000 + g, 'alice', 'sshd', '192.0.2.7', "
                  "'password', CASE WHEN g % 10 = 0 THEN 'failure' ELSE 'success' END, '' "
                  "FROM generate_series(1, 5000) g; ANALYZE"),
      "");
  PGconn* conn = PQconnectdb(socket_dsn_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      for (int i = 0; i < PQntuples(r); ++i) out += std::string(PQgetvalue(r, i, 0)) + "\n";
    } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      out = std::string("ERROR: ") + PQresultErrorMessage(r);
    }
    PQclear(r);
    return out;
  };
  const std::string methods = "\x1fpassword\x1fpassword+totp\x1f";
  const std::string failures =
      "\x1f"
      "failure\x1flocked\x1f";
  struct Case {
    std::string label;
    const char* sql;
    std::vector<const char*> values;
  };
  std::vector<Case> cases;
  for (LockBucket bucket : {LockBucket::kInteractive, LockBucket::kAppPassword}) {
    const bool app = bucket == LockBucket::kAppPassword;
    for (bool last : {true, false}) {
      Case c{std::string(app ? "app-password " : "") + "success" +
                 (last ? " with the last sign-in" : ""),
             postgres_internal::SuccessSqlFor(bucket, last),
             {"alice", "2000000", "100000", "2000001", "alice", app ? "imap" : "sshd", "192.0.2.8",
              app ? "app-password" : "password", "success", "", "1", "t"}};
      if (last) c.values.insert(c.values.end(), {methods.c_str(), failures.c_str()});
      cases.push_back(std::move(c));
    }
  }
  cases.push_back({"pruning in passing", postgres_internal::kPruneInPassingSql, {"100000"}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    ASSERT_EQ(exec("BEGIN"), "");
    PGresult* prepared = PQprepare(conn, "s", c.sql, 0, nullptr);
    ASSERT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQresultErrorMessage(prepared);
    PQclear(prepared);
    for (int i = 0; i < 8; ++i) {
      PGresult* r = PQexecPrepared(conn, "s", static_cast<int>(c.values.size()), c.values.data(),
                                   nullptr, nullptr, 0);
      ASSERT_TRUE(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
          << PQresultErrorMessage(r);
      PQclear(r);
    }
    // The server's own count for this session's statement.
    const std::string generic =
        exec("SELECT generic_plans FROM pg_prepared_statements WHERE name = 's'");
    ASSERT_EQ(generic.rfind("ERROR", 0), std::string::npos) << generic;
    EXPECT_GE(std::stol(generic), 1) << "planned again at every execution";
    std::string nulls;
    for (size_t i = 0; i < c.values.size(); ++i) nulls += i == 0 ? "NULL" : ", NULL";
    ASSERT_EQ(exec("SET LOCAL plan_cache_mode = force_generic_plan"), "");
    const std::string plan = exec("EXPLAIN (FORMAT JSON) EXECUTE s(" + nulls + ")");
    ASSERT_EQ(plan.rfind("ERROR", 0), std::string::npos) << plan;
    EXPECT_EQ(plan.find("\"Seq Scan\""), std::string::npos) << plan;
    ASSERT_EQ(exec("ROLLBACK"), "");
    ASSERT_EQ(exec("DEALLOCATE s"), "");
  }
  PQfinish(conn);
}

// A listener that accepts TCP connections and never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(PostgresStoreTest, ASilentServerIsBoundedByTheConnectTimeout) {
  SilentListener silent;  // the kernel completes the handshake; nobody reads
  PostgresOptions options = Options("host=127.0.0.1 port=" + std::to_string(silent.port()) +
                                    " dbname=sesame user=sesame sslrootcert=" + facts_["PG_CA"]);
  options.connect_timeout_s = 2;
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenPostgresStore(options);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_TRUE(
      Contains(store.status().message(), "host=127.0.0.1 port=" + std::to_string(silent.port())))
      << store.status().message();
  EXPECT_LT(took, std::chrono::seconds(5));
  // It waited (a refused connection ends in milliseconds): libpq's deadline
  // is time() + 2 in whole seconds, so a start late in a second ends just
  // over 1 s later.
  EXPECT_GE(took, std::chrono::milliseconds(1000));
}

// The server process of our session, found through the admin connection
// ("" when there is none).
std::string SessionPid(const std::string& admin_dsn, const std::string& db) {
  const std::string pid = PostgresValue(
      admin_dsn, "SELECT pid FROM pg_stat_activity WHERE datname = '" + db +
                     "' AND application_name = 'sesame' ORDER BY backend_start DESC LIMIT 1");
  return pid.rfind("ERROR: ", 0) == 0 ? std::string() : pid;
}

TEST_F(PostgresStoreTest, AStoppedServerProcessIsBoundedByTheStatementDeadline) {
  auto store = OpenPostgresStore(Options(socket_dsn_, true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  const std::string pid = SessionPid(facts_["PG_ADMIN_DSN"], db_);
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(kill(std::stoi(pid), SIGSTOP), 0);
  const auto start = std::chrono::steady_clock::now();
  auto read = (*store)->GetUser("alice");
  const auto took = std::chrono::steady_clock::now() - start;
  kill(std::stoi(pid), SIGCONT);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kUnavailable);
  EXPECT_TRUE(Contains(read.status().message(), "no answer within")) << read.status().message();
  EXPECT_LT(took, std::chrono::seconds(4));
  // The rest of the call does not wait again: this object fails at once,
  // and says it can no longer be used; a new one (the PAM module's pool
  // opens one for the next call) works.
  const auto second = std::chrono::steady_clock::now();
  auto after = (*store)->RecordEvent(testing::Event("alice", 2000, "error"));
  EXPECT_EQ(after.code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - second, std::chrono::milliseconds(200));
  EXPECT_FALSE((*store)->StillUsable().ok());
  auto reopened = OpenPostgresStore(Options(socket_dsn_));
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  auto again = (*reopened)->GetUser("alice");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->has_value());
}

TEST_F(PostgresStoreTest, ASessionTheServerEndedIsOpenedAgainUnseen) {
  auto store = OpenPostgresStore(Options(socket_dsn_, true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  const std::string pid = SessionPid(facts_["PG_ADMIN_DSN"], db_);
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(PostgresValue(facts_["PG_ADMIN_DSN"], "SELECT pg_terminate_backend(" + pid + ")"), "t");
  // As after a restart or a failover: the session has ended (the server
  // said so and closed the connection) before the next sign-in; the kept
  // connection is dead, and the next write reconnects and runs once,
  // whole. (A session that ends while a statement is on its way fails that
  // one call closed: docs/storage.md, "Kept connections".)
  for (int i = 0; i < 500 && SessionPid(facts_["PG_ADMIN_DSN"], db_) == pid; ++i) usleep(10000);
  ASSERT_NE(SessionPid(facts_["PG_ADMIN_DSN"], db_), pid);
  usleep(50000);  // the close on its way to this end
  auto reserved = (*store)->ReserveAttempt("alice", 2000, LockoutPolicy{}, "");
  ASSERT_TRUE(reserved.ok()) << reserved.status().message();
  EXPECT_EQ(reserved->failures, 1);
  EXPECT_EQ((*store)->GetUser("alice").value()->failures, 1);
  EXPECT_NE(SessionPid(facts_["PG_ADMIN_DSN"], db_), pid);
}

// What a password sign-in does once the password is typed
// (Store::GetUserForSignInAndReserve) goes in ONE round trip in the usual
// case; GetUserForSignIn then ReserveAttempt take two. That the answers are
// the same is the conformance suite's (GetUserForSignInAndReserve...).
// Where the kept connection may be broken, it goes the default way, which
// opens it again unseen, and counts the attempt once.
TEST_F(PostgresStoreTest, ASignInReadsItsUserAndReservesInOneRoundTrip) {
  auto opened = OpenPostgresStore(Options(socket_dsn_, true));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  auto* store = dynamic_cast<postgres_internal::PostgresStore*>(opened->get());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{5, 900, 600};
  auto failures = [&]() {
    auto u = store->GetUser("alice");
    EXPECT_TRUE(u.ok() && u->has_value());
    return u.ok() && u->has_value() ? (*u)->failures : -1;
  };
  auto reserve = [&](int64_t now) -> int64_t {  // round trips taken
    const int64_t before = store->round_trips();
    auto start = store->GetUserForSignInAndReserve("alice", now, policy, "");
    EXPECT_TRUE(start.ok()) << start.status().message();
    if (!start.ok()) return -1;
    EXPECT_TRUE(start->user.has_value());
    EXPECT_TRUE(start->reservation.has_value() && start->reservation->ok());
    return store->round_trips() - before;
  };
  EXPECT_EQ(reserve(2000), 1) << "the statement's PREPARE goes in the same round trip";
  EXPECT_EQ(reserve(2001), 1);
  EXPECT_EQ(failures(), 2);
  int64_t before = store->round_trips();
  ASSERT_TRUE(store->GetUserForSignIn("alice").ok());
  ASSERT_TRUE(store->ReserveAttempt("alice", 2002, policy, "").ok());
  EXPECT_EQ(store->round_trips() - before, 2) << "the default way, for comparison";
  EXPECT_EQ(failures(), 3);

  // The session ended by the server (a restart, a failover) before the
  // sign-in: opened again unseen, and counted once.
  std::string pid = SessionPid(facts_["PG_ADMIN_DSN"], db_);
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(PostgresValue(facts_["PG_ADMIN_DSN"], "SELECT pg_terminate_backend(" + pid + ")"), "t");
  for (int i = 0; i < 500 && SessionPid(facts_["PG_ADMIN_DSN"], db_) == pid; ++i) usleep(10000);
  usleep(50000);  // the close on its way to this end
  EXPECT_GE(reserve(2003), 2) << "the read found the connection closed, then the reservation";
  EXPECT_EQ(failures(), 4);

  // A write that found its connection broken fails closed and drops it;
  // the next sign-in opens a new one and goes in one round trip.
  pid = SessionPid(facts_["PG_ADMIN_DSN"], db_);
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(PostgresValue(facts_["PG_ADMIN_DSN"], "SELECT pg_terminate_backend(" + pid + ")"), "t");
  for (int i = 0; i < 500 && SessionPid(facts_["PG_ADMIN_DSN"], db_) == pid; ++i) usleep(10000);
  Settlement success;
  success.kind = Settlement::Kind::kSuccess;
  success.reservation.window = 2000;
  success.policy = policy;
  EXPECT_FALSE(store->SettleAttempt("alice", success, nullptr).ok());
  EXPECT_EQ(reserve(2004), 1);
  EXPECT_EQ(failures(), 5);
}

TEST_F(PostgresStoreTest, AForkedChildNeverUsesItsParentsConnection) {
  auto store = OpenPostgresStore(Options(socket_dsn_, true));
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->AddUser(User("alice")).ok());
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto read = (*store)->GetUser("alice");
    const bool refused = !read.ok() && Contains(read.status().message(), "fork");
    Status usable = (*store)->StillUsable();
    _exit(refused && !usable.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The parent's connection is still its own and works.
  EXPECT_TRUE((*store)->StillUsable().ok());
  EXPECT_TRUE((*store)->GetUser("alice").ok());
}

TEST_F(PostgresStoreTest, AReadOnlyServerIsRefusedClearly) {
  ASSERT_TRUE(OpenPostgresStore(Options(socket_dsn_, true)).ok());
  // A standby refuses writes as a read-only transaction does; the
  // connection itself is refused by target_session_attrs=read-write.
  ASSERT_EQ(PostgresRun(facts_["PG_ADMIN_DSN"],
                        "ALTER DATABASE " + db_ + " SET default_transaction_read_only = on"),
            "");
  auto store = OpenPostgresStore(Options(socket_dsn_));
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(Contains(store.status().message(), "read-write")) << store.status().message();
}

}  // namespace
}  // namespace sesame

#endif  // SESAME_WITH_POSTGRES
