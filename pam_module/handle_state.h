// What one PAM handle keeps between the module's calls (authenticate, then
// acct_mgmt, then chauthtok): the parsed config and the checked key, so a
// sign-in reads them once. Kept with pam_set_data and freed at pam_end by
// libpam. The store connection is not kept here: each call leases one from
// the process's pool (store_pool.h), so between calls none is in use and
// none can cross a fork().
//
// MUST rules:
//  - a process that forked since the state was made (sshd's children)
//    loads its own state;
//  - a state made for another config= file is not reused;
//  - nothing here outlives the handle; its cleanup (called by libpam, out
//    of reach of the entry points' exception shims) neither throws nor
//    allocates.
#ifndef SESAME_PAM_MODULE_HANDLE_STATE_H_
#define SESAME_PAM_MODULE_HANDLE_STATE_H_

#include <security/pam_modules.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/logger.h"
#include "core/base/secret.h"
#include "core/config/config.h"
#include "core/store/store.h"

namespace sesame {

struct HandleState {
  pid_t pid = 0;
  std::string config_path;
  Config config;
  bool key_checked = false;  // the key file was found safe for this handle
  SecretBuffer host_key;     // when key_checked (wiped at pam_end)
  // The account state the last pam_authenticate's success read
  // (FlowResult::account), for the pam_acct_mgmt that follows on this
  // handle (account_check_max_age_ms). Used once; any other call of the
  // module drops it.
  struct SignedIn {
    std::string user;
    AccountFlags account;
    int64_t at_ms = 0;  // Clock::MonotonicMillis when it was read
  };
  std::optional<SignedIn> signed_in;
};

// The state for this handle, loaded (and logged, with `debug` the effective
// config) if needed. `need_key`: also check the key file. On failure logs
// the reason, followed by `on_failure` (what happens now, e.g. "; denying"),
// and returns null with *pam_code set (PAM_SERVICE_ERR for the
// config, PAM_AUTHINFO_UNAVAIL for the key). When libpam will
// not keep data (a module function called outside its dispatch), the state
// is handed to *unkept instead and lives for this call only.
HandleState* GetHandleState(pam_handle_t* pamh, const std::string& config_path, bool need_key,
                            Logger& logger, std::string_view on_failure, int* pam_code,
                            std::unique_ptr<HandleState>* unkept);

}  // namespace sesame

#endif  // SESAME_PAM_MODULE_HANDLE_STATE_H_
