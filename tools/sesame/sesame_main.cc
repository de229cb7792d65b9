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
//    and no command accepts a user name (or any operand);
//  - the tool never executes another program and reads no file the caller
//    names;
//  - the only files the caller names are those of `mfa enroll --qr-png FILE
//    --qr-svg FILE`; each FILE is checked before anything is asked, and
//    they are written only as the caller, by a child forked before any
//    secret is read that gives up root for good first (sesame_qr_files.h);
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

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/edit_distance.h"
#include "core/base/logger.h"
#include "core/config/config.h"
#include "tools/common/exit_codes.h"
#include "tools/common/terminal.h"
#include "tools/sesame/privileges.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_process.h"
#include "tools/sesame/sesame_qr_files.h"

namespace sesame::self {
namespace {

// The words of a command's name: "mfa enroll" -> {"mfa", "enroll"}.
std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty()) {
    size_t end = std::min(text.find(' '), text.size());
    words.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return words;
}

// One flag of a command: "--qr-png=FILE" is "--qr-png" with a value FILE.
struct Flag {
  std::string_view name;
  std::string_view value;  // empty: a switch
};

std::vector<Flag> FlagsOf(const Command& c) {
  std::vector<Flag> flags;
  for (std::string_view word : Words(c.flags)) {
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      flags.push_back(Flag{word, {}});
    } else {
      flags.push_back(Flag{word.substr(0, eq), word.substr(eq + 1)});
    }
  }
  return flags;
}

void PrintHelp(FILE* out) {
  std::fprintf(out,
               "Usage: %s [--verbose] COMMAND [OPTIONS]\n\n"
               "Manage your own Sesame account (the account you are signed in as).\n\n"
               "Commands:\n",
               kTool);
  for (const Command& c : Commands()) {
    std::string synopsis = c.name;
    for (const Flag& f : FlagsOf(c)) {  // each flag in its own brackets
      synopsis += " [" + std::string(f.name);
      if (!f.value.empty()) synopsis += " " + std::string(f.value);
      synopsis += "]";
    }
    if (synopsis.size() > 22) {
      std::fprintf(out, "  %s\n  %-22s %s\n", synopsis.c_str(), "", c.summary);
    } else {
      std::fprintf(out, "  %-22s %s\n", synopsis.c_str(), c.summary);
    }
  }
  std::fprintf(out,
               "  %-22s %s\n\n"
               "Options:\n"
               "  --qr-png FILE          also write the QR code to a new PNG file, as you\n"
               "  --qr-svg FILE          also write the QR code to a new SVG file, as you\n"
               "  --qr-invert            draw the QR code for a light terminal background\n"
               "  --json                 one JSON object instead of the text\n"
               "  --verbose              also print notes\n"
               "  --help                 this text\n"
               "  --version              print the version\n\n"
               "Exit codes: 0 ok, 1 failure (config, key or store unusable, a QR code file\n"
               "not written), 2 usage or bad input (a refused new password, a FILE that cannot\n"
               "be created), 3 no Sesame account, or no authenticator app to act on, 5 not\n"
               "allowed (account disabled, MFA required, unsafe install), 6 wrong password or\n"
               "code, or account locked, 7 gave up or interrupted at a prompt (Ctrl-D,\n"
               "Ctrl-C, Ctrl-Z, no answer for 5 minutes), 8 busy (try again).\n"
               "See sesame(1).\n",
               "help", "this text");
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\n(see '%s help')\n", kTool, message.c_str(), kTool);
  return kExitUsage;
}

// `typed` is the first word, `typed2` the first two (empty when there is
// no second word). `fallback` is said when no command is close.
int UnknownCommand(std::string_view typed, std::string_view typed2, const std::string& fallback) {
  std::string_view shown = typed2.empty() ? typed : typed2;
  std::string msg = "unknown command '" + SanitizeForLog(shown, 64) + "'";
  const Command* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const Command& c : Commands()) {
    size_t d = EditDistance(typed, c.name);
    if (!typed2.empty()) d = std::min(d, EditDistance(typed2, c.name));
    // Only close matches: up to 2 edits, or half the name for longer ones
    // (a third when two words are compared: they share the first one).
    size_t limit = std::max<size_t>(2, std::strlen(c.name) / (typed2.empty() ? 2 : 3));
    if (d <= limit && d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  if (best != nullptr) {
    msg += " (did you mean '" + std::string(best->name) + "'?)";
  } else if (!fallback.empty()) {
    msg += " (" + fallback + ")";
  }
  return Usage(msg);
}

// The command whose words argv[i...] starts with (the longest match); sets
// `*used` to the number of words. Null when none matches.
const Command* FindCommand(int argc, char** argv, int i, int* used) {
  const Command* found = nullptr;
  *used = 0;
  for (const Command& c : Commands()) {
    std::vector<std::string_view> words = Words(c.name);
    if (static_cast<size_t>(argc - i) < words.size()) continue;
    bool match = true;
    for (size_t k = 0; k < words.size() && match; ++k)
      match = words[k] == argv[i + static_cast<int>(k)];
    if (match && static_cast<int>(words.size()) > *used) {
      found = &c;
      *used = static_cast<int>(words.size());
    }
  }
  return found;
}

// "mfa" alone: the commands that start with it, for the message.
std::string SubcommandsOf(std::string_view first) {
  std::string list;
  for (const Command& c : Commands()) {
    std::vector<std::string_view> words = Words(c.name);
    if (words.size() < 2 || words[0] != first) continue;
    if (!list.empty()) list += " or ";
    list += "'" + std::string(c.name) + "'";
  }
  return list;
}

// Takes a FILE value (--qr-png, --qr-svg) into the invocation.
int TakeFile(std::string_view option, std::string_view value, Invocation* inv) {
  Status valid = CheckQrFileName(option, value);
  if (!valid.ok()) return Usage(valid.message());
  std::string* target = option == "--qr-png" ? &inv->qr_png : &inv->qr_svg;
  if (!target->empty()) return Usage(std::string(option) + " is given twice");
  *target = std::string(value);
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
  int i = 1;
  for (; i < argc; ++i) {  // options before the command
    std::string_view a(argv[i]);
    if (a == "--verbose") {
      inv.verbose = true;
    } else if (a == "--help" || a == "-h") {
      PrintHelp(stdout);
      return kExitOk;
    } else if (a == "--version") {
      std::printf("%s %s\n", kTool, SESAME_VERSION);
      return kExitOk;
    } else if (!a.empty() && a.front() == '-') {
      return Usage("unknown option '" + SanitizeForLog(a, 64) + "'");
    } else {
      break;
    }
  }
  if (i >= argc) {
    PrintHelp(stderr);
    return kExitUsage;
  }
  std::string_view name(argv[i]);
  if (name == "help") {
    PrintHelp(stdout);
    return kExitOk;
  }
  int used = 0;
  const Command* command = FindCommand(argc, argv, i, &used);
  if (command == nullptr) {
    const bool has_second = i + 1 < argc && argv[i + 1][0] != '-';
    std::string subcommands = SubcommandsOf(name);
    if (!subcommands.empty() && !has_second)
      return Usage("'" + std::string(name) + "' needs a subcommand: " + subcommands);
    if (!subcommands.empty()) {  // "mfa enrol": a close one of the group, or the group
      return UnknownCommand(name, std::string(name) + " " + argv[i + 1],
                            "'" + std::string(name) + "' takes " + subcommands);
    }
    return UnknownCommand(name, has_second ? std::string(name) + " " + argv[i + 1] : "", "");
  }

  const std::vector<Flag> flags = FlagsOf(*command);
  for (i += used; i < argc; ++i) {  // the command's options; no operands at all
    std::string_view a(argv[i]);
    if (a == "--verbose") {
      inv.verbose = true;
    } else if (a == "--help" || a == "-h") {
      PrintHelp(stdout);
      return kExitOk;
    } else if (a.size() > 1 && a.front() == '-') {
      const size_t eq = a.substr(0, 2) == "--" ? a.find('=') : std::string_view::npos;
      const std::string_view option = a.substr(0, eq);
      const Flag* flag = nullptr;
      for (const Flag& f : flags)
        if (f.name == option) flag = &f;
      if (flag == nullptr)
        return Usage("'" + std::string(command->name) + "' does not take option '" +
                     SanitizeForLog(option, 64) + "'");
      if (flag->value.empty()) {
        if (eq != std::string_view::npos) return Usage(std::string(option) + " takes no value");
        if (option == "--json") inv.json = true;
        if (option == "--qr-invert") inv.qr_invert = true;
        continue;
      }
      std::string_view value;
      if (eq != std::string_view::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Usage(std::string(option) + " needs a file name (" + std::string(option) + " " +
                     std::string(flag->value) + ")");
      }
      int taken = TakeFile(option, value, &inv);
      if (taken != kExitOk) return taken;
    } else {
      return Usage("'" + std::string(command->name) + "' takes no arguments ('" +
                   SanitizeForLog(a, 64) +
                   "'): sesame acts only on your own account, the one you are signed in as");
    }
  }
  if (!inv.qr_png.empty() && inv.qr_png == inv.qr_svg)
    return Usage("--qr-png and --qr-svg name the same file");

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
  return command->run(inv);
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      {"passwd", "", "change your password (asks for the current one first)", RunPasswd},
      {"status", "--json", "your account: password, lock, sign-in methods, MFA", RunStatus},
      {"mfa enroll", "--qr-png=FILE --qr-svg=FILE --qr-invert",
       "set up an authenticator app (password, then a first code)", RunMfaEnroll},
      {"mfa remove", "", "remove your authenticator app (password and a code)", RunMfaRemove},
      {"recovery-codes new", "", "replace your recovery codes (password and a code)",
       RunRecoveryCodesNew},
  };
  return *kCommands;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, status.message().c_str());
  return ExitCodeFor(status);
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
