#include "pam_module/store_pool.h"

#include <pthread.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <mutex>
#include <utility>

#include "core/store/open/open_store.h"
#include "pam_module/per_process.h"

namespace sesame {
namespace {

// Connections of this module open in memory (idle or leased), and the
// process they were opened in. A child sees its parent's pid here: any
// count then means it inherited open connections.
std::atomic<int> g_open{0};
std::atomic<pid_t> g_open_pid{0};

struct Idle {
  std::string key;  // StoreIdentity: the store, and how the connection was opened
  std::unique_ptr<Store> store;
};

// The idle connections of one process, in a fixed array (Return must not
// allocate). PerProcess: a forked child never uses its parent's.
class Pool {
 public:
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { CloseAll(); }

  std::unique_ptr<Store> Take(const std::string& key) {
    std::unique_ptr<Store> found;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Newest first.
      for (size_t i = count_; i-- > 0;) {
        if (idle_[i].key == key) {
          found = std::move(idle_[i].store);
          for (size_t j = i; j + 1 < count_; ++j) idle_[j] = std::move(idle_[j + 1]);
          --count_;
          break;
        }
      }
    }
    // Checked outside the lock (a stat of the path and its directory); a
    // connection that fails is closed here.
    if (found != nullptr && !found->StillUsable().ok()) Close(std::move(found));
    return found;
  }

  void Return(std::string key, std::unique_ptr<Store> store) noexcept {
    if (store == nullptr) return;
    std::unique_ptr<Store> oldest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The one used last is the likeliest to be wanted next: when full,
      // the longest idle one goes.
      if (count_ == idle_.size()) {
        oldest = std::move(idle_[0].store);
        for (size_t j = 0; j + 1 < count_; ++j) idle_[j] = std::move(idle_[j + 1]);
        --count_;
      }
      idle_[count_].key = std::move(key);  // moves: the string's buffer, no allocation
      idle_[count_].store = std::move(store);
      ++count_;
    }
    Close(std::move(oldest));  // outside the lock
  }

  // Closes every idle connection (before fork(), and at exit).
  void CloseAll() noexcept {
    std::array<std::unique_ptr<Store>, kMaxIdleStores> closing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < count_; ++i) closing[i] = std::move(idle_[i].store);
      count_ = 0;
    }
    for (std::unique_ptr<Store>& s : closing) Close(std::move(s));
  }

  size_t Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

  static void Close(std::unique_ptr<Store> store) noexcept {
    if (store == nullptr) return;
    store.reset();
    g_open.fetch_sub(1);
  }

 private:
  std::mutex mu_;
  std::array<Idle, kMaxIdleStores> idle_;
  size_t count_ = 0;
};

PerProcess<Pool>& ThePerProcessPool() {
  static PerProcess<Pool> pool;
  return pool;
}

Pool& ThePool() { return ThePerProcessPool().Get(); }

// pthread_atfork prepare: no idle connection crosses fork(). (The module is
// linked -z nodelete, so this handler stays valid for the life of the
// process.)
void CloseIdleBeforeFork() { ThePool().CloseAll(); }

void RegisterForkHandler() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(&CloseIdleBeforeFork, nullptr, nullptr); });
}

std::string KeyOf(const Config& config) { return StoreIdentity(config); }

}  // namespace

StoreLease::StoreLease(StoreLease&& other) noexcept
    : key_(std::move(other.key_)), store_(std::move(other.store_)) {}

StoreLease& StoreLease::operator=(StoreLease&& other) noexcept {
  if (this != &other) {
    if (store_ != nullptr) ThePool().Return(std::move(key_), std::move(store_));
    key_ = std::move(other.key_);
    store_ = std::move(other.store_);
  }
  return *this;
}

StoreLease::~StoreLease() {
  if (store_ != nullptr) ThePool().Return(std::move(key_), std::move(store_));
}

Result<StoreLease> LeaseStore(const Config& config) {
  RegisterForkHandler();
  const pid_t me = getpid();
  if (g_open_pid.load() != me) {
    // First use in this process (or in a child): what was open was the
    // parent's.
    if (g_open.load() > 0) {
      return Status(Code::kUnavailable,
                    "this process was forked while its parent had the store open in another "
                    "thread; it cannot use the store safely (SQLite's locks do not cross "
                    "fork()); sign in from a process that did not inherit it");
    }
    g_open_pid.store(me);
  }
  const std::string key = KeyOf(config);
  std::unique_ptr<Store> store = ThePool().Take(key);
  if (store == nullptr) {
    Result<std::unique_ptr<Store>> opened = OpenStore(config, StoreOptions{});
    if (!opened.ok()) return opened.status();
    store = std::move(opened.value());
    g_open.fetch_add(1);
  }
  return StoreLease(key, std::move(store));
}

size_t IdleStoreCount() { return ThePool().Count(); }

}  // namespace sesame
