// What sesame's commands need: the config, the store, a hasher bound to the
// host-wide argon2 cap, the clock, randomness and a logger; the host key for
// the commands that touch an authenticator; and the calling user's record.
//
// The config, the store, the key file and the argon2 slot directory are
// root's (the store is 0600), and the tool runs as the caller: every step
// that touches them raises its privileges (Privileges::Raised) for that
// step only. ToolEnv is where that happens: the store is reached only
// through a wrapper that raises around each call, and the limiter raises
// around taking a slot (holding one needs nothing).
#ifndef SESAME_TOOLS_SESAME_SESAME_ENV_H_
#define SESAME_TOOLS_SESAME_SESAME_ENV_H_

#include <memory>
#include <optional>
#include <string>

#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/base/run_command.h"
#include "core/base/safe_file.h"
#include "core/base/secret.h"
#include "core/config/config.h"
#include "core/crypto/argon2_limiter.h"
#include "core/crypto/password_hash.h"
#include "core/flows/services.h"
#include "core/store/store.h"
#include "tools/common/syslog_logger.h"
#include "tools/sesame/privileges.h"

namespace sesame::self {

struct ToolEnv {
  explicit ToolEnv(Privileges& p) : privileges(p) {}
  // Closes the store as root (a last connection checkpoints and removes
  // the WAL files, in root's directory).
  ~ToolEnv();
  ToolEnv(const ToolEnv&) = delete;
  ToolEnv& operator=(const ToolEnv&) = delete;

  Privileges& privileges;
  Config config;
  std::unique_ptr<Store> opened_store;  // the SQLite store; used only through `store`
  std::unique_ptr<Store> store;         // opened_store, with root around each call
  SystemClock clock;
  SystemRandom random;
  std::unique_ptr<SyslogLogger> logger;
  std::unique_ptr<Argon2Limiter> limiter;
  std::unique_ptr<PasswordHasher> hasher;
  // on_revoke_command, run as root (every command that revokes app
  // passwords: passwd, passwd --forgot, app-password revoke).
  std::unique_ptr<CommandRunner> command_runner;
  // banned_passwords_file, read as root (it may be root's 0600).
  std::unique_ptr<TrustedFileReader> file_reader;
  // Loaded by LoadKey() only: `sesame passwd` and `sesame status` never
  // read the key file (passwd checks the password only).
  std::optional<SecretBuffer> host_key;

  // Reads key_file (root's, 0400: core/crypto/key_file.h), as root. A key that
  // cannot be used is exit 1 (unsafe: exit 5), with "ask your administrator".
  Status LoadKey();

  Services services() {
    return Services{config,
                    *store,
                    *hasher,
                    clock,
                    random,
                    *logger,
                    host_key.has_value() ? &*host_key : nullptr,
                    command_runner.get(),
                    file_reader.get()};
  }
};

// Loads the config (a trusted root file) and opens the existing store, as
// root; the store's first read is done then too, so SQLite has opened the
// database, its WAL and shared-memory files before root is given up. A
// config or store that cannot be used is exit 1 (an unsafe file: exit 5),
// with a message that tells the user to ask the administrator.
Result<std::unique_ptr<ToolEnv>> OpenToolEnv(const std::string& config_path, bool verbose,
                                             Privileges& privileges);

// The calling user's record; kNotFound (NoAccount) when there is none.
Result<UserRecord> FindAccount(ToolEnv& env, const std::string& user);

// "2026-11-21T23:59:00Z"; "never" for 0.
std::string FormatTime(int64_t unix_seconds);

}  // namespace sesame::self

#endif  // SESAME_TOOLS_SESAME_SESAME_ENV_H_
