// sesame-admin mfa enroll NAME [--secret-stdin], mfa reset NAME, and
// mfa require | unrequire NAME|@GROUP...
//
// The secret never goes through argv (ps shows argv to everyone): either a
// new one is made and shown once (key, otpauth URI, QR code in the
// terminal), or one is read from stdin, as base32 or an otpauth:// URI.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/base/base32.h"
#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/crypto/key_file.h"
#include "core/crypto/otpauth.h"
#include "core/crypto/recovery_codes.h"
#include "core/crypto/secret_box.h"
#include "core/crypto/totp.h"
#include "core/flows/mfa_flows.h"
#include "core/flows/services.h"
#include "core/policy/mfa_requirement.h"
#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/terminal.h"

namespace sesame::admin {
namespace {

// The secret from stdin: base32 (spaces and dashes ignored) or a URI.
Result<SecretBuffer> SecretFromStdin() {
  Result<SecretBuffer> line = ReadSecretLine(STDIN_FILENO, 4096);
  if (!line.ok()) return line.status();
  std::string_view text = line->view();
  if (text.rfind("otpauth://", 0) == 0) {
    Result<ParsedOtpauth> parsed = ParseOtpauthUri(text);
    if (!parsed.ok()) return parsed.status();
    return std::move(parsed->secret);
  }
  Result<SecretBuffer> key = Base32Decode(text);
  if (!key.ok()) return key.status();
  if (key->size() < kTotpMinSecretBytes)
    return Status(Code::kInvalidArgument, "the secret is shorter than " +
                                              std::to_string(kTotpMinSecretBytes * 8) +
                                              " bits; make a new one (run without --secret-stdin)");
  return std::move(key.value());
}

Result<UserRecord> ExistingUser(AdminEnv& env, const std::string& name) {
  Result<std::optional<UserRecord>> user = env.store->GetUser(name);
  if (!user.ok()) return user.status();
  if (!user->has_value()) return Status(Code::kNotFound, "no user " + name);
  return std::move(**user);
}

}  // namespace

int RunMfaEnroll(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status valid = CheckUserName(name);
  if (!valid.ok())
    return Fail(Status(valid.code(), "'" + SanitizeForLog(name, 80) + "': " + valid.message()));
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  Result<UserRecord> user = ExistingUser(env, name);
  if (!user.ok()) return Fail(user.status());
  Result<SecretBuffer> host_key = LoadHostKey(env.config.key_file);
  if (!host_key.ok()) return Fail(host_key.status());

  std::optional<SecretBuffer> given;
  if (inv.secret_stdin) {
    Result<SecretBuffer> read = SecretFromStdin();
    if (!read.ok()) return Fail(read.status());
    given = std::move(read.value());
  }
  // Made and stored by the same core code as the user's own enrollment.
  SystemRandom random;
  Services services{env.config, *env.store,  *env.hasher,      env.clock,
                    random,     *env.logger, &host_key.value()};
  ProvisionedAuthenticator made;
  Status stored =
      ProvisionAuthenticator(services, name, given.has_value() ? &*given : nullptr, &made);
  if (!stored.ok()) return Fail(stored);
  RecordAdminEvent(
      env, name, "mfa-enrolled",
      inv.secret_stdin ? "authenticator from a provided secret" : "new authenticator secret");

  std::printf("%s now signs in with a password and a verification code.\n", name.c_str());
  if (!inv.secret_stdin) {
    const AuthenticatorOffer& offer = made.authenticator.offer;
    std::printf("\nScan this with the authenticator app, or type the key:\n\n");
    Result<QrCode> qr = EncodeQr(offer.uri);
    // The same rule as `sesame mfa enroll` (core/qr/qr_render.h): half
    // blocks on a UTF-8 terminal, ASCII elsewhere; none into a pipe.
    const bool terminal = isatty(STDOUT_FILENO) != 0;
    if (qr.ok() && terminal) {
      const char* term = std::getenv("TERM");
      const bool utf8 =
          LocaleIsUtf8(std::getenv("LC_ALL"), std::getenv("LC_CTYPE"), std::getenv("LANG"));
      std::string drawn =
          ChooseQrDrawing(terminal, utf8, term != nullptr ? term : "") == QrDrawing::kHalfBlocks
              ? RenderQrTerminal(qr.value(), false)
              : RenderQrAscii(qr.value());
      std::printf("%s\n", drawn.c_str());
      WipeMemory(drawn.data(), drawn.size());
      std::fill(qr->modules.begin(), qr->modules.end(), false);
    }
    std::printf("key:  %s\n", offer.key.c_str());
    std::printf("uri:  %s\n", offer.uri.c_str());
  }
  std::printf("\nRecovery codes (each works once; give them to %s and keep them safe):\n",
              name.c_str());
  for (const SecretBuffer& code : made.recovery_codes) std::printf("  %s\n", code.data());
  return kExitOk;
}

int RunMfaReset(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status valid = CheckUserName(name);
  if (!valid.ok())
    return Fail(Status(valid.code(), "'" + SanitizeForLog(name, 80) + "': " + valid.message()));
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  Result<UserRecord> user = ExistingUser(env, name);
  if (!user.ok()) return Fail(user.status());
  Status cleared = env.store->ClearMfa(name);
  if (!cleared.ok()) return Fail(cleared);
  RecordAdminEvent(env, name, "mfa-reset", "authenticator and recovery codes removed");
  std::printf("removed the authenticator and recovery codes of %s\n", name.c_str());
  return kExitOk;
}

namespace {

// One operand of mfa require / unrequire: a user, or @GROUP.
struct RequireTarget {
  std::string name;
  bool group = false;
};

int RunRequire(const Invocation& inv, bool required) {
  std::vector<RequireTarget> targets;
  for (const std::string& operand : inv.operands) {
    RequireTarget t;
    t.group = !operand.empty() && operand[0] == '@';
    t.name = t.group ? operand.substr(1) : operand;
    Status valid = t.group ? CheckGroupName(t.name) : CheckUserName(t.name);
    if (!valid.ok())
      return Fail(
          Status(valid.code(), "'" + SanitizeForLog(operand, 80) + "': " + valid.message()));
    targets.push_back(std::move(t));
  }
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  // Every operand is checked before anything changes.
  for (const RequireTarget& t : targets) {
    if (t.group) {
      if (!required) continue;  // a group no longer in the system can still be dropped
      Result<bool> exists = GroupExists(t.name);
      if (!exists.ok()) return Fail(exists.status());
      if (!exists.value())
        return Fail(Status(Code::kNotFound, "no system group " + t.name + "; nothing was changed"));
    } else {
      Result<UserRecord> user = ExistingUser(env, t.name);
      if (!user.ok()) {
        return Fail(
            Status(user.status().code(), user.status().message() + "; nothing was changed"));
      }
    }
  }
  const int64_t now = env.clock.Now();
  for (const RequireTarget& t : targets) {
    if (t.group) {
      Status set = env.store->SetMfaRequiredGroup(t.name, required, now);
      if (!set.ok()) return Fail(set);
      if (required) {
        std::printf("members of group %s must use MFA (each enrolls within %d day(s))\n",
                    t.name.c_str(), env.config.mfa_grace_days);
      } else {
        std::printf("group %s no longer requires MFA\n", t.name.c_str());
      }
    } else {
      Status set = env.store->SetMfaRequired(t.name, required, now);
      if (!set.ok()) return Fail(set);
      RecordAdminEvent(env, t.name, required ? "mfa-required" : "mfa-not-required",
                       required ? "MFA required by an administrator"
                                : "MFA no longer required by an administrator");
      Result<UserRecord> user = ExistingUser(env, t.name);
      if (!user.ok()) return Fail(user.status());
      Result<MfaRequirement> still = MfaRequirementOf(env.config, *env.store, user.value());
      if (!still.ok()) return Fail(still.status());
      if (required && user->totp_sealed.empty()) {
        std::printf("%s must use MFA (not enrolled yet: within %d day(s))\n", t.name.c_str(),
                    env.config.mfa_grace_days);
      } else if (required) {
        std::printf("%s must use MFA (enrolled already)\n", t.name.c_str());
      } else if (still->required) {
        std::printf("%s: no longer required by name, but still required: %s\n", t.name.c_str(),
                    still->why.c_str());
      } else {
        std::printf("%s no longer has to use MFA\n", t.name.c_str());
      }
    }
  }
  return kExitOk;
}

}  // namespace

int RunMfaRequire(const Invocation& inv) { return RunRequire(inv, true); }
int RunMfaUnrequire(const Invocation& inv) { return RunRequire(inv, false); }

}  // namespace sesame::admin
