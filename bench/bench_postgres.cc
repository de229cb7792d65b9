#include "bench/bench_postgres.h"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/config/config.h"
#include "core/crypto/key_file.h"
#include "core/store/open/open_store.h"

namespace sesame::bench {
namespace {

std::map<std::string, std::string> ClusterFacts(const std::string& dir) {
  std::map<std::string, std::string> facts;
  std::ifstream in(dir + "/cluster.env");
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
      value = value.substr(1, value.size() - 2);
    facts[line.substr(0, eq)] = value;
  }
  return facts;
}

// Runs `sql` on `dsn` (no parameters: only names this file made).
Status Run(const std::string& dsn, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(dsn.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    return Status(Code::kUnavailable, "bench: connect: " + std::string(PQerrorMessage(conn.get())));
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return Status(Code::kUnavailable,
                  "bench: " + sql.substr(0, 60) + ": " + PQresultErrorMessage(r.get()));
  return Status::Ok();
}

Status WriteText(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out || ::chmod(path.c_str(), mode) != 0)
    return Status(Code::kUnavailable, "bench: cannot write " + path);
  return Status::Ok();
}

}  // namespace

Result<StoreStats> MakeBenchPostgresStore(const PostgresBenchSpec& spec) {
  const StoreSpec& s = spec.store;
  std::map<std::string, std::string> facts = ClusterFacts(spec.cluster_dir);
  if (facts["PG_ADMIN_DSN"].empty())
    return Status(Code::kUnavailable, "bench: no cluster.env in " + spec.cluster_dir);
  StoreStats stats;
  stats.config_path = s.dir + "/sesame.conf";
  stats.key_path = s.dir + "/sesame.key";
  stats.runtime_dir = s.dir + "/run";
  if (::mkdir(stats.runtime_dir.c_str(), 0700) != 0)
    return Status(Code::kUnavailable, "bench: mkdir " + stats.runtime_dir);

  static int counter = 0;
  const std::string db = "bench_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  SESAME_RETURN_IF_ERROR(
      Run(facts["PG_ADMIN_DSN"], "CREATE DATABASE " + db + (spec.tcp ? " OWNER sesame" : "")));
  std::string dsn;
  std::string passfile_line;
  if (spec.tcp) {
    dsn = "host=127.0.0.1 port=" + facts["PG_PORT"] + " dbname=" + db +
          " user=sesame sslrootcert=" + facts["PG_CA"];
    passfile_line = "127.0.0.1:" + facts["PG_PORT"] + ":" + db +
                    ":sesame:" + facts["PG_SESAME_PASSWORD"] + "\n";
  } else {
    dsn = "host=" + facts["PG_SOCKET_DIR"] + " port=" + facts["PG_PORT"] + " dbname=" + db +
          " user=postgres";
  }
  stats.store_path = dsn;

  std::string conf = "# written by sesame bench (bench/bench_postgres.cc)\n";
  conf += "store = postgres\npostgres_dsn = " + dsn + "\n";
  if (spec.tcp) {
    const std::string passfile = s.dir + "/sesame.pgpass";
    SESAME_RETURN_IF_ERROR(WriteText(passfile, passfile_line, 0600));
    conf += "postgres_passfile = " + passfile + "\n";
  }
  conf += "key_file = " + stats.key_path + "\n";
  conf += "runtime_dir = " + stats.runtime_dir + "\n";
  conf += "argon2_time_cost = " + std::to_string(s.params.time_cost) + "\n";
  conf += "argon2_memory_kib = " + std::to_string(s.params.memory_kib) + "\n";
  conf += "argon2_parallelism = " + std::to_string(s.params.parallelism) + "\n";
  SESAME_RETURN_IF_ERROR(WriteText(stats.config_path, conf, 0644));
  Result<Config> config = LoadConfigFile(stats.config_path);
  if (!config.ok()) return config.status().WithContext("bench config");

  SystemRandom random;
  SESAME_RETURN_IF_ERROR(CreateHostKey(stats.key_path, random));
  NullLogger logger;
  PasswordHasher hasher(s.params, nullptr, logger);
  double t0 = NowSeconds();
  Result<std::string> user_hash = hasher.Hash(s.password, random);
  stats.hash_ms = (NowSeconds() - t0) * 1e3;
  if (!user_hash.ok()) return user_hash.status();
  Result<std::string> filler_hash = hasher.Hash("filler password, not used to sign in", random);
  if (!filler_hash.ok()) return filler_hash.status();

  StoreOptions options;
  options.create = true;
  Result<std::unique_ptr<Store>> store = OpenStore(*config, options);
  if (!store.ok()) return store.status();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  SESAME_RETURN_IF_ERROR((*store)->AddUser(UserRecord{s.user, *user_hash, false, now, now}));
  // Fillers user000001, ... skipping the measured name: the first
  // add_user_calls through Store::AddUser (timed), the rest in one statement.
  uint64_t added = 1;
  uint64_t next = 1;
  t0 = NowSeconds();
  while (added < s.users && stats.add_user_count < s.add_user_calls) {
    const std::string name = FillerUserName(next++);
    if (name == s.user) continue;
    SESAME_RETURN_IF_ERROR((*store)->AddUser(UserRecord{name, *filler_hash, false, now, now}));
    ++stats.add_user_count;
    ++added;
  }
  stats.add_user_total_s = NowSeconds() - t0;
  if (added < s.users) {
    // The hash is a PHC string of [A-Za-z0-9$=,+/.-]: safe inside quotes.
    const uint64_t last = next + (s.users - added);  // one spare for the skipped name
    t0 = NowSeconds();
    SESAME_RETURN_IF_ERROR(Run(
        "host=" + facts["PG_SOCKET_DIR"] + " port=" + facts["PG_PORT"] +
            " user=postgres dbname=" + db,
        "INSERT INTO users(name, password_hash, created, password_changed) SELECT name, '" +
            *filler_hash + "', " + std::to_string(now) + ", " + std::to_string(now) +
            " FROM (SELECT 'user' || lpad(i::text, 6, '0') AS name FROM generate_series(" +
            std::to_string(next) + ", " + std::to_string(last) + ") i) n WHERE name <> '" + s.user +
            "' ORDER BY name LIMIT " + std::to_string(s.users - added) + "; ANALYZE users"));
    stats.bulk_total_s = NowSeconds() - t0;
    stats.bulk_count = s.users - added;
  }
  {
    // A host's history: event g at now - g * 89 days / N, one user after
    // another (a prime stride over the fillers; one in 50 the measured
    // user's), two services, 250 addresses, one in ten a failure.
    const std::string n = std::to_string(kPostgresHistoryEvents);
    const std::string fillers = std::to_string(s.users > 1 ? s.users - 1 : 1);
    t0 = NowSeconds();
    SESAME_RETURN_IF_ERROR(
        Run("host=" + facts["PG_SOCKET_DIR"] + " port=" + facts["PG_PORT"] +
                " user=postgres dbname=" + db,
            "INSERT INTO events(time, user_name, service, remote_host, method, outcome, detail, "
            "count) SELECT " +
                std::to_string(now) + " - g::bigint * 7689600 / " + n +
                ", CASE WHEN g % 50 = 0 THEN '" + s.user +
                "' ELSE 'user' || lpad((1 + (g::bigint * 7919) % " + fillers +
                ")::text, 6, '0') END, CASE WHEN g % 3 = 0 THEN 'imap' ELSE 'sshd' END, "
                "'198.51.100.' || (g % 250), 'password', CASE WHEN g % 10 = 0 THEN 'failure' ELSE "
                "'success' END, '', 1 FROM generate_series(1, " +
                n + ") g; ANALYZE events"));
    stats.recent_events_bulk_s = NowSeconds() - t0;
    stats.recent_event_count = kPostgresHistoryEvents;
  }
  Result<std::vector<UserRecord>> users = (*store)->ListUsers();
  if (!users.ok()) return users.status();
  stats.users_in_store = users->size();
  Result<std::optional<UserRecord>> got = (*store)->GetUser(s.user);
  if (!got.ok()) return got.status();
  if (!got->has_value() || (*got)->password_hash != *user_hash)
    return Status(Code::kInternal, "bench store: measured user missing after population");
  return stats;
}

Status DropBenchPostgresDatabase(const std::string& cluster_dir, const std::string& db) {
  std::map<std::string, std::string> facts = ClusterFacts(cluster_dir);
  if (facts["PG_ADMIN_DSN"].empty())
    return Status(Code::kUnavailable, "bench: no cluster.env in " + cluster_dir);
  // The name goes into the statement: only the shape this file makes.
  const std::string prefix = "bench_";
  const size_t sep = db.find('_', prefix.size());
  auto digits = [](const std::string& t) {
    return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
  };
  if (db.rfind(prefix, 0) != 0 || sep == std::string::npos ||
      !digits(db.substr(prefix.size(), sep - prefix.size())) || !digits(db.substr(sep + 1))) {
    return Status(Code::kInvalidArgument, "bench: not a benchmark database: " + db);
  }
  return Run(facts["PG_ADMIN_DSN"], "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
}

}  // namespace sesame::bench
