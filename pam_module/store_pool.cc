#include "pam_module/store_pool.h"

#include <unistd.h>

#include <atomic>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

namespace sesame {
namespace {

struct Idle {
  std::string path;
  int busy_timeout_ms;
  std::unique_ptr<Store> store;
};

// The idle connections of one process. Destroyed (closing them) only by
// the process that made it.
class Pool {
 public:
  Pool() : pid_(getpid()) {}
  ~Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  bool Ours() const { return pid_ == getpid(); }

  std::unique_ptr<Store> Take(const std::string& path, int busy_timeout_ms) {
    std::unique_ptr<Store> found;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Newest first.
      for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
        if (it->path == path && it->busy_timeout_ms == busy_timeout_ms) {
          found = std::move(it->store);
          idle_.erase(std::next(it).base());
          break;
        }
      }
    }
    // Checked outside the lock (a stat of the path and its directory); a
    // connection that fails is closed here.
    if (found != nullptr && !found->StillUsable().ok()) found.reset();
    return found;
  }

  void Return(const std::string& path, int busy_timeout_ms, std::unique_ptr<Store> store) {
    if (store == nullptr) return;
    std::unique_ptr<Store> oldest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The one used last is the likeliest to be wanted next: when full,
      // the longest idle one goes.
      idle_.push_back(Idle{path, busy_timeout_ms, std::move(store)});
      if (idle_.size() > kMaxIdleStores) {
        oldest = std::move(idle_.front().store);
        idle_.erase(idle_.begin());
      }
    }
    // `oldest` is closed here, outside the lock.
  }

  size_t Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return idle_.size();
  }

 private:
  const pid_t pid_;
  std::mutex mu_;
  std::vector<Idle> idle_;
};

// The pool of this process. After fork() the child finds its parent's pool
// and starts a new one: the parent's is abandoned, never locked (another
// thread may have held its mutex at the fork), used or freed. At exit the
// holder closes this process's connections (the last close checkpoints the
// WAL), and only this process's.
struct PoolHolder {
  std::atomic<Pool*> current{nullptr};
  ~PoolHolder() {
    Pool* pool = current.load();
    if (pool != nullptr && pool->Ours()) delete pool;
  }
};

PoolHolder& Holder() {
  static PoolHolder holder;
  return holder;
}

Pool& ThePool() {
  PoolHolder& holder = Holder();
  Pool* pool = holder.current.load();
  while (pool == nullptr || !pool->Ours()) {
    auto* fresh = new Pool();
    if (holder.current.compare_exchange_strong(pool, fresh)) return *fresh;
    delete fresh;  // another thread of this process made one first; `pool` is it
  }
  return *pool;
}

}  // namespace

std::unique_ptr<Store> TakeIdleStore(const std::string& path, int busy_timeout_ms) {
  return ThePool().Take(path, busy_timeout_ms);
}

void ReturnIdleStore(const std::string& path, int busy_timeout_ms, std::unique_ptr<Store> store) {
  ThePool().Return(path, busy_timeout_ms, std::move(store));
}

size_t IdleStoreCount() { return ThePool().Count(); }

}  // namespace sesame
