#include "pam_module/handle_state.h"

#include <unistd.h>

#include "core/key_file.h"
#include "core/sqlite_store.h"
#include "pam_module/file_cache.h"
#include "pam_module/store_pool.h"

namespace sesame {
namespace {

constexpr char kDataName[] = "pam_sesame_handle_state";

void Cleanup(pam_handle_t*, void* data, int) {
  auto* state = static_cast<HandleState*>(data);
  if (state->pid != getpid()) {
    // In a child of the process that opened it, the connection is the
    // parent's: leave it alone (the child's copy of the memory goes with it).
    static_cast<void>(state->store.release());
  } else {
    // Kept open for the next handle of this process (store_pool.h).
    ReturnIdleStore(state->config.store_path, state->config.store_busy_timeout_ms,
                    std::move(state->store));
  }
  delete state;
}

}  // namespace

HandleState* GetHandleState(pam_handle_t* pamh, const std::string& config_path, bool need_key,
                            Logger& logger, int* pam_code, std::unique_ptr<HandleState>* unkept) {
  const void* data = nullptr;
  HandleState* state = nullptr;
  if (pam_get_data(pamh, kDataName, &data) == PAM_SUCCESS && data != nullptr) {
    auto* kept = static_cast<HandleState*>(const_cast<void*>(data));
    if (kept->pid == getpid() && kept->config_path == config_path) state = kept;
  }

  if (state == nullptr) {
    auto fresh = std::make_unique<HandleState>();
    fresh->pid = getpid();
    fresh->config_path = config_path;
    Result<Config> config = CachedConfig(config_path);
    if (!config.ok()) {
      logger.Log(LogLevel::kError,
                 "cannot use the configuration: " + config.status().message() + "; denying");
      *pam_code = PAM_SERVICE_ERR;
      return nullptr;
    }
    fresh->config = std::move(config.value());
    if (logger.debug_enabled()) {
      std::string described = DescribeConfig(fresh->config);
      for (char& c : described)
        if (c == '\n') c = ';';
      logger.Log(LogLevel::kDebug, "effective configuration: " + described);
    }
    fresh->store = TakeIdleStore(fresh->config.store_path, fresh->config.store_busy_timeout_ms);
    if (fresh->store == nullptr) {
      SqliteOptions options;
      options.busy_timeout_ms = fresh->config.store_busy_timeout_ms;
      Result<std::unique_ptr<Store>> store = OpenSqliteStore(fresh->config.store_path, options);
      if (!store.ok()) {
        logger.Log(LogLevel::kError,
                   "cannot use the store: " + store.status().message() + "; denying");
        *pam_code = PAM_AUTHINFO_UNAVAIL;
        return nullptr;
      }
      fresh->store = std::move(store.value());
    }
    if (pam_set_data(pamh, kDataName, fresh.get(), Cleanup) == PAM_SUCCESS) {
      state = fresh.release();  // owned by the handle now
    } else {
      *unkept = std::move(fresh);
      state = unkept->get();
    }
  }

  if (need_key && !state->key_checked) {
    // Needed for verification codes; for a password alone too, because a
    // missing or exposed key means the installation is not trustworthy.
    Result<SecretBuffer> key = CachedHostKey(state->config.key_file);
    if (!key.ok()) {
      logger.Log(LogLevel::kError, "cannot use the key: " + key.status().message() + "; denying");
      *pam_code = PAM_AUTHINFO_UNAVAIL;
      return nullptr;
    }
    state->host_key = std::move(key.value());
    state->key_checked = true;
  }
  return state;
}

}  // namespace sesame
