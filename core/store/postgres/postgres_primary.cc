// The last primary a connection reached through a list of servers,
// remembered in runtime_dir (postgres_internal.h, ReadPrimaryHint). The
// file decides only which of the DSN's own servers libpq tries first, so
// it is checked as a file of this process's own directory and any doubt
// about it (missing, odd, not ours) reads as "no hint": the DSN's order.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/safe_file.h"
#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {
namespace {

constexpr size_t kMaxHintSize = 4096;
constexpr char kHintDirectory[] = "runtime directory";

// A value the file can hold on one line: no control characters.
bool Storable(const std::string& value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// The directory and the file name of `path` ("" dir: none).
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// A writer keeps its temporary file for the microseconds between open and
// rename; one older than this was left by a writer killed in between. (A
// writer stopped there for longer loses its file: its rename then fails,
// and the hint it would have written is simply not written.)
constexpr time_t kStaleTempSeconds = 60;

// Removes the temporary files ".NAME.PID.tmp" that writers killed between
// open and rename left in `dir_fd`, once they are older than
// kStaleTempSeconds, so a host where that happens now and then does not
// gather them for ever. Only names of exactly that shape, only regular
// files: nothing else in the directory is touched. Runs only after a write,
// and the hint is written only when the primary reached changes.
void RemoveStaleTemps(int dir_fd, const std::string& name) {
  const int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return;
  }
  const std::string prefix = "." + name + ".";
  const std::string suffix = ".tmp";
  const time_t now = time(nullptr);
  std::vector<std::string> stale;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view n(entry->d_name);
    if (n.size() <= prefix.size() + suffix.size() || n.substr(0, prefix.size()) != prefix ||
        n.substr(n.size() - suffix.size()) != suffix) {
      continue;
    }
    const std::string_view pid = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    if (pid.find_first_not_of("0123456789") != std::string_view::npos) continue;
    struct stat st {};
    if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        now - st.st_mtime < kStaleTempSeconds) {
      continue;
    }
    stale.emplace_back(n);
  }
  for (const std::string& n : stale) unlinkat(dirfd(dir), n.c_str(), 0);
  closedir(dir);
}

}  // namespace

std::string FormatPrimaryHint(const HostEntry& entry) {
  return "# The PostgreSQL primary this host last reached; tried first. Written by sesame.\n"
         "host=" +
         entry.host + "\nhostaddr=" + entry.hostaddr + "\nport=" + entry.port + "\n";
}

std::optional<HostEntry> ParsePrimaryHint(std::string_view text) {
  HostEntry entry;
  bool host = false;
  bool hostaddr = false;
  bool port = false;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;  // cut short
    const std::string line(text.substr(0, end));
    text.remove_prefix(end + 1);
    if (line.empty() || line[0] == '#') continue;
    if (!Storable(line)) return std::nullopt;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    bool* seen = key == "host"       ? &host
                 : key == "hostaddr" ? &hostaddr
                 : key == "port"     ? &port
                                     : nullptr;
    if (seen == nullptr || *seen) return std::nullopt;
    *seen = true;
    (key == "host" ? entry.host : key == "hostaddr" ? entry.hostaddr : entry.port) = value;
  }
  if (!host || !hostaddr || !port) return std::nullopt;
  if (entry.host.empty() && entry.hostaddr.empty()) return std::nullopt;
  return entry;
}

std::optional<HostEntry> ReadPrimaryHint(const std::string& path) {
  const auto [dir, name] = SplitPath(path);
  if (dir.empty() || name.empty()) return std::nullopt;
  Result<Fd> opened_dir = OpenOwnDirectory(dir, kHintDirectory);
  if (!opened_dir.ok()) return std::nullopt;
  const Fd file(openat(opened_dir->get(), name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (file.get() < 0) return std::nullopt;
  struct stat st {};
  if (fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || st.st_size <= 0 ||
      static_cast<size_t>(st.st_size) > kMaxHintSize) {
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = read(file.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  return ParsePrimaryHint(text);
}

void WritePrimaryHint(const std::string& path, const HostEntry& entry) {
  if (!Storable(entry.host) || !Storable(entry.hostaddr) || !Storable(entry.port)) return;
  const auto [dir, name] = SplitPath(path);
  if (dir.empty() || name.empty()) return;
  Result<Fd> opened_dir = OpenOwnDirectory(dir, kHintDirectory);
  if (!opened_dir.ok()) return;
  const int dir_fd = opened_dir->get();
  // One temporary name per process: a stale one (a process of the same
  // pid killed here) is removed first.
  const std::string temp = "." + name + "." + std::to_string(getpid()) + ".tmp";
  unlinkat(dir_fd, temp.c_str(), 0);
  const int fd = openat(dir_fd, temp.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::string text = FormatPrimaryHint(entry);
  size_t put = 0;
  bool ok = true;
  while (put < text.size()) {
    const ssize_t n = write(fd, text.data() + put, text.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    put += static_cast<size_t>(n);
  }
  if (close(fd) != 0) ok = false;
  if (!ok || renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
    unlinkat(dir_fd, temp.c_str(), 0);
    return;
  }
  RemoveStaleTemps(dir_fd, name);
}

void RemovePrimaryHint(const std::string& path) {
  const auto [dir, name] = SplitPath(path);
  if (dir.empty() || name.empty()) return;
  Result<Fd> opened_dir = OpenOwnDirectory(dir, kHintDirectory);
  if (opened_dir.ok()) unlinkat(opened_dir->get(), name.c_str(), 0);
}

size_t ReachedEntry(const std::vector<HostEntry>& entries, const std::string& host,
                    const std::string& hostaddr, const std::string& port) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const HostEntry& e = entries[i];
    const bool host_matches =
        e.host.empty() ? (e.hostaddr == hostaddr || e.hostaddr == host)
                       : (e.host == host && (e.hostaddr.empty() || e.hostaddr == hostaddr));
    if (host_matches && (e.port.empty() || e.port == port)) return i;
  }
  return entries.size();
}

HostKeywords HostKeywordsTryingFirst(const std::vector<HostEntry>& entries, size_t first,
                                     bool with_hostaddr, bool per_host_ports) {
  std::vector<std::string> hosts;
  std::vector<std::string> addrs;
  std::vector<std::string> ports;
  auto add = [&](const HostEntry& e) {
    hosts.push_back(e.host);
    addrs.push_back(e.hostaddr);
    ports.push_back(e.port);
  };
  if (first < entries.size()) add(entries[first]);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i != first) add(entries[i]);
  }
  HostKeywords keywords;
  bool any_host = false;
  for (const std::string& h : hosts) any_host = any_host || !h.empty();
  if (any_host) keywords.host = JoinList(hosts);
  if (with_hostaddr) keywords.hostaddr = JoinList(addrs);
  if (per_host_ports) keywords.port = JoinList(ports);
  return keywords;
}

}  // namespace postgres_internal
}  // namespace sesame
