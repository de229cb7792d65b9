// Tests for the SQLite Store backend: records, events, file safety, schema
// migrations and concurrent writers across processes.
#include "core/sqlite_store.h"

#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

TEST_F(SqliteStoreTest, MigratesVersion1) {
  RawExec(path_, kV1Schema);
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->password_hash, "h1");
  EXPECT_TRUE((*alice)->disabled);
  EXPECT_EQ((*alice)->created, 4242);
  EXPECT_EQ((*alice)->password_changed, 4242);
  auto events = store->ListEvents({});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].service, "login");
  store.reset();

  // The index from version 2 exists; the version row is still single.
  RawExec(path_,
          "SELECT 1 / (SELECT count(*) FROM sqlite_master WHERE name = 'events_user_time');"
          "SELECT 1 / (SELECT count(*) = 1 FROM schema_version);");
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

}  // namespace
}  // namespace sesame
