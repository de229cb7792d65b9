// Reading /etc/pam.d as libpam does, for `sesame-admin doctor`: each
// service file's lines, with `@include FILE` and `TYPE include|substack
// FILE` expanded in place, so a service's stack is what libpam runs.
//
// Only what the doctor needs: the type, the control (a word or the
// bracketed [value=action ...] form), the module as written and its
// arguments, and where each line came from. Comments, backslash line
// continuations and a leading '-' (module may be missing) are handled as in
// pam.conf(5). Files with a backup-like name (*~, *.dpkg-*, *.ucf-*,
// *.bak, *.orig, *.example, dotfiles) are not services and are skipped.
#ifndef SESAME_TOOLS_ADMIN_PAM_STACK_H_
#define SESAME_TOOLS_ADMIN_PAM_STACK_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace sesame::admin {

struct PamLine {
  std::string file;  // where it is written
  int line = 0;      // first physical line of it
  std::string type;  // auth, account, password, session
  std::string control;
  std::string module;  // as written: a name or an absolute path
  std::vector<std::string> args;

  // Basename of the module ("pam_unix.so").
  std::string ModuleName() const;
  // "FILE:LINE".
  std::string Where() const;
  // The action the control takes for a PAM return value named as in
  // pam.conf(5) ("user_unknown", "authinfo_unavail", "success"): "ok",
  // "ignore", "bad", "die", "done", "reset" or a jump ("1", "2", ...).
  // required -> ok/bad, requisite -> ok/die, sufficient -> done/ignore,
  // optional -> ok/ignore (as libpam maps them).
  std::string Action(std::string_view value) const;
  // The value of argument NAME=VALUE, or `fallback`.
  std::string Arg(std::string_view name, std::string_view fallback) const;
};

struct PamService {
  std::string name;  // the file name in the pam.d directory
  std::vector<PamLine> lines;
  std::vector<std::string> problems;  // unreadable or missing includes, loops
};

// Every service file of `dir`, sorted by name. kNotFound when `dir` cannot
// be read.
Result<std::vector<PamService>> ReadPamDir(const std::string& dir);

// The service `name` of `dir`, includes expanded (from `dir` too).
PamService ReadPamService(const std::string& dir, const std::string& name);

}  // namespace sesame::admin

#endif  // SESAME_TOOLS_ADMIN_PAM_STACK_H_
