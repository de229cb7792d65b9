#include "pam_module/store_pool.h"

#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "pam_module/per_process.h"

namespace sesame {
namespace {

struct Idle {
  std::string path;
  int busy_timeout_ms;
  std::unique_ptr<Store> store;
};

// The idle connections of one process (PerProcess: a forked child never
// uses its parent's).
class Pool {
 public:
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

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
  std::mutex mu_;
  std::vector<Idle> idle_;
};

Pool& ThePool() {
  static PerProcess<Pool> pool;
  return pool.Get();
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
