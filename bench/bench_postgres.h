// Benchmark fixture for the PostgreSQL store: a throwaway installation
// (config, key, passfile) whose store is a new database in a running test
// cluster (tests/pg/pg-cluster), filled with users. Used by
// sesame_bench_setup for sesame_pam_bench's sesame-pg-* stacks. Not part of
// the product; never part of pass/fail.
#ifndef SESAME_BENCH_BENCH_POSTGRES_H_
#define SESAME_BENCH_BENCH_POSTGRES_H_

#include <cstdint>
#include <string>

#include "bench/bench_env.h"
#include "core/base/status.h"

namespace sesame::bench {

struct PostgresBenchSpec {
  StoreSpec store;          // dir, params, users, user, password, add_user_calls
  std::string cluster_dir;  // tests/pg/pg-cluster's DIR (cluster.env)
  bool tcp = false;         // 127.0.0.1 with TLS verify-full and a passfile; else the socket
};

// Writes DIR/sesame.conf (store = postgres), DIR/sesame.key and, for TCP,
// DIR/sesame.pgpass; creates a new database in the cluster (owned by role
// sesame for TCP) with the schema made through OpenStore; adds the measured
// user and add_user_calls fillers with Store::AddUser, the rest with one
// INSERT ... SELECT generate_series; then kPostgresHistoryEvents sign-in
// events of the last 89 days (none due for pruning), spread over the
// users, so the statements run against a table the size a host's history
// gives it, and the planner's statistics of one (ANALYZE). StoreStats::
// store_path is the DSN.
inline constexpr uint64_t kPostgresHistoryEvents = 200000;
Result<StoreStats> MakeBenchPostgresStore(const PostgresBenchSpec& spec);

// Drops a database MakeBenchPostgresStore made (`db`: its dbname, only a
// name of the shape bench_PID_N is taken) in the cluster of `cluster_dir`,
// closing any connection still open to it. A cluster given to the benchmark
// (--postgres-cluster) outlives the run; without this, every run left its
// databases there, and the next run shared the server with their
// autovacuum.
Status DropBenchPostgresDatabase(const std::string& cluster_dir, const std::string& db);

}  // namespace sesame::bench

#endif  // SESAME_BENCH_BENCH_POSTGRES_H_
