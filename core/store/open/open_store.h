// OpenStore: the one way the module and the tools reach the store the
// config names (`store = sqlite`, the default; `store = postgres` is the
// next backend). Every caller goes through here, so a second backend is
// one more case in one file.
#ifndef SESAME_CORE_STORE_OPEN_STORE_H_
#define SESAME_CORE_STORE_OPEN_STORE_H_

#include <memory>
#include <string>

#include "core/base/safe_file.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/store/postgres/postgres_store.h"
#include "core/store/store.h"

namespace sesame {

struct StoreOptions {
  // Create the store (and its schema) when it does not exist yet; without,
  // a missing store is kNotFound naming `sesame-admin init`.
  bool create = false;
  // Apply pending forward migrations; without, an older schema is
  // kUnavailable naming `sesame-admin db migrate`.
  bool migrate = true;
  // PostgreSQL: also apply the pending migrations of a schema this sesame
  // can use as it is (PostgresOptions::migrate_usable); SQLite applies
  // every pending migration under `migrate`.
  bool migrate_usable = false;
  // Who must own a store file and its directories (root in production; the
  // tests' own uid): the SQLite backend's trust rule.
  uid_t owner = 0;
};

// The store `config` names, opened with `options`. kInvalidArgument for a
// backend this build does not have, with what to do.
Result<std::unique_ptr<Store>> OpenStore(const Config& config, const StoreOptions& options);

// The PostgreSQL backend's options for `config` (store = postgres), as
// OpenStore opens it: the config's settings, `options`' create, migrate and
// owner (of the passfile), the primary's hint in runtime_dir.
PostgresOptions PostgresOptionsFor(const Config& config, const StoreOptions& options);

// The store `config` names, for people: the SQLite file, or the
// PostgreSQL server and database ("host=db1 port=5432 dbname=sesame
// user=sesame"). Never a secret.
std::string DescribeStore(const Config& config);

// What identifies the store `config` names and how a connection to it was
// opened ("sqlite:/var/lib/sesame/sesame.db busy=5000"): two configs with
// the same identity may share a kept connection (pam_module/store_pool.h).
std::string StoreIdentity(const Config& config);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_OPEN_STORE_H_
