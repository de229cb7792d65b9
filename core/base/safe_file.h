// Opening files that decide security: config, key, store.
//
// MUST rules (as OpenSSH's StrictModes and doas):
//  - open with O_NOFOLLOW | O_CLOEXEC: a symlink is refused, not followed;
//  - fstat the open descriptor, never the path: it must be a regular file
//    owned by `owner` (root in production) and not writable by group or others;
//  - the directory holding it must be owned by `owner` and not writable by
//    group or others (sticky or not);
//  - every directory above, up to "/", must be owned by root or `owner`,
//    not a symlink, and not writable by group or others, except a sticky
//    one writable by others (/tmp) whose entry on the path is owned by root
//    or `owner` (no one else can rename or replace that entry), as
//    OpenSSH's safe_path;
//  - a file larger than `max_size` is refused before it is read;
//  - every refusal names the file and says how to fix it
//    (e.g. "chmod 0644 /etc/security/sesame.conf").
#ifndef SESAME_CORE_BASE_SAFE_FILE_H_
#define SESAME_CORE_BASE_SAFE_FILE_H_

#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct TrustRule {
  uid_t owner = 0;
  bool secret = false;  // true: also refuse any group/other read permission
};

// `what` names the file's role in messages ("config file", "key file").
// kNotFound when missing, kPermissionDenied when unsafe, kInvalidArgument
// when too large, kUnavailable for other I/O errors.
Result<std::string> ReadTrustedFile(const std::string& path, std::string_view what, size_t max_size,
                                    TrustRule rule = {});

// How a flow reads a root-owned file the config names
// (banned_passwords_file): ReadTrustedFile itself, or a wrapper that
// changes what it reads with (the setuid tool takes root for the read, as
// it does for its config and key file: tools/sesame/sesame_env.cc).
class TrustedFileReader {
 public:
  virtual ~TrustedFileReader() = default;
  virtual Result<std::string> Read(const std::string& path, std::string_view what,
                                   size_t max_size) {
    return ReadTrustedFile(path, what, max_size);
  }
};

// Same checks, reading into wiped memory.
Result<SecretBuffer> ReadTrustedSecretFile(const std::string& path, std::string_view what,
                                           size_t max_size, TrustRule rule = {});

// Checks an existing path (file or directory) without reading it: not a
// symlink, owned by rule.owner, not group/other-writable (and for secret,
// not group/other-readable); for a file, its directory too; and every
// directory above, as above.
Status CheckTrustedPath(const std::string& path, std::string_view what, TrustRule rule = {});

// Opens `dir`, a directory of this process's own (a runtime directory such
// as /run/sesame): created 0700 when missing, opened without following a
// symlink, then what was opened (fstat) must be a directory owned by
// geteuid() and not writable by group or others, so nothing can be swapped
// in between. Returns its O_DIRECTORY|O_CLOEXEC descriptor. kPermissionDenied naming `what`
// ("argon2 slot directory"), the directory and the fix; kUnavailable for other errors. Opened
// first, not lstat first: it runs at every sign-in.
Result<Fd> OpenOwnDirectory(const std::string& dir, std::string_view what);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_SAFE_FILE_H_
