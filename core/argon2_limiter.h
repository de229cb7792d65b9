// Argon2Limiter: a host-wide cap on concurrent argon2 computations, across
// processes (sshd children, Dovecot auth workers, the tools).
//
// Slots are files DIR/argon2-slot.0 .. DIR/argon2-slot.(N-1), created 0600
// in a directory that must be owned by the effective uid (root in the module
// and the tools) and not writable by others (created 0700 if missing), so no
// other user can hold a slot. Holding a slot is holding flock(LOCK_EX) on its file, so a
// process that dies frees its slot at once. Acquire polls the slots with
// LOCK_NB until one is free or `max_wait_ms` have passed, then fails with
// kBusy and a message saying how long it waited and which setting to raise.
#ifndef SESAME_CORE_ARGON2_LIMITER_H_
#define SESAME_CORE_ARGON2_LIMITER_H_

#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace sesame {

class Argon2Limiter {
 public:
  // A held slot; released (fd closed) on destruction.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(int fd, int index) : fd_(fd), index_(index) {}
    ~Slot();
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    int index() const { return index_; }

   private:
    int fd_ = -1;
    int index_ = -1;
  };

  Argon2Limiter(std::string dir, int max_concurrent, int max_wait_ms, const Clock& clock);
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
};

}  // namespace sesame

#endif  // SESAME_CORE_ARGON2_LIMITER_H_
