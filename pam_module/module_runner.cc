#include "pam_module/module_runner.h"

#include <security/pam_ext.h>

#include <memory>
#include <string>

#include "core/argon2_limiter.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/key_file.h"
#include "core/password_hash.h"
#include "core/random.h"
#include "core/sign_in.h"
#include "core/sqlite_store.h"
#include "pam_module/module_args.h"
#include "pam_module/pam_adapters.h"

namespace sesame {
namespace {

const char* GetStringItem(pam_handle_t* pamh, int item) {
  const void* value = nullptr;
  if (pam_get_item(pamh, item, &value) != PAM_SUCCESS || value == nullptr) return "";
  return static_cast<const char*>(value);
}

int AuthCode(Decision d) {
  switch (d) {
    case Decision::kSuccess:
      return PAM_SUCCESS;
    case Decision::kFailure:
      return PAM_AUTH_ERR;
    case Decision::kUnknownUser:
      return PAM_USER_UNKNOWN;
    case Decision::kDisabled:
      return PAM_AUTH_ERR;
    case Decision::kUnavailable:
      return PAM_AUTHINFO_UNAVAIL;
    case Decision::kAborted:
      return PAM_CONV_ERR;
  }
  return PAM_SERVICE_ERR;
}

int AccountCode(Decision d) {
  switch (d) {
    case Decision::kSuccess:
      return PAM_SUCCESS;
    case Decision::kFailure:
      return PAM_PERM_DENIED;
    case Decision::kUnknownUser:
      return PAM_USER_UNKNOWN;
    case Decision::kDisabled:
      return PAM_ACCT_EXPIRED;
    case Decision::kUnavailable:
      return PAM_AUTHINFO_UNAVAIL;
    case Decision::kAborted:
      return PAM_CONV_ERR;
  }
  return PAM_SERVICE_ERR;
}

}  // namespace

int RunPamCall(PamGroup group, pam_handle_t* pamh, int flags, int argc, const char** argv) {
  Result<ModuleArgs> args = ParseModuleArgs(argc, argv);
  if (!args.ok()) {
    PamLogger early(pamh, false);
    early.Log(LogLevel::kError, args.status().message() + "; denying");
    return PAM_SERVICE_ERR;
  }
  PamLogger logger(pamh, args->debug);
  if (group == PamGroup::kSetcred) return PAM_SUCCESS;  // no credentials to set

  const char* user_name = nullptr;
  int rc = pam_get_user(pamh, &user_name, nullptr);
  if (rc != PAM_SUCCESS || user_name == nullptr) {
    logger.Log(LogLevel::kNotice,
               std::string("cannot get the user name: ") + pam_strerror(pamh, rc));
    return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
  }
  RequestInfo request{user_name, GetStringItem(pamh, PAM_SERVICE), GetStringItem(pamh, PAM_RHOST)};

  Result<Config> config = LoadConfigFile(args->config_path);
  if (!config.ok()) {
    logger.Log(LogLevel::kError,
               "cannot use the configuration: " + config.status().message() + "; denying");
    return PAM_SERVICE_ERR;
  }
  if (args->debug) {
    std::string described = DescribeConfig(*config);
    for (char& c : described)
      if (c == '\n') c = ';';
    logger.Log(LogLevel::kDebug, "effective configuration: " + described);
  }

  if (group == PamGroup::kAuthenticate) {
    // The key is not used by password sign-in itself, but a missing or
    // exposed key means the installation is not trustworthy: deny.
    Result<SecretBuffer> key = LoadHostKey(config->key_file);
    if (!key.ok()) {
      logger.Log(LogLevel::kError, "cannot use the key: " + key.status().message() + "; denying");
      return PAM_AUTHINFO_UNAVAIL;
    }
  }

  SqliteOptions store_options;
  store_options.busy_timeout_ms = config->store_busy_timeout_ms;
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(config->store_path, store_options);
  if (!store.ok()) {
    logger.Log(LogLevel::kError, "cannot use the store: " + store.status().message() + "; denying");
    return PAM_AUTHINFO_UNAVAIL;
  }

  SystemClock clock;
  SystemRandom random;
  Argon2Limiter limiter(config->runtime_dir, config->argon2_max_concurrent,
                        config->argon2_max_wait_ms, clock);
  PasswordHasher hasher(
      Argon2Params{config->argon2_time_cost, config->argon2_memory_kib, config->argon2_parallelism},
      &limiter, logger);
  Services services{*config, **store, hasher, clock, random, logger};
  PamPrompter prompter(pamh, flags);

  if (group == PamGroup::kAuthenticate)
    return AuthCode(PasswordSignIn(services, prompter, request).decision);
  return AccountCode(CheckAccount(services, prompter, request).decision);
}

}  // namespace sesame
