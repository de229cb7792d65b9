// store_postgres.so: the PostgreSQL backend for pam_sesame.so
// (postgres_plugin.h). One exported function; everything else is hidden.
#include "core/store/postgres/postgres_plugin.h"

#include <exception>
#include <memory>
#include <string>

#include "core/store/postgres/postgres_store.h"

extern "C" __attribute__((visibility("default"))) int SESAME_POSTGRES_PLUGIN_FUNCTION(
    const sesame::PostgresOptions& options, size_t options_size, size_t store_size,
    std::unique_ptr<sesame::Store>* store, std::string* message) {
  using sesame::Code;
  if (options_size != sizeof(sesame::PostgresOptions) || store_size != sizeof(sesame::Store)) {
    *message =
        "the PostgreSQL store plugin was built with another sesame than pam_sesame.so; install "
        "both from one build";
    return static_cast<int>(Code::kInternal);
  }
  try {
    sesame::Result<std::unique_ptr<sesame::Store>> opened = sesame::OpenPostgresStore(options);
    if (!opened.ok()) {
      *message = opened.status().message();
      return static_cast<int>(opened.status().code());
    }
    *store = std::move(opened).value();
    return static_cast<int>(Code::kOk);
  } catch (const std::exception& e) {
    // Nothing may unwind into the module's C caller chain.
    *message = std::string("PostgreSQL store: ") + e.what();
    return static_cast<int>(Code::kInternal);
  }
}
