#include "core/base/process_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/base/logger.h"

namespace sesame {
namespace {

// The next line of `text` from `*pos` (without its '\n').
std::string_view NextLine(std::string_view text, size_t* pos) {
  size_t end = text.find('\n', *pos);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(*pos, end - *pos);
  *pos = end + 1;
  return line;
}

// One line of /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNT_POINT
// OPTIONS [TAGS...] - FSTYPE SOURCE SUPER". False for a line that does not
// parse or whose paths hold escaped characters (\040 ...).
struct MountLine {
  std::string_view device;  // MAJ:MIN, decimal
  std::string_view root;
  std::string_view mount_point;
  std::string_view fs_type;
};

bool ParseMountLine(std::string_view line, MountLine* out) {
  size_t dash = line.find(" - ");
  if (dash == std::string_view::npos) return false;
  std::string_view after = line.substr(dash + 3);
  out->fs_type = after.substr(0, after.find(' '));
  std::string_view fields[5];
  size_t at = 0;
  for (std::string_view& field : fields) {
    size_t space = line.find(' ', at);
    if (space == std::string_view::npos || space > dash) return false;
    field = line.substr(at, space - at);
    at = space + 1;
  }
  if (fields[3].find('\\') != std::string_view::npos ||
      fields[4].find('\\') != std::string_view::npos) {
    return false;
  }
  out->device = fields[2];
  out->root = fields[3];
  out->mount_point = fields[4];
  return true;
}

// Whether `path` is `prefix` or below it ("/" is above everything).
bool PathUnder(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return !path.empty() && path[0] == '/';
  return path.substr(0, prefix.size()) == prefix &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

// The file cgroup.events of the cgroup v2 cgroup at `path` (as
// /proc/PID/cgroup shows it), through a cgroup2 mount whose root holds it;
// "" when none does.
std::string CgroupEventsFile(std::string_view path) {
  std::string info;
  if (!ReadProcFile("/proc/self/mountinfo", 4 << 20, &info)) return "";
  size_t pos = 0;
  while (pos < info.size()) {
    MountLine mount;
    if (!ParseMountLine(NextLine(info, &pos), &mount) || mount.fs_type != "cgroup2") continue;
    if (!PathUnder(path, mount.root)) continue;
    std::string_view below = mount.root == "/" ? path : path.substr(mount.root.size());
    return std::string(mount.mount_point) + std::string(below) + "/cgroup.events";
  }
  return "";
}

// Whether the task whose /proc directory is `task_dir` is in a frozen
// cgroup v2 cgroup.
bool Frozen(const std::string& task_dir) {
  std::string cgroups;
  if (!ReadProcFile(task_dir + "/cgroup", 64 << 10, &cgroups)) return false;
  std::string_view path;
  size_t pos = 0;
  while (pos < cgroups.size()) {
    std::string_view line = NextLine(cgroups, &pos);
    if (line.substr(0, 3) == "0::") {
      path = line.substr(3);
      break;
    }
  }
  // The root cgroup cannot be frozen; a path with ".." is not one we follow.
  if (path.empty() || path == "/" || path.find("..") != std::string_view::npos) return false;
  const std::string events_file = CgroupEventsFile(path);
  std::string events;
  if (events_file.empty() || !ReadProcFile(events_file, 4096, &events)) return false;
  pos = 0;
  while (pos < events.size()) {
    if (NextLine(events, &pos) == "frozen 1") return true;
  }
  return false;
}

// One task's state letter from its stat file; '\0' when unreadable.
char TaskState(const std::string& task_dir) {
  std::string stat;
  if (!ReadProcFile(task_dir + "/stat", 1024, &stat)) return '\0';
  // "pid (comm) S ...": the state follows the last ')' (comm may hold any
  // character, ')' included).
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 1] != ' ') {
    return '\0';
  }
  return stat[paren + 2];
}

}  // namespace

bool ReadProcFile(const std::string& path, size_t limit, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  bool ok = true;
  while (out->size() < limit) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return ok;
}

Halt ProcessHalt(pid_t pid) {
  if (pid <= 0) return Halt::kRunning;
  const std::string tasks_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(tasks_dir.c_str());
  if (dir == nullptr) return Halt::kRunning;
  // Every live thread must be halted: a thread still running could finish
  // the work and let go of what the process holds.
  bool any = false;
  bool all_stopped = true;
  bool all_frozen = true;
  bool traced = false;
  int looked = 0;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    if (++looked > 4096) {  // not a process sesame's locks come from
      all_stopped = all_frozen = false;
      break;
    }
    const std::string task_dir = tasks_dir + "/" + entry->d_name;
    const char state = TaskState(task_dir);
    if (state == 'Z' || state == 'X') continue;  // an ended thread holds nothing
    any = true;
    if (state == 't') traced = true;
    if (state != 'T') all_stopped = false;
    if (all_frozen && !Frozen(task_dir)) all_frozen = false;
    if (!all_stopped && !all_frozen && !traced) break;
  }
  closedir(dir);
  if (!any) return Halt::kRunning;
  if (traced) return Halt::kTraced;
  if (all_stopped) return Halt::kStopped;
  return all_frozen ? Halt::kFrozen : Halt::kRunning;
}

const char* HaltName(Halt halt) {
  switch (halt) {
    case Halt::kStopped:
      return "stopped";
    case Halt::kFrozen:
      return "frozen";
    case Halt::kTraced:
      return "stopped by a debugger";
    case Halt::kRunning:
      break;
  }
  return "running";
}

std::string ProcessCommand(pid_t pid) {
  std::string comm;
  if (!ReadProcFile("/proc/" + std::to_string(pid) + "/comm", 64, &comm)) return "?";
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm.empty() ? "?" : SanitizeForLog(comm, 32);
}

bool ProcShowsOwnPids() {
  char target[32];
  ssize_t n = readlink("/proc/self", target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  char* end = nullptr;
  long pid = std::strtol(target, &end, 10);
  return end != target && *end == '\0' && pid == static_cast<long>(getpid());
}

bool MountDevice(const std::string& path, unsigned long long* major_no,
                 unsigned long long* minor_no) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return false;
  const std::string resolved = real;
  std::free(real);
  std::string info;
  if (!ReadProcFile("/proc/self/mountinfo", 4 << 20, &info)) return false;
  size_t best = 0;
  bool found = false;
  size_t pos = 0;
  while (pos < info.size()) {
    MountLine mount;
    if (!ParseMountLine(NextLine(info, &pos), &mount)) continue;
    // The deepest mount holding the path; of equals, the last (on top).
    if (!PathUnder(resolved, mount.mount_point) || mount.mount_point.size() < best) continue;
    size_t colon = mount.device.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string major_text(mount.device.substr(0, colon));
    const std::string minor_text(mount.device.substr(colon + 1));
    char* end1 = nullptr;
    char* end2 = nullptr;
    unsigned long long major_value = std::strtoull(major_text.c_str(), &end1, 10);
    unsigned long long minor_value = std::strtoull(minor_text.c_str(), &end2, 10);
    if (end1 == major_text.c_str() || *end1 != '\0' || end2 == minor_text.c_str() ||
        *end2 != '\0') {
      continue;
    }
    *major_no = major_value;
    *minor_no = minor_value;
    best = mount.mount_point.size();
    found = true;
  }
  return found;
}

}  // namespace sesame
