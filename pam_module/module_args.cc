#include "pam_module/module_args.h"

#include <string_view>

#include "core/base/logger.h"
#include "core/config/config.h"

namespace sesame {

Result<ModuleArgs> ParseModuleArgs(int argc, const char** argv) {
  ModuleArgs args;
  args.config_path = kDefaultConfigPath;
  bool seen_config = false;
  bool seen_mode = false;
  for (int i = 0; i < argc; ++i) {
    if (argv[i] == nullptr) continue;
    std::string_view arg(argv[i]);
    if (arg == "debug") {
      args.debug = true;
    } else if (arg == "use_first_pass") {
      args.use_first_pass = true;
    } else if (arg == "try_first_pass") {
      args.try_first_pass = true;
    } else if (arg == "use_authtok") {
      args.use_authtok = true;
    } else if (arg == "nodelay") {
      args.nodelay = true;
    } else if (arg.substr(0, 7) == "config=") {
      std::string_view path = arg.substr(7);
      if (seen_config)
        return Status(Code::kInvalidArgument, "module argument config= is given twice");
      if (path.empty() || path[0] != '/')
        return Status(
            Code::kInvalidArgument,
            "module argument config= needs an absolute path, got '" + SanitizeForLog(path) + "'");
      args.config_path = std::string(path);
      seen_config = true;
    } else if (arg.substr(0, 5) == "mode=") {
      std::string_view mode = arg.substr(5);
      if (seen_mode) return Status(Code::kInvalidArgument, "module argument mode= is given twice");
      seen_mode = true;
      if (mode == "mfa_only") {
        args.mfa_only = true;
        continue;
      }
      if (mode == "app_password") {
        args.app_password = true;
        continue;
      }
      if (mode != "interactive")
        return Status(Code::kInvalidArgument,
                      "unknown mode '" + SanitizeForLog(mode) +
                          "' (accepted: mode=interactive, mode=app_password, mode=mfa_only)");
    } else {
      return Status(Code::kInvalidArgument,
                    "unknown module argument '" + SanitizeForLog(arg) +
                        "' (accepted: config=FILE, mode=interactive, mode=app_password, "
                        "mode=mfa_only, use_first_pass, "
                        "try_first_pass, use_authtok, nodelay, debug)");
    }
  }
  if (args.use_first_pass && args.try_first_pass)
    return Status(Code::kInvalidArgument, "use_first_pass and try_first_pass exclude each other");
  return args;
}

}  // namespace sesame
