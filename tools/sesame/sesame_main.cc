// sesame: self-service for the calling user's Sesame account. Installed
// setuid root (4755 root:root) because the store is root's (0600).
//
// Usage: sesame [--verbose] COMMAND [--json]
// Exit codes: see tools/common/exit_codes.h and sesame(1).
//
// MUST rules (as OpenDoas):
//  - PrepareProcess() runs first: fds 0-2 open, every other fd closed, not
//    dumpable and no core files before any secret is read, umask 077,
//    signals at their defaults;
//  - the environment is replaced by an allowlist (PATH=/usr/bin:/bin, sane
//    TERM and NO_COLOR); nothing else the caller set is read, except
//    SESAME_CONFIG, and that only when the process runs without raised
//    privileges: setuid, the config is always /etc/security/sesame.conf;
//  - identity comes from the kernel (getuid() -> getpwuid), never from $USER
//    or $LOGNAME; every command acts on that account only and no command
//    accepts a user name (or any operand);
//  - root is used to read the config and open the store, nothing else; the
//    tool never executes another program and reads no file the caller names;
//  - secrets are read from /dev/tty with echo off (TerminalPrompter), never
//    from argv, the environment or stdin, and are wiped;
//  - every error is "sesame: error: ..." with a documented exit code, and
//    anything that came from the caller is sanitised before it is printed.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/edit_distance.h"
#include "core/logger.h"
#include "tools/common/exit_codes.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_process.h"

namespace sesame::self {
namespace {

void PrintHelp(FILE* out) {
  std::fprintf(out,
               "Usage: %s [--verbose] COMMAND [OPTIONS]\n\n"
               "Manage your own Sesame account (the account you are signed in as).\n\n"
               "Commands:\n",
               kTool);
  for (const Command& c : Commands()) {
    std::string synopsis = c.name;
    if (*c.flags) synopsis += std::string(" [") + c.flags + "]";
    std::fprintf(out, "  %-18s %s\n", synopsis.c_str(), c.summary);
  }
  std::fprintf(out,
               "  %-18s %s\n\n"
               "Options:\n"
               "  --verbose          also print notes\n"
               "  --help             this text\n"
               "  --version          print the version\n\n"
               "Exit codes: 0 ok, 1 failure (config or store unusable), 2 usage or refused\n"
               "new password, 3 no Sesame account, 5 not allowed (account disabled, unsafe\n"
               "install), 6 wrong password or account locked, 7 gave up at a prompt, 8 busy\n"
               "(try again). See sesame(1).\n",
               "help", "this text");
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\n(see '%s help')\n", kTool, message.c_str(), kTool);
  return kExitUsage;
}

bool FlagAllowed(const Command& c, std::string_view flag) {
  std::string_view flags(c.flags);
  while (!flags.empty()) {
    size_t end = std::min(flags.find(' '), flags.size());
    if (flags.substr(0, end) == flag) return true;
    flags.remove_prefix(std::min(end + 1, flags.size()));
  }
  return false;
}

int UnknownCommand(std::string_view typed) {
  std::string msg = "unknown command '" + SanitizeForLog(typed, 64) + "'";
  const Command* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const Command& c : Commands()) {
    size_t d = EditDistance(typed, c.name);
    // Only close matches: up to 2 edits, or half the name for longer ones.
    size_t limit = std::max<size_t>(2, std::strlen(c.name) / 2);
    if (d <= limit && d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  if (best != nullptr) msg += " (did you mean '" + std::string(best->name) + "'?)";
  return Usage(msg);
}

int Main(int argc, char** argv) {
  Result<CallerSettings> settings = ResetEnvironment();
  if (!settings.ok()) return Fail(settings.status());

  Invocation inv;
  inv.config_path = settings->config_path;
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
  const Command* command = nullptr;
  for (const Command& c : Commands())
    if (name == c.name) command = &c;
  if (command == nullptr) return UnknownCommand(name);

  for (++i; i < argc; ++i) {  // the command's options; no operands at all
    std::string_view a(argv[i]);
    if (a == "--verbose") {
      inv.verbose = true;
    } else if (a == "--help" || a == "-h") {
      PrintHelp(stdout);
      return kExitOk;
    } else if (a.size() > 1 && a.front() == '-') {
      if (!FlagAllowed(*command, a))
        return Usage("'" + std::string(command->name) + "' does not take option '" +
                     SanitizeForLog(a, 64) + "'");
      if (a == "--json") inv.json = true;
    } else {
      return Usage("'" + std::string(command->name) + "' takes no arguments ('" +
                   SanitizeForLog(a, 64) +
                   "'): sesame acts only on your own account, the one you are signed in as");
    }
  }

  if (settings->config_ignored && inv.verbose)
    std::fprintf(stderr, "%s: note: SESAME_CONFIG is ignored (sesame runs setuid); using %s\n",
                 kTool, kDefaultConfigPath);
  if (geteuid() != 0)
    return Fail(Status(Code::kPermissionDenied,
                       "sesame is not installed setuid root (it must be owned by root, mode "
                       "4755); ask your administrator"));
  Result<std::string> user = CallingUser();
  if (!user.ok()) return Fail(user.status());
  inv.user = std::move(user.value());
  return command->run(inv);
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      {"passwd", "", "change your password (asks for the current one first)", RunPasswd},
      {"status", "--json", "your account: password age, change due, lock state, methods",
       RunStatus},
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

}  // namespace sesame::self

int main(int argc, char** argv) {
  // Before anything else: a caller may exec us with no argv at all.
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) return sesame::kExitUsage;
  sesame::Status prepared = sesame::self::PrepareProcess();
  if (!prepared.ok()) {
    std::fprintf(stderr, "sesame: error: cannot prepare the process: %s\n",
                 prepared.message().c_str());
    return sesame::kExitFailure;
  }
  try {
    return sesame::self::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sesame: error: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "sesame: error: internal error\n");
  }
  return sesame::kExitFailure;
}
