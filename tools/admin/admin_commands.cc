// The table of sesame-admin's subcommands, in the order `help` lists them.
#include "tools/admin/admin_cli.h"

namespace sesame::admin {

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      {"init", "", "", "create the key file and the store (safe to run again)", 0, 0, RunInit},
      {"user add", "NAME", "--password-stdin --temporary --require-mfa",
       "add an account (asks for the password twice)", 1, 1, RunUserAdd},
      {"user list", "", "--json", "list accounts", 0, 0, RunUserList},
      {"user show", "NAME", "--json", "show one account: state, lock, recent sign-ins", 1, 1,
       RunUserShow},
      {"user remove", "NAME", "", "remove an account (its sign-in events are kept)", 1, 1,
       RunUserRemove},
      {"user disable", "NAME", "", "refuse all sign-ins of an account", 1, 1, RunUserDisable},
      {"user enable", "NAME", "", "allow sign-ins of a disabled account again", 1, 1,
       RunUserEnable},
      {"password reset", "NAME...", "--password-stdin --json",
       "set a temporary password each; a change is forced at the next sign-in", 1, -1,
       RunPasswordReset},
      {"unlock", "NAME", "", "lift a lockout after failed sign-ins", 1, 1, RunUnlock},
      {"mfa enroll", "NAME", "--secret-stdin",
       "give NAME an authenticator (new secret shown as a QR code, or one read from stdin) and "
       "recovery codes",
       1, 1, RunMfaEnroll},
      {"mfa reset", "NAME", "",
       "remove NAME's authenticator and recovery codes (and restart the grace period)", 1, 1,
       RunMfaReset},
      {"mfa require", "NAME|@GROUP...", "",
       "require MFA of users or of system groups' members (enroll within mfa_grace_days)", 1, -1,
       RunMfaRequire},
      {"mfa unrequire", "NAME|@GROUP...", "",
       "stop requiring MFA of users or groups named with 'mfa require'", 1, -1, RunMfaUnrequire},
      {"import-shadow", "[NAME...]", "",
       "adopt /etc/shadow password hashes (replaced by argon2id at the next sign-in)", 0, -1,
       RunImportShadow},
  };
  return *kCommands;
}

}  // namespace sesame::admin
