// Looking after the SQLite store file from outside the Store interface:
// what `sesame-admin doctor` and `sesame-admin db check | migrate` need.
//
// MUST rules:
//  - the file and its directory pass the same trust checks as for
//    OpenSqliteStore before SQLite opens it;
//  - inspecting never creates, migrates or otherwise writes the store;
//  - a backup is a consistent copy (VACUUM INTO, under SQLite's own read
//    lock), made with mode 0600 at a path that did not exist, and is
//    complete before any migration starts.
#ifndef SESAME_CORE_STORE_SQLITE_SQLITE_MAINTENANCE_H_
#define SESAME_CORE_STORE_SQLITE_SQLITE_MAINTENANCE_H_

#include <string>

#include "core/base/safe_file.h"
#include "core/base/status.h"

namespace sesame {

struct SqliteFacts {
  int schema_version = 0;     // 0: no schema yet (an empty database)
  int known_version = 0;      // the version this build writes (kSqliteSchemaVersion)
  bool integrity_ok = false;  // PRAGMA quick_check said "ok"
  std::string integrity;      // its first lines otherwise
};

// Schema version and PRAGMA quick_check of the store at `path`. kNotFound
// when it does not exist; the trust rule's errors as OpenSqliteStore's;
// kCorrupt for a file that is not a database or not a Sesame store.
Result<SqliteFacts> InspectSqliteStore(const std::string& path, TrustRule trust,
                                       int busy_timeout_ms);

// A consistent copy of the store at `path` into `backup_path` (which must
// not exist), mode 0600.
Status BackupSqliteStore(const std::string& path, const std::string& backup_path, TrustRule trust,
                         int busy_timeout_ms);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_SQLITE_SQLITE_MAINTENANCE_H_
