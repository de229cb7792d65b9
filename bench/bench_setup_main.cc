// sesame_bench_setup: builds one benchmark installation for sesame_pam_bench.
//
//   sesame_bench_setup DIR TIME_COST MEMORY_KIB PARALLELISM USERS USER ADD_USER_CALLS
//
// reads the measured user's password as one line on stdin and prints
// `key=value` lines (paths and timings) on stdout. A separate program so the
// PAM benchmark process itself links only libpam, like a real PAM
// application: the module then loads SQLite, libargon2 and libcrypto the way
// it does in sshd or a Dovecot auth worker.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "bench/bench_env.h"

namespace {

bool ParseU64(const char* text, uint64_t* out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: %s DIR TIME_COST MEMORY_KIB PARALLELISM USERS USER ADD_USER_CALLS "
                 "(password on stdin)\n",
                 argv[0]);
    return 2;
  }
  sesame::bench::StoreSpec spec;
  spec.dir = argv[1];
  uint64_t t = 0, m = 0, p = 0;
  if (!ParseU64(argv[2], &t) || !ParseU64(argv[3], &m) || !ParseU64(argv[4], &p) ||
      !ParseU64(argv[5], &spec.users) || !ParseU64(argv[7], &spec.add_user_calls)) {
    std::fprintf(stderr, "%s: bad number\n", argv[0]);
    return 2;
  }
  spec.params = sesame::Argon2Params{static_cast<uint32_t>(t), static_cast<uint32_t>(m),
                                     static_cast<uint32_t>(p)};
  spec.user = argv[6];
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
  std::printf("users_in_store=%llu\n", static_cast<unsigned long long>(stats->users_in_store));
  std::printf("store_bytes=%llu\n", static_cast<unsigned long long>(stats->store_bytes));
  return 0;
}
