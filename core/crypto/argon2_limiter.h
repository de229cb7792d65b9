// Argon2Limiter: a host-wide cap on concurrent argon2 computations, across
// processes (sshd children, Dovecot auth workers, su, sudo, the tools).
//
// Slots are files DIR/argon2-slot.0 .. DIR/argon2-slot.(N-1), created 0600
// in a directory that must be owned by the effective uid (root in the module
// and the tools) and not writable by others (created 0700 if missing), so no
// other user can hold a slot. Holding a slot is holding flock(LOCK_EX) on its
// file, so a process that dies frees its slot at once; the holder writes its
// pid into the file. Acquire polls the slots with LOCK_NB until one is free
// or `max_wait_ms` have passed, then fails with kBusy and a message saying
// how long it waited and which setting to raise.
//
// A local user can stop a process that computes for them (su and sudo run
// with the user as real uid; SIGSTOP), or freeze it with a cgroup systemd
// delegated to them, and the slot stays held. So that halted processes
// cannot pin the cap and lock everyone out:
//  - a slot whose holder is halted (state T or t in /proc/PID/stat, or its
//    cgroup v2 frozen: core/base/process_state.h) is not
//    counted: for each one, one slot past N may be used
//    (argon2-slot.N, ...). A stopped holder computes nothing; its memory
//    stays allocated, which the next rule bounds;
//  - a requester other than root (the real uid of the process, which is the
//    user who can stop it; the setuid tool passes its caller) first takes
//    DIR/argon2-user.UID, so one user holds at most one slot at a time,
//    however many processes they start or stop. Root's requests (sshd,
//    login, mail servers: remote clients cannot stop them) are not limited.
#ifndef SESAME_CORE_CRYPTO_ARGON2_LIMITER_H_
#define SESAME_CORE_CRYPTO_ARGON2_LIMITER_H_

#include <sys/types.h>

#include <string>

#include "core/base/clock.h"
#include "core/base/status.h"

namespace sesame {

class Argon2Limiter {
 public:
  // A held slot; released (fd closed) on destruction.
  class Slot {
   public:
    Slot() = default;
    Slot(int fd, int index, int user_fd = -1) : fd_(fd), index_(index), user_fd_(user_fd) {}
    ~Slot();
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    int index() const { return index_; }

   private:
    int fd_ = -1;
    int index_ = -1;
    int user_fd_ = -1;  // the requester's own lock, when it has one
  };

  // `requester`: the uid the computations are for, who may be able to stop
  // the process (see above); 0 for none.
  Argon2Limiter(std::string dir, int max_concurrent, int max_wait_ms, const Clock& clock,
                uid_t requester = 0);
  virtual ~Argon2Limiter() = default;
  Argon2Limiter(const Argon2Limiter&) = delete;
  Argon2Limiter& operator=(const Argon2Limiter&) = delete;

  // Virtual so that a caller that runs most of the time without the
  // privileges the slot directory needs (the setuid tool) can raise them
  // around it; the held slot needs none.
  virtual Result<Slot> Acquire();

 private:
  std::string dir_;
  int max_concurrent_;
  int max_wait_ms_;
  const Clock& clock_;
  uid_t requester_;
};

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_ARGON2_LIMITER_H_
