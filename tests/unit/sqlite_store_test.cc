// What only the SQLite backend has: its file (created 0600 whatever the
// umask, refused when unsafe, a symlink, garbage or someone else's
// database), WAL, the migrations from each older schema, the refusal of a
// newer one, messages that name the file, and rows checked with raw SQL.
// What every backend must do is the conformance suite
// (tests/unit/store_contract_test.cc), which runs against SQLite too.
#include "core/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/fakes/store_backends.h"

namespace sesame {
namespace {

using testing::User;
using testing::Wrong;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("SESAME_TEST_TMPDIR");
    std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
    if (mkdir(base.c_str(), 0700) != 0) {
      ASSERT_EQ(errno, EEXIST) << base;
    }
    std::string tmpl = base + "/sqlite_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl;
    dir_ = tmpl;
    ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
    path_ = dir_ + "/sesame.db";
  }

  void TearDown() override {
    if (!dir_.empty()) nftw(dir_.c_str(), testing::RemoveTreeEntry, 16, FTW_DEPTH | FTW_PHYS);
  }

  static SqliteOptions Options(bool create = false) {
    SqliteOptions options;
    options.create = create;
    options.busy_timeout_ms = 5000;
    options.trust = TrustRule{geteuid(), false};
    return options;
  }

  std::unique_ptr<Store> MustOpen(bool create = false) {
    auto store = OpenSqliteStore(path_, Options(create));
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Runs raw SQL on `path` outside the Store (to build old or odd files).
  static void RawExec(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
    ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  }

  // One integer from raw SQL on `path` outside the Store (-1 on any error).
  static int64_t RawInt(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    int64_t value = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        value = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return value;
  }

  static void WriteFile(const std::string& path, const std::string& data) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, CreateThenReopen) {
  mode_t old_umask = umask(0);  // the file mode must not depend on the umask
  auto store = MustOpen(/*create=*/true);
  umask(old_umask);
  ASSERT_NE(store, nullptr);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kSqliteSchemaVersion);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  // While open in WAL mode, the -wal file takes the database's mode.
  ASSERT_EQ(stat((path_ + "-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  store.reset();

  store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->password_hash, User("alice").password_hash);

  // create=true on an existing store just opens it.
  store.reset();
  store = MustOpen(/*create=*/true);
  ASSERT_NE(store, nullptr);
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->size(), 1u);
}

TEST_F(SqliteStoreTest, MissingFileWithoutCreate) {
  auto store = OpenSqliteStore(path_, Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kNotFound);
  EXPECT_NE(store.status().message().find(path_), std::string::npos);
  EXPECT_NE(store.status().message().find("sesame-admin init"), std::string::npos);
  EXPECT_NE(access(path_.c_str(), F_OK), 0);  // nothing was created
}

TEST_F(SqliteStoreTest, GarbageFileIsCorrupt) {
  for (const std::string& garbage :
       {std::string("hello, not a database\n"), std::string(8192, '\xa5')}) {
    WriteFile(path_, garbage);
    auto store = OpenSqliteStore(path_, Options(/*create=*/true));
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), Code::kCorrupt) << store.status().message();
    EXPECT_NE(store.status().message().find(path_), std::string::npos);
    struct stat st;
    ASSERT_EQ(stat(path_.c_str(), &st), 0);
    EXPECT_EQ(static_cast<size_t>(st.st_size), garbage.size());  // left untouched
  }
}

TEST_F(SqliteStoreTest, EmptyOrForeignFileRefused) {
  WriteFile(path_, "");
  auto store = OpenSqliteStore(path_, Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("sesame-admin init"), std::string::npos);
  unlink(path_.c_str());

  RawExec(path_, "CREATE TABLE something_else(x INTEGER);");
  store = OpenSqliteStore(path_, Options(true));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kCorrupt) << store.status().message();
  EXPECT_NE(store.status().message().find(path_), std::string::npos);
}

TEST_F(SqliteStoreTest, UnsafeFileRefused) {
  ASSERT_NE(MustOpen(true), nullptr);
  ASSERT_EQ(chmod(path_.c_str(), 0666), 0);
  auto store = OpenSqliteStore(path_, Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kPermissionDenied) << store.status().message();
}

TEST_F(SqliteStoreTest, UnsafeDirectoryRefused) {
  ASSERT_NE(MustOpen(true), nullptr);
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  auto store = OpenSqliteStore(path_, Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kPermissionDenied) << store.status().message();

  // Nor is a new store created there.
  const std::string other = dir_ + "/new.db";
  store = OpenSqliteStore(other, Options(true));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kPermissionDenied) << store.status().message();
  EXPECT_NE(access(other.c_str(), F_OK), 0);
}

TEST_F(SqliteStoreTest, SymlinkRefused) {
  ASSERT_NE(MustOpen(true), nullptr);
  const std::string link = dir_ + "/link.db";
  ASSERT_EQ(symlink(path_.c_str(), link.c_str()), 0);
  auto store = OpenSqliteStore(link, Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kPermissionDenied) << store.status().message();

  // A dangling symlink is not followed to create its target.
  const std::string dangling = dir_ + "/dangling.db";
  const std::string target = dir_ + "/target.db";
  ASSERT_EQ(symlink(target.c_str(), dangling.c_str()), 0);
  store = OpenSqliteStore(dangling, Options(true));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(access(target.c_str(), F_OK), 0);
}

constexpr char kV1Schema[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "INSERT INTO schema_version(version) VALUES (1);"
    "CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    "  user TEXT NOT NULL, service TEXT NOT NULL, remote_host TEXT NOT NULL,"
    "  method TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);"
    "INSERT INTO users(name, password_hash, disabled, created) VALUES ('alice', 'h1', 1, 4242);"
    "INSERT INTO events(time, user, service, remote_host, method, outcome, detail)"
    "  VALUES (4300, 'alice', 'login', '', 'password', 'success', '');";

// The columns added by version 3 hold their defaults (must_change,
// failures, first_failure, locked_until).
void ExpectVersion3Defaults(const UserRecord& user) { testing::ExpectNoFailures(user); }

// The columns added by version 4 hold their defaults (totp_sealed,
// totp_last_step).
void ExpectVersion4Defaults(const UserRecord& user) { testing::ExpectNoAuthenticator(user); }

// The columns added by version 5 hold their defaults (mfa_required,
// mfa_required_since).
void ExpectVersion5Defaults(const UserRecord& user) { testing::ExpectNoMfaRequirement(user); }

TEST_F(SqliteStoreTest, MigratesVersion1) {
  RawExec(path_, kV1Schema);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kSqliteSchemaVersion);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->password_hash, "h1");
  EXPECT_TRUE((*alice)->disabled);
  EXPECT_EQ((*alice)->created, 4242);
  EXPECT_EQ((*alice)->password_changed, 4242);
  ExpectVersion3Defaults(**alice);
  ExpectVersion4Defaults(**alice);
  ExpectVersion5Defaults(**alice);
  auto codes = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(codes.ok());
  EXPECT_EQ(*codes, 0);
  auto events = store->ListEvents({});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].service, "login");
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
  store.reset();

  // The indexes from versions 2 and 3 and the table from version 4 exist;
  // the version row is still single.
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM sqlite_master WHERE name = 'events_user_time'"), 1);
  EXPECT_EQ(
      RawInt(path_, "SELECT count(*) FROM sqlite_master WHERE name = 'password_history_user'"), 1);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM sqlite_master WHERE name = 'recovery_codes'"), 1);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM schema_version"), 1);
}

constexpr char kV2Schema[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "INSERT INTO schema_version(version) VALUES (2);"
    "CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    "  password_changed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    "  user TEXT NOT NULL, service TEXT NOT NULL, remote_host TEXT NOT NULL,"
    "  method TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX events_user_time ON events(user, time);"
    "INSERT INTO users VALUES ('alice', 'h1', 0, 4242, 5000);"
    "INSERT INTO users VALUES ('bob', '', 1, 4243, 4243);"
    "INSERT INTO events(time, user, service, remote_host, method, outcome, detail)"
    "  VALUES (4300, 'alice', 'sshd', '192.0.2.1', 'password', 'failure', 'wrong password');";

TEST_F(SqliteStoreTest, MigratesVersion2) {
  RawExec(path_, kV2Schema);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kSqliteSchemaVersion);
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[0].password_hash, "h1");
  EXPECT_FALSE((*users)[0].disabled);
  EXPECT_EQ((*users)[0].created, 4242);
  EXPECT_EQ((*users)[0].password_changed, 5000);
  ExpectVersion3Defaults((*users)[0]);
  ExpectVersion4Defaults((*users)[0]);
  EXPECT_EQ((*users)[1].name, "bob");
  EXPECT_EQ((*users)[1].password_hash, "");
  EXPECT_TRUE((*users)[1].disabled);
  ExpectVersion3Defaults((*users)[1]);
  ExpectVersion4Defaults((*users)[1]);
  ExpectVersion5Defaults((*users)[1]);
  auto events = store->ListEvents({});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].detail, "wrong password");

  // The new table works on a migrated store, history dated from the old row.
  ASSERT_TRUE(store->SetPassword("alice", "h2", 6000, false, 5).ok());
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, std::vector<std::string>{"h1"});
  store.reset();
  EXPECT_EQ(RawInt(path_, "SELECT changed FROM password_history WHERE user = 'alice'"), 5000);
  EXPECT_EQ(RawInt(path_, "SELECT version FROM schema_version"), kSqliteSchemaVersion);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM schema_version"), 1);
}

// Version 3 exactly as migration 2 left it (docs/storage.md).
constexpr char kV3Schema[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "INSERT INTO schema_version(version) VALUES (3);"
    "CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    "  password_changed INTEGER NOT NULL DEFAULT 0,"
    "  must_change INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
    "  first_failure INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    "  user TEXT NOT NULL, service TEXT NOT NULL, remote_host TEXT NOT NULL,"
    "  method TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX events_user_time ON events(user, time);"
    "CREATE TABLE password_history(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  hash TEXT NOT NULL, changed INTEGER NOT NULL);"
    "CREATE INDEX password_history_user ON password_history(user, id);"
    "INSERT INTO users VALUES ('alice', 'h2', 0, 4242, 5000, 1, 2, 4900, 6000);"
    "INSERT INTO users VALUES ('bob', '', 1, 4243, 4243, 0, 0, 0, 0);"
    "INSERT INTO password_history(user, hash, changed) VALUES ('alice', 'h1', 4242);";

TEST_F(SqliteStoreTest, MigratesVersion3) {
  RawExec(path_, kV3Schema);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kSqliteSchemaVersion);
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  const UserRecord& alice = (*users)[0];
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.password_hash, "h2");
  EXPECT_EQ(alice.password_changed, 5000);
  EXPECT_TRUE(alice.must_change);
  EXPECT_EQ(alice.failures, 2);
  EXPECT_EQ(alice.first_failure, 4900);
  EXPECT_EQ(alice.locked_until, 6000);
  ExpectVersion4Defaults(alice);
  EXPECT_EQ((*users)[1].name, "bob");
  ExpectVersion3Defaults((*users)[1]);
  ExpectVersion4Defaults((*users)[1]);
  ExpectVersion5Defaults((*users)[1]);
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, std::vector<std::string>{"h1"});

  // The new columns and table work on a migrated store.
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2"}).ok());
  auto codes = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(codes.ok());
  EXPECT_EQ(*codes, 2);
  // (alice's lock from version 3 ran out at 6000)
  auto used = store->UseTotpStep("alice", 7, LockGuard{true, 7000});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  // And the cascade: removing alice removes her codes.
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  store.reset();
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 0);
  EXPECT_EQ(RawInt(path_, "SELECT version FROM schema_version"), kSqliteSchemaVersion);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM schema_version"), 1);
}

// Version 4 exactly as migration 3 left it (docs/storage.md).
constexpr char kV4Schema[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "INSERT INTO schema_version(version) VALUES (4);"
    "CREATE TABLE users(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    "  password_changed INTEGER NOT NULL DEFAULT 0,"
    "  must_change INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
    "  first_failure INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,"
    "  totp_sealed TEXT NOT NULL DEFAULT '', totp_last_step INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    "  user TEXT NOT NULL, service TEXT NOT NULL, remote_host TEXT NOT NULL,"
    "  method TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX events_user_time ON events(user, time);"
    "CREATE TABLE password_history(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  hash TEXT NOT NULL, changed INTEGER NOT NULL);"
    "CREATE INDEX password_history_user ON password_history(user, id);"
    "CREATE TABLE recovery_codes(user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  digest TEXT NOT NULL, PRIMARY KEY(user, digest)) WITHOUT ROWID;"
    "INSERT INTO users VALUES ('alice', 'h2', 0, 4242, 5000, 0, 0, 0, 0, 'sealed-a', 77);"
    "INSERT INTO users VALUES ('bob', 'h3', 0, 4243, 4243, 0, 0, 0, 0, '', -1);"
    "INSERT INTO recovery_codes VALUES ('alice', 'd1');";

TEST_F(SqliteStoreTest, MigratesVersion4) {
  RawExec(path_, kV4Schema);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kSqliteSchemaVersion);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-a");
  EXPECT_EQ((*alice)->totp_last_step, 77);
  ExpectVersion5Defaults(**alice);
  auto codes = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(codes.ok());
  EXPECT_EQ(*codes, 1);
  // The new columns and table work on a migrated store.
  ASSERT_TRUE(store->SetMfaRequired("bob", true, 9000).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("staff", true, 9000).ok());
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_TRUE((*bob)->mfa_required);
  EXPECT_EQ((*bob)->mfa_required_since, 9000);
  auto groups = store->MfaRequiredGroups();
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, std::vector<std::string>{"staff"});
  // Version 6's remembered wrong attempts work on a migrated store.
  const LockoutPolicy policy{5, 900, 600};
  const std::string digest(kWrongAttemptDigestChars, 'c');
  Wrong(*store, "alice", 9000, policy, digest);
  Reservation again = Wrong(*store, "alice", 9001, policy, digest);
  EXPECT_EQ(again.verdict, Reservation::Verdict::kRepeated);
  EXPECT_EQ(again.failures, 1);
  store.reset();
  EXPECT_EQ(RawInt(path_, "SELECT version FROM schema_version"), kSqliteSchemaVersion);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM schema_version"), 1);
}

// Version 6: version 4, then migrations 4 and 5 as shipped, and an event.
TEST_F(SqliteStoreTest, MigratesVersion6) {
  RawExec(path_, kV4Schema);
  RawExec(path_,
          "ALTER TABLE users ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE users ADD COLUMN mfa_required_since INTEGER NOT NULL DEFAULT 0;"
          "CREATE TABLE mfa_required_groups(name TEXT PRIMARY KEY, since INTEGER NOT NULL) "
          "WITHOUT ROWID;"
          "ALTER TABLE users ADD COLUMN recent_failures TEXT NOT NULL DEFAULT '';"
          "UPDATE users SET failures = 2, first_failure = 9000 WHERE name = 'alice';"
          "INSERT INTO events(time, user, service, remote_host, method, outcome, detail) "
          "VALUES (9000, 'alice', 'sshd', '', 'password', 'failure', 'wrong password');"
          "UPDATE schema_version SET version = 6;");
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->SchemaVersion().value(), kSqliteSchemaVersion);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, 2);
  EXPECT_EQ((*alice)->pending_attempts, 0);
  auto events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().count, 1);
  // The new columns work on a migrated store.
  Reservation r = store->ReserveAttempt("alice", 9001, LockoutPolicy{5, 900, 600}, "").value();
  EXPECT_EQ(r.failures, 3);
  EXPECT_EQ(store->GetUser("alice").value()->pending_attempts, 1);
  SignInEvent again = events->front();
  again.time = 9002;
  ASSERT_TRUE(store->RecordEvent(again, 60).ok());
  events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().count, 2);
  EXPECT_EQ(events->front().time, 9002);
}

// Version 10 dropped events_user_host_success (the new-host mark is one
// pass over each listed user's events instead): a store of version 9 loses
// it at its next open, and its events keep their marks.
TEST_F(SqliteStoreTest, MigratesVersion9WithoutTheNewHostIndex) {
  {
    auto store = MustOpen(/*create=*/true);
    ASSERT_NE(store, nullptr);
    SignInEvent e;
    e.user = "alice";
    e.service = "sshd";
    e.method = "password";
    e.outcome = "success";
    e.detail = "ok";
    for (int64_t t : {100, 200}) {
      e.time = t;
      e.remote_host = t == 100 ? "192.0.2.1" : "198.51.100.9";
      ASSERT_TRUE(store->RecordEvent(e).ok());
    }
  }
  RawExec(path_,
          "CREATE INDEX events_user_host_success ON events(user, remote_host, id) "
          "WHERE outcome = 'success'; UPDATE schema_version SET version = 9;");
  ASSERT_EQ(
      RawInt(path_, "SELECT count(*) FROM sqlite_master WHERE name = 'events_user_host_success'"),
      1);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->SchemaVersion().value(), kSqliteSchemaVersion);
  EventFilter filter;
  filter.mark_new_hosts = true;
  auto events = store->ListEvents(filter);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_TRUE((*events)[0].new_host);
  EXPECT_TRUE((*events)[1].new_host);
  store.reset();
  EXPECT_EQ(
      RawInt(path_, "SELECT count(*) FROM sqlite_master WHERE name = 'events_user_host_success'"),
      0);
  // What is left on events: the two indexes pruning and the user's
  // listings use.
  EXPECT_EQ(RawInt(path_,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                   "'events' AND name IN ('events_time', 'events_user_time')"),
            2);
  EXPECT_EQ(RawInt(path_,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                   "'events' AND sql IS NOT NULL"),
            2);
}

TEST_F(SqliteStoreTest, OldVersionWithoutMigrateRefused) {
  RawExec(path_, kV1Schema);
  SqliteOptions options = Options();
  options.migrate = false;
  auto store = OpenSqliteStore(path_, options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("db migrate"), std::string::npos)
      << store.status().message();
  // Still version 1 afterwards.
  RawExec(path_, "SELECT 1 / (SELECT version = 1 FROM schema_version);");
}

TEST_F(SqliteStoreTest, NewerVersionRefused) {
  ASSERT_NE(MustOpen(true), nullptr);
  RawExec(path_, "UPDATE schema_version SET version = 99;");
  auto store = OpenSqliteStore(path_, Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  const std::string& message = store.status().message();
  EXPECT_NE(message.find("99"), std::string::npos) << message;
  EXPECT_NE(message.find("upgrade sesame"), std::string::npos) << message;
  EXPECT_NE(message.find(path_), std::string::npos) << message;
}

TEST_F(SqliteStoreTest, LockedStoreIsBusyWithContext) {
  ASSERT_NE(MustOpen(true), nullptr);
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &holder, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  SqliteOptions options = Options();
  options.busy_timeout_ms = 50;
  auto store = OpenSqliteStore(path_, options);
  ASSERT_TRUE(store.ok()) << store.status().message();  // readers are not blocked
  auto got = (*store)->GetUser("alice");
  EXPECT_TRUE(got.ok());
  Status st = (*store)->AddUser(User("alice"));
  EXPECT_EQ(st.code(), Code::kBusy);
  EXPECT_NE(st.message().find(path_ + " is busy (waited 50 ms)"), std::string::npos)
      << st.message();

  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_TRUE((*store)->AddUser(User("alice")).ok());
}

// A refusal for a user the store does not have names the file it came
// from (the contract tests check the code and the name; the path is
// SQLite's).
TEST_F(SqliteStoreTest, NotFoundMessagesNameTheFile) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  auto reserved = store->ReserveAttempt("nobody", 6000, LockoutPolicy{}, "");
  ASSERT_FALSE(reserved.ok());
  EXPECT_EQ(reserved.status().code(), Code::kNotFound);
  EXPECT_NE(reserved.status().message().find(path_), std::string::npos);
  Status must_change = store->SetMustChange("nobody", true);
  EXPECT_EQ(must_change.code(), Code::kNotFound);
  EXPECT_NE(must_change.message().find(path_), std::string::npos);
  Status cleared = store->ClearMfa("nobody");
  EXPECT_EQ(cleared.code(), Code::kNotFound);
  EXPECT_NE(cleared.message().find(path_), std::string::npos);
  auto step = store->UseTotpStep("nobody", 5, LockGuard{});
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), Code::kNotFound);
  EXPECT_NE(step.status().message().find(path_), std::string::npos);
  auto code = store->UseRecoveryCode("nobody", "d1", LockGuard{});
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.status().code(), Code::kNotFound);
  EXPECT_NE(code.status().message().find(path_), std::string::npos);
}

// Each row of password_history is dated when that hash was set (no Store
// method reads the dates).
TEST_F(SqliteStoreTest, PasswordHistoryRowsAreDated) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  UserRecord alice = User("alice", 100);
  alice.password_hash = "h0";
  ASSERT_TRUE(store->AddUser(alice).ok());
  // Four changes keeping 2: h0 and h1 fall out.
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(
        store->SetPassword("alice", "h" + std::to_string(i), 100 + 100 * i, i == 4, 2).ok());
  }
  EXPECT_EQ(RawInt(path_, "SELECT changed FROM password_history ORDER BY id DESC LIMIT 1"), 400);
  EXPECT_EQ(RawInt(path_, "SELECT min(changed) FROM password_history"), 300);
}

// Removing a user deletes the rows that hang off it (ON DELETE CASCADE):
// history and recovery codes, and no one else's.
TEST_F(SqliteStoreTest, RowsOfARemovedUserAreDeleted) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetPassword("alice", "a1", 2000, false, 5).ok());
  ASSERT_TRUE(store->SetPassword("alice", "a2", 3000, false, 5).ok());
  ASSERT_TRUE(store->SetPassword("bob", "b1", 2000, false, 5).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM password_history WHERE user = 'alice'"), 0);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM password_history"), 1);  // bob's
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE user = 'alice'"), 0);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 1);  // bob's
}

// Refused calls leave no row behind (the contract tests see the same
// through the Store's methods).
TEST_F(SqliteStoreTest, RefusedCallsWriteNoRows) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  // Recovery codes without an authenticator.
  EXPECT_EQ(store->SetRecoveryCodes("alice", {"d1"}).code(), Code::kNotFound);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 0);
  // An authenticator for no such user.
  EXPECT_EQ(store->SetTotp("nobody", "sealed", {"d1"}).code(), Code::kNotFound);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE user = 'nobody'"), 0);
  // Bad digests: refused whole.
  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2"}).ok());
  EXPECT_EQ(store->SetTotp("alice", "sealed-2", {"e1", ""}).code(), Code::kInvalidArgument);
  EXPECT_EQ(store->SetTotp("alice", "sealed-2", {"e1", "e2", "e1"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE digest IN ('d1', 'd2')"), 2);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 2);
  // An enrollment that lost the compare-and-set.
  EXPECT_EQ(store->EnrollTotp("alice", "", "sealed-x", {"x1"}, 101).code(), Code::kAlreadyExists);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE digest = 'x1'"), 0);
}

}  // namespace
}  // namespace sesame
