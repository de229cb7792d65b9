// sesame-admin's command line: the shared state each subcommand gets, and
// the subcommand table (tools/common/command_table.h).
#ifndef SESAME_TOOLS_ADMIN_ADMIN_CLI_H_
#define SESAME_TOOLS_ADMIN_ADMIN_CLI_H_

#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"
#include "tools/common/command_table.h"
#include "tools/common/json.h"

namespace sesame::admin {

inline constexpr const char* kTool = "sesame-admin";

struct Invocation {
  // doctor, calibrate: their options as given (the command checks them).
  std::optional<std::string> pam_dir;      // --pam-dir DIR (doctor)
  std::optional<std::string> target_ms;    // --target-ms N (calibrate)
  std::optional<std::string> max_memory;   // --max-memory SIZE (calibrate)
  std::optional<std::string> concurrent;   // --concurrent N (calibrate)
  std::optional<std::string> from_sqlite;  // --from-sqlite FILE (db copy)
  bool merge = false;                      // --merge (db copy)

  // activity: its options as given (the command checks them).
  std::optional<std::string> user;     // --user NAME
  std::optional<std::string> since;    // --since TIME
  std::optional<std::string> until;    // --until TIME
  std::optional<std::string> outcome;  // --outcome failure|success
  std::optional<std::string> service;  // --service S
  std::optional<std::string> limit;    // --limit N

  std::string config_path;              // --config, default /etc/security/sesame.conf
  bool verbose = false;                 // --verbose
  bool json = false;                    // --json
  bool password_stdin = false;          // --password-stdin
  bool temporary = false;               // --temporary
  bool secret_stdin = false;            // --secret-stdin
  bool require_mfa = false;             // --require-mfa
  bool all = false;                     // --all (app-password revoke)
  std::optional<std::string> services;  // --services LIST (app-password create)
  std::optional<std::string> expires;   // --expires WHEN (app-password create)
  std::vector<std::string> operands;    // what follows the command words
};

// The subcommands, in the order `help` lists them, with the global options
// and the help text (admin_commands.cc).
const CommandTable<Invocation>& Table();

// Prints "sesame-admin: error: MESSAGE" to stderr and returns the exit code
// for the status.
int Fail(const Status& status);

// Health checks and the store's upkeep (admin_doctor.cc, admin_db.cc,
// admin_calibrate.cc); db copy: admin_db.cc.
int RunDoctor(const Invocation& inv);
int RunDbCheck(const Invocation& inv);
int RunDbMigrate(const Invocation& inv);
int RunDbCopy(const Invocation& inv);
int RunCalibrate(const Invocation& inv);

// Commands (admin_init.cc, admin_user.cc, admin_password.cc, admin_import.cc).
int RunInit(const Invocation& inv);
int RunUserAdd(const Invocation& inv);
int RunUserList(const Invocation& inv);
int RunUserShow(const Invocation& inv);
int RunUserRemove(const Invocation& inv);
int RunUserDisable(const Invocation& inv);
int RunUserEnable(const Invocation& inv);
int RunPasswordReset(const Invocation& inv);
int RunUnlock(const Invocation& inv);
int RunImportShadow(const Invocation& inv);
int RunMfaEnroll(const Invocation& inv);
int RunMfaReset(const Invocation& inv);
int RunMfaRequire(const Invocation& inv);
int RunMfaUnrequire(const Invocation& inv);
int RunActivity(const Invocation& inv);  // admin_activity.cc
int RunActivityPrune(const Invocation& inv);
int RunAppPasswordCreate(const Invocation& inv);  // admin_app_password.cc
int RunAppPasswordList(const Invocation& inv);
int RunAppPasswordRevoke(const Invocation& inv);

// An app password's state word ("active", "expired", "revoked"), its JSON
// object and a table of them, for app-password list and user show (never
// the secret nor its digest).
const char* AppPasswordState(const AppPasswordRecord& a, int64_t now);
void WriteAppPasswordJson(JsonWriter& j, const AppPasswordRecord& a, int64_t now);
void PrintAppPasswordTable(const std::vector<AppPasswordRecord>& list, int64_t now,
                           const char* indent);

}  // namespace sesame::admin

#endif  // SESAME_TOOLS_ADMIN_ADMIN_CLI_H_
