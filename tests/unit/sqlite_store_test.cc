// Tests for the SQLite Store backend: records, events, lockout counters,
// password history, authenticator and recovery codes, file safety, schema
// migrations and concurrent writers across processes.
#include "core/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace sesame {
namespace {

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) { return remove(path); }

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
    if (!dir_.empty()) nftw(dir_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
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

  static UserRecord User(const std::string& name, int64_t created = 1000) {
    UserRecord user;
    user.name = name;
    user.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA";
    user.created = created;
    user.password_changed = created;
    return user;
  }

  static SignInEvent Event(const std::string& user, int64_t time, const std::string& outcome) {
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

  std::string dir_;
  std::string path_;
};

// A digest of a wrong secret, as WrongAttemptDigest makes them.
std::string Digest(char c) { return std::string(kWrongAttemptDigestChars, c); }

// What one wrong attempt does: reserved, then settled as wrong with its
// digest (the flows in core/flows/sign_in.cc do exactly this). A reserved
// attempt's locked_until is the lock its settlement set.
Reservation Wrong(Store& store, const std::string& name, int64_t now, const LockoutPolicy& policy,
                  const std::string& digest = "") {
  auto r = store.ReserveAttempt(name, now, policy, digest);
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

TEST_F(SqliteStoreTest, UserLifecycle) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  UserRecord carol = User("carol", 30);
  carol.password_hash = "";  // no password set: empty, not NULL
  ASSERT_TRUE(store->AddUser(User("bob", 20)).ok());
  ASSERT_TRUE(store->AddUser(carol).ok());
  ASSERT_TRUE(store->AddUser(User("alice", 10)).ok());

  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[1].name, "bob");
  EXPECT_EQ((*users)[2].name, "carol");
  EXPECT_EQ((*users)[2].password_hash, "");
  EXPECT_EQ((*users)[0].created, 10);
  EXPECT_EQ((*users)[0].password_changed, 10);

  ASSERT_TRUE(store->SetDisabled("bob", true).ok());
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_TRUE((*bob)->disabled);
  ASSERT_TRUE(store->SetDisabled("bob", false).ok());
  bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_FALSE((*bob)->disabled);

  ASSERT_TRUE(store->RemoveUser("bob").ok());
  bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(bob->has_value());
  // Names are compared byte for byte.
  auto upper = store->GetUser("ALICE");
  ASSERT_TRUE(upper.ok());
  EXPECT_FALSE(upper->has_value());
}

TEST_F(SqliteStoreTest, DuplicateAddAndNotFound) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  Status dup = store->AddUser(User("alice"));
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_NE(dup.message().find("alice"), std::string::npos) << dup.message();

  auto missing = store->GetUser("nobody");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  Status removed = store->RemoveUser("nobody");
  EXPECT_EQ(removed.code(), Code::kNotFound);
  EXPECT_NE(removed.message().find("nobody"), std::string::npos);
  EXPECT_EQ(store->SetDisabled("nobody", true).code(), Code::kNotFound);
}

TEST_F(SqliteStoreTest, ReplacePasswordHashIsCompareAndSet) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  const UserRecord alice = User("alice", 100);
  ASSERT_TRUE(store->AddUser(alice).ok());

  auto replaced = store->ReplacePasswordHash("alice", "stale", "new1", 0);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(*replaced);
  auto got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, alice.password_hash);

  // A rehash (changed_at == 0) keeps password_changed.
  replaced = store->ReplacePasswordHash("alice", alice.password_hash, "new1", 0);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(*replaced);
  got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "new1");
  EXPECT_EQ((*got)->password_changed, 100);

  // A real change records when.
  replaced = store->ReplacePasswordHash("alice", "new1", "new2", 555);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(*replaced);
  got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "new2");
  EXPECT_EQ((*got)->password_changed, 555);

  replaced = store->ReplacePasswordHash("nobody", "x", "y", 1);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(*replaced);
}

TEST_F(SqliteStoreTest, EventsFilterAndLimit) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->RecordEvent(Event("alice", 100, "success")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("bob", 110, "failure")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("alice", 120, "failure")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("alice", 130, "success")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("bob", 140, "success")).ok());
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());  // events are kept

  auto all = store->ListEvents({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].time, 100);
  EXPECT_EQ((*all)[4].time, 140);
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  EXPECT_EQ((*all)[1].service, "sshd");
  EXPECT_EQ((*all)[1].remote_host, "192.0.2.7");
  EXPECT_EQ((*all)[1].method, "password");
  EXPECT_EQ((*all)[1].outcome, "failure");
  EXPECT_EQ((*all)[1].detail, "");

  EventFilter filter;
  filter.user = "alice";
  auto alice = store->ListEvents(filter);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 3u);
  EXPECT_EQ((*alice)[0].time, 100);
  EXPECT_EQ((*alice)[2].time, 130);

  filter.limit = 2;  // newest two, oldest first
  alice = store->ListEvents(filter);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].time, 120);
  EXPECT_EQ((*alice)[1].time, 130);

  EventFilter since;
  since.since = 120;  // inclusive
  auto recent = store->ListEvents(since);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].time, 120);
  since.limit = 1;
  recent = store->ListEvents(since);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].user, "bob");
  EXPECT_EQ((*recent)[0].time, 140);
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

// The columns added by version 3 hold their defaults.
void ExpectVersion3Defaults(const UserRecord& user) {
  EXPECT_FALSE(user.must_change);
  EXPECT_EQ(user.failures, 0);
  EXPECT_EQ(user.first_failure, 0);
  EXPECT_EQ(user.locked_until, 0);
}

// The columns added by version 4 hold their defaults.
void ExpectVersion4Defaults(const UserRecord& user) {
  EXPECT_EQ(user.totp_sealed, "");
  EXPECT_EQ(user.totp_last_step, -1);
}

// The columns added by version 5 hold their defaults.
void ExpectVersion5Defaults(const UserRecord& user) {
  EXPECT_FALSE(user.mfa_required);
  EXPECT_EQ(user.mfa_required_since, 0);
}

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

// Coalescing: equal events within the window share a row; any field that
// differs, or a gap longer than the window, starts a new one.
TEST_F(SqliteStoreTest, RecordEventCoalescesEqualEventsWithinTheWindow) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  SignInEvent e;
  e.user = "alice";
  e.service = "sshd";
  e.remote_host = "192.0.2.1";
  e.method = "password";
  e.outcome = "failure";
  e.detail = "empty password";
  for (int64_t t = 1000; t < 1100; t += 10) {
    e.time = t;
    ASSERT_TRUE(store->RecordEvent(e, 60).ok());
  }
  SignInEvent other = e;
  other.remote_host = "192.0.2.2";
  ASSERT_TRUE(store->RecordEvent(other, 60).ok());
  e.time = 1090 + 61;  // the window has passed since the last one
  ASSERT_TRUE(store->RecordEvent(e, 60).ok());
  e.time = 1152;
  ASSERT_TRUE(store->RecordEvent(e, 0).ok());  // not coalesced when not asked
  auto events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].count, 10);
  EXPECT_EQ((*events)[0].time, 1090);
  EXPECT_EQ((*events)[1].remote_host, "192.0.2.2");
  EXPECT_EQ((*events)[1].count, 1);
  EXPECT_EQ((*events)[2].count, 1);
  EXPECT_EQ((*events)[3].count, 1);
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

// Four processes write events while this one changes users: all writes land,
// none fails with kBusy.
TEST_F(SqliteStoreTest, ConcurrentWritersQueue) {
  {
    auto store = MustOpen(true);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
  }  // closed before fork: a connection must not cross fork()
  constexpr int kChildren = 4;
  constexpr int kEventsEach = 200;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      {
        auto store = OpenSqliteStore(path_, Options());
        if (!store.ok()) _exit(10);
        for (int i = 0; i < kEventsEach && code == 0; ++i) {
          if (!(*store)->RecordEvent(Event("alice", 1000 + i, "success")).ok()) code = 11;
          auto user = (*store)->GetUser("alice");
          if (!user.ok() || !user->has_value()) code = 12;
        }
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 40; ++i) {
      const std::string name = "user" + std::to_string(i);
      EXPECT_TRUE(store->AddUser(User(name)).ok());
      EXPECT_TRUE(store->SetDisabled(name, true).ok());
      EXPECT_TRUE(store->SetDisabled("alice", i % 2 == 0).ok());
    }
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto events = store->ListEvents({});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), static_cast<size_t>(kChildren * kEventsEach));
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->size(), 41u);
}

TEST_F(SqliteStoreTest, NewFieldsRoundTrip) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  UserRecord dave = User("dave", 77);
  dave.must_change = true;
  dave.failures = 3;
  dave.first_failure = 70;
  dave.locked_until = kLockedUntilUnlocked;
  ASSERT_TRUE(store->AddUser(dave).ok());
  ASSERT_TRUE(store->AddUser(User("erin", 78)).ok());
  auto got = store->GetUser("dave");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->must_change);
  EXPECT_EQ((*got)->failures, 3);
  EXPECT_EQ((*got)->first_failure, 70);
  EXPECT_EQ((*got)->locked_until, kLockedUntilUnlocked);
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].locked_until, kLockedUntilUnlocked);
  ExpectVersion3Defaults((*users)[1]);
  ExpectVersion4Defaults((*users)[1]);
  ExpectVersion5Defaults((*users)[1]);
}

using Verdict = Reservation::Verdict;

TEST_F(SqliteStoreTest, ReserveAttemptWindowLockAndExpiry) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{3, 100, 50};
  auto fail = [&](int64_t now) { return Wrong(*store, "alice", now, policy); };
  auto stored = [&]() {
    auto u = store->GetUser("alice");
    EXPECT_TRUE(u.ok() && u->has_value());
    return u.ok() && u->has_value() ? **u : UserRecord{};
  };

  // First failure opens the window.
  Reservation r = fail(1000);
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.window, 1000);
  EXPECT_EQ(r.locked_until, 0);
  EXPECT_EQ(stored().first_failure, 1000);
  // Counted within the window.
  r = fail(1099);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.window, 1000);
  // now == first_failure + fail_interval: the window has passed, back to 1.
  r = fail(1100);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.window, 1100);
  r = fail(1150);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.locked_until, 0);
  // deny reached: the reservation that reaches it sets the lock.
  r = fail(1160);
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 3);
  EXPECT_EQ(r.locked_until, 1210);
  // While it is in force nothing more is reserved, nor counted.
  r = fail(1170);
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.failures, 3);
  EXPECT_EQ(r.locked_until, 1210);
  UserRecord u = stored();
  EXPECT_EQ(u.failures, 3);
  EXPECT_EQ(u.first_failure, 1100);
  EXPECT_EQ(u.locked_until, 1210);
  // Lock run out (locked_until <= now), though still inside the window:
  // a new window, the lock gone, and that is reported.
  r = fail(1210);
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 0);
  EXPECT_TRUE(r.lock_expired);
  u = stored();
  EXPECT_EQ(u.first_failure, 1210);
  EXPECT_EQ(u.locked_until, 0);
  // And it can lock again.
  EXPECT_FALSE(fail(1211).lock_expired);
  r = fail(1212);
  EXPECT_EQ(r.locked_until, 1262);
}

TEST_F(SqliteStoreTest, ReserveAttemptAdminLockDenyZeroAndEdges) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  for (const char* name : {"alice", "bob", "carol", "dave"}) {
    ASSERT_TRUE(store->AddUser(User(name)).ok());
  }

  // unlock_time 0: until an administrator unlocks.
  const LockoutPolicy admin{2, 900, 0};
  EXPECT_EQ(Wrong(*store, "alice", 5000, admin).locked_until, 0);
  Reservation r = Wrong(*store, "alice", 5001, admin);
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked);
  r = Wrong(*store, "alice", 5002, admin);
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked);
  // Long after the window a lock in force still stands.
  r = Wrong(*store, "alice", 5000 + 10 * 900, admin);
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked);
  const LockoutPolicy timed{2, 60, 600};
  Wrong(*store, "dave", 100, timed);
  r = Wrong(*store, "dave", 101, timed);
  ASSERT_EQ(r.locked_until, 701);
  r = Wrong(*store, "dave", 300, timed);  // window (60 s) over, lock (600 s) is not
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.locked_until, 701);
  r = Wrong(*store, "dave", 701, timed);  // the lock ran out: a new window
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 0);

  // deny 0 counts but never locks, and ignores a lock recorded earlier.
  const LockoutPolicy never{0, 900, 600};
  for (int i = 1; i <= 20; ++i) {
    r = Wrong(*store, "bob", 5000 + i, never);
    EXPECT_EQ(r.verdict, Verdict::kReserved);
    EXPECT_EQ(r.failures, i);
    EXPECT_EQ(r.locked_until, 0);
  }
  r = Wrong(*store, "alice", 5003, never);
  EXPECT_EQ(r.verdict, Verdict::kReserved) << "deny 0: the recorded lock does not refuse";

  // deny 1: the first failure locks.
  r = Wrong(*store, "carol", 5000, LockoutPolicy{1, 900, 600});
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 5600);

  // now + unlock_time near the top of int64 is clamped below the admin lock.
  const int64_t late = kLockedUntilUnlocked - 10;
  ASSERT_TRUE(store->ClearFailures("dave").ok());
  r = Wrong(*store, "dave", late, LockoutPolicy{1, 900, 31536000});
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked - 1);

  // Bad policy, unknown user.
  EXPECT_EQ(store->ReserveAttempt("bob", 6000, LockoutPolicy{5, 900, -1}, "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store->ReserveAttempt("bob", 6000, LockoutPolicy{5, -1, 600}, "").status().code(),
            Code::kInvalidArgument);
  auto missing = store->ReserveAttempt("nobody", 6000, LockoutPolicy{}, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nobody"), std::string::npos);
  EXPECT_NE(missing.status().message().find(path_), std::string::npos);
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->failures, 20);  // the refused calls changed nothing
}

// Reservations in flight: pending ones count toward deny, so no more than
// deny secrets are checked at once; when the window is full of pending
// ones the next waits (kFull); the lock comes only from failures settled
// as wrong; a success clears all but what is still pending.
TEST_F(SqliteStoreTest, PendingAttemptsFillTheWindowAndSettle) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{3, 900, 600};
  auto reserve = [&](int64_t now, const std::string& digest = "") {
    auto r = store->ReserveAttempt("alice", now, policy, digest);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Reservation{};
  };
  auto settle = [&](Settlement::Kind kind, const Reservation& r, int64_t now,
                    const std::string& digest = "") {
    Settlement s;
    s.kind = kind;
    s.reservation = r;
    s.attempt = digest;
    s.now = now;
    s.policy = policy;
    auto settled = store->SettleAttempt("alice", s, nullptr);
    EXPECT_TRUE(settled.ok()) << settled.status().message();
    return settled.ok() ? *settled : SettleOutcome{};
  };
  auto stored = [&]() {
    auto u = store->GetUser("alice");
    return u.ok() && u->has_value() ? **u : UserRecord{};
  };

  Reservation a = reserve(100);
  Reservation b = reserve(101);
  Reservation c = reserve(102);
  EXPECT_EQ(c.verdict, Verdict::kReserved);
  EXPECT_EQ(c.failures, 3);
  EXPECT_EQ(stored().pending_attempts, 3);
  EXPECT_EQ(stored().locked_until, 0) << "nothing is locked by attempts still in flight";
  Reservation d = reserve(103);
  EXPECT_EQ(d.verdict, Verdict::kFull) << "a fourth waits: three are being checked";
  EXPECT_EQ(stored().failures, 3) << "and is not counted";

  // a was right: a success. b and c are still pending and stay counted.
  SettleOutcome done = settle(Settlement::Kind::kSuccess, a, 104);
  EXPECT_EQ(done.failures, 2);
  EXPECT_EQ(stored().pending_attempts, 2);
  EXPECT_EQ(stored().first_failure, 100);
  EXPECT_EQ(reserve(105).verdict, Verdict::kReserved) << "room again";
  // b gave up (released), c was wrong: counted, no lock (2 of 3).
  settle(Settlement::Kind::kRelease, b, 106);
  SettleOutcome wrong = settle(Settlement::Kind::kWrong, c, 107, Digest('c'));
  EXPECT_EQ(wrong.locked_until, 0);
  EXPECT_FALSE(wrong.repeated);
  UserRecord u = stored();
  EXPECT_EQ(u.failures, 2);
  EXPECT_EQ(u.pending_attempts, 1);
  // One more wrong completes the count: that settlement sets the lock.
  Reservation e = reserve(108);
  EXPECT_EQ(e.failures, 3);
  // The pending one from 105 ends wrong too, the same secret as c: not
  // counted again.
  Reservation f{Verdict::kReserved, 3, 100, 0, false};
  SettleOutcome again = settle(Settlement::Kind::kWrong, f, 109, Digest('c'));
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.failures, 2);
  wrong = settle(Settlement::Kind::kWrong, e, 110, Digest('e'));
  EXPECT_EQ(wrong.locked_until, 0) << "2 of 3 after the repeat was taken back";
  Reservation g = reserve(111);
  wrong = settle(Settlement::Kind::kWrong, g, 112, Digest('9'));
  EXPECT_EQ(wrong.locked_until, 712);
  EXPECT_EQ(wrong.failures, 3);
  EXPECT_EQ(reserve(113).verdict, Verdict::kLocked);
  EXPECT_EQ(stored().pending_attempts, 0);

  // A success clears the lock, the count and the window.
  ASSERT_TRUE(store->ClearFailures("alice").ok());
  Reservation h = reserve(200);
  settle(Settlement::Kind::kSuccess, h, 201);
  u = stored();
  EXPECT_EQ(u.failures, 0);
  EXPECT_EQ(u.pending_attempts, 0);
  EXPECT_EQ(u.first_failure, 0);
  EXPECT_EQ(u.locked_until, 0);

  // A settlement from a window that is gone changes no counter.
  Reservation old = reserve(300);
  Reservation fresh = reserve(300 + 900);  // the window has passed: a new one
  EXPECT_EQ(fresh.failures, 1);
  settle(Settlement::Kind::kRelease, old, 1201);
  settle(Settlement::Kind::kWrong, old, 1201, Digest('0'));
  u = stored();
  EXPECT_EQ(u.failures, 1);
  EXPECT_EQ(u.pending_attempts, 1);
  EXPECT_EQ(reserve(1202, Digest('0')).verdict, Verdict::kReserved)
      << "the old window's digest was not remembered in the new one";
  // A reservation that was refused settles no counter.
  Reservation refused{Verdict::kLocked, 3, 0, 999, false};
  settle(Settlement::Kind::kRelease, refused, 1203);
  EXPECT_EQ(stored().failures, 2);

  // deny lowered below a count with nothing pending: locked at once.
  ASSERT_TRUE(store->ClearFailures("alice").ok());
  for (int i = 0; i < 2; ++i) Wrong(*store, "alice", 1300 + i, policy);
  Reservation lowered =
      store->ReserveAttempt("alice", 1310, LockoutPolicy{2, 900, 600}, "").value();
  EXPECT_EQ(lowered.verdict, Verdict::kLocked);
  EXPECT_EQ(lowered.locked_until, 1910);
}

TEST_F(SqliteStoreTest, SettleAttemptRecordsTheEventInTheSameTransaction) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{3, 900, 600};
  SignInEvent event;
  event.time = 300;
  event.user = "alice";
  event.method = "password";
  event.outcome = "success";
  Settlement ok;
  ok.kind = Settlement::Kind::kSuccess;
  ok.reservation = store->ReserveAttempt("alice", 300, policy, "").value();
  ASSERT_TRUE(store->SettleAttempt("alice", ok, &event).ok());
  auto events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->back().outcome, "success");
  EXPECT_EQ(store->GetUser("alice").value()->failures, 0);
  // A user removed meanwhile: no counter, but the event is kept.
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  ASSERT_TRUE(store->SettleAttempt("alice", ok, &event).ok());
  events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 2u);
}

TEST_F(SqliteStoreTest, ClearFailures) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{2, 900, 0};
  Wrong(*store, "alice", 100, policy);
  Reservation r = Wrong(*store, "alice", 101, policy);
  ASSERT_EQ(r.locked_until, kLockedUntilUnlocked);

  ASSERT_TRUE(store->ClearFailures("alice").ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectVersion3Defaults(**alice);
  // A fresh window afterwards.
  r = Wrong(*store, "alice", 102, policy);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 0);
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->first_failure, 102);

  Status missing = store->ClearFailures("nobody");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
}

TEST_F(SqliteStoreTest, ARepeatedWrongDigestCountsOnce) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{10, 900, 600};
  auto count = [&](int64_t now, const std::string& digest) {
    return Wrong(*store, "alice", now, policy, digest);
  };
  auto repeated = [](const Reservation& r) { return r.verdict == Verdict::kRepeated; };

  Reservation r = count(1000, Digest('a'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_FALSE(repeated(r));
  r = count(1001, Digest('a'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_TRUE(repeated(r));
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, 1);
  EXPECT_EQ((*alice)->first_failure, 1000) << "a repeat changes nothing";

  // b, c, d, e: the last four are remembered, so a is forgotten and counts again.
  int expected = 1;
  for (char c : {'b', 'c', 'd', 'e'}) {
    r = count(1002, Digest(c));
    EXPECT_EQ(r.failures, ++expected);
    EXPECT_FALSE(repeated(r));
  }
  EXPECT_TRUE(repeated(count(1003, Digest('b'))));
  r = count(1003, Digest('a'));
  EXPECT_FALSE(repeated(r)) << "only the last " << kRememberedWrongAttempts << " are remembered";
  EXPECT_EQ(r.failures, 6);
  EXPECT_FALSE(repeated(count(1003, Digest('b')))) << "a pushed b out";
  EXPECT_EQ(count(1003, Digest('e')).failures, 7);  // e is still remembered: 7 stays
  // No digest (no key file): counted every time.
  EXPECT_EQ(count(1004, "").failures, 8);
  EXPECT_EQ(count(1004, "").failures, 9);

  // A new window forgets them all.
  r = count(1000 + 900, Digest('e'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_FALSE(repeated(r));
  EXPECT_TRUE(repeated(count(1901, Digest('e'))));
  EXPECT_FALSE(repeated(count(1901, Digest('a'))));

  // So does ClearFailures (an unlock), a success, and a new password (one
  // of the remembered wrong ones may be the new password).
  ASSERT_TRUE(store->ClearFailures("alice").ok());
  r = count(1902, Digest('e'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_FALSE(repeated(r));
  ASSERT_TRUE(store->SetPassword("alice", "h-new", 1903, false, 5).ok());
  EXPECT_FALSE(repeated(count(1904, Digest('e'))));
  ASSERT_TRUE(store->SetTotp("alice", "sealed", {}).ok());
  EXPECT_FALSE(repeated(count(1905, Digest('e')))) << "a new authenticator forgets them too";
  count(1906, Digest('f'));
  Settlement ok;
  ok.kind = Settlement::Kind::kSuccess;
  ok.reservation = store->ReserveAttempt("alice", 1906, policy, "").value();
  ASSERT_TRUE(store->SettleAttempt("alice", ok, nullptr).ok());
  EXPECT_FALSE(repeated(count(1907, Digest('f'))));
  count(1907, Digest('f'));

  // A wrong code settled with a digest remembered already (typed again in
  // the same time step after a right password): the reservation is taken
  // back and the settlement says so.
  Reservation again = store->ReserveAttempt("alice", 1908, policy, "").value();
  const int before = again.failures;
  Settlement wrong;
  wrong.kind = Settlement::Kind::kWrong;
  wrong.reservation = again;
  const std::string f = Digest('f');
  wrong.attempt = f;
  wrong.now = 1908;
  wrong.policy = policy;
  auto settled = store->SettleAttempt("alice", wrong, nullptr);
  ASSERT_TRUE(settled.ok());
  EXPECT_TRUE(settled->repeated);
  EXPECT_EQ(store->GetUser("alice").value()->failures, before - 1);
}

TEST_F(SqliteStoreTest, ALockIsReportedBeforeARepeat) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{2, 900, 600};
  Wrong(*store, "alice", 100, policy, Digest('1'));
  Reservation r = Wrong(*store, "alice", 101, policy, Digest('2'));
  ASSERT_EQ(r.locked_until, 701);
  r = Wrong(*store, "alice", 102, policy, Digest('1'));
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.locked_until, 701);
}

TEST_F(SqliteStoreTest, MalformedDigestsAreRefusedAndChangeNothing) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{5, 900, 600};
  Reservation held = store->ReserveAttempt("alice", 100, policy, "").value();
  for (const std::string& bad :
       {Digest('a').substr(1), Digest('a') + "a", Digest('A'), Digest('g'),
        std::string(kWrongAttemptDigestChars, '\0'), std::string(1 << 20, 'a')}) {
    auto r = store->ReserveAttempt("alice", 100, policy, bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().message();
    Settlement wrong;
    wrong.kind = Settlement::Kind::kWrong;
    wrong.reservation = held;
    wrong.attempt = bad;
    auto settled = store->SettleAttempt("alice", wrong, nullptr);
    ASSERT_FALSE(settled.ok());
    EXPECT_EQ(settled.status().code(), Code::kInvalidArgument);
  }
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, 1);
  EXPECT_EQ((*alice)->first_failure, 100);
  auto missing = store->ReserveAttempt("nobody", 100, policy, Digest('a'));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(SqliteStoreTest, SetPasswordKeepsNewestHistory) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  UserRecord alice = User("alice", 100);
  alice.password_hash = "h0";
  alice.must_change = true;
  ASSERT_TRUE(store->AddUser(alice).ok());

  // Four changes keeping 2: h0 and h1 fall out.
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(store
                    ->SetPassword("alice", "h" + std::to_string(i), 100 + 100 * i,
                                  /*must_change=*/i == 4, /*history_keep=*/2)
                    .ok());
  }
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, (std::vector<std::string>{"h3", "h2"}));
  auto got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "h4");
  EXPECT_EQ((*got)->password_changed, 500);
  EXPECT_TRUE((*got)->must_change);
  // Each entry is dated when that hash was set.
  EXPECT_EQ(RawInt(path_, "SELECT changed FROM password_history ORDER BY id DESC LIMIT 1"), 400);
  EXPECT_EQ(RawInt(path_, "SELECT min(changed) FROM password_history"), 300);

  // A larger keep keeps more from then on; 0 keeps none.
  ASSERT_TRUE(store->SetPassword("alice", "h5", 600, false, 10).ok());
  history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, (std::vector<std::string>{"h4", "h3", "h2"}));
  got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_FALSE((*got)->must_change);
  ASSERT_TRUE(store->SetPassword("alice", "h6", 700, false, 0).ok());
  history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());

  // No password set: nothing goes into the history.
  UserRecord bob = User("bob");
  bob.password_hash = "";
  ASSERT_TRUE(store->AddUser(bob).ok());
  ASSERT_TRUE(store->SetPassword("bob", "b1", 800, false, 5).ok());
  history = store->PasswordHistory("bob");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
  // Other users' history is separate.
  ASSERT_TRUE(store->SetPassword("bob", "b2", 900, false, 5).ok());
  history = store->PasswordHistory("bob");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, std::vector<std::string>{"b1"});
  history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());

  // Missing user: kNotFound and nothing written; bad keep refused.
  Status missing = store->SetPassword("nobody", "x", 1, false, 5);
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
  EXPECT_EQ(store->SetPassword("bob", "b3", 1000, false, -1).code(), Code::kInvalidArgument);
  got = store->GetUser("bob");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "b2");
  auto none = store->PasswordHistory("nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, HistoryRemovedWithUser) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetPassword("alice", "a1", 2000, false, 5).ok());
  ASSERT_TRUE(store->SetPassword("alice", "a2", 3000, false, 5).ok());
  ASSERT_TRUE(store->SetPassword("bob", "b1", 2000, false, 5).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM password_history WHERE user = 'alice'"), 0);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM password_history"), 1);  // bob's

  // A new account with the old name starts with no history.
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
}

TEST_F(SqliteStoreTest, SetMustChange) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetMustChange("alice", true).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_TRUE((*alice)->must_change);
  ASSERT_TRUE(store->SetMustChange("alice", true).ok());  // unchanged is still found
  ASSERT_TRUE(store->SetMustChange("alice", false).ok());
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_FALSE((*alice)->must_change);
  EXPECT_EQ((*alice)->password_hash, User("alice").password_hash);
  Status missing = store->SetMustChange("nobody", true);
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find(path_), std::string::npos);
}

// Forks kFailingChildren processes that each make kFailuresEach wrong
// attempts (reserve, then settle as wrong) on `user` at the same moment
// (released together through a pipe). Returns how many reservations set the
// lock, or -1 when a child failed.
constexpr int kFailingChildren = 8;
constexpr int kFailuresEach = 25;

int ConcurrentFailures(const std::string& path, const SqliteOptions& options,
                       const LockoutPolicy& policy) {
  int gate[2];
  if (pipe(gate) != 0) return -1;
  std::vector<pid_t> children;
  for (int c = 0; c < kFailingChildren; ++c) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      close(gate[1]);
      int code = 0;
      {
        auto store = OpenSqliteStore(path, options);
        if (!store.ok()) _exit(100);
        char byte;
        if (read(gate[0], &byte, 1) != 0) _exit(101);  // EOF: go
        for (int i = 0; i < kFailuresEach; ++i) {
          Reservation r = Wrong(**store, "alice", 5000, policy);
          if (r.failures < 0) _exit(102);
          if (r.verdict == Reservation::Verdict::kReserved && r.locked_until != 0) ++code;
        }
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // releases every child at once
  int locked = 0;
  bool failed = false;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) > kFailuresEach) {
      failed = true;
      continue;
    }
    locked += WEXITSTATUS(status);
  }
  return failed ? -1 : locked;
}

TEST_F(SqliteStoreTest, ConcurrentFailuresAreNotLost) {
  {
    auto store = MustOpen(true);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
  }  // closed before fork
  SqliteOptions options = Options();
  options.busy_timeout_ms = 30000;
  EXPECT_EQ(ConcurrentFailures(path_, options, LockoutPolicy{1000, 900, 600}), 0);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, kFailingChildren * kFailuresEach);
  EXPECT_EQ((*alice)->first_failure, 5000);
  EXPECT_EQ((*alice)->locked_until, 0);
}

TEST_F(SqliteStoreTest, ConcurrentFailuresLockOnce) {
  {
    auto store = MustOpen(true);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
  }
  SqliteOptions options = Options();
  options.busy_timeout_ms = 30000;
  EXPECT_EQ(ConcurrentFailures(path_, options, LockoutPolicy{5, 900, 600}), 1);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  // Exactly `deny` attempts were reserved (and so could be checked) however
  // many came at once; the rest were refused by the lock.
  EXPECT_EQ((*alice)->failures, 5);
  EXPECT_EQ((*alice)->locked_until, 5600);
}

TEST_F(SqliteStoreTest, SetTotpRoundTripAndReplace) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectVersion4Defaults(**alice);
  ExpectVersion5Defaults(**alice);

  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2", "d3"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());  // same digest, other user
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ((*alice)->totp_last_step, -1);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);

  // Replacing: new secret, last step back to -1, only the new codes.
  auto used = store->UseTotpStep("alice", 50, LockGuard{});
  ASSERT_TRUE(used.ok() && *used == CodeUse::kUsed);
  ASSERT_TRUE(store->SetTotp("alice", "sealed-2", {"e1", "e2"}).ok());
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].totp_sealed, "sealed-2");
  EXPECT_EQ((*users)[0].totp_last_step, -1);
  EXPECT_EQ((*users)[1].totp_sealed, "sealed-b");
  count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2);
  used = store->UseRecoveryCode("alice", "d1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);  // an old code is gone
  used = store->UseRecoveryCode("alice", "e1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  count = store->CountRecoveryCodes("bob");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);  // bob's untouched

  // No codes at all is allowed.
  ASSERT_TRUE(store->SetTotp("alice", "sealed-3", {}).ok());
  count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);

  // AddUser writes the columns too.
  UserRecord carol = User("carol");
  carol.totp_sealed = "sealed-c";
  carol.totp_last_step = 123;
  ASSERT_TRUE(store->AddUser(carol).ok());
  auto got = store->GetUser("carol");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->totp_sealed, "sealed-c");
  EXPECT_EQ((*got)->totp_last_step, 123);
}

TEST_F(SqliteStoreTest, SetTotpRefusesBadDigestsWhole) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->UseTotpStep("alice", 9, LockGuard{}).ok());

  Status empty = store->SetTotp("alice", "sealed-2", {"e1", ""});
  EXPECT_EQ(empty.code(), Code::kInvalidArgument);
  // Refused in front of the backend (store.cc), naming the user.
  EXPECT_NE(empty.message().find("empty recovery code digest for user alice"), std::string::npos)
      << empty.message();
  Status dup = store->SetTotp("alice", "sealed-2", {"e1", "e2", "e1"});
  EXPECT_EQ(dup.code(), Code::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate recovery code digest for user alice"), std::string::npos)
      << dup.message();

  // Nothing of either call was written.
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ((*alice)->totp_last_step, 9);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE digest IN ('d1', 'd2')"), 2);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 2);
}

TEST_F(SqliteStoreTest, ClearMfa) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  ASSERT_TRUE(store->UseTotpStep("alice", 77, LockGuard{}).ok());

  ASSERT_TRUE(store->ClearMfa("alice").ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectVersion4Defaults(**alice);
  ExpectVersion5Defaults(**alice);
  EXPECT_EQ((*alice)->password_hash, User("alice").password_hash);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
  count = store->CountRecoveryCodes("bob");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
  ASSERT_TRUE(store->ClearMfa("alice").ok());  // not enrolled is still found

  Status missing = store->ClearMfa("nobody");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
  EXPECT_NE(missing.message().find(path_), std::string::npos);
}

TEST_F(SqliteStoreTest, UseTotpStepIsMonotonic) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed", {}).ok());
  auto use = [&](int64_t step) {
    auto r = store->UseTotpStep("alice", step, LockGuard{});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && *r == CodeUse::kUsed;
  };
  EXPECT_TRUE(use(5));
  EXPECT_FALSE(use(5));  // replay
  EXPECT_FALSE(use(4));  // older
  EXPECT_TRUE(use(6));
  EXPECT_TRUE(use(0x7fffffffffffffffLL - 1));
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_last_step, 0x7fffffffffffffffLL - 1);
  EXPECT_EQ((*alice)->totp_sealed, "sealed");

  // Step 0 is accepted on a fresh enrollment (last step -1).
  ASSERT_TRUE(store->SetTotp("alice", "sealed-2", {}).ok());
  EXPECT_TRUE(use(0));
  EXPECT_FALSE(use(0));

  auto missing = store->UseTotpStep("nobody", 5, LockGuard{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nobody"), std::string::npos);
  EXPECT_NE(missing.status().message().find(path_), std::string::npos);
}

// A lock in force refuses a code in the same statement that would use it;
// nothing is used. With the lockout off for the user the lock is ignored.
TEST_F(SqliteStoreTest, CodesAreNotUsedWhileLocked) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed", {"d1"}).ok());
  const LockoutPolicy policy{2, 900, 600};
  Wrong(*store, "alice", 1000, policy);
  ASSERT_EQ(Wrong(*store, "alice", 1001, policy).locked_until, 1601);

  const LockGuard guard{true, 1002};
  EXPECT_EQ(store->UseTotpStep("alice", 50, guard).value(), CodeUse::kLocked);
  EXPECT_EQ(store->UseRecoveryCode("alice", "d1", guard).value(), CodeUse::kLocked);
  EXPECT_EQ(store->GetUser("alice").value()->totp_last_step, -1) << "nothing used";
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 1);
  // A replay while locked is reported as locked (nothing to tell apart).
  // After the lock has run out, or with the lockout off, the codes work.
  EXPECT_EQ(store->UseTotpStep("alice", 50, LockGuard{true, 1601}).value(), CodeUse::kUsed);
  EXPECT_EQ(store->UseRecoveryCode("alice", "d1", LockGuard{false, 1002}).value(), CodeUse::kUsed);
  EXPECT_EQ(store->UseTotpStep("alice", 50, LockGuard{true, 1601}).value(), CodeUse::kAlreadyUsed);
  EXPECT_EQ(store->UseTotpStep("nobody", 50, guard).status().code(), Code::kNotFound);
  EXPECT_EQ(store->UseRecoveryCode("nobody", "d1", guard).status().code(), Code::kNotFound);
}

TEST_F(SqliteStoreTest, UseRecoveryCodeOnce) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2", "d3"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  auto count = [&](const char* name) {
    auto r = store->CountRecoveryCodes(name);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  };
  EXPECT_EQ(count("alice"), 3);

  auto used = store->UseRecoveryCode("alice", "d2", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  EXPECT_EQ(count("alice"), 2);
  used = store->UseRecoveryCode("alice", "d2", LockGuard{});  // once only
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  used = store->UseRecoveryCode("alice", "unknown", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  used = store->UseRecoveryCode("alice", "", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  used = store->UseRecoveryCode("alice", "D1", LockGuard{});  // byte for byte
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  EXPECT_EQ(count("alice"), 2);
  used = store->UseRecoveryCode("alice", "d1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  EXPECT_EQ(count("alice"), 1);
  EXPECT_EQ(count("bob"), 1);  // bob's d1 is his own

  // Using a code leaves the authenticator alone.
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-a");

  auto missing = store->UseRecoveryCode("nobody", "d1", LockGuard{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(path_), std::string::npos);
  EXPECT_EQ(count("nobody"), 0);  // counting a missing user is just 0
  Status set_missing = store->SetTotp("nobody", "sealed", {"d1"});
  EXPECT_EQ(set_missing.code(), Code::kNotFound);
  EXPECT_NE(set_missing.message().find("nobody"), std::string::npos);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE user = 'nobody'"), 0);
}

TEST_F(SqliteStoreTest, RecoveryCodesRemovedWithUser) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE user = 'alice'"), 0);
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 1);  // bob's

  // A new account with the old name starts with no authenticator or codes.
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectVersion4Defaults(**alice);
  ExpectVersion5Defaults(**alice);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
}

// Forks kRacingChildren processes that each open the store and, released
// together through a pipe, call `use` once. Returns how many calls returned
// true, or -1 when a child failed.
constexpr int kRacingChildren = 8;

template <typename Use>
int RaceOnce(const std::string& path, const SqliteOptions& options, Use use) {
  int gate[2];
  if (pipe(gate) != 0) return -1;
  std::vector<pid_t> children;
  for (int c = 0; c < kRacingChildren; ++c) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      close(gate[1]);
      int code = 0;
      {
        auto store = OpenSqliteStore(path, options);
        if (!store.ok()) _exit(100);
        char byte;
        if (read(gate[0], &byte, 1) != 0) _exit(101);  // EOF: go
        Result<CodeUse> r = use(**store);
        if (!r.ok()) _exit(102);
        code = *r == CodeUse::kUsed ? 1 : 0;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // releases every child at once
  int wins = 0;
  bool failed = false;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      failed = true;
      continue;
    }
    wins += WEXITSTATUS(status);
  }
  return failed ? -1 : wins;
}

TEST_F(SqliteStoreTest, ConcurrentTotpStepUsedOnce) {
  {
    auto store = MustOpen(true);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
    ASSERT_TRUE(store->SetTotp("alice", "sealed", {}).ok());
  }  // closed before fork
  SqliteOptions options = Options();
  options.busy_timeout_ms = 30000;
  EXPECT_EQ(
      RaceOnce(path_, options, [](Store& s) { return s.UseTotpStep("alice", 1000, LockGuard{}); }),
      1);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_last_step, 1000);
}

TEST_F(SqliteStoreTest, ConcurrentRecoveryCodeUsedOnce) {
  {
    auto store = MustOpen(true);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
    ASSERT_TRUE(store->SetTotp("alice", "sealed", {"d1", "d2"}).ok());
  }
  SqliteOptions options = Options();
  options.busy_timeout_ms = 30000;
  EXPECT_EQ(RaceOnce(path_, options,
                     [](Store& s) { return s.UseRecoveryCode("alice", "d1", LockGuard{}); }),
            1);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
}

TEST_F(SqliteStoreTest, EnrollTotpIsCompareAndSet) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());

  // First enrollment: expected "" (none yet); the confirming step is used.
  ASSERT_TRUE(store->EnrollTotp("alice", "", "sealed-1", {"d1", "d2"}, 100).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ((*alice)->totp_last_step, 100);
  auto used = store->UseTotpStep("alice", 100, LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);  // the confirming code cannot sign in again

  // A second session that also saw "no authenticator" loses, and writes nothing.
  Status late = store->EnrollTotp("alice", "", "sealed-x", {"x1"}, 101);
  EXPECT_EQ(late.code(), Code::kAlreadyExists) << late.message();
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes WHERE digest = 'x1'"), 0);

  // Replacing the one seen: new secret, new codes only.
  ASSERT_TRUE(store->EnrollTotp("alice", "sealed-1", "sealed-2", {"e1"}, 200).ok());
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-2");
  EXPECT_EQ((*alice)->totp_last_step, 200);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);

  EXPECT_EQ(store->EnrollTotp("nobody", "", "s", {}, 1).code(), Code::kNotFound);
  EXPECT_EQ(store->EnrollTotp("alice", "sealed-2", "", {}, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(store->EnrollTotp("alice", "sealed-2", "s", {"a", "a"}, 1).code(),
            Code::kInvalidArgument);
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-2");  // the refused calls changed nothing
}

TEST_F(SqliteStoreTest, SetRecoveryCodesNeedsAnAuthenticator) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  Status none = store->SetRecoveryCodes("alice", {"d1"});
  EXPECT_EQ(none.code(), Code::kNotFound) << none.message();
  EXPECT_NE(none.message().find("no authenticator"), std::string::npos) << none.message();
  EXPECT_EQ(RawInt(path_, "SELECT count(*) FROM recovery_codes"), 0);

  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->UseTotpStep("alice", 5, LockGuard{}).ok());
  ASSERT_TRUE(store->SetRecoveryCodes("alice", {"n1", "n2", "n3"}).ok());
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);
  auto used = store->UseRecoveryCode("alice", "d1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);  // the old ones are gone
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");  // the authenticator stays
  EXPECT_EQ((*alice)->totp_last_step, 5);
  EXPECT_EQ(store->SetRecoveryCodes("nobody", {"x"}).code(), Code::kNotFound);
  EXPECT_EQ(store->SetRecoveryCodes("alice", {"x", ""}).code(), Code::kInvalidArgument);
}

TEST_F(SqliteStoreTest, MfaRequiredAndGrace) {
  auto store = MustOpen(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());

  // Requiring begins the grace once; requiring again keeps the start.
  ASSERT_TRUE(store->SetMfaRequired("alice", true, 1000).ok());
  ASSERT_TRUE(store->SetMfaRequired("alice", true, 2000).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_TRUE((*alice)->mfa_required);
  EXPECT_EQ((*alice)->mfa_required_since, 1000);
  ASSERT_TRUE(store->SetMfaRequired("alice", false, 3000).ok());
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_FALSE((*alice)->mfa_required);
  EXPECT_EQ(store->SetMfaRequired("nobody", true, 1).code(), Code::kNotFound);

  // BeginMfaGrace: the first call sets it, later calls return the first.
  auto since = store->BeginMfaGrace("bob", 5000);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(*since, 5000);
  since = store->BeginMfaGrace("bob", 6000);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(*since, 5000);
  EXPECT_EQ(store->BeginMfaGrace("nobody", 1).status().code(), Code::kNotFound);

  // ClearMfa (an administrator's reset) restarts the grace.
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {}).ok());
  ASSERT_TRUE(store->ClearMfa("bob").ok());
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->mfa_required_since, 0);

  // Groups: set, idempotent, removed; listed in name order.
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", true, 10).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("staff", true, 11).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", true, 12).ok());
  auto groups = store->MfaRequiredGroups();
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, (std::vector<std::string>{"staff", "wheel"}));
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", false, 13).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("absent", false, 13).ok());
  groups = store->MfaRequiredGroups();
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, std::vector<std::string>{"staff"});

  // AddUser writes the columns too.
  UserRecord carol = User("carol");
  carol.mfa_required = true;
  carol.mfa_required_since = 777;
  ASSERT_TRUE(store->AddUser(carol).ok());
  auto got = store->GetUser("carol");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->mfa_required);
  EXPECT_EQ((*got)->mfa_required_since, 777);
}

}  // namespace
}  // namespace sesame
