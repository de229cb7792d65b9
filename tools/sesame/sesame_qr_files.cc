#include "tools/sesame/sesame_qr_files.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/base/secret.h"
#include "core/qr/qr_render.h"
#include "tools/common/qr_files.h"

namespace sesame::self {
namespace {

// The channel between the tool and the writer: a stream socket pair.
// Request: op (1 byte), format (1), path length (4), QR size (4), the path,
// then size*size module bytes (0 light, 1 dark). Answer: code (1), message
// length (4), the message. The writer sends one answer unasked when it has
// switched users.
constexpr unsigned char kOpCheck = 1;
constexpr unsigned char kOpWrite = 2;
constexpr unsigned char kOpKeep = 3;
constexpr size_t kHeaderBytes = 10;
constexpr size_t kAnswerHeaderBytes = 5;
constexpr uint32_t kMaxMessageBytes = 4096;
constexpr uint32_t kMaxQrSize = 177;  // version 40
// The longest the tool waits on the writer for one answer, or for it to end.
constexpr int kWriterTimeoutSeconds = 30;

constexpr const char* kWriterGone =
    "the process that writes the QR code files as you ended unexpectedly";

bool SendAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

enum class ReadState { kOk, kEnd, kError };

// kEnd: the other side closed before the first byte.
ReadState ReadAll(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReadState::kError;
    if (n == 0) return done == 0 ? ReadState::kEnd : ReadState::kError;
    done += static_cast<size_t>(n);
  }
  return ReadState::kOk;
}

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

uint32_t GetU32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool SendAnswer(int fd, const Status& status) {
  std::string message = status.message().substr(0, kMaxMessageBytes);
  std::string out(1, static_cast<char>(status.code()));
  PutU32(&out, static_cast<uint32_t>(message.size()));
  out += message;
  return SendAll(fd, out.data(), out.size());
}

// The writer's answer; kInternal (kWriterGone) when the channel broke.
Status ReadAnswer(int fd) {
  unsigned char header[kAnswerHeaderBytes];
  if (ReadAll(fd, header, sizeof header) != ReadState::kOk)
    return Status(Code::kInternal, kWriterGone);
  const uint32_t size = GetU32(header + 1);
  if (header[0] > static_cast<unsigned char>(Code::kInternal) || size > kMaxMessageBytes)
    return Status(Code::kInternal, "the QR code file writer sent a malformed answer");
  std::string message(size, '\0');
  if (size > 0 && ReadAll(fd, message.data(), size) != ReadState::kOk)
    return Status(Code::kInternal, kWriterGone);
  const Code code = static_cast<Code>(header[0]);
  return code == Code::kOk ? Status::Ok() : Status(code, message);
}

Status Errno(const char* what) {
  return Status(Code::kInternal, std::string(what) + ": " + std::strerror(errno));
}

// In the child: the caller's ids, for good. It starts as the tool runs,
// real and saved uid root and effective uid the caller (privileges.h), so
// root is taken back first to be allowed the changes. The supplementary
// groups are the caller's own (a setuid program inherits them unchanged),
// set again explicitly; then the gids, then the uids, each real, effective
// and saved.
Status DropToCaller(uid_t uid, gid_t gid) {
  if (geteuid() != 0 && setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) != 0)
    return Errno("setresuid to root, to give it up for good");
  int count = getgroups(0, nullptr);
  if (count < 0) return Errno("getgroups");
  std::vector<gid_t> groups(static_cast<size_t>(count) + 1);
  count = getgroups(count, groups.data());
  if (count < 0) return Errno("getgroups");
  if (setgroups(static_cast<size_t>(count), groups.data()) != 0) return Errno("setgroups");
  if (setresgid(gid, gid, gid) != 0) return Errno("setresgid");
  if (setresuid(uid, uid, uid) != 0) return Errno("setresuid");

  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) return Errno("getresuid");
  if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
    return Status(Code::kInternal, "the user and group ids did not all change");
  if (uid != 0) {
    if (setuid(0) == 0 || seteuid(0) == 0)
      return Status(Code::kInternal, "root could be taken back after the switch");
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, caps) != 0) return Errno("capget");
    for (const auto& c : caps)
      if (c.effective != 0 || c.permitted != 0)
        return Status(Code::kInternal, "capabilities are left after the switch");
  }
  if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0))
    return Status(Code::kInternal, "group root could be taken back after the switch");
  // Changing ids resets this to fs.suid_dumpable; the caller has no reason
  // to trace the writer either.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Errno("prctl(PR_SET_DUMPABLE)");
  return Status::Ok();
}

// "dir/q.png" -> "dir", "q.png" -> ".", "/q.png" -> "/".
std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Shown(const std::string& path) { return SanitizeForLog(path, 200); }

// In the child: could the caller create `path` now?
Status CheckPath(const std::string& path) {
  const std::string prefix = "cannot write " + Shown(path) + ": ";
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0)
    return Status(Code::kAlreadyExists,
                  prefix +
                      "it exists already, and sesame never overwrites a file; choose a new "
                      "file name");
  int err = errno;
  const std::string dir = DirectoryOf(path);
  if (err == ENOENT && faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) == 0)
    return Status::Ok();
  if (err == ENOENT) err = errno;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Status(Code::kNotFound,
                    prefix + "there is no directory " + Shown(dir) + "; check the file name");
    case EACCES:
    case EPERM:
    case EROFS:
      return Status(Code::kPermissionDenied, prefix + "you cannot create files in " + Shown(dir) +
                                                 " (" + std::strerror(err) +
                                                 "); choose a directory you can write to");
    default:
      return Status(Code::kUnavailable, prefix + std::strerror(err));
  }
}

struct Written {
  std::string path;
  dev_t dev;
  ino_t ino;
};

// In the child: removes the files it wrote that are still the ones it made.
void RemoveWritten(const std::vector<Written>& written) {
  for (auto it = written.rbegin(); it != written.rend(); ++it) {
    struct stat st {};
    if (lstat(it->path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == it->dev &&
        st.st_ino == it->ino)
      unlink(it->path.c_str());
  }
}

// In the child: one request after another until the tool closes the channel.
[[noreturn]] void WriterMain(int fd, uid_t uid, gid_t gid) {
  // Ctrl-C at the tool's prompt reaches the whole process group: the writer
  // stays to clean up, and ends when the tool's end of the channel closes.
  // The tool's deferred signals (blocked, caught) are not the writer's: it
  // runs as the caller, who may end it.
  for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU}) signal(sig, SIG_IGN);
  signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  Status dropped = DropToCaller(uid, gid);
  if (!dropped.ok()) {
    (void)SendAnswer(fd, Status(Code::kInternal,
                                "cannot switch to your user id to write the QR "
                                "code files: " +
                                    dropped.message()));
    _exit(1);
  }
  if (!SendAnswer(fd, Status::Ok())) _exit(1);

  std::vector<Written> written;
  bool keep = false;
  for (;;) {
    unsigned char header[kHeaderBytes];
    if (ReadAll(fd, header, sizeof header) != ReadState::kOk) break;
    constexpr auto kPng = static_cast<unsigned char>(QrFormat::kPng);
    constexpr auto kSvg = static_cast<unsigned char>(QrFormat::kSvg);
    const unsigned char op = header[0];
    const unsigned char format = header[1];
    const uint32_t path_size = GetU32(header + 2);
    const uint32_t qr_size = GetU32(header + 6);
    if (path_size >= PATH_MAX || qr_size > kMaxQrSize) break;
    std::string path(path_size, '\0');
    if (path_size > 0 && ReadAll(fd, path.data(), path_size) != ReadState::kOk) break;
    QrCode qr;
    qr.size = static_cast<int>(qr_size);
    std::vector<unsigned char> modules(static_cast<size_t>(qr_size) * qr_size);
    if (!modules.empty() && ReadAll(fd, modules.data(), modules.size()) != ReadState::kOk) break;
    qr.modules.assign(modules.begin(), modules.end());
    WipeMemory(modules.data(), modules.size());

    Status result = Status(Code::kInvalidArgument, "unknown request");
    if (op == kOpCheck) {
      result = CheckPath(path);
    } else if (op == kOpWrite && (format == kPng || format == kSvg)) {
      result = format == kPng ? WriteQrPng(qr, path) : WriteQrSvg(qr, path);
      struct stat st {};
      if (!result.ok()) {
        result = Status(result.code(), "cannot write " + Shown(path) + ": " + result.message());
      } else if (lstat(path.c_str(), &st) == 0) {
        written.push_back(Written{path, st.st_dev, st.st_ino});
      }
    } else if (op == kOpKeep) {
      keep = true;
      result = Status::Ok();
    }
    std::fill(qr.modules.begin(), qr.modules.end(), false);
    if (!SendAnswer(fd, result)) break;
  }
  if (!keep) RemoveWritten(written);
  _exit(0);
}

bool IsDirectoryName(std::string_view name) {
  size_t slash = name.rfind('/');
  std::string_view last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return last.empty() || last == "." || last == "..";
}

}  // namespace

Status CheckQrFileName(std::string_view option, std::string_view name) {
  const std::string what = "the file name given to " + std::string(option);
  if (name.empty())
    return Status(Code::kInvalidArgument, std::string(option) + " needs a file name, not ''");
  if (name.size() >= PATH_MAX)
    return Status(Code::kInvalidArgument,
                  what + " is longer than " + std::to_string(PATH_MAX - 1) + " bytes");
  if (name.find('\0') != std::string_view::npos || HasControlChars(name))
    return Status(Code::kInvalidArgument,
                  what + " contains a control character (a newline, tab, escape, ...)");
  if (!IsValidUtf8(name)) return Status(Code::kInvalidArgument, what + " is not valid UTF-8");
  if (name.front() == '-')
    return Status(
        Code::kInvalidArgument,
        std::string(option) + " needs a file name, not an option ('" + SanitizeForLog(name, 64) +
            "'); to name a file that starts with '-', write ./" + SanitizeForLog(name, 64));
  if (IsDirectoryName(name))
    return Status(Code::kInvalidArgument, what + " ('" + SanitizeForLog(name, 200) +
                                              "') names a directory; give a file name such as "
                                              "qr.png");
  return Status::Ok();
}

Result<std::unique_ptr<QrFileWriter>> QrFileWriter::Start(uid_t uid, gid_t gid) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return Errno("cannot start the QR code file writer: socketpair");
  // Nothing buffered may be written twice.
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    Status failed = Errno("cannot start the QR code file writer: fork");
    close(fds[0]);
    close(fds[1]);
    return failed;
  }
  if (pid == 0) {
    close(fds[0]);
    WriterMain(fds[1], uid, gid);
  }
  close(fds[1]);
  // The writer runs as the caller, who may stop it: no wait on it is
  // longer than kWriterTimeoutSeconds.
  const timeval limit{kWriterTimeoutSeconds, 0};
  (void)setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  (void)setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  std::unique_ptr<QrFileWriter> writer(new QrFileWriter(pid, fds[0]));
  Status hello = ReadAnswer(writer->fd_);
  if (!hello.ok()) return hello;
  return writer;
}

QrFileWriter::~QrFileWriter() {
  if (fd_ >= 0) close(fd_);
  // It removes its files and ends when the channel closes; one that does
  // not within kWriterTimeoutSeconds (stopped by the caller) is killed.
  for (int tenths = 0; tenths < kWriterTimeoutSeconds * 10; ++tenths) {
    pid_t done = waitpid(pid_, nullptr, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR)) return;
    usleep(100 * 1000);
  }
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Status QrFileWriter::Call(unsigned char op, QrFormat format, const std::string& path,
                          const QrCode* qr) {
  const uint32_t size = qr != nullptr ? static_cast<uint32_t>(qr->size) : 0;
  if (path.size() >= PATH_MAX || size > kMaxQrSize ||
      (qr != nullptr && qr->modules.size() != static_cast<size_t>(size) * size))
    return Status(Code::kInvalidArgument, "cannot write " + Shown(path) + ": bad request");
  std::string request;
  request.reserve(kHeaderBytes + path.size() + static_cast<size_t>(size) * size);
  request += static_cast<char>(op);
  request += static_cast<char>(format);
  PutU32(&request, static_cast<uint32_t>(path.size()));
  PutU32(&request, size);
  request += path;
  if (qr != nullptr)
    for (bool dark : qr->modules) request += dark ? '\1' : '\0';
  const bool sent = SendAll(fd_, request.data(), request.size());
  WipeMemory(request.data(), request.size());
  if (!sent) return Status(Code::kInternal, kWriterGone);
  return ReadAnswer(fd_);
}

Status QrFileWriter::Check(const std::string& path) {
  return Call(kOpCheck, QrFormat::kPng, path, nullptr);
}

Status QrFileWriter::Write(QrFormat format, const std::string& path, const QrCode& qr) {
  return Call(kOpWrite, format, path, &qr);
}

Status QrFileWriter::Keep() { return Call(kOpKeep, QrFormat::kPng, "", nullptr); }

}  // namespace sesame::self
