// sesame-admin db check | migrate: the store's schema version and
// integrity; forward migrations, after a backup of the store.
//
// MUST rules:
//  - check changes nothing;
//  - migrate makes a complete backup (0600, next to the store, never over
//    an existing file) before the first migration, and none when nothing is
//    to be done; a failed backup migrates nothing.
#include <cstdio>
#include <ctime>
#include <string>

#include "core/config/config.h"
#include "core/store/open/open_store.h"
#include "core/store/sqlite/sqlite_maintenance.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"

namespace sesame::admin {
namespace {

constexpr TrustRule kStoreTrust{0, true};

struct Loaded {
  Config config;
  SqliteFacts facts;
};

Result<Loaded> Load(const Invocation& inv) {
  Result<Config> config = LoadConfigFile(inv.config_path);
  if (!config.ok()) return ConfigProblem(config.status());
  Result<SqliteFacts> facts =
      InspectSqliteStore(config->store_path, kStoreTrust, config->store_busy_timeout_ms);
  // kNotFound stays: exit 3 tells the package's postinst "no store yet".
  if (!facts.ok()) return facts.status();
  return Loaded{*config, *facts};
}

void PrintJson(const Loaded& l, const char* action, const std::string& backup) {
  JsonWriter j;
  j.BeginObject().Key("store").String(l.config.store_path);
  j.Key("schema_version").Int(l.facts.schema_version);
  j.Key("current_version").Int(l.facts.known_version);
  j.Key("integrity").String(l.facts.integrity_ok ? "ok" : l.facts.integrity);
  if (action != nullptr) j.Key("action").String(action);
  if (!backup.empty()) j.Key("backup").String(backup);
  j.EndObject();
  std::printf("%s\n", j.str().c_str());
}

std::string BackupPath(const std::string& store, int version) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return store + ".v" + std::to_string(version) + "-" + stamp + ".bak";
}

}  // namespace

int RunDbCheck(const Invocation& inv) {
  Result<Loaded> l = Load(inv);
  if (!l.ok()) return Fail(l.status());
  const SqliteFacts& f = l->facts;
  if (inv.json) PrintJson(*l, nullptr, "");
  if (!inv.json) {
    std::printf("store: %s\nschema version: %d (this sesame: %d)\nintegrity: %s\n",
                l->config.store_path.c_str(), f.schema_version, f.known_version,
                f.integrity_ok ? "ok" : f.integrity.c_str());
  }
  if (!f.integrity_ok)
    return Fail(Status(Code::kCorrupt, "store " + l->config.store_path +
                                           " failed its integrity check; restore it from a "
                                           "backup"));
  if (f.schema_version < f.known_version)
    return Fail(Status(Code::kUnavailable, "schema version " + std::to_string(f.schema_version) +
                                               " is older than " + std::to_string(f.known_version) +
                                               ": run `sesame-admin db migrate`"));
  if (f.schema_version > f.known_version)
    return Fail(Status(Code::kUnavailable,
                       "schema version " + std::to_string(f.schema_version) +
                           " is newer than this sesame knows; install the sesame that made it"));
  return kExitOk;
}

int RunDbMigrate(const Invocation& inv) {
  Result<Loaded> l = Load(inv);
  if (!l.ok()) return Fail(l.status());
  const SqliteFacts& f = l->facts;
  if (!f.integrity_ok)
    return Fail(Status(Code::kCorrupt, "store " + l->config.store_path +
                                           " failed its integrity check (" + f.integrity +
                                           "); not migrating: restore it from a backup"));
  if (f.schema_version > f.known_version)
    return Fail(Status(Code::kUnavailable,
                       "schema version " + std::to_string(f.schema_version) +
                           " is newer than this sesame knows; install the sesame that made it"));
  if (f.schema_version == f.known_version || f.schema_version == 0) {
    if (inv.json) {
      PrintJson(*l, "none", "");
    } else {
      std::printf("store %s is at schema version %d: nothing to migrate\n",
                  l->config.store_path.c_str(), f.schema_version);
    }
    return kExitOk;
  }
  const std::string backup = BackupPath(l->config.store_path, f.schema_version);
  Status copied =
      BackupSqliteStore(l->config.store_path, backup, kStoreTrust, l->config.store_busy_timeout_ms);
  if (!copied.ok()) return Fail(Status(copied.code(), copied.message() + "; nothing migrated"));
  StoreOptions options;
  options.migrate = true;
  Result<std::unique_ptr<Store>> store = OpenStore(l->config, options);
  if (!store.ok())
    return Fail(Status(store.status().code(),
                       store.status().message() + " (the backup is " + backup + ")"));
  Result<Loaded> after = Load(inv);
  if (!after.ok()) return Fail(after.status());
  if (inv.json) {
    PrintJson(*after, "migrated", backup);
  } else {
    std::printf("store %s migrated from schema version %d to %d; backup: %s\n",
                l->config.store_path.c_str(), f.schema_version, after->facts.schema_version,
                backup.c_str());
  }
  return kExitOk;
}

}  // namespace sesame::admin
