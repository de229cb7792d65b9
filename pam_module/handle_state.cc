#include "pam_module/handle_state.h"

#include <unistd.h>

#include "core/crypto/key_file.h"
#include "pam_module/file_cache.h"

namespace sesame {
namespace {

constexpr char kDataName[] = "pam_sesame_handle_state";

// Called by libpam at pam_end (and pam_set_data replacements), outside the
// entry points' exception shims: it must not throw. Deleting the state
// only frees strings and wipes the key.
void Cleanup(pam_handle_t*, void* data, int) noexcept { delete static_cast<HandleState*>(data); }

}  // namespace

HandleState* GetHandleState(pam_handle_t* pamh, const std::string& config_path, bool need_key,
                            Logger& logger, std::string_view on_failure, int* pam_code,
                            std::unique_ptr<HandleState>* unkept) {
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
      logger.Log(LogLevel::kError, "cannot use the configuration: " + config.status().message() +
                                       std::string(on_failure));
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
      logger.Log(LogLevel::kError,
                 "cannot use the key: " + key.status().message() + std::string(on_failure));
      *pam_code = PAM_AUTHINFO_UNAVAIL;
      return nullptr;
    }
    state->host_key = std::move(key.value());
    state->key_checked = true;
  }
  return state;
}

}  // namespace sesame
