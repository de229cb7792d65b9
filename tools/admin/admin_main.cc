// sesame-admin: root-only administration of Sesame accounts.
//
// Usage: sesame-admin [--config FILE] [--verbose] COMMAND [ARGS...]
// The commands: admin_commands.cc; the command line: command_table.h.
// Exit codes: see tools/common/exit_codes.h and sesame-admin(8).
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "core/config/config.h"
#include "tools/admin/admin_cli.h"
#include "tools/common/exit_codes.h"

namespace sesame::admin {
namespace {

int Main(int argc, char** argv) {
  const CommandTable<Invocation>& table = Table();
  CommandLine line = table.Parse(argc, argv);
  if (line.action != CommandLine::Action::kRun) return table.Answer(line);

  Invocation inv;
  const std::string* config = line.Value("--config");
  inv.config_path = config != nullptr ? *config : kDefaultConfigPath;
  inv.verbose = line.Has("--verbose");
  inv.json = line.Has("--json");
  inv.password_stdin = line.Has("--password-stdin");
  inv.temporary = line.Has("--temporary");
  inv.secret_stdin = line.Has("--secret-stdin");
  inv.require_mfa = line.Has("--require-mfa");
  for (auto [flag, field] :
       {std::pair{"--pam-dir", &inv.pam_dir}, std::pair{"--target-ms", &inv.target_ms},
        std::pair{"--max-memory", &inv.max_memory}, std::pair{"--concurrent", &inv.concurrent},
        std::pair{"--from-sqlite", &inv.from_sqlite}}) {
    if (const std::string* value = line.Value(flag)) *field = *value;
  }
  for (auto [flag, field] :
       {std::pair{"--user", &inv.user}, std::pair{"--since", &inv.since},
        std::pair{"--until", &inv.until}, std::pair{"--outcome", &inv.outcome},
        std::pair{"--service", &inv.service}, std::pair{"--limit", &inv.limit}}) {
    if (const std::string* value = line.Value(flag)) *field = *value;
  }
  inv.all = line.Has("--all");
  inv.merge = line.Has("--merge");
  if (const std::string* v = line.Value("--services")) inv.services = *v;
  if (const std::string* v = line.Value("--expires")) inv.expires = *v;
  inv.operands = std::move(line.operands);
  if (geteuid() != 0) {
    std::fprintf(stderr, "%s: error: must be run as root (the store and key are root's)\n", kTool);
    return kExitPermission;
  }
  return table.Run(line, inv);
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
