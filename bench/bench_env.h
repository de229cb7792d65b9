// Benchmark fixtures: a throwaway sesame installation (config, key, store
// with many users) in a temporary directory, built with the core API where
// that is fast enough and with raw SQLite inserts where it is not.
//
// Not part of the product and never part of pass/fail: used by
// sesame_core_bench (in process) and sesame_bench_setup (for
// sesame_pam_bench, which must not link core itself; see pam_loop.cc).
#ifndef SESAME_BENCH_BENCH_ENV_H_
#define SESAME_BENCH_BENCH_ENV_H_

#include <cstdint>
#include <string>

#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/crypto/password_hash.h"

namespace sesame::bench {

inline constexpr Argon2Params kDefaultCost{3, 65536, 1};
inline constexpr Argon2Params kMinCost{1, 8, 1};

// The user the benchmarks sign in as, and the name of filler user i.
std::string FillerUserName(uint64_t i);

struct StoreSpec {
  std::string dir;  // existing directory, root-owned, mode 0700
  Argon2Params params = kDefaultCost;
  uint64_t users = 100000;  // total users, the measured one included
  std::string user = "user050000";
  std::string password;
  // How many users go in through Store::AddUser (one transaction each) so
  // its rate can be reported; the rest go in with one raw SQLite
  // transaction.
  uint64_t add_user_calls = 2000;
  // Users named totp_prefix + "0" .. totp_prefix + (totp_users - 1) get the
  // measured user's password and an authenticator with BenchTotpSecret(i),
  // enrolled through Store::SetTotp. They count in `users`.
  uint64_t totp_users = 0;
  std::string totp_prefix = "totp";
  // App passwords of the measured user (mode=app_password stacks): the
  // last one through Store::AddAppPassword (the product's path, with the
  // cap), the others before it with one raw SQLite transaction. Each is
  // NewAppPassword + NormalizeAppPassword + AppPasswordDigest under the
  // installation's host key, as MakeAppPassword makes them. The config
  // then says app_password_max = max(app_passwords, 25).
  uint64_t app_passwords = 0;
  // Sign-in events older than the retention (activity_retention_days, the
  // default 90): old_events rows inserted with one raw SQLite transaction,
  // times spread evenly from 465 to 100 days before now (oldest first),
  // spread over the filler users (the measured one included), a mix of
  // services, remote hosts and outcomes. What pruning in passing (each
  // sign-in's own write deletes a few, kPruneInPassingBatch) then finds
  // due on a host that has kept a year of events.
  uint64_t old_events = 0;
};

struct StoreStats {
  std::string config_path;
  std::string store_path;
  std::string key_path;
  std::string runtime_dir;
  double hash_ms = 0;               // one PasswordHasher::Hash at the spec's cost
  uint64_t add_user_count = 0;      // users added with Store::AddUser
  double add_user_total_s = 0;      // time for those
  uint64_t bulk_count = 0;          // users inserted in the raw transaction
  double bulk_total_s = 0;          // time for that transaction
  uint64_t totp_count = 0;          // users enrolled with Store::SetTotp
  double totp_total_s = 0;          // time for those (Seal + SetTotp)
  uint64_t app_password_count = 0;  // app passwords of the measured user in the store
  double app_password_bulk_s = 0;   // the raw transaction (all but the last), digests included
  double app_password_add_ms = 0;   // the last one, Store::AddAppPassword
  // The last one as shown to a person ("abcd efgh ..."): what the
  // benchmark signs in with. Not a secret worth keeping: a throwaway store.
  std::string app_password;
  uint64_t old_event_count = 0;     // events older than 90 days after population
  double old_events_bulk_s = 0;     // the raw transaction that inserted them
  uint64_t recent_event_count = 0;  // PostgreSQL: a host's history, none due for pruning
  double recent_events_bulk_s = 0;  // the statement that inserted them
  uint64_t users_in_store = 0;      // count(*) after population
  uint64_t store_bytes = 0;         // size of the database file
};

// Writes DIR/sesame.conf, DIR/sesame.key, DIR/sesame.db (and DIR/run for
// the argon2 slots) and fills the store. Every filler user shares one hash
// (computed once at the spec's cost), and the TOTP users share the measured
// user's: lookup cost depends on the number of rows, not on their hashes.
Result<StoreStats> MakeBenchStore(const StoreSpec& spec);

// Events in the store at `store_path`: all of them, and those older than
// `retention_days` days before now (what pruning may delete). A raw
// SQLite read, for the report after a run.
struct EventCounts {
  uint64_t total = 0;
  uint64_t old = 0;
};
Result<EventCounts> CountEvents(const std::string& store_path, int retention_days);

// The authenticator secret of enrolled benchmark user `index`: 20 bytes
// made from the index. A benchmark needs secrets it can compute codes for,
// not good ones; never use this anywhere else.
SecretBuffer BenchTotpSecret(uint64_t index);

// The code of BenchTotpSecret(index) at `unix_time` with the default TOTP
// parameters (SHA1, 6 digits, 30 s), which both pam_sesame and
// pam_google_authenticator use by default.
std::string BenchTotpCode(uint64_t index, int64_t unix_time);

// pam_google_authenticator secret files DIR/PREFIX0 .. DIR/PREFIX(count-1),
// root's, mode 0400, for `secret=DIR/${USER} user=root`: the base32 of
// BenchTotpSecret(i), then " TOTP_AUTH", " WINDOW_SIZE 3" (the step before
// and after, as Sesame's totp_window = 1) and, with `disallow_reuse`,
// " DISALLOW_REUSE" (each step accepted once, as Sesame always does).
Status WriteGoogleAuthenticatorFiles(const std::string& dir, const std::string& prefix,
                                     uint64_t count, bool disallow_reuse);

// mkdtemp under `parent` with mode 0700; returns the path.
Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix);

// rm -rf, not following symlinks. Best effort.
void RemoveTree(const std::string& path);

// Monotonic seconds.
double NowSeconds();

}  // namespace sesame::bench

#endif  // SESAME_BENCH_BENCH_ENV_H_
