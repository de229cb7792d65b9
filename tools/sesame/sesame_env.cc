#include "tools/sesame/sesame_env.h"

#include <ctime>

#include "core/key_file.h"
#include "core/services.h"
#include "core/sqlite_store.h"
#include "tools/sesame/sesame_cli.h"

namespace sesame::self {
namespace {

constexpr const char* kAskAdmin = "; ask your administrator";

}  // namespace

Result<std::unique_ptr<ToolEnv>> OpenToolEnv(const std::string& config_path, bool verbose) {
  auto env = std::make_unique<ToolEnv>();
  Result<Config> config = LoadConfigFile(config_path);
  if (!config.ok()) {
    const Status& s = config.status();
    Code code = s.code() == Code::kPermissionDenied ? Code::kPermissionDenied : Code::kUnavailable;
    return Status(code, s.message() + kAskAdmin);
  }
  env->config = std::move(config.value());
  SqliteOptions options;
  options.busy_timeout_ms = env->config.store_busy_timeout_ms;
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(env->config.store_path, options);
  if (!store.ok()) {
    const Status& s = store.status();
    // A missing store is a setup problem (exit 1), not "no such user".
    Code code = s.code() == Code::kNotFound ? Code::kUnavailable : s.code();
    return Status(code, s.message() + kAskAdmin);
  }
  env->store = std::move(store.value());
  env->logger = std::make_unique<SyslogLogger>(kTool, verbose);
  env->limiter = MakeArgon2Limiter(env->config, env->clock);
  env->hasher = std::make_unique<PasswordHasher>(Argon2ParamsOf(env->config), env->limiter.get(),
                                                 *env->logger);
  return env;
}

Status ToolEnv::LoadKey() {
  Result<SecretBuffer> key = LoadHostKey(config.key_file);
  if (!key.ok()) {
    const Status& s = key.status();
    Code code = s.code() == Code::kPermissionDenied ? Code::kPermissionDenied : Code::kUnavailable;
    return Status(code, s.message() + kAskAdmin);
  }
  host_key = std::move(key.value());
  return Status::Ok();
}

Result<UserRecord> FindAccount(ToolEnv& env, const std::string& user) {
  Result<std::optional<UserRecord>> found = env.store->GetUser(user);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NoAccount(user);
  return std::move(**found);
}

std::string FormatTime(int64_t t) {
  if (t <= 0) return "never";
  time_t tt = static_cast<time_t>(t);
  tm parts{};
  if (gmtime_r(&tt, &parts) == nullptr) return "never";
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buf;
}

}  // namespace sesame::self
