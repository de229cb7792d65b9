#include "tools/sesame/sesame_env.h"

#include <ctime>
#include <vector>

#include "core/base/safe_file.h"
#include "core/crypto/key_file.h"
#include "core/flows/services.h"
#include "core/store/open/open_store.h"
#include "core/store/store_wrapper.h"
#include "tools/sesame/sesame_cli.h"

namespace sesame::self {
namespace {

constexpr const char* kAskAdmin = "; ask your administrator";

// The store, with root around each call (and the caller's ids again after
// it, whatever it returned).
class RaisingStore final : public StoreWrapper {
 public:
  RaisingStore(Store& target, Privileges& privileges)
      : StoreWrapper(target), privileges_(privileges) {}

 protected:
  Status Before(const char*) override {
    privileges_.Raise();  // a failure ends the process
    return Status::Ok();
  }
  void After(const char*) override { privileges_.Lower(); }

 private:
  Privileges& privileges_;
};

// The host-wide argon2 cap: its slot directory is root's, so root is
// taken to get a slot; the slot held (a locked fd) needs none. The
// requester is the caller (getuid() is 0 once the ids are switched).
class RaisingArgon2Limiter final : public Argon2Limiter {
 public:
  RaisingArgon2Limiter(const Config& c, const Clock& clock, Privileges& privileges)
      : Argon2Limiter(c.runtime_dir, c.argon2_max_concurrent, c.argon2_max_wait_ms, clock,
                      privileges.caller_uid()),
        privileges_(privileges) {}

  Result<Slot> Acquire() override {
    Privileges::Raised raised(privileges_);
    return Argon2Limiter::Acquire();
  }

 private:
  Privileges& privileges_;
};

// on_revoke_command as root, out of the caller's reach (a command started
// with the caller's effective uid could not reach a root-only socket, and
// the caller could stop or kill it): root for the call only, which waits
// for the command (bounded by its timeout), never for the caller.
class RaisingCommandRunner final : public CommandRunner {
 public:
  explicit RaisingCommandRunner(Privileges& privileges) : privileges_(privileges) {}

  Result<CommandResult> Run(const std::vector<std::string>& argv, int timeout_ms) override {
    Privileges::Raised raised(privileges_);
    return RunCommand(argv, timeout_ms);
  }

 private:
  Privileges& privileges_;
};

// banned_passwords_file (root's; sesame.conf(5) allows 0600) as root: the
// read only, of a path from the config, never one the caller names.
class RaisingFileReader final : public TrustedFileReader {
 public:
  explicit RaisingFileReader(Privileges& privileges) : privileges_(privileges) {}

  Result<std::string> Read(const std::string& path, std::string_view what,
                           size_t max_size) override {
    Privileges::Raised raised(privileges_);
    return ReadTrustedFile(path, what, max_size);
  }

 private:
  Privileges& privileges_;
};

// The one place the limiter is made (as core's MakeArgon2Limiter does).
std::unique_ptr<Argon2Limiter> MakeLimiter(const Config& c, const Clock& clock,
                                           Privileges& privileges) {
  return std::make_unique<RaisingArgon2Limiter>(c, clock, privileges);
}

}  // namespace

ToolEnv::~ToolEnv() {
  Privileges::Raised raised(privileges);
  store.reset();
  opened_store.reset();
}

Result<std::unique_ptr<ToolEnv>> OpenToolEnv(const std::string& config_path, bool verbose,
                                             Privileges& privileges) {
  auto env = std::make_unique<ToolEnv>(privileges);
  Privileges::Raised raised(privileges);
  Result<Config> config = LoadConfigFile(config_path);
  if (!config.ok()) {
    const Status& s = config.status();
    Code code = s.code() == Code::kPermissionDenied ? Code::kPermissionDenied : Code::kUnavailable;
    return Status(code, s.message() + kAskAdmin);
  }
  env->config = std::move(config.value());
  Result<std::unique_ptr<Store>> store = OpenStore(env->config, StoreOptions{});
  if (!store.ok()) {
    const Status& s = store.status();
    // A missing store is a setup problem (exit 1), not "no such user".
    Code code = s.code() == Code::kNotFound ? Code::kUnavailable : s.code();
    return Status(code, s.message() + kAskAdmin);
  }
  env->opened_store = std::move(store.value());
  env->store = std::make_unique<RaisingStore>(*env->opened_store, privileges);
  env->logger = std::make_unique<SyslogLogger>(kTool, verbose);
  env->command_runner = std::make_unique<RaisingCommandRunner>(privileges);
  env->file_reader = std::make_unique<RaisingFileReader>(privileges);
  env->limiter = MakeLimiter(env->config, env->clock, privileges);
  env->hasher = std::make_unique<PasswordHasher>(Argon2ParamsOf(env->config), env->limiter.get(),
                                                 *env->logger);
  return env;
}

Status ToolEnv::LoadKey() {
  Privileges::Raised raised(privileges);
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
