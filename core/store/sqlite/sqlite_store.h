// The embedded SQLite backend of Store (the default).
//
// WAL journal, synchronous=NORMAL, a busy timeout, foreign keys on. Writes
// use BEGIN IMMEDIATE so two writers queue on the busy handler instead of
// failing with "database is locked" at COMMIT. Schema versions live in
// table schema_version; Open applies forward migrations in one transaction
// each. See docs/storage.md.
#ifndef SESAME_CORE_STORE_SQLITE_SQLITE_STORE_H_
#define SESAME_CORE_STORE_SQLITE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "core/base/safe_file.h"
#include "core/store/store.h"

namespace sesame {

inline constexpr int kSqliteSchemaVersion = 10;

struct SqliteOptions {
  // Create the file (mode 0600) and schema when missing; otherwise a
  // missing file is kNotFound naming the file and `sesame-admin init`.
  bool create = false;
  int busy_timeout_ms = 5000;
  // Ownership/mode rule for the file and its directory (root in production).
  // The store holds password hashes: no group/other access (secret).
  TrustRule trust{0, true};
  // Apply pending forward migrations (one transaction each). When false, an
  // older schema is kUnavailable naming `sesame-admin db migrate`. A newer
  // schema than this build knows is always refused.
  bool migrate = true;
};

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const SqliteOptions& options);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_SQLITE_SQLITE_STORE_H_
