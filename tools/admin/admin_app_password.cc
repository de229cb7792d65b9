// sesame-admin app-password create USER NAME [--services S] [--expires E]
// [--json], app-password list USER [--json], app-password revoke USER
// NAME|--all.
//
// Root needs no proof of the person: the app password is made by the same
// core code as the user's own (MakeAppPassword), shown once (text and a QR
// code on a terminal, or the `app_password` field of the JSON) and stored
// only as its digest. The events are recorded by the flows.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/random.h"
#include "core/crypto/app_password.h"
#include "core/crypto/key_file.h"
#include "core/flows/app_passwords.h"
#include "core/flows/services.h"
#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"

namespace sesame::admin {
namespace {

Status CheckUser(const std::string& name) {
  Status s = CheckUserName(name);
  if (!s.ok()) return Status(s.code(), "'" + SanitizeForLog(name, 80) + "': " + s.message());
  return s;
}

Status CheckName(const std::string& name) {
  Status s = CheckAppPasswordName(name);
  if (!s.ok())
    return Status(s.code(), "app password name '" + SanitizeForLog(name, 80) + "': " + s.message());
  return s;
}

Result<UserRecord> ExistingUser(AdminEnv& env, const std::string& name) {
  Result<std::optional<UserRecord>> user = env.store->GetUser(name);
  if (!user.ok()) return user.status();
  if (!user->has_value()) return Status(Code::kNotFound, "no user " + name);
  return std::move(**user);
}

RequestInfo RequestFor(const std::string& user) { return RequestInfo{user, kTool, ""}; }

std::string ServicesText(const std::vector<std::string>& services) {
  if (services.empty()) return "all";
  std::string out;
  for (const std::string& s : services) out += (out.empty() ? "" : ",") + s;
  return out;
}

void WriteServices(JsonWriter& j, const std::vector<std::string>& services) {
  j.BeginArray();
  for (const std::string& s : services) j.String(s);
  j.EndArray();
}

// The terminal QR code of the shown secret, by the rules of
// core/qr/qr_render.h; nothing when stdout is not a terminal.
void DrawQr(std::string_view text) {
  if (isatty(STDOUT_FILENO) == 0) return;
  Result<QrCode> qr = EncodeQr(text);
  if (!qr.ok()) return;
  const char* term = std::getenv("TERM");
  const bool utf8 =
      LocaleIsUtf8(std::getenv("LC_ALL"), std::getenv("LC_CTYPE"), std::getenv("LANG"));
  std::string drawn =
      ChooseQrDrawing(true, utf8, term != nullptr ? term : "") == QrDrawing::kHalfBlocks
          ? RenderQrTerminal(qr.value(), false)
          : RenderQrAscii(qr.value());
  std::printf("%s\n", drawn.c_str());
  WipeMemory(drawn.data(), drawn.size());
  std::fill(qr->modules.begin(), qr->modules.end(), false);
}

}  // namespace

// The state word of an app password for list and user show: "active",
// "expired" or "revoked".
const char* AppPasswordState(const AppPasswordRecord& a, int64_t now) {
  if (a.revoked != 0) return "revoked";
  if (!a.LiveAt(now)) return "expired";
  return "active";
}

void WriteAppPasswordJson(JsonWriter& j, const AppPasswordRecord& a, int64_t now) {
  j.BeginObject();
  j.Key("name").String(a.name);
  j.Key("services");
  WriteServices(j, a.services);
  j.Key("state").String(AppPasswordState(a, now));
  j.Key("created").String(FormatTime(a.created));
  j.Key("expires").String(FormatTime(a.expires));
  j.Key("last_used").String(FormatTime(a.last_used));
  j.Key("last_used_from").String(a.last_used_from);
  j.Key("revoked").String(FormatTime(a.revoked));
  j.EndObject();
}

void PrintAppPasswordTable(const std::vector<AppPasswordRecord>& list, int64_t now,
                           const char* indent) {
  std::printf("%s%-24s %-8s %-20s %-21s %-21s %-21s %s\n", indent, "NAME", "STATE", "SERVICES",
              "CREATED", "EXPIRES", "LAST USED", "FROM");
  for (const AppPasswordRecord& a : list) {
    std::printf("%s%-24s %-8s %-20s %-21s %-21s %-21s %s\n", indent,
                SanitizeForLog(a.name, 64).c_str(), AppPasswordState(a, now),
                ServicesText(a.services).c_str(), FormatTime(a.created).c_str(),
                FormatTime(a.expires).c_str(), FormatTime(a.last_used).c_str(),
                a.last_used_from.empty() ? "-" : SanitizeForLog(a.last_used_from, 64).c_str());
  }
}

int RunAppPasswordCreate(const Invocation& inv) {
  const std::string& user_name = inv.operands[0];
  AppPasswordRequest request;
  request.name = inv.operands[1];
  Status ok = CheckUser(user_name);
  if (ok.ok()) ok = CheckName(request.name);
  if (!ok.ok()) return Fail(ok);
  if (inv.services.has_value()) {
    if (inv.services->empty())
      return Fail(Status(Code::kInvalidArgument,
                         "--services is empty: name the services (imap,pop3,submission,smtp), "
                         "or leave --services out for every mode=app_password service"));
    request.services = *inv.services;
  }
  if (inv.expires.has_value()) {
    if (inv.expires->empty())
      return Fail(Status(Code::kInvalidArgument,
                         "--expires is empty: use a number of days (e.g. 90d) or a date "
                         "YYYY-MM-DD, or leave --expires out for one that never expires"));
    request.expires = *inv.expires;
  }
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  // The request is checked before the user and the key are looked at, so
  // a bad option says so whatever else is wrong.
  Result<AppPasswordRecord> checked = CheckAppPasswordRequest(request, user_name, env.clock.Now());
  if (!checked.ok()) return Fail(checked.status());
  Result<UserRecord> user = ExistingUser(env, user_name);
  if (!user.ok()) return Fail(user.status());
  Result<SecretBuffer> host_key = LoadHostKey(env.config.key_file);
  if (!host_key.ok()) return Fail(host_key.status());

  SystemRandom random;
  Services services{env.config, *env.store,  *env.hasher,      env.clock,
                    random,     *env.logger, &host_key.value()};
  MadeAppPassword made;
  Status stored = MakeAppPassword(services, RequestFor(user_name), request, &made);
  if (stored.code() == Code::kAlreadyExists) {
    return Fail(
        Status(Code::kAlreadyExists, user_name + " already has an app password named \"" +
                                         SanitizeForLog(request.name, 80) +
                                         "\"; choose another name, or revoke that one first"));
  }
  if (!stored.ok()) return Fail(stored);
  const AppPasswordRecord& rec = made.record;
  if (inv.json) {
    JsonWriter j;
    j.BeginObject();
    j.Key("user").String(rec.user);
    j.Key("name").String(rec.name);
    j.Key("app_password").String(made.shown.view());
    j.Key("services");
    WriteServices(j, rec.services);
    j.Key("created").String(FormatTime(rec.created));
    j.Key("expires").String(FormatTime(rec.expires));
    j.EndObject();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("app password \"%s\" made for %s (services: %s; expires: %s)\n",
              SanitizeForLog(rec.name, 80).c_str(), rec.user.c_str(),
              ServicesText(rec.services).c_str(), FormatTime(rec.expires).c_str());
  std::printf("\n    %s\n\n", made.shown.data());
  DrawQr(made.shown.view());
  std::printf("It is shown only this once: give it to %s, to paste into the mail client.\n",
              rec.user.c_str());
  return kExitOk;
}

int RunAppPasswordList(const Invocation& inv) {
  const std::string& user_name = inv.operands[0];
  Status ok = CheckUser(user_name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  Result<UserRecord> user = ExistingUser(env, user_name);
  if (!user.ok()) return Fail(user.status());
  Result<std::vector<AppPasswordRecord>> list = env.store->ListAppPasswords(user_name);
  if (!list.ok()) return Fail(list.status());
  const int64_t now = env.clock.Now();
  if (inv.json) {
    JsonWriter j;
    j.BeginArray();
    for (const AppPasswordRecord& a : list.value()) WriteAppPasswordJson(j, a, now);
    j.EndArray();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  if (list->empty()) {
    std::printf("%s has no app passwords\n", user_name.c_str());
    return kExitOk;
  }
  PrintAppPasswordTable(list.value(), now, "");
  return kExitOk;
}

int RunAppPasswordRevoke(const Invocation& inv) {
  const std::string& user_name = inv.operands[0];
  Status ok = CheckUser(user_name);
  if (!ok.ok()) return Fail(ok);
  const bool all = inv.all;
  if (all && inv.operands.size() != 1)
    return Fail(Status(Code::kInvalidArgument,
                       "name one app password or give --all, not both; nothing was revoked"));
  if (!all && inv.operands.size() != 2)
    return Fail(Status(Code::kInvalidArgument,
                       "name the app password to revoke, or give --all to revoke every one"));
  const std::string name = all ? std::string() : inv.operands[1];
  if (!all) {
    ok = CheckName(name);
    if (!ok.ok()) return Fail(ok);
  }
  Result<std::unique_ptr<AdminEnv>> opened = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!opened.ok()) return Fail(opened.status());
  AdminEnv& env = **opened;
  Result<UserRecord> user = ExistingUser(env, user_name);
  if (!user.ok()) return Fail(user.status());
  SystemRandom random;
  Services services{env.config, *env.store, *env.hasher, env.clock, random, *env.logger, nullptr};
  Result<int> revoked =
      RevokeAppPasswordsOf(services, RequestFor(user_name), name, "by an administrator");
  if (revoked.status().code() == Code::kNotFound) {
    return Fail(Status(Code::kNotFound, user_name + " has no live app password named \"" +
                                            SanitizeForLog(name, 80) +
                                            "\"; nothing was revoked (see app-password list)"));
  }
  if (!revoked.ok()) return Fail(revoked.status());
  if (all) {
    std::printf("revoked %d app password%s of %s\n", revoked.value(),
                revoked.value() == 1 ? "" : "s", user_name.c_str());
  } else {
    std::printf("revoked app password \"%s\" of %s\n", SanitizeForLog(name, 80).c_str(),
                user_name.c_str());
  }
  return kExitOk;
}

}  // namespace sesame::admin
