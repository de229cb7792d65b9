#include "tools/admin/pam_stack.h"

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sesame::admin {
namespace {

constexpr int kMaxIncludeDepth = 16;

bool IsBackupName(const std::string& name) {
  if (name.empty() || name[0] == '.' || name.back() == '~') return true;
  for (const char* part : {".dpkg-", ".ucf-", ".bak", ".orig", ".example", ".rpmnew", ".rpmsave"})
    if (name.find(part) != std::string::npos) return true;
  return false;
}

bool ReadText(const std::string& path, std::string* text) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream out;
  out << in.rdbuf();
  *text = out.str();
  return true;
}

// Splits one logical line into words; a '[' starts a word that runs to the
// matching ']' (the control), blanks inside included.
std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    size_t end = i;
    if (line[i] == '[') {
      end = line.find(']', i);
      end = end == std::string::npos ? line.size() : end + 1;
    } else {
      while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    }
    words.push_back(line.substr(i, end - i));
    i = end;
  }
  return words;
}

void Expand(const std::string& dir, const std::string& file, const std::string& only_type,
            int depth, PamService* service) {
  if (depth > kMaxIncludeDepth) {
    service->problems.push_back("includes nested too deep (a loop?) at " + file);
    return;
  }
  const std::string path = !file.empty() && file[0] == '/' ? file : dir + "/" + file;
  std::string text;
  if (!ReadText(path, &text)) {
    service->problems.push_back("cannot read " + path + (depth > 0 ? " (included)" : ""));
    return;
  }
  std::istringstream in(text);
  std::string physical;
  std::string logical;
  int number = 0;
  int first = 0;
  while (std::getline(in, physical)) {
    ++number;
    if (logical.empty()) first = number;
    if (!physical.empty() && physical.back() == '\\') {
      physical.pop_back();
      logical += physical + " ";
      continue;
    }
    logical += physical;
    std::string current = std::move(logical);
    logical.clear();
    size_t hash = current.find('#');
    if (hash != std::string::npos) current.resize(hash);
    std::vector<std::string> w = Words(current);
    if (w.empty()) continue;
    if (w[0] == "@include") {
      if (w.size() >= 2) Expand(dir, w[1], only_type, depth + 1, service);
      continue;
    }
    PamLine line;
    line.file = path;
    line.line = first;
    line.type = w[0];
    if (!line.type.empty() && line.type[0] == '-') line.type.erase(0, 1);
    if (!only_type.empty() && line.type != only_type) continue;
    if (w.size() < 3) {
      service->problems.push_back(line.Where() + ": line has no module");
      continue;
    }
    line.control = w[1];
    if (line.control == "include" || line.control == "substack") {
      Expand(dir, w[2], line.type, depth + 1, service);
      continue;
    }
    line.module = w[2];
    line.args.assign(w.begin() + 3, w.end());
    service->lines.push_back(std::move(line));
  }
}

}  // namespace

std::string PamLine::ModuleName() const {
  size_t slash = module.rfind('/');
  return slash == std::string::npos ? module : module.substr(slash + 1);
}

std::string PamLine::Where() const { return file + ":" + std::to_string(line); }

std::string PamLine::Action(std::string_view value) const {
  const bool success = value == "success";
  if (control == "required") return success ? "ok" : "bad";
  if (control == "requisite") return success ? "ok" : "die";
  if (control == "sufficient") return success ? "done" : "ignore";
  if (control == "optional") return success ? "ok" : "ignore";
  if (control.size() < 2 || control.front() != '[') return "bad";
  std::string found;
  std::string fallback = "bad";
  for (const std::string& item : Words(control.substr(1, control.size() - 2))) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string key = item.substr(0, eq);
    if (key == value) found = item.substr(eq + 1);
    if (key == "default") fallback = item.substr(eq + 1);
  }
  return found.empty() ? fallback : found;
}

std::string PamLine::Arg(std::string_view name, std::string_view fallback) const {
  std::string prefix = std::string(name) + "=";
  for (const std::string& a : args)
    if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
  return std::string(fallback);
}

PamService ReadPamService(const std::string& dir, const std::string& name) {
  PamService service;
  service.name = name;
  Expand(dir, name, "", 0, &service);
  return service;
}

Result<std::vector<PamService>> ReadPamDir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Status(Code::kNotFound, "cannot read the PAM directory " + dir);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (!IsBackupName(name)) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<PamService> services;
  services.reserve(names.size());
  for (const std::string& name : names) services.push_back(ReadPamService(dir, name));
  return services;
}

}  // namespace sesame::admin
