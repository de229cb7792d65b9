#include "tools/sesame/privileges.h"

#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sesame::self {
namespace {

// The ids are not what they must be: say so and stop at once. Nothing is
// flushed or destroyed on the way out (this may run in a destructor).
[[noreturn]] void Die(const std::string& why) {
  const std::string line = "sesame: error: cannot switch user ids: " + why + "; stopping\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  static_cast<void>(ignored);
  _exit(1);
}

constexpr uid_t kUnchanged = static_cast<uid_t>(-1);

// setresuid(real, effective, real) (real: 0 or kUnchanged), then checks
// that the ids are exactly (0, effective, 0) and makes the process not
// dumpable again.
Status SetUids(uid_t real, uid_t effective) {
  const std::string wanted = "0/" + std::to_string(effective) + "/0";
  if (setresuid(real, effective, real) != 0)
    return Status(Code::kInternal,
                  "setresuid to " + wanted + " (real/effective/saved): " + std::strerror(errno));
  uid_t r = 0, e = 0, s = 0;
  if (getresuid(&r, &e, &s) != 0)
    return Status(Code::kInternal, std::string("getresuid: ") + std::strerror(errno));
  if (r != 0 || e != effective || s != 0)
    return Status(Code::kInternal, "the user ids are " + std::to_string(r) + "/" +
                                       std::to_string(e) + "/" + std::to_string(s) +
                                       " (real/effective/saved), not " + wanted);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return Status(Code::kInternal, std::string("prctl(PR_SET_DUMPABLE): ") + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Privileges Privileges::AtStart() {
  const uid_t uid = getuid();
  const bool raised = uid != geteuid() || getgid() != getegid() || getauxval(AT_SECURE) != 0;
  return Privileges(uid, getgid(), geteuid() == 0, raised);
}

Status Privileges::Drop() {
  if (!switching() || dropped_) return Status::Ok();
  SESAME_RETURN_IF_ERROR(SetUids(0, caller_uid_));
  dropped_ = true;
  return Status::Ok();
}

void Privileges::Raise() {
  if (!dropped_) return;
  if (depth_++ > 0) return;
  Status raised = SetUids(kUnchanged, 0);
  if (!raised.ok()) Die(raised.message());
}

void Privileges::Lower() {
  if (!dropped_) return;
  if (depth_ <= 0) Die("Lower() without Raise()");
  if (--depth_ > 0) return;
  Status lowered = SetUids(kUnchanged, caller_uid_);
  if (!lowered.ok()) Die(lowered.message());
}

Privileges::Raised::Raised(Privileges& privileges) : privileges_(privileges) {
  privileges_.Raise();
}

Privileges::Raised::~Raised() { privileges_.Lower(); }

}  // namespace sesame::self
