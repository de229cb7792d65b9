// sesame-admin init: key file, store directory and store, with safe modes.
// Safe to run again: nothing that exists is changed; what exists is checked.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/base/random.h"
#include "core/base/safe_file.h"
#include "core/config/config.h"
#include "core/crypto/key_file.h"
#include "core/store/open/open_store.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"

namespace sesame::admin {
namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Creates `dir` (mode `mode`) and missing parents (0755) like mkdir -p.
Status MakeDirs(const std::string& dir, mode_t mode) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return Status(Code::kPermissionDenied, dir + " exists but is not a directory");
    return Status::Ok();
  }
  std::string parent = DirName(dir);
  if (parent != dir) SESAME_RETURN_IF_ERROR(MakeDirs(parent, 0755));
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    return Status(Code::kUnavailable,
                  "cannot create directory " + dir + ": " + std::strerror(errno));
  if (chmod(dir.c_str(), mode) != 0)
    return Status(Code::kUnavailable,
                  "cannot set the mode of " + dir + ": " + std::strerror(errno));
  std::printf("created directory %s (mode %04o)\n", dir.c_str(), static_cast<unsigned>(mode));
  return Status::Ok();
}

}  // namespace

int RunInit(const Invocation& inv) {
  umask(077);
  Result<Config> config = LoadConfigFile(inv.config_path);
  if (!config.ok()) return Fail(ConfigProblem(config.status()));
  const Config& c = config.value();

  // Key file.
  SystemRandom random;
  Status dir = MakeDirs(DirName(c.key_file), 0700);
  if (!dir.ok()) return Fail(dir);
  Status created = CreateHostKey(c.key_file, random);
  if (created.ok()) {
    std::printf("created key file %s (mode 0400)\n", c.key_file.c_str());
  } else if (created.code() == Code::kAlreadyExists) {
    Result<SecretBuffer> key = LoadHostKey(c.key_file);
    if (!key.ok()) return Fail(key.status());
    std::printf("key file %s exists and is safe; kept\n", c.key_file.c_str());
  } else {
    return Fail(created);
  }

  // Store. A PostgreSQL database is made by its administrator
  // (docs/install.md, "Fleet"); init creates the schema in it when it is
  // empty, and otherwise checks it (and migrates an older one).
  if (c.store == "postgres") {
    StoreOptions options;
    options.create = true;
    Result<std::unique_ptr<Store>> store = OpenStore(c, options);
    if (!store.ok()) return Fail(store.status());
    Result<int> version = (*store)->SchemaVersion();
    if (!version.ok()) return Fail(version.status());
    std::printf("store postgres %s: schema version %d\n", DescribeStore(c).c_str(),
                version.value());
    return 0;
  }
  dir = MakeDirs(DirName(c.store_path), 0700);
  if (!dir.ok()) return Fail(dir);
  struct stat st {};
  bool exists = lstat(c.store_path.c_str(), &st) == 0;
  StoreOptions options;
  options.create = !exists;
  Result<std::unique_ptr<Store>> store = OpenStore(c, options);
  if (!store.ok()) return Fail(store.status());
  Result<int> version = (*store)->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  if (exists) {
    std::printf("store %s exists (schema version %d); kept\n", c.store_path.c_str(),
                version.value());
  } else {
    std::printf("created store %s (mode 0600, schema version %d)\n", c.store_path.c_str(),
                version.value());
  }
  return 0;
}

}  // namespace sesame::admin
