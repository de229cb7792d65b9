// Store connections kept between the PAM calls of one process.
//
// A Dovecot auth worker, or any long-running PAM application, signs people
// in one after another in one process. Opening the SQLite store for every
// call and closing it at the end costs more than the rest of a sign-in at a
// low argon2 cost: the open reads the schema, and closing the last
// connection checkpoints the WAL, with its fsyncs. So a connection is
// leased for one PAM call (StoreLease) and comes back here at its end; the
// next call of the same process for the same store takes it. (sshd forks a
// process per connection; there the pool saves nothing, and costs nothing.)
//
// fork(): SQLite keeps per-file lock bookkeeping for the whole process, and
// a child inherits its parent's copy, so a child's own connection to a file
// its parent had open takes no kernel locks, and the parent's close can
// checkpoint and remove the WAL under the child's writes. Hence:
//
// MUST rules:
//  - a connection serves one PAM call at a time, and is leased only for the
//    duration of a call (never across the calls of a handle);
//  - before fork() (pthread_atfork) every idle connection is closed, so a
//    child inherits no open connection in the usual case (no PAM call in
//    progress in another thread);
//  - a process that inherited an open connection (forked while another
//    thread's call held one, or by a raw clone without atfork handlers)
//    opens no store at all: kUnavailable, logged, never a half-working
//    connection; it never uses, closes or locks its parent's;
//  - connections are kept by StoreIdentity (the store and how it was
//    opened), never handed to a config that names another;
//  - a connection is handed out only when Store::StillUsable(), otherwise
//    it is closed;
//  - at most kMaxIdleStores are kept, for a bounded footprint: when one
//    more comes back, the one idle longest is closed. Returning one never
//    allocates and never throws (it runs at the end of every call). The
//    idle ones are closed when the process exits.
#ifndef SESAME_PAM_MODULE_STORE_POOL_H_
#define SESAME_PAM_MODULE_STORE_POOL_H_

#include <cstddef>
#include <memory>
#include <string>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/store/store.h"

namespace sesame {

inline constexpr size_t kMaxIdleStores = 2;

// A connection leased for one PAM call; back to the pool when it goes.
class StoreLease {
 public:
  StoreLease() = default;
  StoreLease(StoreLease&& other) noexcept;
  StoreLease& operator=(StoreLease&& other) noexcept;
  StoreLease(const StoreLease&) = delete;
  StoreLease& operator=(const StoreLease&) = delete;
  ~StoreLease();

  Store& operator*() const { return *store_; }
  Store* operator->() const { return store_.get(); }
  Store* get() const { return store_.get(); }

 private:
  friend Result<StoreLease> LeaseStore(const Config& config);
  StoreLease(std::string key, std::unique_ptr<Store> store)
      : key_(std::move(key)), store_(std::move(store)) {}

  std::string key_;
  std::unique_ptr<Store> store_;
};

// An idle connection to the store `config` names, or a new one. Fails when
// the store cannot be opened (the message says why) or when this process
// inherited an open connection across fork().
Result<StoreLease> LeaseStore(const Config& config);

// Connections idle now in this process (tests and the benchmark).
size_t IdleStoreCount();

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_STORE_POOL_H_
