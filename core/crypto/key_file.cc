// The host key: 32 random bytes, 0400 root.
//
// MUST rules:
//  - load only through ReadTrustedSecretFile (root-owned, no group/other
//    bits, no symlink) and only a key of exactly kHostKeyBytes;
//  - create with O_CREAT | O_EXCL | O_NOFOLLOW: never overwrite or follow
//    anything already at the path; mode 0400 set with fchmod, whatever the
//    umask;
//  - a key that was not written completely and synced is removed, never left
//    half-written;
//  - the key bytes live only in wiped memory and never reach a message.
#include "core/crypto/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/base/logger.h"
#include "core/base/safe_file.h"

namespace sesame {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;
constexpr size_t kMaxShownPath = 4096;

std::string Shown(const std::string& path) { return SanitizeForLog(path, kMaxShownPath); }

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t wrote = ::write(fd, data + done, size - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return Status(Code::kUnavailable, std::string("write failed: ") + std::strerror(errno));
    }
    if (wrote == 0) return Status(Code::kUnavailable, "write failed: wrote nothing");
    done += static_cast<size_t>(wrote);
  }
  return Status::Ok();
}

// Makes the new directory entry durable.
Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::kUnavailable,
                  "cannot open directory " + Shown(dir) + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return Status(Code::kUnavailable,
                  "fsync of directory " + Shown(dir) + " failed: " + std::strerror(err));
  return Status::Ok();
}

// Writes, syncs and closes `fd` (always closed).
Status FillKeyFile(int fd, const uint8_t* key, size_t size) {
  Status st;
  if (::fchmod(fd, 0400) != 0)
    st = Status(Code::kUnavailable, std::string("fchmod failed: ") + std::strerror(errno));
  if (st.ok()) st = WriteAll(fd, key, size);
  if (st.ok() && ::fsync(fd) != 0)
    st = Status(Code::kUnavailable, std::string("fsync failed: ") + std::strerror(errno));
  if (::close(fd) != 0 && st.ok())
    st = Status(Code::kUnavailable, std::string("close failed: ") + std::strerror(errno));
  return st;
}

}  // namespace

Result<SecretBuffer> LoadHostKey(const std::string& path) {
  Result<SecretBuffer> key =
      ReadTrustedSecretFile(path, "key file", kMaxKeyFileBytes, TrustRule{0, true});
  if (!key.ok()) {
    if (key.status().code() == Code::kNotFound)
      return key.status().WithContext("run `sesame-admin init` to create the key");
    return key.status();
  }
  if (key->size() != kHostKeyBytes)
    return Status(Code::kCorrupt,
                  "key file " + Shown(path) + " has " + std::to_string(key->size()) +
                      " bytes, expected " + std::to_string(kHostKeyBytes) +
                      "; restore it from backup or, if nothing was stored under it yet, "
                      "remove it and run `sesame-admin init`");
  return key;
}

Status CreateHostKey(const std::string& path, Random& random) {
  const std::string dir = DirName(path);
  SESAME_RETURN_IF_ERROR(CheckTrustedPath(dir, "key file directory", TrustRule{0, false}));

  uint8_t key[kHostKeyBytes];
  Status filled = random.Fill(key, sizeof key);
  if (!filled.ok()) {
    WipeMemory(key, sizeof key);
    return filled.WithContext("cannot make key file " + Shown(path));
  }

  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0400);
  if (fd < 0) {
    int err = errno;
    WipeMemory(key, sizeof key);
    if (err == EEXIST)
      return Status(Code::kAlreadyExists,
                    "key file " + Shown(path) + " exists already; it was left as it is");
    if (err == EACCES || err == EPERM)
      return Status(Code::kPermissionDenied,
                    "cannot create key file " + Shown(path) + ": " + std::strerror(err));
    return Status(Code::kUnavailable,
                  "cannot create key file " + Shown(path) + ": " + std::strerror(err));
  }
  Status written = FillKeyFile(fd, key, sizeof key);
  WipeMemory(key, sizeof key);
  if (written.ok()) written = SyncDir(dir);
  if (!written.ok()) {
    ::unlink(path.c_str());
    return written.WithContext("cannot write key file " + Shown(path) + " (removed it)");
  }
  return Status::Ok();
}

}  // namespace sesame
