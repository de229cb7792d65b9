// sesame_bench_setup: the parts of sesame_pam_bench that need core.
//
//   sesame_bench_setup DIR TIME_COST MEMORY_KIB PARALLELISM USERS USER ADD_USER_CALLS
//                      [TOTP_USERS TOTP_PREFIX]
//       builds one sesame installation: reads the measured user's password
//       as one line on stdin and prints `key=value` lines (paths and
//       timings) on stdout. TOTP_USERS users named TOTP_PREFIX0, ... get the
//       same password and an authenticator (bench_env.h). With
//       --app-passwords N (last), the measured user gets N app passwords
//       (1 to 1,000) and `app_password=` is the one to sign in with.
//       With --old-events N (last; with --app-passwords or alone), the
//       store also gets N sign-in events 100 to 465 days old, due for
//       pruning (activity_retention_days = 90, the default), inserted
//       with one raw SQLite transaction (bench_env.h).
//   sesame_bench_setup postgres socket|tcp CLUSTER_DIR DIR TIME_COST MEMORY_KIB USERS USER
//                      ADD_USER_CALLS
//       the same with the PostgreSQL store: a new database in the running
//       cluster of tests/pg/pg-cluster (CLUSTER_DIR), over its Unix socket
//       or over TCP 127.0.0.1 with TLS (bench_postgres.h); `store=` is the
//       DSN.
//   sesame_bench_setup postgres-drop CLUSTER_DIR DBNAME
//       drops a database `postgres` made (sesame_pam_bench does, at exit,
//       in a cluster given with --postgres-cluster).
//   sesame_bench_setup events STORE RETENTION_DAYS
//       prints `events_total=` and `events_old=` (older than
//       RETENTION_DAYS days before now) of the store's events table.
//   sesame_bench_setup google-authenticator DIR PREFIX COUNT reuse|disallow-reuse
//       writes pam_google_authenticator secret files DIR/PREFIX0, ... with
//       the same secrets as the TOTP users above.
//   sesame_bench_setup sha512crypt
//       reads a password as one line on stdin and prints its sha512crypt
//       hash ($6$, libxcrypt's default rounds), for pam_pwdfile.
//   sesame_bench_setup codes
//       answers lines "INDEX UNIX_TIME" on stdin with the 6-digit code of
//       TOTP user INDEX at that time, one line each, until end of input.
//
// A separate program so the PAM benchmark process itself links only libpam,
// like a real PAM application: the module then loads SQLite, libargon2 and
// libcrypto the way it does in sshd or a Dovecot auth worker.
#include <crypt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "bench/bench_env.h"
#ifdef SESAME_BENCH_POSTGRES
#include "bench/bench_postgres.h"
#endif

namespace {

bool ParseU64(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0) return false;
  *out = v;
  return true;
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s DIR TIME_COST MEMORY_KIB PARALLELISM USERS USER ADD_USER_CALLS "
               "[TOTP_USERS TOTP_PREFIX] [--app-passwords N] [--old-events N] "
               "(password on stdin)\n"
               "       %s postgres socket|tcp CLUSTER_DIR DIR TIME_COST MEMORY_KIB USERS USER "
               "ADD_USER_CALLS (password on stdin)\n"
               "       %s postgres-drop CLUSTER_DIR DBNAME\n"
               "       %s events STORE RETENTION_DAYS\n"
               "       %s google-authenticator DIR PREFIX COUNT reuse|disallow-reuse\n"
               "       %s sha512crypt (password on stdin)\n"
               "       %s codes (lines \"INDEX UNIX_TIME\" on stdin)\n",
               argv0, argv0, argv0, argv0, argv0, argv0, argv0);
  return 2;
}

int ServeCodes() {
  std::string line;
  while (std::getline(std::cin, line)) {
    unsigned long long index = 0;
    long long now = 0;
    char extra = 0;
    if (std::sscanf(line.c_str(), "%llu %lld %c", &index, &now, &extra) != 2) {
      std::fprintf(stderr, "sesame_bench_setup codes: bad request\n");
      return 2;
    }
    std::string code = sesame::bench::BenchTotpCode(index, now);
    if (code.empty()) return 1;
    std::printf("%s\n", code.c_str());
    std::fflush(stdout);
  }
  return 0;
}

int Sha512Crypt() {
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::fprintf(stderr, "sesame_bench_setup sha512crypt: no password on stdin\n");
    return 2;
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  struct crypt_data data {};
  if (crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt) == nullptr ||
      crypt_rn(password.c_str(), salt, &data, sizeof data) == nullptr || data.output[0] != '$') {
    std::fprintf(stderr, "sesame_bench_setup sha512crypt: crypt failed\n");
    return 1;
  }
  std::printf("%s\n", data.output);
  return 0;
}

int WriteGoogleAuthenticator(int argc, char** argv) {
  uint64_t count = 0;
  if (argc != 6 || !ParseU64(argv[4], &count)) return Usage(argv[0]);
  const std::string reuse = argv[5];
  if (reuse != "reuse" && reuse != "disallow-reuse") return Usage(argv[0]);
  sesame::Status st = sesame::bench::WriteGoogleAuthenticatorFiles(argv[2], argv[3], count,
                                                                   reuse == "disallow-reuse");
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], st.message().c_str());
    return 1;
  }
  return 0;
}

int Events(int argc, char** argv) {
  uint64_t days = 0;
  if (argc != 4 || !ParseU64(argv[3], &days) || days > 36500) return Usage(argv[0]);
  sesame::Result<sesame::bench::EventCounts> counts =
      sesame::bench::CountEvents(argv[2], static_cast<int>(days));
  if (!counts.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], counts.status().message().c_str());
    return 1;
  }
  std::printf("events_total=%llu\n", static_cast<unsigned long long>(counts->total));
  std::printf("events_old=%llu\n", static_cast<unsigned long long>(counts->old));
  return 0;
}

#ifdef SESAME_BENCH_POSTGRES
void PrintStats(const sesame::bench::StoreStats& stats) {
  std::printf("config=%s\n", stats.config_path.c_str());
  std::printf("store=%s\n", stats.store_path.c_str());
  std::printf("hash_ms=%.3f\n", stats.hash_ms);
  std::printf("add_user_count=%llu\n", static_cast<unsigned long long>(stats.add_user_count));
  std::printf("add_user_total_s=%.6f\n", stats.add_user_total_s);
  std::printf("bulk_count=%llu\n", static_cast<unsigned long long>(stats.bulk_count));
  std::printf("bulk_total_s=%.6f\n", stats.bulk_total_s);
  std::printf("recent_event_count=%llu\n",
              static_cast<unsigned long long>(stats.recent_event_count));
  std::printf("recent_events_bulk_s=%.6f\n", stats.recent_events_bulk_s);
  std::printf("users_in_store=%llu\n", static_cast<unsigned long long>(stats.users_in_store));
}

int Postgres(int argc, char** argv) {
  if (argc != 10) return Usage(argv[0]);
  const std::string mode = argv[2];
  if (mode != "socket" && mode != "tcp") return Usage(argv[0]);
  sesame::bench::PostgresBenchSpec spec;
  spec.tcp = mode == "tcp";
  spec.cluster_dir = argv[3];
  spec.store.dir = argv[4];
  uint64_t t = 0, m = 0;
  if (!ParseU64(argv[5], &t) || !ParseU64(argv[6], &m) || !ParseU64(argv[7], &spec.store.users) ||
      !ParseU64(argv[9], &spec.store.add_user_calls) || spec.store.users == 0) {
    std::fprintf(stderr, "%s: bad number\n", argv[0]);
    return 2;
  }
  spec.store.params = sesame::Argon2Params{static_cast<uint32_t>(t), static_cast<uint32_t>(m), 1};
  spec.store.user = argv[8];
  if (!std::getline(std::cin, spec.store.password) || spec.store.password.empty()) {
    std::fprintf(stderr, "%s: no password on stdin\n", argv[0]);
    return 2;
  }
  sesame::Result<sesame::bench::StoreStats> stats = sesame::bench::MakeBenchPostgresStore(spec);
  if (!stats.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], stats.status().message().c_str());
    return 1;
  }
  PrintStats(*stats);
  return 0;
}

int PostgresDrop(int argc, char** argv) {
  if (argc != 4) return Usage(argv[0]);
  sesame::Status dropped = sesame::bench::DropBenchPostgresDatabase(argv[2], argv[3]);
  if (!dropped.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], dropped.message().c_str());
    return 1;
  }
  return 0;
}
#else
int Postgres(int, char** argv) {
  std::fprintf(stderr, "%s postgres: this build has no PostgreSQL store (libpq-dev)\n", argv[0]);
  return 2;
}
int PostgresDrop(int argc, char** argv) { return Postgres(argc, argv); }
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "postgres") == 0) return Postgres(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "postgres-drop") == 0) return PostgresDrop(argc, argv);
  if (argc == 2 && std::strcmp(argv[1], "codes") == 0) return ServeCodes();
  if (argc >= 2 && std::strcmp(argv[1], "google-authenticator") == 0)
    return WriteGoogleAuthenticator(argc, argv);
  if (argc == 2 && std::strcmp(argv[1], "sha512crypt") == 0) return Sha512Crypt();
  if (argc >= 2 && std::strcmp(argv[1], "events") == 0) return Events(argc, argv);
  sesame::bench::StoreSpec spec;
  if (argc >= 3 && std::strcmp(argv[argc - 2], "--old-events") == 0) {
    if (!ParseU64(argv[argc - 1], &spec.old_events) || spec.old_events > 100000000) {
      std::fprintf(stderr, "%s: --old-events takes 0 to 100000000\n", argv[0]);
      return 2;
    }
    argc -= 2;
  }
  if (argc >= 3 && std::strcmp(argv[argc - 2], "--app-passwords") == 0) {
    if (!ParseU64(argv[argc - 1], &spec.app_passwords) || spec.app_passwords < 1 ||
        spec.app_passwords > 1000) {
      std::fprintf(stderr, "%s: --app-passwords takes 1 to 1000 (app_password_max)\n", argv[0]);
      return 2;
    }
    argc -= 2;
  }
  if (argc != 8 && argc != 10) return Usage(argv[0]);
  spec.dir = argv[1];
  uint64_t t = 0, m = 0, p = 0;
  if (!ParseU64(argv[2], &t) || !ParseU64(argv[3], &m) || !ParseU64(argv[4], &p) ||
      !ParseU64(argv[5], &spec.users) || !ParseU64(argv[7], &spec.add_user_calls) ||
      (argc == 10 && !ParseU64(argv[8], &spec.totp_users))) {
    std::fprintf(stderr, "%s: bad number\n", argv[0]);
    return 2;
  }
  spec.params = sesame::Argon2Params{static_cast<uint32_t>(t), static_cast<uint32_t>(m),
                                     static_cast<uint32_t>(p)};
  spec.user = argv[6];
  if (argc == 10) spec.totp_prefix = argv[9];
  if (!std::getline(std::cin, spec.password) || spec.password.empty()) {
    std::fprintf(stderr, "%s: no password on stdin\n", argv[0]);
    return 2;
  }
  sesame::Result<sesame::bench::StoreStats> stats = sesame::bench::MakeBenchStore(spec);
  if (!stats.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], stats.status().message().c_str());
    return 1;
  }
  std::printf("config=%s\n", stats->config_path.c_str());
  std::printf("store=%s\n", stats->store_path.c_str());
  std::printf("hash_ms=%.3f\n", stats->hash_ms);
  std::printf("add_user_count=%llu\n", static_cast<unsigned long long>(stats->add_user_count));
  std::printf("add_user_total_s=%.6f\n", stats->add_user_total_s);
  std::printf("bulk_count=%llu\n", static_cast<unsigned long long>(stats->bulk_count));
  std::printf("bulk_total_s=%.6f\n", stats->bulk_total_s);
  std::printf("totp_count=%llu\n", static_cast<unsigned long long>(stats->totp_count));
  std::printf("totp_total_s=%.6f\n", stats->totp_total_s);
  std::printf("app_password_count=%llu\n",
              static_cast<unsigned long long>(stats->app_password_count));
  std::printf("app_password_bulk_s=%.6f\n", stats->app_password_bulk_s);
  std::printf("app_password_add_ms=%.3f\n", stats->app_password_add_ms);
  if (!stats->app_password.empty()) std::printf("app_password=%s\n", stats->app_password.c_str());
  std::printf("old_event_count=%llu\n", static_cast<unsigned long long>(stats->old_event_count));
  std::printf("old_events_bulk_s=%.6f\n", stats->old_events_bulk_s);
  std::printf("users_in_store=%llu\n", static_cast<unsigned long long>(stats->users_in_store));
  std::printf("store_bytes=%llu\n", static_cast<unsigned long long>(stats->store_bytes));
  return 0;
}
