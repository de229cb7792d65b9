#include "tools/admin/admin_store.h"

#include <ctime>

#include "core/flows/activity.h"
#include "core/flows/services.h"
#include "core/store/open/open_store.h"
#ifdef SESAME_WITH_POSTGRES
#include "core/store/postgres/postgres_maintenance.h"
#endif
#include "tools/admin/admin_cli.h"

namespace sesame::admin {

Status ConfigProblem(const Status& s) {
  if (s.code() == Code::kPermissionDenied) return s;  // exit 5: unsafe file
  return Status(Code::kUnavailable, s.message());
}

Result<std::unique_ptr<AdminEnv>> OpenAdminEnv(const std::string& config_path, bool verbose) {
  auto env = std::make_unique<AdminEnv>();
  Result<Config> config = LoadConfigFile(config_path);
  if (!config.ok()) return ConfigProblem(config.status());
  env->config = std::move(config.value());
  Result<std::unique_ptr<Store>> store = OpenStore(env->config, StoreOptions{});
  if (!store.ok()) {
    Status s = store.status();
    // A missing store is a setup problem (exit 1), not "no such user".
    if (s.code() == Code::kNotFound) return Status(Code::kUnavailable, s.message());
    return s;
  }
  env->store = std::move(store.value());
  env->logger = std::make_unique<StderrLogger>(kTool, verbose);
  env->limiter = MakeArgon2Limiter(env->config, env->clock, 0);  // root only
  env->hasher = std::make_unique<PasswordHasher>(Argon2ParamsOf(env->config), env->limiter.get(),
                                                 *env->logger);
  return env;
}

void RecordAdminEvent(AdminEnv& env, const std::string& user, const char* outcome,
                      const std::string& detail) {
  SignInEvent e;
  e.time = env.clock.Now();
  e.user = user;
  e.service = kTool;
  e.method = "admin";
  e.outcome = outcome;
  e.detail = detail;
  // Pruned in passing as a sign-in's event is, so that admin actions do
  // not grow the table past the retention either.
  Status s = env.store->RecordEvent(e, 0, PruneInPassingBefore(env.config, e.time));
  if (!s.ok()) env.logger->Log(LogLevel::kWarning, "cannot record the event: " + s.message());
}

std::string FormatTime(int64_t t) {
  if (t <= 0) return "never";
  time_t tt = static_cast<time_t>(t);
  tm parts{};
  gmtime_r(&tt, &parts);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buf;
}

#ifdef SESAME_WITH_POSTGRES
PostgresOptions PostgresOptionsOf(const Config& config) {
  StoreOptions inspect;  // nothing created or migrated; root's passfile
  inspect.create = false;
  inspect.migrate = false;
  inspect.owner = 0;
  return PostgresOptionsFor(config, inspect);
}

std::string PostgresServerText(const PostgresConnectionInfo& c) {
  return c.connected_to + ": PostgreSQL " + PostgresVersionText(c.server_version) + ", " +
         (c.tls ? "TLS " + c.tls_protocol : std::string("no TLS (Unix socket)")) + ", role " +
         c.user + (c.read_only ? ", read-only standby" : ", primary");
}
#endif

}  // namespace sesame::admin
