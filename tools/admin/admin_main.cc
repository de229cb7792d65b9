// sesame-admin: root-only administration of Sesame accounts.
//
// Usage: sesame-admin [--config FILE] [--verbose] COMMAND [ARGS...]
// Exit codes: see tools/common/exit_codes.h and sesame-admin(8).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/edit_distance.h"
#include "core/base/logger.h"
#include "core/config/config.h"
#include "tools/admin/admin_cli.h"
#include "tools/common/exit_codes.h"

namespace sesame::admin {
namespace {

void PrintHelp(FILE* out) {
  std::fprintf(out,
               "Usage: %s [--config FILE] [--verbose] COMMAND [ARGS...]\n\n"
               "Administer Sesame accounts (root only).\n\nCommands:\n",
               kTool);
  for (const Command& c : Commands()) {
    std::string synopsis = std::string(c.name);
    if (*c.operands) synopsis += std::string(" ") + c.operands;
    std::string_view flags(c.flags);
    while (!flags.empty()) {  // each flag in its own brackets
      size_t end = flags.find(' ');
      synopsis += " [" + std::string(flags.substr(0, end)) + "]";
      flags = end == std::string_view::npos ? std::string_view() : flags.substr(end + 1);
    }
    if (synopsis.size() > 40) {
      std::fprintf(out, "  %s\n  %-40s %s\n", synopsis.c_str(), "", c.summary);
    } else {
      std::fprintf(out, "  %-40s %s\n", synopsis.c_str(), c.summary);
    }
  }
  std::fprintf(out,
               "\nGlobal options:\n"
               "  --config FILE   configuration file (default %s)\n"
               "  --verbose       also print notes\n"
               "  --help          this text\n"
               "  --version       print the version\n\n"
               "Exit codes: 0 ok, 1 failure (config, key or store unusable), 2 usage or bad\n"
               "input, 3 no such user, 4 exists already, 5 not root or unsafe file, 7 gave up\n"
               "at a prompt, 8 busy (try again). See sesame-admin(8).\n",
               kDefaultConfigPath);
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\n(see '%s help')\n", kTool,
               SanitizeForLog(message, 200).c_str(), kTool);
  return kExitUsage;
}

bool FlagAllowed(const Command& c, std::string_view flag) {
  std::string_view flags(c.flags);
  size_t pos = 0;
  while (pos < flags.size()) {
    size_t end = flags.find(' ', pos);
    if (end == std::string_view::npos) end = flags.size();
    if (flags.substr(pos, end - pos) == flag) return true;
    pos = end + 1;
  }
  return false;
}

int Main(int argc, char** argv) {
  Invocation inv;
  inv.config_path = kDefaultConfigPath;
  std::vector<std::string> words;
  bool config_seen = false;
  int i = 1;
  // Global options come before the command.
  for (; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a == "--config") {
      if (i + 1 >= argc) return Usage("--config needs a file name");
      if (config_seen) return Usage("--config is given twice");
      inv.config_path = argv[++i];
      config_seen = true;
    } else if (a.substr(0, 9) == "--config=") {
      if (config_seen) return Usage("--config is given twice");
      inv.config_path = std::string(a.substr(9));
      config_seen = true;
    } else if (a == "--verbose") {
      inv.verbose = true;
    } else if (a == "--help" || a == "-h") {
      PrintHelp(stdout);
      return kExitOk;
    } else if (a == "--version") {
      std::printf("%s %s\n", kTool, SESAME_VERSION);
      return kExitOk;
    } else if (a.substr(0, 1) == "-") {
      return Usage("unknown option '" + std::string(a) + "'");
    } else {
      break;
    }
  }
  if (i >= argc) {
    PrintHelp(stderr);
    return kExitUsage;
  }
  if (std::string_view(argv[i]) == "help") {
    PrintHelp(stdout);
    return kExitOk;
  }

  // Longest command name that matches the leading words.
  const Command* found = nullptr;
  size_t used = 0;
  for (const Command& c : Commands()) {
    std::vector<std::string> parts;
    std::string name(c.name);
    size_t start = 0;
    while (start <= name.size()) {
      size_t sp = name.find(' ', start);
      if (sp == std::string::npos) sp = name.size();
      parts.push_back(name.substr(start, sp - start));
      start = sp + 1;
    }
    if (static_cast<size_t>(argc - i) < parts.size()) continue;
    bool match = true;
    for (size_t k = 0; k < parts.size(); ++k)
      if (parts[k] != argv[i + static_cast<int>(k)]) match = false;
    if (match && parts.size() > used) {
      found = &c;
      used = parts.size();
    }
  }
  if (found == nullptr) {
    std::string typed = argv[i];
    if (i + 1 < argc && argv[i + 1][0] != '-') typed += std::string(" ") + argv[i + 1];
    const Command* best = nullptr;
    size_t best_d = 3;
    for (const Command& c : Commands()) {
      size_t d = std::min(EditDistance(typed, c.name), EditDistance(argv[i], c.name));
      if (d < best_d) {
        best_d = d;
        best = &c;
      }
    }
    std::string msg = "unknown command '" + typed + "'";
    if (best != nullptr) msg += " (did you mean '" + std::string(best->name) + "'?)";
    return Usage(msg);
  }

  for (int k = i + static_cast<int>(used); k < argc; ++k) {
    std::string_view a(argv[k]);
    if (a.size() > 2 && a.substr(0, 2) == "--") {
      if (!FlagAllowed(*found, a))
        return Usage("'" + std::string(found->name) + "' does not take option '" + std::string(a) +
                     "'");
      if (a == "--json") inv.json = true;
      if (a == "--password-stdin") inv.password_stdin = true;
      if (a == "--temporary") inv.temporary = true;
      if (a == "--secret-stdin") inv.secret_stdin = true;
      if (a == "--require-mfa") inv.require_mfa = true;
    } else if (a == "--") {
      for (++k; k < argc; ++k) inv.operands.emplace_back(argv[k]);
    } else {
      inv.operands.emplace_back(a);
    }
  }
  int n = static_cast<int>(inv.operands.size());
  if (n < found->min_operands || (found->max_operands >= 0 && n > found->max_operands)) {
    std::string synopsis = std::string(kTool) + " " + found->name;
    if (*found->operands) synopsis += std::string(" ") + found->operands;
    if (*found->flags) synopsis += std::string(" [") + found->flags + "]";
    return Usage("usage: " + synopsis);
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "%s: error: must be run as root (the store and key are root's)\n", kTool);
    return kExitPermission;
  }
  return found->run(inv);
}

}  // namespace
}  // namespace sesame::admin

int main(int argc, char** argv) {
  try {
    return sesame::admin::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: internal error: %s\n", sesame::admin::kTool, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: error: internal error\n", sesame::admin::kTool);
  }
  return sesame::kExitFailure;
}
