#include "pam_module/file_cache.h"

#include <sys/stat.h>

#include <cstring>
#include <mutex>
#include <optional>

#include "core/crypto/key_file.h"
#include "pam_module/per_process.h"

namespace sesame {
namespace {

// What lstat says of one path, for "has it changed".
struct StatId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  struct timespec mtime {};
  struct timespec ctime {};

  bool operator==(const StatId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mode == o.mode && uid == o.uid &&
           gid == o.gid && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

// The file and its directory.
struct Identity {
  StatId file;
  StatId dir;
  bool operator==(const Identity& o) const { return file == o.file && dir == o.dir; }
};

std::optional<StatId> Lstat(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return std::nullopt;
  StatId id;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mode = st.st_mode;
  id.uid = st.st_uid;
  id.gid = st.st_gid;
  id.mtime = st.st_mtim;
  id.ctime = st.st_ctim;
  return id;
}

// nullopt when either cannot be read (then nothing is cached: the full load
// says what is wrong).
std::optional<Identity> IdentityOf(const std::string& path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::optional<StatId> file = Lstat(path);
  std::optional<StatId> parent = Lstat(dir);
  if (!file || !parent) return std::nullopt;
  return Identity{*file, *parent};
}

// This process's entries (PerProcess: a forked child starts its own and
// never touches its parent's; at exit the key is wiped).
struct Entries {
  std::mutex mu;
  std::string config_path;
  Identity config_id{};
  std::optional<Config> config;
  std::string key_path;
  Identity key_id{};
  std::optional<SecretBuffer> key;
};

Entries& Current() {
  static PerProcess<Entries> entries;
  return entries.Get();
}

}  // namespace

Result<Config> CachedConfig(const std::string& path) {
  Entries& entries = Current();
  std::optional<Identity> before = IdentityOf(path);
  if (before) {
    std::lock_guard<std::mutex> lock(entries.mu);
    if (entries.config && entries.config_path == path && entries.config_id == *before) {
      return *entries.config;
    }
  }
  Result<Config> loaded = LoadConfigFile(path);
  if (!loaded.ok() || !before) return loaded;
  std::optional<Identity> after = IdentityOf(path);
  if (after && *after == *before) {
    std::lock_guard<std::mutex> lock(entries.mu);
    entries.config_path = path;
    entries.config_id = *after;
    entries.config = *loaded;
  }
  return loaded;
}

Result<SecretBuffer> CachedHostKey(const std::string& path) {
  Entries& entries = Current();
  std::optional<Identity> before = IdentityOf(path);
  if (before) {
    std::lock_guard<std::mutex> lock(entries.mu);
    if (entries.key && entries.key_path == path && entries.key_id == *before) {
      return SecretBuffer(entries.key->view());
    }
  }
  Result<SecretBuffer> loaded = LoadHostKey(path);
  if (!loaded.ok() || !before) return loaded;
  std::optional<Identity> after = IdentityOf(path);
  if (after && *after == *before) {
    std::lock_guard<std::mutex> lock(entries.mu);
    entries.key_path = path;
    entries.key_id = *after;
    entries.key.emplace(loaded->view());
  }
  return loaded;
}

}  // namespace sesame
