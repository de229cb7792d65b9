// PerProcess<T>: one T for this process, made on first use, for the state
// the module keeps between PAM handles (store_pool.cc, file_cache.cc).
//
// MUST rules:
//  - after fork() the child finds its parent's T and makes its own: the
//    parent's is abandoned, never read, locked (another thread may have
//    held its mutex at the fork) or freed by the child;
//  - at exit only this process's T is destroyed (closing connections,
//    wiping keys); a child's exit never destroys its parent's.
#ifndef SESAME_PAM_MODULE_PER_PROCESS_H_
#define SESAME_PAM_MODULE_PER_PROCESS_H_

#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace sesame {

template <typename T>
class PerProcess {
 public:
  PerProcess() = default;
  ~PerProcess() {
    Slot* slot = current_.load();
    if (slot != nullptr && slot->pid == getpid()) delete slot;
  }
  PerProcess(const PerProcess&) = delete;
  PerProcess& operator=(const PerProcess&) = delete;

  T& Get() {
    Slot* slot = current_.load();
    while (slot == nullptr || slot->pid != getpid()) {
      auto* fresh = new Slot();
      if (current_.compare_exchange_strong(slot, fresh)) {
        // The parent's (if any) stays reachable, never used: it is not
        // ours to free, and a leak checker should not count it as lost.
        if (slot != nullptr) inherited_.store(slot);
        return fresh->value;
      }
      delete fresh;  // another thread of this process made one first; `slot` is it
    }
    return slot->value;
  }

 private:
  struct Slot {
    pid_t pid = getpid();
    T value;
  };
  std::atomic<Slot*> current_{nullptr};
  std::atomic<Slot*> inherited_{nullptr};  // the parent's, after a fork
};

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_PER_PROCESS_H_
