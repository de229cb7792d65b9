// sesame-admin user ...: add, list, show, remove, disable, enable.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "core/input_check.h"
#include "core/logger.h"
#include "core/password_hash.h"
#include "core/random.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/common/terminal.h"

namespace sesame::admin {
namespace {

Result<SecretBuffer> ReadNewPassword(const Invocation& inv) {
  if (inv.password_stdin) {
    Result<SecretBuffer> pw = ReadSecretLine(STDIN_FILENO, kMaxPasswordBytes);
    if (!pw.ok()) return pw.status();
    SESAME_RETURN_IF_ERROR(CheckNewPassword(pw->view()));
    return pw;
  }
  TerminalPrompter tty;
  Result<SecretBuffer> first = tty.AskSecret(SecretKind::kNewPassword, "New password: ");
  if (!first.ok()) return first.status();
  SESAME_RETURN_IF_ERROR(CheckNewPassword(first->view()));
  Result<SecretBuffer> second =
      tty.AskSecret(SecretKind::kRetypeNewPassword, "Retype new password: ");
  if (!second.ok()) return second.status();
  if (!ConstantTimeEquals(first->view(), second->view()))
    return Status(Code::kInvalidArgument, "the passwords do not match; nothing was changed");
  return std::move(first.value());
}

std::string HashSummary(const std::string& phc) {
  if (phc.empty()) return "none";
  Result<PhcHash> parsed = ParsePhc(phc);
  if (!parsed.ok()) return "unknown format";
  const Argon2Params& p = parsed->params;
  return "argon2id m=" + std::to_string(p.memory_kib) + " t=" + std::to_string(p.time_cost) +
         " p=" + std::to_string(p.parallelism);
}

void WriteUserJson(JsonWriter& j, const UserRecord& u) {
  j.BeginObject()
      .Key("name")
      .String(u.name)
      .Key("disabled")
      .Bool(u.disabled)
      .Key("created")
      .String(FormatTime(u.created))
      .Key("password_changed")
      .String(FormatTime(u.password_changed))
      .Key("password_hash")
      .String(HashSummary(u.password_hash))
      .EndObject();
}

Status CheckName(const std::string& name) {
  Status s = CheckUserName(name);
  if (!s.ok()) return Status(s.code(), "'" + SanitizeForLog(name, 80) + "': " + s.message());
  return s;
}

}  // namespace

int Fail(const Status& status) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, status.message().c_str());
  return ExitCodeFor(status);
}

int RunUserAdd(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status ok = CheckName(name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Store& store = *(*env)->store;
  Result<std::optional<UserRecord>> existing = store.GetUser(name);
  if (!existing.ok()) return Fail(existing.status());
  if (existing->has_value())
    return Fail(Status(Code::kAlreadyExists, "user " + name + " exists already"));

  Result<SecretBuffer> password = ReadNewPassword(inv);
  if (!password.ok()) return Fail(password.status());
  SystemRandom random;
  Result<std::string> hash = (*env)->hasher->Hash(password->view(), random);
  if (!hash.ok()) return Fail(hash.status());

  UserRecord user;
  user.name = name;
  user.password_hash = hash.value();
  user.created = (*env)->clock.Now();
  user.password_changed = user.created;
  Status added = store.AddUser(user);
  if (!added.ok()) return Fail(added);
  std::printf("added user %s\n", name.c_str());
  return kExitOk;
}

int RunUserList(const Invocation& inv) {
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Result<std::vector<UserRecord>> users = (*env)->store->ListUsers();
  if (!users.ok()) return Fail(users.status());
  if (inv.json) {
    JsonWriter j;
    j.BeginArray();
    for (const UserRecord& u : users.value()) WriteUserJson(j, u);
    j.EndArray();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("%-32s %-9s %-21s %s\n", "NAME", "STATUS", "CREATED", "PASSWORD CHANGED");
  for (const UserRecord& u : users.value()) {
    std::printf("%-32s %-9s %-21s %s\n", u.name.c_str(), u.disabled ? "disabled" : "active",
                FormatTime(u.created).c_str(), FormatTime(u.password_changed).c_str());
  }
  return kExitOk;
}

int RunUserShow(const Invocation& inv) {
  const std::string& name = inv.operands[0];
  Status ok = CheckName(name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Result<std::optional<UserRecord>> user = (*env)->store->GetUser(name);
  if (!user.ok()) return Fail(user.status());
  if (!user->has_value()) return Fail(Status(Code::kNotFound, "no user " + name));
  const UserRecord& u = **user;
  EventFilter filter;
  filter.user = name;
  filter.limit = 5;
  Result<std::vector<SignInEvent>> events = (*env)->store->ListEvents(filter);
  if (!events.ok()) return Fail(events.status());
  if (inv.json) {
    JsonWriter j;
    j.BeginObject()
        .Key("name")
        .String(u.name)
        .Key("disabled")
        .Bool(u.disabled)
        .Key("created")
        .String(FormatTime(u.created))
        .Key("password_changed")
        .String(FormatTime(u.password_changed))
        .Key("password_age_days")
        .Int(u.password_changed > 0 ? ((*env)->clock.Now() - u.password_changed) / 86400 : 0)
        .Key("password_hash")
        .String(HashSummary(u.password_hash))
        .Key("recent_events")
        .BeginArray();
    for (const SignInEvent& e : events.value()) {
      j.BeginObject()
          .Key("time")
          .String(FormatTime(e.time))
          .Key("service")
          .String(e.service)
          .Key("remote_host")
          .String(e.remote_host)
          .Key("method")
          .String(e.method)
          .Key("outcome")
          .String(e.outcome)
          .EndObject();
    }
    j.EndArray().EndObject();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("name:             %s\n", u.name.c_str());
  std::printf("status:           %s\n", u.disabled ? "disabled" : "active");
  std::printf("created:          %s\n", FormatTime(u.created).c_str());
  std::printf("password changed: %s\n", FormatTime(u.password_changed).c_str());
  std::printf("password hash:    %s\n", HashSummary(u.password_hash).c_str());
  std::printf("recent sign-ins:%s\n", events->empty() ? " none" : "");
  for (const SignInEvent& e : events.value()) {
    std::printf("  %s  %-12s %-16s %-16s %s\n", FormatTime(e.time).c_str(), e.outcome.c_str(),
                SanitizeForLog(e.service, 16).c_str(),
                SanitizeForLog(e.remote_host.empty() ? "-" : e.remote_host, 40).c_str(),
                e.method.c_str());
  }
  return kExitOk;
}

namespace {

int Change(const Invocation& inv, const char* done, Status (*change)(Store&, const std::string&)) {
  const std::string& name = inv.operands[0];
  Status ok = CheckName(name);
  if (!ok.ok()) return Fail(ok);
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Status s = change(*(*env)->store, name);
  if (s.code() == Code::kNotFound) return Fail(Status(Code::kNotFound, "no user " + name));
  if (!s.ok()) return Fail(s);
  std::printf("%s user %s\n", done, name.c_str());
  return kExitOk;
}

}  // namespace

int RunUserRemove(const Invocation& inv) {
  return Change(inv, "removed", [](Store& s, const std::string& n) { return s.RemoveUser(n); });
}

int RunUserDisable(const Invocation& inv) {
  return Change(inv, "disabled",
                [](Store& s, const std::string& n) { return s.SetDisabled(n, true); });
}

int RunUserEnable(const Invocation& inv) {
  return Change(inv, "enabled",
                [](Store& s, const std::string& n) { return s.SetDisabled(n, false); });
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      {"init", "", "", "create the key file and the store (safe to run again)", 0, 0, RunInit},
      {"user add", "NAME", "--password-stdin", "add an account (asks for the password twice)", 1, 1,
       RunUserAdd},
      {"user list", "", "--json", "list accounts", 0, 0, RunUserList},
      {"user show", "NAME", "--json", "show one account and its recent sign-ins", 1, 1,
       RunUserShow},
      {"user remove", "NAME", "", "remove an account (its sign-in events are kept)", 1, 1,
       RunUserRemove},
      {"user disable", "NAME", "", "refuse all sign-ins of an account", 1, 1, RunUserDisable},
      {"user enable", "NAME", "", "allow sign-ins of a disabled account again", 1, 1,
       RunUserEnable},
  };
  return *kCommands;
}

}  // namespace sesame::admin
