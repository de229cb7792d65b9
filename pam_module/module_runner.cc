#include "pam_module/module_runner.h"

#include <security/pam_ext.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/config/config.h"
#include "core/crypto/argon2_limiter.h"
#include "core/crypto/password_hash.h"
#include "core/flows/app_passwords.h"
#include "core/flows/sign_in.h"
#include "pam_module/decision_codes.h"
#include "pam_module/exempt_users.h"
#include "pam_module/handle_state.h"
#include "pam_module/module_args.h"
#include "pam_module/pam_adapters.h"
#include "pam_module/store_pool.h"

namespace sesame {
namespace {

const char* GetStringItem(pam_handle_t* pamh, int item) {
  const void* value = nullptr;
  if (pam_get_item(pamh, item, &value) != PAM_SUCCESS || value == nullptr) return "";
  return static_cast<const char*>(value);
}

// pam_chauthtok: libpam calls the stack twice. The current password is
// asked unless the real uid is root and this is not the change of an
// expired password (as pam_unix); in the update step it is checked again,
// from PAM_OLDAUTHTOK, before the new one is stored.
int RunChauthtok(Services& services, PamPrompter& prompter, const RequestInfo& request, int flags,
                 bool use_authtok) {
  // Not ours: let the stack go on to pam_unix without asking anything. (The
  // person changing a password has signed in already: no timing to hide.)
  Result<std::optional<UserRecord>> user = services.store.GetUser(request.user);
  if (!user.ok()) {
    services.logger.Log(LogLevel::kError, "password change: " + user.status().message());
    return PAM_AUTHINFO_UNAVAIL;
  }
  if (!user->has_value()) return PAM_USER_UNKNOWN;

  const bool ask_current = !(getuid() == 0 && !(flags & PAM_CHANGE_EXPIRED_AUTHTOK));
  SecretBuffer current;
  if (ask_current) {
    FlowResult verified = VerifyCurrentPassword(services, prompter, request, &current);
    if (verified.decision != Decision::kSuccess) {
      return PamCodeFor(verified.decision, (flags & PAM_UPDATE_AUTHTOK)
                                               ? PamStep::kChauthtokUpdateOld
                                               : PamStep::kChauthtokPrelim);
    }
  }
  if (flags & PAM_PRELIM_CHECK) return PAM_SUCCESS;
  FlowResult changed = ChangePassword(services, prompter, request, ask_current ? &current : nullptr,
                                      use_authtok ? 1 : 3);
  return PamCodeFor(changed.decision, PamStep::kChauthtokUpdate);
}

}  // namespace

int RunPamCall(PamGroup group, pam_handle_t* pamh, int flags, int argc, const char** argv) {
  Result<ModuleArgs> args = ParseModuleArgs(argc, argv);
  if (!args.ok()) {
    // No config to read exempt_users from: the fixed rule (exempt_users.h).
    const bool exempt =
        group != PamGroup::kSetcred && IsFallbackExempt(GetStringItem(pamh, PAM_USER));
    PamLogger early(pamh, false);
    early.Log(LogLevel::kError, args.status().message() + FailureOutcome(exempt));
    return exempt ? kExemptPamCode : PAM_SERVICE_ERR;
  }
  PamLogger logger(pamh, args->debug);
  if (group == PamGroup::kSetcred) return PAM_SUCCESS;  // no credentials to set
  // Asked for first, as pam_unix does: libpam sleeps only when the stack's
  // result is a failure, so every refusal here (a wrong password or code,
  // an unknown or exempt name, a store that cannot be used) takes as long
  // as pam_unix's. Never in mode=app_password: a mail server's auth worker
  // serves other logins meanwhile, and Dovecot delays failures itself.
  if (group == PamGroup::kAuthenticate && !args->app_password && !args->nodelay)
    (void)pam_fail_delay(pamh, kFailDelayMicros);

  const char* user_name = nullptr;
  int rc = pam_get_user(pamh, &user_name, nullptr);
  if (rc != PAM_SUCCESS || user_name == nullptr) {
    logger.Log(LogLevel::kNotice,
               std::string("cannot get the user name: ") + pam_strerror(pamh, rc));
    return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
  }
  RequestInfo request{user_name, GetStringItem(pamh, PAM_SERVICE), GetStringItem(pamh, PAM_RHOST)};

  if (group == PamGroup::kChauthtok && !(flags & (PAM_PRELIM_CHECK | PAM_UPDATE_AUTHTOK))) {
    logger.Log(LogLevel::kError, "pam_chauthtok without PAM_PRELIM_CHECK or PAM_UPDATE_AUTHTOK");
    return PAM_SERVICE_ERR;
  }
  const bool need_key = group == PamGroup::kAuthenticate || group == PamGroup::kChauthtok;
  int failure_code = PAM_SERVICE_ERR;
  std::unique_ptr<HandleState> unkept;
  // Exempt accounts are decided from the config alone, before the key and
  // the store (exempt_users.h).
  const bool fallback = IsFallbackExempt(request.user);
  HandleState* state = GetHandleState(pamh, args->config_path, false, logger,
                                      FailureOutcome(fallback), &failure_code, &unkept);
  if (state == nullptr) return fallback ? kExemptPamCode : failure_code;
  if (ConfiguredExempt(state->config, request.user, logger)) return kExemptPamCode;
  if (need_key)
    state = GetHandleState(pamh, args->config_path, true, logger, FailureOutcome(false),
                           &failure_code, &unkept);
  if (state == nullptr) return failure_code;
  const Config* config = &state->config;
  // What the last sign-in on this handle read: for this call only, if it is
  // the account check.
  std::optional<HandleState::SignedIn> signed_in = std::move(state->signed_in);
  state->signed_in.reset();
  // The store for this call only (store_pool.h): none is held between calls.
  Result<StoreLease> store = LeaseStore(*config);
  if (!store.ok()) {
    logger.Log(LogLevel::kError, "cannot use the store: " + store.status().message() + "; denying");
    return PAM_AUTHINFO_UNAVAIL;
  }

  SystemClock clock;
  SystemRandom random;
  // The requester is the real uid: the user who could stop this process
  // (su, sudo run PAM with the caller's real uid).
  std::unique_ptr<Argon2Limiter> limiter = MakeArgon2Limiter(*config, clock, getuid());
  PasswordHasher hasher(Argon2ParamsOf(*config), limiter.get(), logger);
  Services services{*config,
                    **store,
                    hasher,
                    clock,
                    random,
                    logger,
                    state->key_checked ? &state->host_key : nullptr};
  PamPrompter prompter(pamh, flags, args->use_authtok);

  switch (group) {
    case PamGroup::kAuthenticate: {
      const FlowResult result = args->mfa_only ? SecondFactorOnly(services, prompter, request)
                                : args->app_password
                                    ? AppPasswordSignIn(services, prompter, request)
                                    : PasswordSignIn(services, prompter, request);
      if (result.decision == Decision::kSuccess && result.account.has_value() &&
          config->account_check_max_age_ms > 0) {
        state->signed_in =
            HandleState::SignedIn{request.user, *result.account, clock.MonotonicMillis()};
      }
      return PamCodeFor(result.decision, PamStep::kAuthenticate);
    }
    case PamGroup::kAccount: {
      // Right after this user's sign-in on this handle, the state its own
      // write read stands in for a read of the store
      // (account_check_max_age_ms).
      const AccountFlags* known = nullptr;
      if (signed_in.has_value() && signed_in->user == request.user) {
        const int64_t age = clock.MonotonicMillis() - signed_in->at_ms;
        if (age >= 0 && age <= config->account_check_max_age_ms) known = &signed_in->account;
      }
      return PamCodeFor(CheckAccount(services, prompter, request, known).decision,
                        PamStep::kAccount);
    }
    case PamGroup::kChauthtok:
      return RunChauthtok(services, prompter, request, flags, args->use_authtok);
    case PamGroup::kSetcred:
      break;
  }
  return PAM_SUCCESS;
}

}  // namespace sesame
