// sesame-admin password reset NAME... and unlock NAME.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/flows/app_passwords.h"
#include "core/flows/services.h"
#include "core/policy/password_policy.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/common/terminal.h"

namespace sesame::admin {
namespace {

// 32 letters and digits that are hard to confuse (no 0/o, 1/l): 5 bits each.
constexpr char kTempAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
constexpr size_t kTempGroups = 4;
constexpr size_t kTempGroupLen = 4;  // 16 symbols: 80 bits

// At least kTempGroups groups (80 bits), more when password_min_length asks.
Result<SecretBuffer> GenerateTemporaryPassword(Random& random, int min_length) {
  size_t groups = kTempGroups;
  while (groups * (kTempGroupLen + 1) - 1 < static_cast<size_t>(min_length)) ++groups;
  std::vector<uint8_t> bytes(groups * kTempGroupLen);
  SESAME_RETURN_IF_ERROR(random.Fill(bytes.data(), bytes.size()));
  SecretBuffer out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && i % kTempGroupLen == 0) out.Append("-", 1);
    char c = kTempAlphabet[bytes[i] % 32];  // 256 is a multiple of 32: no bias
    out.Append(&c, 1);
  }
  WipeMemory(bytes.data(), bytes.size());
  return out;
}

}  // namespace

int RunPasswordReset(const Invocation& inv) {
  for (const std::string& name : inv.operands) {
    Status s = CheckUserName(name);
    if (!s.ok())
      return Fail(Status(s.code(), "'" + SanitizeForLog(name, 80) + "': " + s.message()));
  }
  if (inv.password_stdin && inv.operands.size() != 1)
    return Fail(Status(Code::kInvalidArgument,
                       "--password-stdin sets one password: name exactly one user"));
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;

  // Every name must exist before anything changes.
  for (const std::string& name : inv.operands) {
    Result<std::optional<UserRecord>> user = env.store->GetUser(name);
    if (!user.ok()) return Fail(user.status());
    if (!user->has_value())
      return Fail(Status(Code::kNotFound, "no user " + name + "; nothing was changed"));
  }

  SecretBuffer given;
  if (inv.password_stdin) {
    Result<SecretBuffer> pw = ReadSecretLine(STDIN_FILENO, kMaxPasswordBytes);
    if (!pw.ok()) return Fail(pw.status());
    Status ok = CheckNewPassword(pw->view());
    if (ok.ok() && Utf8Length(pw->view()) < static_cast<size_t>(env.config.password_min_length))
      ok = Status(Code::kInvalidArgument, "the password is shorter than " +
                                              std::to_string(env.config.password_min_length) +
                                              " characters (password_min_length)");
    if (!ok.ok()) return Fail(ok);
    given = std::move(pw.value());
  }

  SystemRandom random;
  JsonWriter json;
  json.BeginArray();
  if (!inv.json && !inv.password_stdin) std::printf("%-32s %s\n", "USER", "TEMPORARY PASSWORD");
  int status = kExitOk;
  for (const std::string& name : inv.operands) {
    SecretBuffer password;
    if (inv.password_stdin) {
      password.Assign(given.data(), given.size());
    } else {
      Result<SecretBuffer> made = GenerateTemporaryPassword(random, env.config.password_min_length);
      if (!made.ok()) return Fail(made.status());
      password = std::move(made.value());
    }
    Result<std::string> hash = env.hasher->Hash(password.view(), random);
    // The app passwords go with the old password, in the same transaction
    // (revoke_app_passwords_on_password_change); counted first for the
    // event and on_revoke_command.
    Services services{env.config, *env.store, *env.hasher, env.clock, random, *env.logger, nullptr};
    const RequestInfo request{name, kTool, ""};
    const bool revoke = env.config.revoke_app_passwords_on_password_change;
    const int live = revoke ? LiveAppPasswordCount(services, request) : 0;
    Status s = hash.ok() ? env.store->SetPassword(name, hash.value(), env.clock.Now(), true,
                                                  env.config.password_history, revoke)
                         : hash.status();
    if (s.ok()) s = env.store->ClearFailures(name);
    if (!s.ok()) {
      std::fprintf(stderr, "%s: error: %s: %s\n", kTool, name.c_str(), s.message().c_str());
      status = ExitCodeFor(s);
      continue;
    }
    RecordAdminEvent(env, name, "password-reset", "temporary password; change required");
    NoteAppPasswordsRevoked(services, request, live, "by an administrator's reset");
    if (inv.json) {
      json.BeginObject().Key("user").String(name);
      if (!inv.password_stdin) json.Key("temporary_password").String(password.view());
      json.Key("must_change").Bool(true).Key("app_passwords_revoked").Int(live).EndObject();
    } else if (inv.password_stdin) {
      std::printf("password of %s reset; a change is required at the next sign-in\n", name.c_str());
    } else {
      std::printf("%-32s %s\n", name.c_str(), password.data());
    }
  }
  json.EndArray();
  if (inv.json) std::printf("%s\n", json.str().c_str());
  return status;
}

int RunUnlock(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status s = CheckUserName(name);
  if (!s.ok()) return Fail(Status(s.code(), "'" + SanitizeForLog(name, 80) + "': " + s.message()));
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  Result<std::optional<UserRecord>> user = env.store->GetUser(name);
  if (!user.ok()) return Fail(user.status());
  if (!user->has_value()) return Fail(Status(Code::kNotFound, "no user " + name));
  const bool was_locked = (*user)->locked_until > env.clock.Now();
  s = env.store->ClearFailures(name);
  if (!s.ok()) return Fail(s);
  if (was_locked) {
    RecordAdminEvent(env, name, "unlocked", "unlocked by an administrator");
    std::printf("unlocked %s\n", name.c_str());
  } else {
    std::printf("%s was not locked; failure count reset (was %d)\n", name.c_str(),
                (*user)->failures);
  }
  return kExitOk;
}

}  // namespace sesame::admin
