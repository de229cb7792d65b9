// Idle store connections kept between the PAM handles of one process.
//
// A Dovecot auth worker, or any long-running PAM application, signs people
// in one after another in one process. Opening the SQLite store for every
// handle and closing it at pam_end costs more than the rest of a sign-in at
// a low argon2 cost: the open reads the schema, and closing the last
// connection checkpoints the WAL, with its fsyncs. So at pam_end a
// connection comes back here, and the next handle of the same process for
// the same store takes it. (sshd forks a process per connection; there the
// pool saves nothing, and costs nothing.)
//
// MUST rules:
//  - a connection serves one handle at a time: it is out of the pool while
//    a handle holds it;
//  - only the process that opened a connection uses or closes it: after
//    fork() the pool is empty for the child, which never touches (nor
//    closes, nor locks the pool's mutex for) its parent's connections;
//  - a connection is handed out only when Store::StillUsable() (the same
//    file, still trusted), otherwise it is closed;
//  - at most kMaxIdleStores are kept, for a bounded footprint: when one
//    more comes back, the one idle longest is closed. The idle ones are
//    closed when the process exits.
#ifndef SESAME_PAM_MODULE_STORE_POOL_H_
#define SESAME_PAM_MODULE_STORE_POOL_H_

#include <cstddef>
#include <memory>
#include <string>

#include "core/store.h"

namespace sesame {

inline constexpr size_t kMaxIdleStores = 2;

// An idle connection to the store at `path` opened with `busy_timeout_ms`,
// or null (none, or none still usable: open one).
std::unique_ptr<Store> TakeIdleStore(const std::string& path, int busy_timeout_ms);

// Gives a connection back after use by this process.
void ReturnIdleStore(const std::string& path, int busy_timeout_ms, std::unique_ptr<Store> store);

// Connections idle now in this process (tests and the benchmark).
size_t IdleStoreCount();

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_STORE_POOL_H_
