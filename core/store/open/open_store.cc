#include "core/store/open/open_store.h"

#include "core/store/postgres/postgres_store.h"
#include "core/store/sqlite/sqlite_store.h"
#if defined(SESAME_POSTGRES_PLUGIN) && !defined(SESAME_WITH_POSTGRES)
#include <dlfcn.h>

#include <mutex>

#include "core/store/postgres/postgres_plugin.h"
#endif

namespace sesame {

#if defined(SESAME_POSTGRES_PLUGIN) && !defined(SESAME_WITH_POSTGRES)
namespace {

// The plugin's open function, loaded once per process (postgres_plugin.h):
// from the directory this code (pam_sesame.so) was loaded from, after the
// same checks as the key file's directory; never unloaded.
Status LoadPostgresPlugin(PostgresPluginOpen* out) {
  static std::mutex mu;
  static PostgresPluginOpen loaded = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  *out = loaded;
  if (loaded != nullptr) return Status::Ok();
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&LoadPostgresPlugin), &self) == 0 ||
      self.dli_fname == nullptr) {
    return Status(Code::kInternal, "store = postgres: cannot find where pam_sesame.so is");
  }
  std::string path = self.dli_fname;
  const size_t slash = path.find_last_of('/');
  path = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/" +
         kPostgresPluginFile;
  Status trusted = CheckTrustedPath(path, "PostgreSQL store plugin", TrustRule{0, false});
  if (!trusted.ok()) {
    return Status(trusted.code(), "store = postgres: " + trusted.message() +
                                      " (it is installed with pam_sesame.so; reinstall sesame)");
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(Code::kUnavailable, "store = postgres: cannot load " + path + ": " +
                                          (why != nullptr ? why : "dlopen failed"));
  }
  void* symbol = dlsym(handle, kPostgresPluginSymbol);
  if (symbol == nullptr) {
    return Status(Code::kUnavailable, "store = postgres: " + path +
                                          " is not the plugin of this "
                                          "build of pam_sesame.so (no " +
                                          std::string(kPostgresPluginSymbol) +
                                          "); install both from one build");
  }
  loaded = reinterpret_cast<PostgresPluginOpen>(symbol);
  *out = loaded;
  return Status::Ok();
}

Result<std::unique_ptr<Store>> OpenPostgresStoreByPlugin(const PostgresOptions& options) {
  PostgresPluginOpen open = nullptr;
  SESAME_RETURN_IF_ERROR(LoadPostgresPlugin(&open));
  std::unique_ptr<Store> store;
  std::string message;
  const int code = open(options, sizeof(PostgresOptions), sizeof(Store), &store, &message);
  if (code != static_cast<int>(Code::kOk) || store == nullptr) {
    return Status(code > 0 && code <= static_cast<int>(Code::kInternal) ? static_cast<Code>(code)
                                                                        : Code::kInternal,
                  message.empty() ? "store = postgres: the plugin opened nothing" : message);
  }
  return store;
}

}  // namespace
#endif

PostgresOptions PostgresOptionsFor(const Config& config, const StoreOptions& options) {
  PostgresOptions postgres;
  postgres.dsn = config.postgres_dsn;
  postgres.passfile = config.postgres_passfile;
  postgres.connect_timeout_s = config.postgres_connect_timeout;
  postgres.statement_timeout_s = config.postgres_statement_timeout;
  postgres.lock_timeout_ms = config.store_busy_timeout_ms;
  postgres.create = options.create;
  postgres.migrate = options.migrate;
  postgres.migrate_usable = options.migrate_usable;
  postgres.passfile_trust = TrustRule{options.owner, true};
  postgres.primary_hint = config.runtime_dir + "/postgres-primary";
  return postgres;
}

Result<std::unique_ptr<Store>> OpenStore(const Config& config, const StoreOptions& options) {
  if (config.store == "sqlite") {
    SqliteOptions sqlite;
    sqlite.create = options.create;
    sqlite.migrate = options.migrate;
    sqlite.busy_timeout_ms = config.store_busy_timeout_ms;
    sqlite.trust = TrustRule{options.owner, true};
    return OpenSqliteStore(config.store_path, sqlite);
  }
  if (config.store == "postgres") {
#if defined(SESAME_WITH_POSTGRES) || defined(SESAME_POSTGRES_PLUGIN)
    const PostgresOptions postgres = PostgresOptionsFor(config, options);
#if defined(SESAME_WITH_POSTGRES)
    return OpenPostgresStore(postgres);
#else
    return OpenPostgresStoreByPlugin(postgres);
#endif
#else
    return Status(Code::kInvalidArgument,
                  "store = postgres, but this build of sesame has no PostgreSQL backend (it was "
                  "built without libpq); install a build with it, or use store = sqlite");
#endif
  }
  return Status(
      Code::kInvalidArgument,
      "store = " + config.store + " is not available in this build of sesame; use store = sqlite");
}

std::string DescribeStore(const Config& config) {
  if (config.store == "postgres") {
#ifdef SESAME_WITH_POSTGRES
    return DescribePostgresDsn(config.postgres_dsn);
#else
    return "PostgreSQL (postgres_dsn)";
#endif
  }
  return config.store_path;
}

std::string StoreIdentity(const Config& config) {
  if (config.store == "postgres") {
    return "postgres:" + config.postgres_dsn + " passfile=" + config.postgres_passfile +
           " connect=" + std::to_string(config.postgres_connect_timeout) +
           " statement=" + std::to_string(config.postgres_statement_timeout) +
           " busy=" + std::to_string(config.store_busy_timeout_ms);
  }
  return config.store + ":" + config.store_path +
         " busy=" + std::to_string(config.store_busy_timeout_ms);
}

}  // namespace sesame
