#include "bench/bench_env.h"

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/base32.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/config/config.h"
#include "core/crypto/app_password.h"
#include "core/crypto/key_file.h"
#include "core/crypto/secret_box.h"
#include "core/crypto/totp.h"
#include "core/store/sqlite/sqlite_store.h"

namespace sesame::bench {
namespace {

Status Errno(const std::string& what) {
  return Status(Code::kUnavailable, what + ": " + std::strerror(errno));
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Errno("cannot create " + path);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status st = Errno("cannot write " + path);
      ::close(fd);
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) {
    Status st = Errno("cannot chmod " + path);
    ::close(fd);
    return st;
  }
  ::close(fd);
  return Status::Ok();
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);
  return 0;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

Status SqlError(sqlite3* db, const std::string& doing) {
  return Status(Code::kUnavailable, doing + ": " + sqlite3_errmsg(db));
}

// Inserts names[first..] with the shared hash in one transaction.
Status BulkInsert(const std::string& path, const std::vector<std::string>& names, size_t first,
                  const std::string& hash, int64_t now) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, "opening " + path);
  if (sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "BEGIN");
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "INSERT INTO users(name, password_hash, disabled, created, "
                         "password_changed) VALUES (?1, ?2, 0, ?3, ?3)",
                         -1, &raw_stmt, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "preparing INSERT");
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw_stmt);
  sqlite3_bind_text(stmt.get(), 2, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
  sqlite3_bind_int64(stmt.get(), 3, now);
  for (size_t i = first; i < names.size(); ++i) {
    const std::string& name = names[i];
    sqlite3_bind_text(stmt.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db.get(), "INSERT " + name);
    sqlite3_reset(stmt.get());
  }
  stmt.reset();
  if (sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "COMMIT");
  return Status::Ok();
}

// spec.old_events events from 465 to 100 days before `now`, oldest first,
// in one raw transaction (the product's indexes are kept up to date as the
// rows go in, as they would have been on a host that recorded them).
Status InsertOldEvents(const StoreSpec& spec, const std::string& path, int64_t now) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, "opening " + path);
  // A large page cache for this one bulk transaction only (not the
  // product's setting): the user index gets random inserts.
  if (sqlite3_exec(db.get(), "PRAGMA cache_size = -262144", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "PRAGMA cache_size");
  if (sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "BEGIN");
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "INSERT INTO events(time, user, service, remote_host, method, outcome, "
                         "detail, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', 1)",
                         -1, &raw_stmt, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "preparing INSERT INTO events");
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw_stmt);
  static const char* const kServices[] = {"sshd", "dovecot", "sudo", "login"};
  const uint64_t n = spec.old_events;
  const uint64_t fillers = spec.users > 1 ? spec.users - 1 : 1;
  const int64_t oldest = now - int64_t{465} * 86400;
  const int64_t span = int64_t{365} * 86400;  // up to 100 days before now
  for (uint64_t i = 0; i < n; ++i) {
    const int64_t time =
        oldest + static_cast<int64_t>(static_cast<double>(span) * static_cast<double>(i) /
                                      static_cast<double>(n));
    // Users 1..fillers in a scattered order (a multiplier prime to any
    // count below 10^9), so consecutive events belong to different users.
    const std::string user = FillerUserName(1 + (i * 7919) % fillers);
    const char* service = kServices[i % 4];
    char host[32];
    std::snprintf(host, sizeof host, "%s.%llu", (i % 3 == 0) ? "203.0.113" : "198.51.100",
                  static_cast<unsigned long long>(i % 251 + 1));
    const bool failure = i % 10 == 0;
    sqlite3_bind_int64(stmt.get(), 1, time);
    sqlite3_bind_text(stmt.get(), 2, user.data(), static_cast<int>(user.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt.get(), 3, service, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt.get(), 4, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt.get(), 5, "password", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt.get(), 6, failure ? "failure" : "success", -1, SQLITE_STATIC);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) return SqlError(db.get(), "INSERT event");
    sqlite3_reset(stmt.get());
  }
  stmt.reset();
  if (sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "COMMIT");
  // Checkpoint now, so the first measured sign-in does not inherit a
  // 100 MiB write-ahead log.
  if (sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) !=
      SQLITE_OK)
    return SqlError(db.get(), "wal_checkpoint");
  return Status::Ok();
}

// The measured user's app passwords: spec.app_passwords - 1 in one raw
// transaction (digests computed first, outside it), then the last one
// through Store::AddAppPassword with the cap. Its shown form goes into
// stats->app_password.
Status AddBenchAppPasswords(const StoreSpec& spec, const std::string& key_path,
                            const std::string& store_path, int max_live, int64_t now,
                            Random& random, StoreStats* stats) {
  Result<SecretBuffer> host_key = LoadHostKey(key_path);
  if (!host_key.ok()) return host_key.status();
  const uint64_t bulk = spec.app_passwords - 1;
  double t0 = NowSeconds();
  if (bulk > 0) {
    std::vector<std::string> digests;
    digests.reserve(bulk);
    for (uint64_t i = 0; i < bulk; ++i) {
      Result<SecretBuffer> letters = NewAppPassword(random);
      if (!letters.ok()) return letters.status();
      std::string digest =
          AppPasswordDigest(host_key.value(), NormalizeAppPassword(letters->view()).view());
      if (digest.empty()) return Status(Code::kInternal, "bench: no app-password digest");
      digests.push_back(std::move(digest));
    }
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(store_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
                             nullptr);
    std::unique_ptr<sqlite3, DbCloser> db(raw);
    if (rc != SQLITE_OK) return SqlError(raw, "opening " + store_path);
    if (sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return SqlError(db.get(), "BEGIN");
    sqlite3_stmt* raw_stmt = nullptr;
    if (sqlite3_prepare_v2(db.get(),
                           "INSERT INTO app_passwords(user, name, digest, services, created, "
                           "expires) VALUES (?1, ?2, ?3, '', ?4, 0)",
                           -1, &raw_stmt, nullptr) != SQLITE_OK)
      return SqlError(db.get(), "preparing INSERT INTO app_passwords");
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw_stmt);
    sqlite3_bind_text(stmt.get(), 1, spec.user.data(), static_cast<int>(spec.user.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt.get(), 4, now);
    for (uint64_t i = 0; i < bulk; ++i) {
      const std::string name = "client " + std::to_string(i + 1);
      sqlite3_bind_text(stmt.get(), 2, name.data(), static_cast<int>(name.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt.get(), 3, digests[i].data(), static_cast<int>(digests[i].size()),
                        SQLITE_STATIC);
      if (sqlite3_step(stmt.get()) != SQLITE_DONE)
        return SqlError(db.get(), "INSERT app password " + name);
      sqlite3_reset(stmt.get());
    }
    stmt.reset();
    if (sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      return SqlError(db.get(), "COMMIT");
  }
  stats->app_password_bulk_s = NowSeconds() - t0;

  // The measured one, through the product's path.
  SqliteOptions options;
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(store_path, options);
  if (!store.ok()) return store.status();
  Result<SecretBuffer> letters = NewAppPassword(random);
  if (!letters.ok()) return letters.status();
  AppPasswordRecord record;
  record.user = spec.user;
  record.name = "measured client";
  record.digest = AppPasswordDigest(host_key.value(), NormalizeAppPassword(letters->view()).view());
  t0 = NowSeconds();
  SESAME_RETURN_IF_ERROR((*store)->AddAppPassword(record, max_live, now));
  stats->app_password_add_ms = (NowSeconds() - t0) * 1e3;
  stats->app_password = std::string(GroupAppPassword(letters->view()).view());

  // Checked through the product's code: found by the digest of what a
  // client sends, and the user has them all.
  Result<std::optional<AppPasswordRecord>> found = (*store)->FindAppPassword(
      AppPasswordDigest(host_key.value(), NormalizeAppPassword(stats->app_password).view()));
  if (!found.ok()) return found.status();
  if (!found->has_value() || (*found)->user != spec.user || !(*found)->LiveAt(now))
    return Status(Code::kInternal, "bench store: the measured app password is not found");
  Result<std::vector<AppPasswordRecord>> all = (*store)->ListAppPasswords(spec.user);
  if (!all.ok()) return all.status();
  stats->app_password_count = all->size();
  if (stats->app_password_count != spec.app_passwords)
    return Status(Code::kInternal, "bench store: expected " + std::to_string(spec.app_passwords) +
                                       " app passwords, found " +
                                       std::to_string(stats->app_password_count));
  return Status::Ok();
}

}  // namespace

std::string FillerUserName(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "user%06llu", static_cast<unsigned long long>(i));
  return buf;
}

Result<EventCounts> CountEvents(const std::string& store_path, int retention_days) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(store_path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, "opening " + store_path);
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT count(*), coalesce(sum(time < ?1), 0) FROM events", -1,
                         &raw_stmt, nullptr) != SQLITE_OK)
    return SqlError(db.get(), "preparing the event count");
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw_stmt);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  sqlite3_bind_int64(stmt.get(), 1, now - static_cast<int64_t>(retention_days) * 86400);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return SqlError(db.get(), "counting events");
  EventCounts counts;
  counts.total = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
  counts.old = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 1));
  return counts;
}

SecretBuffer BenchTotpSecret(uint64_t index) {
  // "sesame-bench-" and 7 digits: 20 bytes, the size of a new secret.
  char buf[48];
  int n =
      std::snprintf(buf, sizeof buf, "sesame-bench-%07llu", static_cast<unsigned long long>(index));
  return SecretBuffer(buf, static_cast<size_t>(n));
}

std::string BenchTotpCode(uint64_t index, int64_t unix_time) {
  return TotpAt(BenchTotpSecret(index), unix_time, TotpParams{});
}

Status WriteGoogleAuthenticatorFiles(const std::string& dir, const std::string& prefix,
                                     uint64_t count, bool disallow_reuse) {
  for (uint64_t i = 0; i < count; ++i) {
    SecretBuffer b32 = Base32Encode(BenchTotpSecret(i).view());
    std::string text(b32.view());
    text += "\n\" TOTP_AUTH\n\" WINDOW_SIZE 3\n";
    if (disallow_reuse) text += "\" DISALLOW_REUSE\n";
    Status st = WriteFile(dir + "/" + prefix + std::to_string(i), text, 0400);
    WipeMemory(text.data(), text.size());
    SESAME_RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

double NowSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Errno("mkdtemp " + tmpl);
  if (::chmod(tmpl.c_str(), 0700) != 0) return Errno("chmod " + tmpl);
  return tmpl;
}

void RemoveTree(const std::string& path) {
  if (path.empty() || path == "/") return;
  ::nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

Result<StoreStats> MakeBenchStore(const StoreSpec& spec) {
  if (spec.users == 0 || spec.users - 1 < spec.totp_users)
    return Status(Code::kInvalidArgument, "users must be at least 1 + the TOTP users");
  StoreStats stats;
  stats.config_path = spec.dir + "/sesame.conf";
  stats.store_path = spec.dir + "/sesame.db";
  stats.key_path = spec.dir + "/sesame.key";
  stats.runtime_dir = spec.dir + "/run";
  if (::mkdir(stats.runtime_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Errno("mkdir " + stats.runtime_dir);

  std::string conf = "# written by sesame bench (bench/bench_env.cc)\n";
  conf += "store_path = " + stats.store_path + "\n";
  conf += "key_file = " + stats.key_path + "\n";
  conf += "runtime_dir = " + stats.runtime_dir + "\n";
  conf += "argon2_time_cost = " + std::to_string(spec.params.time_cost) + "\n";
  conf += "argon2_memory_kib = " + std::to_string(spec.params.memory_kib) + "\n";
  conf += "argon2_parallelism = " + std::to_string(spec.params.parallelism) + "\n";
  const int max_live = static_cast<int>(std::max<uint64_t>(spec.app_passwords, 25));
  if (spec.app_passwords > 0) conf += "app_password_max = " + std::to_string(max_live) + "\n";
  SESAME_RETURN_IF_ERROR(WriteFile(stats.config_path, conf, 0644));
  Result<Config> config = LoadConfigFile(stats.config_path);
  if (!config.ok()) return config.status().WithContext("bench config");

  SystemRandom random;
  SESAME_RETURN_IF_ERROR(CreateHostKey(stats.key_path, random));

  NullLogger logger;
  PasswordHasher hasher(spec.params, nullptr, logger);
  double t0 = NowSeconds();
  Result<std::string> user_hash = hasher.Hash(spec.password, random);
  stats.hash_ms = (NowSeconds() - t0) * 1e3;
  if (!user_hash.ok()) return user_hash.status();
  Result<std::string> filler_hash = hasher.Hash("filler password, not used to sign in", random);
  if (!filler_hash.ok()) return filler_hash.status();

  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  SqliteOptions options;
  options.create = true;
  {
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(stats.store_path, options);
    if (!store.ok()) return store.status();
    UserRecord measured{spec.user, *user_hash, false, now, now};
    SESAME_RETURN_IF_ERROR((*store)->AddUser(measured));
    // Users with an authenticator: totp_prefix + "0", + "1", ... (the
    // measured user's password), counted in `users`.
    std::vector<std::string> totp_names;
    totp_names.reserve(spec.totp_users);
    for (uint64_t i = 0; i < spec.totp_users; ++i) {
      std::string name = spec.totp_prefix + std::to_string(i);
      if (name == spec.user)
        return Status(Code::kInvalidArgument, "TOTP user " + name + " clashes");
      totp_names.push_back(std::move(name));
    }
    // Filler users: user000001, user000002, ... skipping the measured name.
    std::vector<std::string> names;
    names.reserve(spec.users - 1 - spec.totp_users);
    for (uint64_t i = 1; names.size() < spec.users - 1 - spec.totp_users; ++i) {
      std::string name = FillerUserName(i);
      if (name != spec.user) names.push_back(std::move(name));
    }
    size_t calls = static_cast<size_t>(std::min<uint64_t>(spec.add_user_calls, names.size()));
    t0 = NowSeconds();
    for (size_t i = 0; i < calls; ++i)
      SESAME_RETURN_IF_ERROR(
          (*store)->AddUser(UserRecord{names[i], *filler_hash, false, now, now}));
    stats.add_user_total_s = NowSeconds() - t0;
    stats.add_user_count = calls;
    store->reset();  // close before writing the file directly
    if (calls < names.size()) {
      t0 = NowSeconds();
      SESAME_RETURN_IF_ERROR(BulkInsert(stats.store_path, names, calls, *filler_hash, now));
      stats.bulk_total_s = NowSeconds() - t0;
      stats.bulk_count = names.size() - calls;
    }
    if (!totp_names.empty()) {
      SESAME_RETURN_IF_ERROR(BulkInsert(stats.store_path, totp_names, 0, *user_hash, now));
      // Enrolled as `sesame-admin mfa enroll` does (tools/admin/admin_mfa.cc),
      // without recovery codes: sealed under the host key read back from the
      // key file, one SetTotp transaction per user.
      Result<SecretBuffer> host_key = LoadHostKey(stats.key_path);
      if (!host_key.ok()) return host_key.status();
      store = OpenSqliteStore(stats.store_path, options);
      if (!store.ok()) return store.status();
      t0 = NowSeconds();
      for (uint64_t i = 0; i < totp_names.size(); ++i) {
        Result<std::string> sealed =
            Seal(host_key.value(), BenchTotpSecret(i), totp_names[i], random);
        if (!sealed.ok()) return sealed.status();
        SESAME_RETURN_IF_ERROR((*store)->SetTotp(totp_names[i], sealed.value(), {}));
      }
      stats.totp_total_s = NowSeconds() - t0;
      stats.totp_count = totp_names.size();
      store->reset();
    }
  }

  if (spec.app_passwords > 0) {
    SESAME_RETURN_IF_ERROR(AddBenchAppPasswords(spec, stats.key_path, stats.store_path, max_live,
                                                now, random, &stats));
  }

  if (spec.old_events > 0) {
    t0 = NowSeconds();
    SESAME_RETURN_IF_ERROR(InsertOldEvents(spec, stats.store_path, now));
    stats.old_events_bulk_s = NowSeconds() - t0;
    Result<EventCounts> counts = CountEvents(stats.store_path, 90);
    if (!counts.ok()) return counts.status();
    stats.old_event_count = counts->old;
    if (stats.old_event_count != spec.old_events)
      return Status(Code::kInternal, "bench store: expected " + std::to_string(spec.old_events) +
                                         " events older than 90 days, found " +
                                         std::to_string(stats.old_event_count));
  }

  // Check the result through the product's own code path.
  options.create = false;
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(stats.store_path, options);
  if (!store.ok()) return store.status();
  Result<std::optional<UserRecord>> got = (*store)->GetUser(spec.user);
  if (!got.ok()) return got.status();
  if (!got->has_value() || (*got)->password_hash != *user_hash)
    return Status(Code::kInternal, "bench store: measured user missing after population");
  if (spec.totp_users > 0) {
    // The last enrolled user opens with the key and gives the code.
    const uint64_t last = spec.totp_users - 1;
    const std::string name = spec.totp_prefix + std::to_string(last);
    Result<std::optional<UserRecord>> enrolled = (*store)->GetUser(name);
    if (!enrolled.ok()) return enrolled.status();
    if (!enrolled->has_value() || (*enrolled)->password_hash != *user_hash)
      return Status(Code::kInternal, "bench store: TOTP user " + name + " missing");
    Result<SecretBuffer> host_key = LoadHostKey(stats.key_path);
    if (!host_key.ok()) return host_key.status();
    Result<SecretBuffer> secret = Open(host_key.value(), (*enrolled)->totp_sealed, name);
    if (!secret.ok()) return secret.status().WithContext("bench store: TOTP user " + name);
    if (TotpAt(secret.value(), now, TotpParams{}) != BenchTotpCode(last, now))
      return Status(Code::kInternal, "bench store: TOTP user " + name + " has another secret");
  }
  Result<std::vector<UserRecord>> all = (*store)->ListUsers();
  if (!all.ok()) return all.status();
  stats.users_in_store = all->size();
  if (stats.users_in_store != spec.users)
    return Status(Code::kInternal, "bench store: expected " + std::to_string(spec.users) +
                                       " users, found " + std::to_string(stats.users_in_store));
  store->reset();
  struct stat st;
  if (::stat(stats.store_path.c_str(), &st) == 0) stats.store_bytes = st.st_size;
  return stats;
}

}  // namespace sesame::bench
