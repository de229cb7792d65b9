// sesame: self-service for the calling user's Sesame account. Installed
// setuid root (4755 root:root) because the store is root's (0600).
//
// Usage: sesame [--verbose] COMMAND [OPTIONS]
// Exit codes: see tools/common/exit_codes.h and sesame(1).
//
// MUST rules (as OpenDoas):
//  - PrepareProcess() runs first: fds 0-2 open, every other fd closed, not
//    dumpable and no core files before any secret is read, umask 077,
//    signals at their defaults, no interval timer left running;
//  - the caller's uid and gid are recorded once, before any id changes
//    (Privileges::AtStart); after that getuid() is 0 and is not used to
//    tell who the caller is;
//  - then, before the command line is read: the terminal and termination
//    signals are caught and blocked (DeferTerminalSignals) and the ids
//    become real 0, effective the caller, saved 0 (Privileges::Drop), so
//    the caller's processes can neither signal (SIGSTOP, SIGKILL, ...) nor
//    trace the tool, and it reads, draws and writes with the caller's
//    rights; any id change that fails ends it (exit 1);
//  - root is taken back (Privileges::Raised) only to read the config and
//    the key file, to open and close the store, around each store call and
//    to take an argon2 slot (ToolEnv does all of these); never across a
//    prompt, a write to the terminal or any other wait on the caller;
//  - no store lock and no argon2 slot is held at a prompt: store calls are
//    one transaction each, and a slot is held only while a hash is made;
//  - a signal is taken only while a prompt waits (ppoll): Ctrl-C, Ctrl-Z,
//    Ctrl-\, a hang-up or SIGTERM there ends the command with nothing
//    changed or counted, the terminal's echo restored, exit 7; one that comes while a
//    step runs stays pending until the step is done, and the next prompt
//    then gives up at once; a prompt also gives up after
//    kPromptIdleTimeoutMs without input;
//  - the environment is replaced by an allowlist (PATH=/usr/bin:/bin, sane
//    TERM and NO_COLOR, and one bit: whether the locale is UTF-8); nothing
//    else the caller set is read, except SESAME_CONFIG, and that only when
//    the process runs without raised privileges: setuid, the config is
//    always /etc/security/sesame.conf;
//  - identity comes from the kernel (the real uid at start -> getpwuid),
//    never from $USER or $LOGNAME; every command acts on that account only
//    and no command accepts a user name (the only operand is the NAME of
//    one of the caller's own app passwords);
//  - the tool executes no program but on_revoke_command (root's config,
//    after a revoke, as root: core/base/run_command.h) and reads no file
//    the caller names;
//  - the only files the caller names are those of `mfa enroll` and
//    `app-password create` --qr-png FILE --qr-svg FILE; each FILE is
//    checked before anything is asked, and they are written only as the
//    caller, by a child forked before any secret is read that gives up
//    root for good first (sesame_qr_files.h);
//  - secrets are read from /dev/tty with echo off (TerminalPrompter), never
//    from argv, the environment or stdin, and are wiped; a new key, its
//    otpauth:// URI and recovery codes go to the terminal only, never to a
//    log;
//  - every error the tool finds is "sesame: error: ..." with a documented
//    exit code (what a core flow tells the person comes in the flow's own
//    words, as at sign-in), and anything that came from the caller is
//    sanitised before it is printed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config.h"
#include "tools/common/exit_codes.h"
#include "tools/common/terminal.h"
#include "tools/sesame/privileges.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_process.h"
#include "tools/sesame/sesame_qr_files.h"

namespace sesame::self {
namespace {

constexpr Operands kNone = {"", 0, 0};  // no command takes an operand

ToolSpec Spec() {
  ToolSpec tool;
  tool.name = kTool;
  tool.version = SESAME_VERSION;
  tool.global_flags = "--verbose";
  tool.anywhere_flags = "--verbose";
  tool.no_operands_note = ": sesame acts only on your own account, the one you are signed in as";
  tool.help_head = std::string("Usage: ") + kTool +
                   " [--verbose] COMMAND [OPTIONS]\n\n"
                   "Manage your own Sesame account (the account you are signed in as).\n\n"
                   "Commands:\n";
  tool.help_width = 22;
  tool.help_tail =
      "  help                   this text\n\n"
      "Options:\n"
      "  --qr-png FILE          also write the QR code to a new PNG file, as you\n"
      "  --qr-svg FILE          also write the QR code to a new SVG file, as you\n"
      "  --qr-invert            draw the QR code for a light terminal background\n"
      "  --services LIST        app-password create: only these services, e.g.\n"
      "                         imap,pop3,submission,smtp (default: all)\n"
      "  --expires WHEN         app-password create: 90d (days) or YYYY-MM-DD\n"
      "                         (default: never)\n"
      "  --copy                 app-password create: also put it on the terminal's\n"
      "                         clipboard (OSC 52)\n"
      "  --all                  app-password revoke: every one\n"
      "  --forgot               passwd: reset a forgotten password with a code from\n"
      "                         your authenticator app and a recovery code\n"
      "  --limit N              activity: the newest N (default 20 without --since)\n"
      "  --since TIME           activity: since TIME: 7d, 12h, 2w, 2026-12-01 or\n"
      "                         2026-12-01T09:00 (local time; Z or +01:00 for others)\n"
      "  --failures             activity: refused sign-ins only\n"
      "  --json                 one JSON object instead of the text\n"
      "  --verbose              also print notes\n"
      "  --help                 this text\n"
      "  --version              print the version\n\n"
      "Exit codes: 0 ok, 1 failure (config, key or store unusable, a QR code file\n"
      "not written), 2 usage or bad input (a refused new password, a FILE that cannot\n"
      "be created), 3 no Sesame account, or nothing to act on (no authenticator app,\n"
      "no app password of that name), 4 an app password of that name exists, 5 not\n"
      "allowed (account disabled, MFA required, unsafe install, app_password_max),\n"
      "6 wrong password or code, or account locked, 7 gave up or interrupted at a\n"
      "prompt (Ctrl-D, Ctrl-C, Ctrl-Z, no answer for 5 minutes), 8 busy (try again).\n"
      "See sesame(1).\n";
  return tool;
}

// Takes the FILE of --qr-png or --qr-svg into the invocation.
int TakeFile(const std::string& option, const std::string& value, Invocation* inv) {
  Status valid = CheckQrFileName(option, value);
  if (!valid.ok()) return Table().Usage(valid.message());
  (option == "--qr-png" ? inv->qr_png : inv->qr_svg) = value;
  return kExitOk;
}

int Main(int argc, char** argv, Privileges& privileges) {
  Result<CallerSettings> settings = ResetEnvironment(privileges.raised_at_start());
  if (!settings.ok()) return Fail(settings.status());

  Invocation inv;
  inv.privileges = &privileges;
  inv.config_path = settings->config_path;
  inv.utf8_locale = settings->utf8_locale;
  inv.light_background = settings->light_background;
  const CommandTable<Invocation>& table = Table();
  const CommandLine line = table.Parse(argc, argv);
  if (line.action != CommandLine::Action::kRun) return table.Answer(line);
  inv.verbose = line.Has("--verbose");
  inv.json = line.Has("--json");
  inv.qr_invert = line.Has("--qr-invert");
  inv.forgot = line.Has("--forgot");
  inv.copy = line.Has("--copy");
  inv.all = line.Has("--all");
  if (!line.operands.empty()) inv.app_password_name = line.operands[0];
  if (const std::string* v = line.Value("--services")) inv.services = *v;
  if (const std::string* v = line.Value("--expires")) inv.expires = *v;
  inv.failures = line.Has("--failures");
  for (const auto& [option, value] : line.values) {  // --qr-png, --qr-svg, --limit, --since
    if (option == "--limit" || option == "--since") {
      (option == "--limit" ? inv.limit : inv.since) = value;  // checked by `activity`
      continue;
    }
    if (option == "--services" || option == "--expires") continue;  // taken above
    int taken = TakeFile(option, value, &inv);
    if (taken != kExitOk) return taken;
  }
  if (!inv.qr_png.empty() && inv.qr_png == inv.qr_svg)
    return table.Usage("--qr-png and --qr-svg name the same file");

  if (settings->config_ignored && inv.verbose)
    std::fprintf(stderr, "%s: note: SESAME_CONFIG is ignored (sesame runs setuid); using %s\n",
                 kTool, kDefaultConfigPath);
  if (!privileges.root_available())
    return Fail(Status(Code::kPermissionDenied,
                       "sesame is not installed setuid root (it must be owned by root, mode "
                       "4755); ask your administrator"));
  Result<std::string> user = CallingUser(privileges.caller_uid());
  if (!user.ok()) return Fail(user.status());
  inv.user = std::move(user.value());
  return table.Run(line, inv);
}

}  // namespace

const CommandTable<Invocation>& Table() {
  static const CommandTable<Invocation>* const kTable = new CommandTable<Invocation>(
      Spec(),
      {
          {"passwd",
           "change your password (asks for the current one first; --forgot: reset a forgotten "
           "one with your codes)",
           "--forgot", kNone, RunPasswd},
          {"status", "your account: password, lock, sign-in methods, MFA", "--json", kNone,
           RunStatus},
          {"mfa enroll", "set up an authenticator app (password, then a first code)",
           "--qr-png=FILE --qr-svg=FILE --qr-invert", kNone, RunMfaEnroll},
          {"mfa remove", "remove your authenticator app (password and a code)", "", kNone,
           RunMfaRemove},
          {"recovery-codes new", "replace your recovery codes (password and a code)", "", kNone,
           RunRecoveryCodesNew},
          {"app-password create",
           "make an app password for a mail client (password and a code; shown once)",
           "--services=LIST --expires=WHEN --copy --qr-png=FILE --qr-svg=FILE --qr-invert",
           {"NAME", 1, 1},
           RunAppPasswordCreate},
          {"app-password list", "your app passwords: services, created, expires, last used",
           "--json", kNone, RunAppPasswordList},
          {"app-password revoke",
           "revoke one of your app passwords, or all with --all",
           "--all",
           {"[NAME]", 0, 1},
           RunAppPasswordRevoke},
          {"activity",
           "your sign-ins, newest first: when, from where (new hosts marked), how, failures too",
           "--limit=N --since=TIME --failures --json", kNone, RunActivity},
      });
  return *kTable;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, status.message().c_str());
  return ExitCodeFor(status);
}

std::string FlushStdout() {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  if (flushed && std::ferror(stdout) == 0) return "";
  const int err = errno;
  return err != 0 ? std::strerror(err) : "a write failed";
}

int OutputLost(const std::string& why, const std::string& lost) {
  std::fprintf(stderr, "%s: error: cannot write to standard output (%s): %s\n", kTool, why.c_str(),
               lost.c_str());
  return kExitFailure;
}

int Printed(const std::string& lost) {
  const std::string why = FlushStdout();
  return why.empty() ? kExitOk : OutputLost(why, lost);
}

Status NoAccount(const std::string& user) {
  return Status(Code::kNotFound,
                "you (" + user + ") have no Sesame account; ask your administrator");
}

Status CheckTerminal(const char* command) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::kInvalidArgument,
                  std::string(command) + " asks for passwords on a terminal, and there is none");
  close(fd);
  return Status::Ok();
}

int Refused(const FlowResult& result, const std::string& user, const std::string& step,
            const std::string& wrong, const std::string& gave_up) {
  switch (result.decision) {
    case Decision::kSuccess:
      return kExitOk;
    case Decision::kFailure:
      return Fail(Status(Code::kAuthFailed, wrong));
    case Decision::kLocked:
      // The core has told the person why and for how long.
      return kExitAuth;
    case Decision::kDisabled:
      return Fail(Status(Code::kPermissionDenied,
                         "your Sesame account is disabled; ask your administrator"));
    case Decision::kUnknownUser:
      return Fail(NoAccount(user));
    case Decision::kAborted:
      return Fail(Status(Code::kAborted, (gave_up.empty() ? "cancelled at the prompt" : gave_up) +
                                             "; nothing was changed"));
    case Decision::kNewPasswordRequired:
    case Decision::kMfaRequired:
    case Decision::kAppPasswordRequired:
    case Decision::kUnavailable:
      break;
  }
  return Fail(Status(Code::kUnavailable,
                     "cannot " + step + " now (" + result.reason + "); nothing was changed"));
}

}  // namespace sesame::self

int main(int argc, char** argv) {
  // Before anything else: a caller may exec us with no argv at all.
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) return sesame::kExitUsage;
  sesame::Status prepared = sesame::self::PrepareProcess();
  // The ids the kernel started us with, before any of them changes.
  sesame::self::Privileges privileges = sesame::self::Privileges::AtStart();
  if (prepared.ok()) prepared = sesame::DeferTerminalSignals();
  if (prepared.ok()) prepared = privileges.Drop();
  if (!prepared.ok()) {
    std::fprintf(stderr, "sesame: error: cannot prepare the process: %s\n",
                 prepared.message().c_str());
    return sesame::kExitFailure;
  }
  try {
    return sesame::self::Main(argc, argv, privileges);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sesame: error: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "sesame: error: internal error\n");
  }
  return sesame::kExitFailure;
}
