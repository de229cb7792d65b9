// What every sesame-admin command that touches accounts needs: the config,
// the store, a hasher bound to the host-wide argon2 cap.
#ifndef SESAME_TOOLS_ADMIN_ADMIN_STORE_H_
#define SESAME_TOOLS_ADMIN_ADMIN_STORE_H_

#include <memory>
#include <string>

#include "core/base/clock.h"
#include "core/config/config.h"
#include "core/crypto/argon2_limiter.h"
#include "core/crypto/password_hash.h"
#include "core/store/store.h"
#include "tools/common/stderr_logger.h"
#ifdef SESAME_WITH_POSTGRES
#include "core/store/postgres/postgres_store.h"
#endif

namespace sesame::admin {

struct AdminEnv {
  Config config;
  std::unique_ptr<Store> store;
  SystemClock clock;
  std::unique_ptr<StderrLogger> logger;
  std::unique_ptr<Argon2Limiter> limiter;
  std::unique_ptr<PasswordHasher> hasher;
};

// Loads the config and opens the existing store (applying migrations).
Result<std::unique_ptr<AdminEnv>> OpenAdminEnv(const std::string& config_path, bool verbose);

// A config that cannot be used is a failure of the setup (exit 1), except an
// unsafe one (exit 5).
Status ConfigProblem(const Status& status);

// Records an administrator's action as an event of `user` (service
// sesame-admin, method admin); a failure to record is a warning only.
void RecordAdminEvent(AdminEnv& env, const std::string& user, const char* outcome,
                      const std::string& detail);

#ifdef SESAME_WITH_POSTGRES
// The connection settings of `config`, as OpenStore takes them, for the
// commands that inspect or copy into a PostgreSQL store: nothing created,
// nothing migrated.
PostgresOptions PostgresOptionsOf(const Config& config);
// "db1 port 5432: PostgreSQL 15.4, TLS TLSv1.3, role sesame, primary":
// the server a connection reached, for doctor and db check.
std::string PostgresServerText(const PostgresConnectionInfo& c);
#endif

// "2026-11-21T23:59:00Z"; "never" for 0.
std::string FormatTime(int64_t unix_seconds);

}  // namespace sesame::admin

#endif  // SESAME_TOOLS_ADMIN_ADMIN_STORE_H_
