// The table of sesame-admin's subcommands, in the order `help` lists them,
// and what `help` says around it.
#include <string>
#include <vector>

#include "core/config/config.h"
#include "tools/admin/admin_cli.h"

namespace sesame::admin {
namespace {

ToolSpec Spec() {
  ToolSpec tool;
  tool.name = kTool;
  tool.version = SESAME_VERSION;
  tool.global_flags = "--config=FILE --verbose";
  tool.help_head = std::string("Usage: ") + kTool +
                   " [--config FILE] [--verbose] COMMAND [ARGS...]\n\n"
                   "Administer Sesame accounts (root only).\n\nCommands:\n";
  tool.help_width = 40;
  tool.help_tail = std::string(
                       "\nGlobal options:\n"
                       "  --config FILE   configuration file (default ") +
                   kDefaultConfigPath +
                   ")\n"
                   "  --verbose       also print notes\n"
                   "  --help          this text\n"
                   "  --version       print the version\n\n"
                   "Exit codes: 0 ok, 1 failure (config, key or store unusable), 2 usage or bad\n"
                   "input, 3 no such user, 4 exists already, 5 not root or unsafe file, 7 gave up\n"
                   "at a prompt, 8 busy (try again). See sesame-admin(8).\n";
  return tool;
}

}  // namespace

const CommandTable<Invocation>& Table() {
  static const CommandTable<Invocation>* const kTable = new CommandTable<Invocation>(
      Spec(),
      {
          {"init",
           "create the key file and the store (safe to run again)",
           "",
           {"", 0, 0},
           RunInit},
          {"user add",
           "add an account (asks for the password twice)",
           "--password-stdin --temporary --require-mfa",
           {"NAME", 1, 1},
           RunUserAdd},
          {"user list", "list accounts", "--json", {"", 0, 0}, RunUserList},
          {"user show",
           "show one account: state, lock, recent sign-ins",
           "--json",
           {"NAME", 1, 1},
           RunUserShow},
          {"user remove",
           "remove an account (its sign-in events are kept)",
           "",
           {"NAME", 1, 1},
           RunUserRemove},
          {"user disable", "refuse all sign-ins of an account", "", {"NAME", 1, 1}, RunUserDisable},
          {"user enable",
           "allow sign-ins of a disabled account again",
           "",
           {"NAME", 1, 1},
           RunUserEnable},
          {"password reset",
           "set a temporary password each; a change is forced at the next sign-in",
           "--password-stdin --json",
           {"NAME...", 1, -1},
           RunPasswordReset},
          {"unlock", "lift a lockout after failed sign-ins", "", {"NAME", 1, 1}, RunUnlock},
          {"mfa enroll",
           "give NAME an authenticator (new secret shown as a QR code, or one read from stdin) "
           "and recovery codes",
           "--secret-stdin",
           {"NAME", 1, 1},
           RunMfaEnroll},
          {"mfa reset",
           "remove NAME's authenticator and recovery codes (and restart the grace period)",
           "",
           {"NAME", 1, 1},
           RunMfaReset},
          {"mfa require",
           "require MFA of users or of system groups' members (enroll within mfa_grace_days)",
           "",
           {"NAME|@GROUP...", 1, -1},
           RunMfaRequire},
          {"mfa unrequire",
           "stop requiring MFA of users or groups named with 'mfa require'",
           "",
           {"NAME|@GROUP...", 1, -1},
           RunMfaUnrequire},
          {"app-password create",
           "make an app password for USER's mail client (shown once; --json: field "
           "app_password)",
           "--services=LIST --expires=WHEN --json",
           {"USER NAME", 2, 2},
           RunAppPasswordCreate},
          {"app-password list",
           "list USER's app passwords (never the secrets)",
           "--json",
           {"USER", 1, 1},
           RunAppPasswordList},
          {"app-password revoke",
           "revoke USER's app password NAME, or every one with --all",
           "--all",
           {"USER [NAME]", 1, 2},
           RunAppPasswordRevoke},
          {"import-shadow",
           "adopt /etc/shadow password hashes (replaced by argon2id at the next sign-in)",
           "",
           {"[NAME...]", 0, -1},
           RunImportShadow},
          {"doctor",
           "check config, key, store and the PAM stacks that use Sesame (exit 1 warnings, 2 "
           "errors)",
           "--pam-dir=DIR --json",
           {"", 0, 0},
           RunDoctor},
          {"db check",
           "the store's schema version and integrity (PostgreSQL: rows and consistency)",
           "--json",
           {"", 0, 0},
           RunDbCheck},
          {"db migrate",
           "apply the store's schema migrations (SQLite: after a backup next to it)",
           "--json",
           {"", 0, 0},
           RunDbMigrate},
          {"db copy",
           "copy a host's SQLite store into the PostgreSQL store, all or nothing",
           "--from-sqlite=FILE --merge --json",
           {"", 0, 0},
           RunDbCopy},
          {"calibrate",
           "argon2id parameters that take --target-ms here within --max-memory",
           "--target-ms=N --max-memory=SIZE --concurrent=N --json",
           {"", 0, 0},
           RunCalibrate},
          {"activity",
           "sign-in events, newest first (default: the newest 20 without --since)",
           "--user=NAME --since=TIME --until=TIME --outcome=WORD --service=NAME --limit=N --json",
           {"", 0, 0},
           RunActivity},
          {"activity prune",
           "delete the events older than activity_retention_days now",
           "--json",
           {"", 0, 0},
           RunActivityPrune},
      });
  return *kTable;
}

}  // namespace sesame::admin
