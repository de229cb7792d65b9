// Services: what a flow needs from the outside world, passed in one value.
// The PAM module and the tools build one per call; tests build one from
// fakes (Clock, Random, Logger) and real parts (Store, PasswordHasher).
#ifndef SESAME_CORE_FLOWS_SERVICES_H_
#define SESAME_CORE_FLOWS_SERVICES_H_

#include <memory>

#include "core/base/clock.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/base/run_command.h"
#include "core/base/safe_file.h"
#include "core/config/config.h"
#include "core/crypto/argon2_limiter.h"
#include "core/crypto/password_hash.h"
#include "core/crypto/totp.h"
#include "core/store/store.h"

namespace sesame {

struct Services {
  const Config& config;
  Store& store;
  PasswordHasher& hasher;
  const Clock& clock;
  Random& random;
  Logger& logger;
  // The host key (sesame.key), needed to open authenticator secrets and
  // digest recovery codes. Null where the caller did not load it: a user
  // with an authenticator is then refused (kUnavailable), never let in.
  const SecretBuffer* host_key = nullptr;
  // Runs on_revoke_command. Null: RunCommand with the process's own ids
  // (the PAM module, sesame-admin). The setuid tool's takes root for the
  // call only.
  CommandRunner* command_runner = nullptr;
  // Reads banned_passwords_file for the password policy. Null:
  // ReadTrustedFile with the process's own ids. The setuid tool's takes
  // root for the read only (the file may be root's 0600).
  TrustedFileReader* file_reader = nullptr;
};

// The argon2 parameters new hashes get, from the config.
inline Argon2Params Argon2ParamsOf(const Config& c) {
  return Argon2Params{c.argon2_time_cost, c.argon2_memory_kib, c.argon2_parallelism};
}

// The host-wide cap on argon2 computations the config asks for, for
// computations on behalf of `requester` (the real uid of the process, or
// the setuid tool's caller: the user who could stop it; see
// argon2_limiter.h).
inline std::unique_ptr<Argon2Limiter> MakeArgon2Limiter(const Config& c, const Clock& clock,
                                                        uid_t requester) {
  return std::make_unique<Argon2Limiter>(c.runtime_dir, c.argon2_max_concurrent,
                                         c.argon2_max_wait_ms, clock, requester);
}

// The RFC 6238 parameters the config asks for (config.cc accepts only
// valid values).
inline TotpParams TotpParamsOf(const Config& c) {
  TotpParams p;
  p.algorithm = c.totp_algorithm == "SHA256"   ? TotpAlgorithm::kSha256
                : c.totp_algorithm == "SHA512" ? TotpAlgorithm::kSha512
                                               : TotpAlgorithm::kSha1;
  p.digits = c.totp_digits;
  p.period = c.totp_period;
  p.window = c.totp_window;
  return p;
}

// Where a request comes from, for logs and sign-in events.
struct RequestInfo {
  std::string user;
  std::string service;      // PAM service name ("sshd", "imap", ...)
  std::string remote_host;  // PAM_RHOST, may be empty
};

}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_SERVICES_H_
