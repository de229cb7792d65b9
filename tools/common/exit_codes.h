// Exit codes shared by sesame and sesame-admin (documented in their man
// pages). One function maps a core Status to one of them.
#ifndef SESAME_TOOLS_COMMON_EXIT_CODES_H_
#define SESAME_TOOLS_COMMON_EXIT_CODES_H_

#include "core/base/status.h"

namespace sesame {

enum ExitCode {
  kExitOk = 0,
  kExitFailure = 1,     // store, key or config unusable; I/O error; internal error
  kExitUsage = 2,       // bad command line or input (names, passwords, mismatch, no tty)
  kExitNotFound = 3,    // no such user (or record)
  kExitExists = 4,      // already exists
  kExitPermission = 5,  // not root / unsafe file ownership or mode
  kExitAuth = 6,        // wrong password or code (the self-service tool)
  kExitAborted = 7,     // the person gave up (Ctrl-D at a prompt)
  kExitBusy = 8,        // store or argon2 slots busy; try again
};

inline int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
      return kExitUsage;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kAlreadyExists:
      return kExitExists;
    case Code::kPermissionDenied:
      return kExitPermission;
    case Code::kAuthFailed:
      return kExitAuth;
    case Code::kAborted:
      return kExitAborted;
    case Code::kBusy:
      return kExitBusy;
    case Code::kUnavailable:
    case Code::kCorrupt:
    case Code::kInternal:
      return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_EXIT_CODES_H_
