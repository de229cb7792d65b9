#include "tools/sesame/sesame_process.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/config/config.h"
#include "core/qr/qr_render.h"

namespace sesame::self {
namespace {

constexpr size_t kMaxConfigPathBytes = 4096;
constexpr size_t kMaxKeptValueBytes = 64;

Status Errno(const std::string& what) {
  return Status(Code::kInternal, what + ": " + std::strerror(errno));
}

Status OpenStandardFds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free descriptor is `fd` itself.
    int opened = open("/dev/null", O_RDWR);
    if (opened != fd) return Errno("cannot open /dev/null for fd " + std::to_string(fd));
  }
  return Status::Ok();
}

Status CloseOtherFds() {
  if (close_range(3, ~0U, 0) == 0) return Status::Ok();
  if (errno != ENOSYS) return Errno("close_range");
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) return Errno("getrlimit(RLIMIT_NOFILE)");
  rlim_t top = nofile.rlim_max == RLIM_INFINITY ? 1 << 20 : nofile.rlim_max;
  for (rlim_t fd = 3; fd < top; ++fd) close(static_cast<int>(fd));
  return Status::Ok();
}

void ResetSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // fails harmlessly for the realtime signals glibc keeps
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// TERM names a terminfo entry: letters, digits and ._+- only (no '/').
bool SaneTerm(std::string_view v) {
  if (v.empty() || v.size() > kMaxKeptValueBytes) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool PrintableAscii(std::string_view v) {
  if (v.size() > kMaxKeptValueBytes) return false;
  for (char c : v)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::optional<std::string> Take(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace

Status PrepareProcess() {
  SESAME_RETURN_IF_ERROR(OpenStandardFds());
  SESAME_RETURN_IF_ERROR(CloseOtherFds());
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Errno("prctl(PR_SET_DUMPABLE)");
  rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return Errno("setrlimit(RLIMIT_CORE)");
  // Only root may raise a hard limit; when not setuid the caller's stays.
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  (void)setrlimit(RLIMIT_FSIZE, &unlimited);
  (void)setrlimit(RLIMIT_CPU, &unlimited);
  const itimerval off{};
  for (int timer : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF})
    if (setitimer(timer, &off, nullptr) != 0) return Errno("setitimer");
  ResetSignals();
  umask(077);
  return Status::Ok();
}

Result<CallerSettings> ResetEnvironment(bool raised_at_start) {
  CallerSettings settings;
  settings.config_path = kDefaultConfigPath;
  std::optional<std::string> config = Take("SESAME_CONFIG");
  std::optional<std::string> term = Take("TERM");
  std::optional<std::string> no_color = Take("NO_COLOR");
  settings.utf8_locale =
      LocaleIsUtf8(std::getenv("LC_ALL"), std::getenv("LC_CTYPE"), std::getenv("LANG"));
  const char* colorfgbg = std::getenv("COLORFGBG");
  settings.light_background = colorfgbg != nullptr && ColorFgBgNamesLightBackground(colorfgbg);

  if (clearenv() != 0) return Status(Code::kInternal, "clearenv failed");
  if (setenv("PATH", "/usr/bin:/bin", 1) != 0) return Errno("setenv(PATH)");
  if (term && SaneTerm(*term) && setenv("TERM", term->c_str(), 1) != 0) return Errno("setenv");
  if (no_color && PrintableAscii(*no_color) && setenv("NO_COLOR", no_color->c_str(), 1) != 0)
    return Errno("setenv");

  if (config.has_value()) {
    if (raised_at_start) {
      settings.config_ignored = true;
    } else {
      if (config->empty() || config->front() != '/' || config->size() > kMaxConfigPathBytes ||
          HasControlChars(*config))
        return Status(Code::kInvalidArgument, "SESAME_CONFIG must be an absolute file name, not '" +
                                                  SanitizeForLog(*config, 80) + "'");
      settings.config_path = *config;
    }
  }
  return settings;
}

Result<std::string> CallingUser(uid_t uid) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc;
  while ((rc = getpwuid_r(uid, &entry, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  if (rc != 0)
    return Status(Code::kUnavailable, "cannot look up uid " + std::to_string(uid) +
                                          " in the password database: " + std::strerror(rc));
  if (found == nullptr || found->pw_name == nullptr)
    return Status(Code::kNotFound,
                  "uid " + std::to_string(uid) + " has no entry in the password database");
  std::string name = found->pw_name;
  Status valid = CheckUserName(name);
  if (!valid.ok())
    return Status(Code::kInvalidArgument, "your user name '" + SanitizeForLog(name, 80) +
                                              "' cannot have a Sesame account: " + valid.message());
  return name;
}

}  // namespace sesame::self
