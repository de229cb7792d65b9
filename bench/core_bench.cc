// sesame_core_bench: Google Benchmark microbenchmarks of the pieces a
// pam_sesame call is made of (see pam_module/module_runner.cc): config and
// key loading, opening the store, user lookup on a 100,000-user store,
// recording a sign-in event, the argon2 slot and PasswordHasher::Verify.
//
// Runs as root (config, key and store must be root's, as in production).
// Builds a throwaway installation under $TMPDIR (default /tmp) first and
// removes it at the end. SESAME_BENCH_USERS overrides the 100,000 users.
// Not a test: never part of pass/fail. See docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include "bench/bench_env.h"
#include "core/base/clock.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/config/config.h"
#include "core/crypto/argon2_limiter.h"
#include "core/crypto/key_file.h"
#include "core/crypto/password_hash.h"
#include "core/store/sqlite/sqlite_store.h"
#include "core/store/store.h"

namespace sesame::bench {
namespace {

constexpr char kPassword[] = "correct-horse-battery-staple-42";

struct Env {
  std::string dir;
  StoreStats stats;
  uint64_t users = 100000;
  std::string sample_config_text;  // conf/sesame.conf
  std::string min_phc;             // the measured user's hash (minimum cost)
  std::string default_phc;         // a hash at the default cost
  std::string whatif_db;           // a copy of the store for the what-if benchmark
};

Env* g_env = nullptr;

void Check(const Status& st, benchmark::State& state) {
  if (!st.ok()) state.SkipWithError(st.message().c_str());
}

void BM_ParsePhc(benchmark::State& state) {
  for (auto _ : state) {
    Result<PhcHash> phc = ParsePhc(g_env->default_phc);
    benchmark::DoNotOptimize(phc);
  }
}
BENCHMARK(BM_ParsePhc);

void BM_ParseConfig(benchmark::State& state) {
  for (auto _ : state) {
    Result<Config> c = ParseConfig(g_env->sample_config_text, "conf/sesame.conf");
    if (!c.ok()) state.SkipWithError(c.status().message().c_str());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(g_env->sample_config_text.size()));
}
BENCHMARK(BM_ParseConfig);

// What the module does at the start of every call: trusted open + parse.
void BM_LoadConfigFile(benchmark::State& state) {
  for (auto _ : state) {
    Result<Config> c = LoadConfigFile(g_env->stats.config_path);
    if (!c.ok()) state.SkipWithError(c.status().message().c_str());
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_LoadConfigFile)->Unit(benchmark::kMicrosecond);

void BM_LoadHostKey(benchmark::State& state) {
  for (auto _ : state) {
    Result<SecretBuffer> k = LoadHostKey(g_env->stats.key_path);
    if (!k.ok()) state.SkipWithError(k.status().message().c_str());
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_LoadHostKey)->Unit(benchmark::kMicrosecond);

// arg 0: 0 = minimum cost (t=1 m=8), 1 = default cost (t=3 m=65536).
// arg 1: 1 = through an Argon2Limiter (as the module), 0 = no limiter.
void BM_Verify(benchmark::State& state) {
  const bool def = state.range(0) != 0;
  const std::string& phc = def ? g_env->default_phc : g_env->min_phc;
  Result<PhcHash> parsed = ParsePhc(phc);
  NullLogger logger;
  SystemClock clock;
  Argon2Limiter limiter(g_env->stats.runtime_dir, 4, 10000, clock);
  PasswordHasher hasher(parsed->params, state.range(1) != 0 ? &limiter : nullptr, logger);
  for (auto _ : state) {
    Result<bool> ok = hasher.Verify(phc, kPassword);
    if (!ok.ok() || !ok.value()) state.SkipWithError("verify failed");
  }
  state.SetLabel(def ? "t=3 m=65536 p=1" : "t=1 m=8 p=1");
}
BENCHMARK(BM_Verify)
    ->ArgNames({"default", "limiter"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify)
    ->ArgNames({"default", "limiter"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

void BM_Argon2LimiterAcquire(benchmark::State& state) {
  SystemClock clock;
  Argon2Limiter limiter(g_env->stats.runtime_dir, 4, 10000, clock);
  for (auto _ : state) {
    Result<Argon2Limiter::Slot> slot = limiter.Acquire();
    if (!slot.ok()) state.SkipWithError(slot.status().message().c_str());
  }
}
BENCHMARK(BM_Argon2LimiterAcquire)->Unit(benchmark::kMicrosecond);

SqliteOptions StoreOptions() {
  SqliteOptions o;
  o.busy_timeout_ms = 5000;
  return o;
}

// What the module does in every auth and account call: open (trust checks,
// sqlite3_open_v2, pragmas, schema version) and, at the end, close.
void BM_OpenSqliteStore(benchmark::State& state) {
  for (auto _ : state) {
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(g_env->stats.store_path, StoreOptions());
    if (!store.ok()) state.SkipWithError(store.status().message().c_str());
  }
  state.SetLabel(std::to_string(g_env->users) + " users");
}
BENCHMARK(BM_OpenSqliteStore)->Unit(benchmark::kMicrosecond);

// Lookup on an open store, random existing names.
void BM_SqliteGetUser(benchmark::State& state) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(g_env->stats.store_path, StoreOptions());
  if (!store.ok()) {
    state.SkipWithError(store.status().message().c_str());
    return;
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> pick(1, g_env->users - 1);
  for (auto _ : state) {
    Result<std::optional<UserRecord>> u = (*store)->GetUser(FillerUserName(pick(rng)));
    if (!u.ok() || !u->has_value()) state.SkipWithError("GetUser failed");
    benchmark::DoNotOptimize(u);
  }
  state.SetLabel(std::to_string(g_env->users) + " users");
}
BENCHMARK(BM_SqliteGetUser)->Unit(benchmark::kMicrosecond);

// Open + one GetUser + close: the store work of one account call.
void BM_OpenGetUserClose(benchmark::State& state) {
  for (auto _ : state) {
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(g_env->stats.store_path, StoreOptions());
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      break;
    }
    Result<std::optional<UserRecord>> u = (*store)->GetUser("user050000");
    if (!u.ok() || !u->has_value()) state.SkipWithError("GetUser failed");
  }
  state.SetLabel(std::to_string(g_env->users) + " users");
}
BENCHMARK(BM_OpenGetUserClose)->Unit(benchmark::kMicrosecond);

// One sign-in event (a BEGIN IMMEDIATE ... COMMIT write) on an open store.
void BM_RecordEvent(benchmark::State& state) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(g_env->stats.store_path, StoreOptions());
  if (!store.ok()) {
    state.SkipWithError(store.status().message().c_str());
    return;
  }
  SignInEvent e;
  e.time = 1700000000;
  e.user = "user050000";
  e.service = "sshd";
  e.remote_host = "192.0.2.7";
  e.method = "password";
  e.outcome = "success";
  e.detail = "password accepted";
  for (auto _ : state) Check((*store)->RecordEvent(e), state);
}
BENCHMARK(BM_RecordEvent)->Unit(benchmark::kMicrosecond);

// Open + RecordEvent + close: the store write of one auth call, with the
// close-time WAL checkpoint a fresh connection per call pays.
void BM_OpenRecordEventClose(benchmark::State& state) {
  SignInEvent e;
  e.time = 1700000000;
  e.user = "user050000";
  e.service = "sshd";
  e.method = "password";
  e.outcome = "success";
  e.detail = "password accepted";
  for (auto _ : state) {
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(g_env->stats.store_path, StoreOptions());
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      break;
    }
    Check((*store)->RecordEvent(e), state);
  }
}
BENCHMARK(BM_OpenRecordEventClose)->Unit(benchmark::kMicrosecond);

// What-if, NOT the product's code: the SQL of one auth call's store work
// (open, the same pragmas, schema version read, BEGIN IMMEDIATE + INSERT event
// + COMMIT, close) with raw SQLite on a copy of the store.
//   mode 0: as the product does it today (fresh connection per call: the WAL
//           and -shm files are created, then checkpointed and deleted at close)
//   mode 1: the same with SQLITE_FCNTL_PERSIST_WAL and
//           SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE (WAL kept; checkpoints left to
//           SQLite's auto-checkpoint every 1000 pages)
// Shows how much of a call is the per-connection WAL setup/teardown.
void BM_WhatIf_OpenInsertClose(benchmark::State& state) {
  const bool keep_wal = state.range(0) != 0;
  for (auto _ : state) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(g_env->whatif_db.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      state.SkipWithError("open failed");
      sqlite3_close_v2(db);
      break;
    }
    sqlite3_busy_timeout(db, 5000);
    if (keep_wal) {
      int on = 1;
      sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
      sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    }
    int rc = sqlite3_exec(db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                          "PRAGMA foreign_keys=ON; "
                          "SELECT max(version), count(*) FROM schema_version; "
                          "BEGIN IMMEDIATE; "
                          "INSERT INTO events(time, user, service, remote_host, method, outcome, "
                          "detail) VALUES (1700000000, 'user050000', 'sshd', '', 'password', "
                          "'success', 'password accepted'); COMMIT;",
                          nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) state.SkipWithError(sqlite3_errmsg(db));
    sqlite3_close_v2(db);
  }
  state.SetLabel(keep_wal ? "persistent WAL, no checkpoint on close (what-if)"
                          : "fresh WAL per connection (as today)");
}
BENCHMARK(BM_WhatIf_OpenInsertClose)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

int Main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "sesame_core_bench: run as root (config, key and store must be root's)\n");
    return 1;
  }
  Env env;
  if (const char* u = std::getenv("SESAME_BENCH_USERS"); u != nullptr && *u != '\0')
    env.users = std::strtoull(u, nullptr, 10);
  if (env.users < 2) env.users = 2;
  {
    std::ifstream in(std::string(SESAME_SOURCE_DIR) + "/conf/sesame.conf");
    std::stringstream ss;
    ss << in.rdbuf();
    env.sample_config_text = ss.str();
  }
  const char* tmp = std::getenv("TMPDIR");
  Result<std::string> dir =
      MakeTempDir(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "sesame-core-bench-");
  if (!dir.ok()) {
    std::fprintf(stderr, "sesame_core_bench: %s\n", dir.status().message().c_str());
    return 1;
  }
  env.dir = *dir;
  StoreSpec spec;
  spec.dir = env.dir;
  spec.params = kMinCost;
  spec.users = env.users;
  spec.password = kPassword;
  std::fprintf(stderr, "building a %llu-user store in %s ...\n",
               static_cast<unsigned long long>(env.users), env.dir.c_str());
  Result<StoreStats> stats = MakeBenchStore(spec);
  if (!stats.ok()) {
    std::fprintf(stderr, "sesame_core_bench: %s\n", stats.status().message().c_str());
    RemoveTree(env.dir);
    return 1;
  }
  env.stats = *stats;
  {
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(env.stats.store_path, StoreOptions());
    Result<std::optional<UserRecord>> u = (*store)->GetUser(spec.user);
    env.min_phc = (*u)->password_hash;
  }
  {
    env.whatif_db = env.dir + "/whatif.db";
    sqlite3* db = nullptr;
    sqlite3_open_v2(env.stats.store_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    std::string sql = "VACUUM INTO '" + env.whatif_db + "'";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "sesame_core_bench: %s\n", sqlite3_errmsg(db));
      sqlite3_close_v2(db);
      RemoveTree(env.dir);
      return 1;
    }
    sqlite3_close_v2(db);
  }
  NullLogger logger;
  SystemRandom random;
  PasswordHasher def(kDefaultCost, nullptr, logger);
  Result<std::string> phc = def.Hash(kPassword, random);
  if (!phc.ok()) {
    std::fprintf(stderr, "sesame_core_bench: %s\n", phc.status().message().c_str());
    RemoveTree(env.dir);
    return 1;
  }
  env.default_phc = *phc;
  g_env = &env;

  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  RemoveTree(env.dir);
  return 0;
}

}  // namespace
}  // namespace sesame::bench

int main(int argc, char** argv) { return sesame::bench::Main(argc, argv); }
