// Privileges: the user ids of the setuid tool, kept as doas and sudo keep
// them, so that the caller neither acts as root nor can signal it.
//
// A process may signal another only when the sender's real or effective
// uid equals the target's real or saved uid (kill(2)); ptrace(2) wants all
// three of the target's uids to be the tracer's. With real uid 0,
// effective uid the caller and saved uid 0 the caller's own processes can
// do neither, while the tool reads, writes and draws with the caller's
// rights, and root is one setresuid(2) away for the few steps that need it.
//
// MUST rules:
//  - the caller's uid and gid are taken once, from the kernel (getuid,
//    getgid), before any id changes (after Drop() getuid() is 0);
//  - Drop() leaves exactly (real, effective, saved) = (0, caller, 0);
//    root is taken back only by a Raised guard, around one short step
//    that needs it (the config, the store, the key file, each store call,
//    taking an argon2 slot, closing the store), never across a prompt or
//    any other wait on the caller;
//  - every id change is checked with getresuid(2); one that fails or leaves
//    other ids ends the process at once (exit 1): it never goes on with
//    ids it did not expect;
//  - after every change the process is made not dumpable again (a change of
//    the effective uid sets it back to fs.suid_dumpable);
//  - run by root, or not setuid (a build tree, a nosuid mount), nothing is
//    changed: Drop() and Raised do nothing.
#ifndef SESAME_TOOLS_SESAME_PRIVILEGES_H_
#define SESAME_TOOLS_SESAME_PRIVILEGES_H_

#include <sys/types.h>

#include "core/base/status.h"

namespace sesame::self {

class Privileges {
 public:
  // The ids the process was started with. REQUIRES: no id was changed yet.
  static Privileges AtStart();

  Privileges(const Privileges&) = delete;
  Privileges& operator=(const Privileges&) = delete;
  Privileges(Privileges&&) = default;
  Privileges& operator=(Privileges&&) = delete;

  uid_t caller_uid() const { return caller_uid_; }
  gid_t caller_gid() const { return caller_gid_; }
  // The effective uid at start was root: installed setuid root, or run by
  // root. False: the tool cannot reach the store.
  bool root_available() const { return root_at_start_; }
  // Started with other ids than the caller's (setuid or setgid, or file
  // capabilities: AT_SECURE): the caller's environment is not trusted.
  bool raised_at_start() const { return raised_at_start_; }
  // Ids are switched: setuid root, run by someone else than root.
  bool switching() const { return root_at_start_ && caller_uid_ != 0; }

  // Real 0, effective the caller, saved 0 (when switching()). An error when
  // the ids are not those afterwards (the caller must then stop).
  Status Drop();

  // Root for the lifetime of the guard (effective uid 0), then the caller
  // again. Guards nest; only the outermost changes ids.
  class Raised {
   public:
    explicit Raised(Privileges& privileges);
    ~Raised();
    Raised(const Raised&) = delete;
    Raised& operator=(const Raised&) = delete;

   private:
    Privileges& privileges_;
  };

  // What Raised does, for hooks that cannot hold a guard (StoreWrapper's
  // Before/After). Each Raise() needs its Lower().
  void Raise();
  void Lower();

 private:
  Privileges(uid_t uid, gid_t gid, bool root_at_start, bool raised_at_start)
      : caller_uid_(uid),
        caller_gid_(gid),
        root_at_start_(root_at_start),
        raised_at_start_(raised_at_start) {}

  uid_t caller_uid_;
  gid_t caller_gid_;
  bool root_at_start_;
  bool raised_at_start_;
  bool dropped_ = false;
  int depth_ = 0;  // nested Raise() calls
};

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_PRIVILEGES_H_
