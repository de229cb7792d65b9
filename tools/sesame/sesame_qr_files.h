// The QR code files a caller names (`sesame mfa enroll --qr-png FILE
// --qr-svg FILE`): written as the caller, never as root.
//
// MUST rules:
//  - a FILE is checked (CheckQrFileName) before anything is asked;
//  - the files are written by a child process forked before the config,
//    the store or the key file is opened, so its memory holds none of them;
//    it gives up root for good at once (the caller's own supplementary
//    groups, then setresgid and setresuid to the caller's ids as recorded
//    at start: real, effective and saved) and checks that
//    it cannot get root back (setuid(0) fails, no capability left) before it
//    touches any path; if it cannot, nothing is written;
//  - a FILE is used as given, relative to the caller's working directory;
//    the child creates each file new (core/qr/qr_render.h: O_EXCL|O_NOFOLLOW,
//    mode 0600) and never overwrites, follows or changes anything else;
//  - the child is sent the QR code's modules only (the caller's own new
//    key, in picture form), never the key file, the store or a password;
//  - unless the parent calls Keep(), the child removes the files it wrote
//    (only while they are still the files it created) when the parent
//    closes the channel or dies, so a failed or cancelled enrollment leaves
//    no file with an unused key behind;
//  - the writer runs as the caller, who may stop it: the tool waits at most
//    30 s for each answer and for it to end, then kills it.
#ifndef SESAME_TOOLS_SESAME_SESAME_QR_FILES_H_
#define SESAME_TOOLS_SESAME_SESAME_QR_FILES_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/qr/qr_code.h"

namespace sesame::self {

enum class QrFormat : unsigned char { kPng = 1, kSvg = 2 };

// A file name given to `option` ("--qr-png"): not empty, shorter than
// PATH_MAX, valid UTF-8 without control characters, not starting with '-'
// (write ./-name), and not naming a directory ("dir/", ".", ".."). The
// message names the option and never echoes raw bytes. kInvalidArgument.
Status CheckQrFileName(std::string_view option, std::string_view name);

class QrFileWriter {
 public:
  // Forks the writer and waits until it runs as the caller: `uid` and
  // `gid` (Privileges::caller_uid/caller_gid; getuid() is 0 by now).
  // REQUIRES: nothing secret is in memory yet (before OpenToolEnv), and
  // the process has one thread.
  static Result<std::unique_ptr<QrFileWriter>> Start(uid_t uid, gid_t gid);

  // Closes the channel and waits for the child (which removes the files
  // unless Keep() was called).
  ~QrFileWriter();
  QrFileWriter(const QrFileWriter&) = delete;
  QrFileWriter& operator=(const QrFileWriter&) = delete;

  // Whether the caller could create `path` now: nothing exists there (not
  // even a dangling symlink) and the caller may write to its directory.
  // kAlreadyExists, kPermissionDenied or kNotFound, with a message that
  // starts "cannot write PATH: ".
  Status Check(const std::string& path);

  // Writes `qr` as a new file. The message of a failure starts
  // "cannot write PATH: ".
  Status Write(QrFormat format, const std::string& path, const QrCode& qr);

  // The files written so far are kept when the writer ends.
  Status Keep();

 private:
  QrFileWriter(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  // Sends one request and reads the answer.
  Status Call(unsigned char op, QrFormat format, const std::string& path, const QrCode* qr);

  pid_t pid_;
  int fd_;
};

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_SESAME_QR_FILES_H_
