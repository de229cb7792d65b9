// Opening files that decide security: config, key, store.
//
// MUST rules (the contract is in safe_file.h; this is how it is kept):
//  - the directory is reached from "/" one component at a time, each opened
//    relative to the one before (openat, O_PATH | O_DIRECTORY | O_NOFOLLOW)
//    and checked with fstat, as OpenSSH's safe_path does: every ancestor
//    owned by root or rule.owner and not writable by group or others; a
//    sticky ancestor writable by others (/tmp) only when the entry below it
//    is owned by root or rule.owner (then no one else can rename or replace
//    it); no symlink anywhere. The file is then opened relative to the last
//    descriptor with openat, so a rename anywhere along the path between
//    check and open cannot swap in another file;
//  - the file is opened with O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
//    (O_NONBLOCK: a FIFO planted at the path must not hang the open) and is
//    checked with fstat on the descriptor, never by path;
//  - owner must be rule.owner; no group/other write bit; for a secret, no
//    group/other bit at all; the size is checked before reading;
//  - secret bytes are read straight into a SecretBuffer, never a std::string;
//  - every refusal names the file and the command that fixes it; paths are
//    escaped (SanitizeForLog) before they go into a message.
#include "core/base/safe_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "core/base/logger.h"

namespace sesame {
namespace {

constexpr size_t kMaxShownPath = 4096;

std::string Shown(const std::string& path) { return SanitizeForLog(path, kMaxShownPath); }

std::string OwnerName(uid_t uid) { return uid == 0 ? "root" : "uid " + std::to_string(uid); }

std::string ChownFix(uid_t uid, const std::string& shown) {
  return uid == 0 ? "chown root:root " + shown : "chown " + std::to_string(uid) + " " + shown;
}

// A path split into the directory to open and the name inside it.
struct SplitPath {
  std::string dir;
  std::string base;  // empty for "/"
};

SplitPath Split(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") return {"/", ""};
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// Owner and write bits shared by files and directories. `label` is how the
// object is named in messages ("/etc/x (config file)", "directory /etc").
Status CheckOwnerAndMode(const struct stat& st, const std::string& shown, const std::string& label,
                         const TrustRule& rule, bool secret) {
  if (st.st_uid != rule.owner)
    return Status(Code::kPermissionDenied, label + " is owned by uid " + std::to_string(st.st_uid) +
                                               "; it must be owned by " + OwnerName(rule.owner) +
                                               ": " + ChownFix(rule.owner, shown));
  if ((st.st_mode & 022) != 0)
    return Status(Code::kPermissionDenied,
                  label + " is writable by group or others: chmod go-w " + shown);
  if (secret && (st.st_mode & 077) != 0)
    return Status(Code::kPermissionDenied,
                  label + " is readable by group or others but holds a secret: chmod " +
                      (S_ISDIR(st.st_mode) ? "0700 " : "0400 ") + shown);
  return Status::Ok();
}

Status NotFound(const std::string& path, std::string_view what) {
  return Status(Code::kNotFound, Shown(path) + " (" + std::string(what) + ") does not exist");
}

Status SymlinkRefused(const std::string& shown, std::string_view what) {
  return Status(Code::kPermissionDenied,
                shown + " (" + std::string(what) +
                    ") is a symbolic link; sesame does not follow links for security files: "
                    "replace it with the file itself");
}

std::string DirLabel(const std::string& path, const std::string& dir, std::string_view what) {
  return "directory " + Shown(dir) + " (holding " + std::string(what) + " " + Shown(path) + ")";
}

// Opens the directory that holds `path`, walking from "/" and checking every
// ancestor on the way (the directory itself is checked by CheckDir), so that
// the file can be looked up relative to it.
Result<Fd> OpenDir(const std::string& path, const std::string& dir, std::string_view what,
                   const TrustRule& rule) {
  std::string absolute = dir;
  if (absolute.empty() || absolute[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr)
      return Status(Code::kUnavailable,
                    "cannot resolve the directory of " + Shown(path) + ": " + std::strerror(errno));
    absolute = std::string(cwd) + (absolute == "." ? "" : "/" + absolute);
  }
  int fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::kUnavailable, "cannot open /: " + std::string(std::strerror(errno)));
  Fd current(fd);
  std::string walked;               // the path of `current` ("" for "/")
  bool parent_sticky_open = false;  // the parent is sticky and writable by others
  struct stat st;
  size_t at = 0;
  for (;;) {
    // Check `current` (an ancestor, or the directory itself, whose
    // ownership CheckDir checks again with its own message).
    if (::fstat(current.get(), &st) != 0)
      return Status(Code::kUnavailable, "cannot stat directory " +
                                            Shown(walked.empty() ? "/" : walked) + ": " +
                                            std::strerror(errno));
    const std::string shown_dir = Shown(walked.empty() ? "/" : walked);
    const std::string label = "directory " + shown_dir + " (on the path to " + std::string(what) +
                              " " + Shown(path) + ")";
    if (st.st_uid != 0 && st.st_uid != rule.owner)
      return Status(Code::kPermissionDenied,
                    label + " is owned by uid " + std::to_string(st.st_uid) +
                        "; every directory on the path must be owned by " + OwnerName(rule.owner) +
                        ": " + ChownFix(rule.owner, shown_dir));
    if (parent_sticky_open && st.st_uid != 0 && st.st_uid != rule.owner)
      return Status(Code::kPermissionDenied, label + " is in a directory others can write to");
    const bool open_to_others = (st.st_mode & 022) != 0;
    const bool sticky_open = (st.st_mode & S_ISVTX) != 0 && (st.st_mode & 002) != 0;
    // The next component.
    while (at < absolute.size() && absolute[at] == '/') ++at;
    if (at >= absolute.size()) break;  // `current` is the directory itself
    if (open_to_others && !sticky_open)
      return Status(Code::kPermissionDenied,
                    label + " is writable by group or others: chmod go-w " + shown_dir);
    parent_sticky_open = sticky_open;
    size_t end = absolute.find('/', at);
    if (end == std::string::npos) end = absolute.size();
    const std::string name = absolute.substr(at, end - at);
    at = end;
    walked += "/" + name;
    if (name == "." || name == "..")
      return Status(Code::kInvalidArgument, "the path to " + std::string(what) + " " + Shown(path) +
                                                " has '.' or '..' in it: name it plainly");
    int next = ::openat(current.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      int err = errno;
      std::string next_label = "directory " + Shown(walked) + " (on the path to " +
                               std::string(what) + " " + Shown(path) + ")";
      if (err == ENOENT) return NotFound(path, what);
      if (err == ELOOP || err == ENOTDIR)
        return Status(Code::kPermissionDenied,
                      next_label +
                          " is a symbolic link or not a directory; sesame does not follow links "
                          "for security files: use the real path");
      if (err == EACCES)
        return Status(Code::kPermissionDenied,
                      "cannot open " + next_label + ": " + std::strerror(err));
      return Status(Code::kUnavailable, "cannot open " + next_label + ": " + std::strerror(err));
    }
    current = Fd(next);
  }
  return current;
}

// The directory must be owned by rule.owner and not group/other-writable.
Status CheckDir(const Fd& dir_fd, const std::string& path, const std::string& dir,
                std::string_view what, const TrustRule& rule) {
  std::string label = DirLabel(path, dir, what);
  struct stat st;
  if (::fstat(dir_fd.get(), &st) != 0)
    return Status(Code::kUnavailable, "cannot stat " + label + ": " + std::strerror(errno));
  return CheckOwnerAndMode(st, Shown(dir), label, rule, /*secret=*/false);
}

// Reads exactly st.st_size bytes from `fd` into `out` (which has that size)
// and checks that nothing follows.
Status ReadAll(int fd, char* out, size_t size, const std::string& label) {
  size_t done = 0;
  while (done < size) {
    ssize_t got = ::read(fd, out + done, size - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status(Code::kUnavailable, "cannot read " + label + ": " + std::strerror(errno));
    }
    if (got == 0)
      return Status(Code::kUnavailable, "short read from " + label + " (" + std::to_string(done) +
                                            " of " + std::to_string(size) +
                                            " bytes); was it changed while being read?");
    done += static_cast<size_t>(got);
  }
  char extra = 0;
  for (;;) {
    ssize_t got = ::read(fd, &extra, 1);
    if (got < 0 && errno == EINTR) continue;
    WipeMemory(&extra, 1);
    if (got < 0)
      return Status(Code::kUnavailable, "cannot read " + label + ": " + std::strerror(errno));
    if (got > 0) return Status(Code::kUnavailable, label + " grew while being read; try again");
    return Status::Ok();
  }
}

// Opens `path` with every check; on success returns the descriptor and the
// size to read. O_NONBLOCK stays set: reads of a regular file ignore it.
struct OpenedFile {
  Fd fd;
  size_t size;
};

Result<OpenedFile> OpenTrustedFile(const std::string& path, std::string_view what, size_t max_size,
                                   const TrustRule& rule) {
  SplitPath split = Split(path);
  if (path.empty() || split.base.empty() || split.base == "." || split.base == "..")
    return Status(Code::kInvalidArgument,
                  "'" + Shown(path) + "' does not name a " + std::string(what));
  Result<Fd> opened_dir = OpenDir(path, split.dir, what, rule);
  if (!opened_dir.ok()) return opened_dir.status();
  Fd& dir = *opened_dir;
  SESAME_RETURN_IF_ERROR(CheckDir(dir, path, split.dir, what, rule));

  std::string shown = Shown(path);
  std::string label = shown + " (" + std::string(what) + ")";
  int fd = ::openat(dir.get(), split.base.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(path, what);
    if (err == ELOOP) return SymlinkRefused(shown, what);
    if (err == EACCES)
      return Status(Code::kPermissionDenied, "cannot open " + label + ": " + std::strerror(err));
    return Status(Code::kUnavailable, "cannot open " + label + ": " + std::strerror(err));
  }
  Fd file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return Status(Code::kUnavailable, "cannot stat " + label + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return Status(Code::kPermissionDenied,
                  label + " is a directory; expected a regular file: fix the path");
  if (!S_ISREG(st.st_mode))
    return Status(Code::kPermissionDenied,
                  label +
                      " is not a regular file (device, FIFO or socket): replace it with "
                      "the file itself");
  SESAME_RETURN_IF_ERROR(CheckOwnerAndMode(st, shown, label, rule, rule.secret));
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_size)
    return Status(Code::kInvalidArgument,
                  label + " is larger than " + std::to_string(max_size) + " bytes");
  return OpenedFile{std::move(file), static_cast<size_t>(st.st_size)};
}

}  // namespace

Result<std::string> ReadTrustedFile(const std::string& path, std::string_view what, size_t max_size,
                                    TrustRule rule) {
  Result<OpenedFile> opened = OpenTrustedFile(path, what, max_size, rule);
  if (!opened.ok()) return opened.status();
  Fd& fd = opened->fd;
  std::string text(opened->size, '\0');
  SESAME_RETURN_IF_ERROR(
      ReadAll(fd.get(), text.data(), text.size(), Shown(path) + " (" + std::string(what) + ")"));
  return text;
}

Result<SecretBuffer> ReadTrustedSecretFile(const std::string& path, std::string_view what,
                                           size_t max_size, TrustRule rule) {
  Result<OpenedFile> opened = OpenTrustedFile(path, what, max_size, rule);
  if (!opened.ok()) return opened.status();
  Fd& fd = opened->fd;
  SecretBuffer secret;
  secret.Resize(opened->size);
  SESAME_RETURN_IF_ERROR(ReadAll(fd.get(), secret.mutable_data(), secret.size(),
                                 Shown(path) + " (" + std::string(what) + ")"));
  return secret;
}

Status CheckTrustedPath(const std::string& path, std::string_view what, TrustRule rule) {
  if (path.empty()) return Status(Code::kInvalidArgument, "empty path for " + std::string(what));
  SplitPath split = Split(path);
  std::string shown = Shown(path);
  std::string label = shown + " (" + std::string(what) + ")";
  struct stat st;
  if (split.base.empty()) {  // "/" itself: no parent to check
    if (::lstat("/", &st) != 0)
      return Status(Code::kUnavailable, "cannot stat /: " + std::string(std::strerror(errno)));
    return CheckOwnerAndMode(st, shown, label, rule, rule.secret);
  }
  if (split.base == "." || split.base == "..")
    return Status(Code::kInvalidArgument, "'" + shown + "' is not a plain path for the " +
                                              std::string(what) +
                                              ": name it without '.' or '..' at the end");

  // Every directory above is checked on the way; a file's own directory
  // is checked below.
  Result<Fd> opened_dir = OpenDir(path, split.dir, what, rule);
  if (!opened_dir.ok()) return opened_dir.status();
  Fd& dir = *opened_dir;
  if (::fstatat(dir.get(), split.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(path, what);
    if (err == EACCES)
      return Status(Code::kPermissionDenied, "cannot stat " + label + ": " + std::strerror(err));
    return Status(Code::kUnavailable, "cannot stat " + label + ": " + std::strerror(err));
  }
  if (S_ISLNK(st.st_mode)) return SymlinkRefused(shown, what);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return Status(Code::kPermissionDenied,
                  label +
                      " is not a regular file or directory (device, FIFO or socket): "
                      "replace it");
  SESAME_RETURN_IF_ERROR(CheckOwnerAndMode(st, shown, label, rule, rule.secret));
  if (S_ISDIR(st.st_mode)) return Status::Ok();

  return CheckDir(dir, path, split.dir, what, rule);
}

namespace {

Status NotOwnDirectory(const std::string& dir, std::string_view what, const std::string& why) {
  const std::string shown = Shown(dir);
  const std::string uid = std::to_string(geteuid());
  return Status(Code::kPermissionDenied,
                std::string(what) + " " + shown + " " + why +
                    "; it must be a directory owned by uid " + uid +
                    " and not writable by group or others (fix: remove it so it is " +
                    "recreated, or chown " + uid + " " + shown + " && chmod 0700 " + shown + ")");
}

// An lstat/fstat result for OpenOwnDirectory's directory.
Status CheckOwnDirectory(const std::string& dir, std::string_view what, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return NotOwnDirectory(dir, what, "is a symbolic link");
  if (!S_ISDIR(st.st_mode)) return NotOwnDirectory(dir, what, "is not a directory");
  if (st.st_uid != geteuid())
    return NotOwnDirectory(dir, what, "is owned by uid " + std::to_string(st.st_uid));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return NotOwnDirectory(dir, what, "is writable by group or others");
  return Status::Ok();
}

}  // namespace

Result<Fd> OpenOwnDirectory(const std::string& dir, std::string_view what) {
  const std::string label = std::string(what) + " " + Shown(dir);
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Status(Code::kUnavailable, "cannot create " + label + ": " + std::strerror(errno));
    fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    const int err = errno;
    struct stat st {};
    if ((err == ELOOP || err == ENOTDIR) && lstat(dir.c_str(), &st) == 0) {
      // Name what is there instead.
      Status found = CheckOwnDirectory(dir, what, st);
      if (!found.ok()) return found;
    }
    if (err == ELOOP || err == ENOTDIR)
      return NotOwnDirectory(dir, what, "is not a plain directory");
    return Status(Code::kUnavailable, "cannot open " + label + ": " + std::strerror(err));
  }
  Fd opened(fd);
  struct stat st {};
  if (fstat(opened.get(), &st) != 0)
    return Status(Code::kUnavailable, "cannot stat " + label + ": " + std::strerror(errno));
  SESAME_RETURN_IF_ERROR(CheckOwnDirectory(dir, what, st));
  return opened;
}

}  // namespace sesame
