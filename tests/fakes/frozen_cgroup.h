// A cgroup v2 cgroup of the test's own, to freeze a child in as a user can
// freeze what runs in a cgroup systemd delegated to them (cgroup.freeze).
// The real kernel freezer, not a stand-in; where this machine has no
// writable cgroup v2 hierarchy, Make() says why and the test skips.
#ifndef SESAME_TESTS_FAKES_FROZEN_CGROUP_H_
#define SESAME_TESTS_FAKES_FROZEN_CGROUP_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace sesame::testing {

class FrozenCgroup {
 public:
  FrozenCgroup() = default;
  FrozenCgroup(const FrozenCgroup&) = delete;
  FrozenCgroup& operator=(const FrozenCgroup&) = delete;
  // Thaws and removes it (its processes must be gone by then).
  ~FrozenCgroup() {
    if (dir_.empty()) return;
    Write(dir_ + "/cgroup.freeze", "0");
    rmdir(dir_.c_str());
  }

  // Makes the cgroup; false with `why` set where it cannot be made.
  bool Make(const std::string& name, std::string* why) {
    const std::string mount = Mount();
    if (mount.empty()) {
      *why = "no cgroup v2 hierarchy is mounted here";
      return false;
    }
    std::string dir = mount + "/" + name + "-" + std::to_string(getpid());
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      *why = "cannot make a cgroup under " + mount + ": " + std::strerror(errno);
      return false;
    }
    if (access((dir + "/cgroup.freeze").c_str(), W_OK) != 0) {
      rmdir(dir.c_str());
      *why = "no writable cgroup.freeze in " + dir;
      return false;
    }
    dir_ = dir;
    return true;
  }

  // In a forked child: moves the calling process into the cgroup.
  bool Enter() const { return Write(dir_ + "/cgroup.procs", "0"); }

  // Freezes the cgroup and waits (at most 5 s) until the kernel says it is.
  bool Freeze() const {
    if (!Write(dir_ + "/cgroup.freeze", "1")) return false;
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(dir_ + "/cgroup.events");
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("frozen 1") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  // Where cgroup v2 is mounted with its root as the mount's root; "".
  static std::string Mount() {
    std::ifstream info("/proc/self/mountinfo");
    std::string line;
    while (std::getline(info, line)) {
      size_t dash = line.find(" - cgroup2 ");
      if (dash == std::string::npos) continue;
      std::istringstream fields(line.substr(0, dash));
      std::string id, parent, dev, root, mount_point;
      fields >> id >> parent >> dev >> root >> mount_point;
      if (root == "/") return mount_point;
    }
    return "";
  }

  static bool Write(const std::string& path, const std::string& text) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = write(fd, text.data(), text.size());
    close(fd);
    return n == static_cast<ssize_t>(text.size());
  }

  std::string dir_;
};

}  // namespace sesame::testing

#endif  // SESAME_TESTS_FAKES_FROZEN_CGROUP_H_
