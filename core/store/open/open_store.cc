#include "core/store/open/open_store.h"

#include "core/store/sqlite/sqlite_store.h"

namespace sesame {

Result<std::unique_ptr<Store>> OpenStore(const Config& config, const StoreOptions& options) {
  if (config.store == "sqlite") {
    SqliteOptions sqlite;
    sqlite.create = options.create;
    sqlite.migrate = options.migrate;
    sqlite.busy_timeout_ms = config.store_busy_timeout_ms;
    sqlite.trust = TrustRule{options.owner, true};
    return OpenSqliteStore(config.store_path, sqlite);
  }
  return Status(
      Code::kInvalidArgument,
      "store = " + config.store + " is not available in this build of sesame; use store = sqlite");
}

std::string StoreIdentity(const Config& config) {
  return config.store + ":" + config.store_path +
         " busy=" + std::to_string(config.store_busy_timeout_ms);
}

}  // namespace sesame
