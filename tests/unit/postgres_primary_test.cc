// The remembered primary of a list of servers (core/store/postgres/
// postgres_primary.cc): its file's format, that anything doubtful in it
// reads as no hint, that it is replaced whole, and the order libpq is
// given. That a dead first server then costs one connection, not every
// one, is proven through the PAM module in tests/pam/postgres_faults_test.cc.
#ifdef SESAME_WITH_POSTGRES
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/store/postgres/postgres_internal.h"

namespace sesame::postgres_internal {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class PrimaryHintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/sesame-primary-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    top_ = dir;
    run_ = top_ + "/run";
    path_ = run_ + "/postgres-primary";
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf '" + top_ + "'").c_str()), 0); }
  void Put(const std::string& text, mode_t mode = 0600) {
    mkdir(run_.c_str(), 0700);
    unlink(path_.c_str());
    std::ofstream(path_) << text;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }
  std::string top_, run_, path_;
};

TEST(PrimaryHintFormatTest, AnEntryRoundTrips) {
  for (const HostEntry& e :
       {HostEntry{"db2.example.org", "", "5433"}, HostEntry{"", "192.0.2.7", ""},
        HostEntry{"/run/postgresql", "", ""}, HostEntry{"db1", "2001:db8::1", "6432"}}) {
    std::optional<HostEntry> back = ParsePrimaryHint(FormatPrimaryHint(e));
    ASSERT_TRUE(back.has_value()) << FormatPrimaryHint(e);
    EXPECT_EQ(*back, e);
  }
}

TEST(PrimaryHintFormatTest, AnythingOddIsNoHint) {
  const std::vector<std::string> odd = {
      "",
      "host=db1\nhostaddr=\n",                              // no port line
      "host=db1\nhostaddr=\nport=5432",                     // cut short (no last newline)
      "host=db1\nhostaddr=\nport=5432\nport=5433\n",        // twice
      "host=db1\nhostaddr=\nport=5432\nuser=x\n",           // not ours
      "host=\nhostaddr=\nport=5432\n",                      // no server
      "host=db1\thost\nhostaddr=\nport=5432\n",             // a control character
      std::string("host=db1\0x\nhostaddr=\nport=1\n", 28),  // a NUL
      "nonsense\n",
  };
  for (const std::string& text : odd) {
    EXPECT_FALSE(ParsePrimaryHint(text).has_value()) << text;
  }
  EXPECT_TRUE(ParsePrimaryHint("# a comment\n\nport=1\nhostaddr=\nhost=db1\n").has_value());
}

TEST_F(PrimaryHintTest, WrittenThenReadAndReplacedWhole) {
  EXPECT_FALSE(ReadPrimaryHint(path_).has_value()) << "nothing there yet";
  WritePrimaryHint(path_, HostEntry{"db2.example.org", "", "5433"});
  struct stat st {};
  ASSERT_EQ(stat(run_.c_str(), &st), 0) << "the runtime directory is made";
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadPrimaryHint(path_), (HostEntry{"db2.example.org", "", "5433"}));
  WritePrimaryHint(path_, HostEntry{"db1.example.org", "", ""});
  EXPECT_EQ(ReadPrimaryHint(path_), (HostEntry{"db1.example.org", "", ""}));
  EXPECT_EQ(ReadAll(path_), FormatPrimaryHint(HostEntry{"db1.example.org", "", ""}));
  // No temporary file left beside it.
  EXPECT_EQ(std::system(("test \"$(ls -A '" + run_ + "')\" = postgres-primary").c_str()), 0);
  // A value that cannot be one line is not written.
  WritePrimaryHint(path_, HostEntry{"db3\nport=1", "", ""});
  EXPECT_EQ(ReadPrimaryHint(path_), (HostEntry{"db1.example.org", "", ""}));
}

TEST_F(PrimaryHintTest, AFileOthersCouldWriteOrASymlinkIsNoHint) {
  const std::string text = FormatPrimaryHint(HostEntry{"db2", "", ""});
  ASSERT_NO_FATAL_FAILURE(Put(text, 0600));
  EXPECT_TRUE(ReadPrimaryHint(path_).has_value()) << "the control: the same file, 0600";
  ASSERT_NO_FATAL_FAILURE(Put(text, 0620));
  EXPECT_FALSE(ReadPrimaryHint(path_).has_value()) << "group-writable";
  ASSERT_NO_FATAL_FAILURE(Put(text, 0602));
  EXPECT_FALSE(ReadPrimaryHint(path_).has_value()) << "writable by others";
  ASSERT_NO_FATAL_FAILURE(Put(text, 0600));
  ASSERT_EQ(chmod(run_.c_str(), 0777), 0);
  EXPECT_FALSE(ReadPrimaryHint(path_).has_value()) << "in a directory others can write";
  ASSERT_EQ(chmod(run_.c_str(), 0700), 0);
  const std::string real = top_ + "/elsewhere";
  std::ofstream(real) << text;
  ASSERT_EQ(chmod(real.c_str(), 0600), 0);
  ASSERT_EQ(unlink(path_.c_str()), 0);
  ASSERT_EQ(symlink(real.c_str(), path_.c_str()), 0);
  EXPECT_FALSE(ReadPrimaryHint(path_).has_value()) << "a symlink is not followed";
  ASSERT_NO_FATAL_FAILURE(Put(std::string(5000, '#') + "\n" + text, 0600));
  EXPECT_FALSE(ReadPrimaryHint(path_).has_value()) << "larger than a hint can be";
  // Writing replaces the symlink itself, never the file it points to.
  ASSERT_EQ(unlink(path_.c_str()), 0);
  ASSERT_EQ(symlink(real.c_str(), path_.c_str()), 0);
  WritePrimaryHint(path_, HostEntry{"db9", "", ""});
  EXPECT_EQ(ReadAll(real), text);
  EXPECT_EQ(ReadPrimaryHint(path_), (HostEntry{"db9", "", ""}));
}

// Many processes writing at once (sshd sign-ins after a failover), one
// reading all the while: every read is one whole entry that was written,
// never a mix or a half, and no temporary file is left.
TEST_F(PrimaryHintTest, ManyWritersAtOnceNeverLeaveAHalfWrittenFile) {
  const std::vector<HostEntry> entries = {{"db1.example.org", "", "5432"},
                                          {"db2.example.org", "192.0.2.2", "6432"},
                                          {"", "2001:db8::3", ""}};
  WritePrimaryHint(path_, entries[0]);
  constexpr int kWriters = 6;
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < 300; ++i) WritePrimaryHint(path_, entries[(w + i) % entries.size()]);
      _exit(0);
    }
    writers.push_back(pid);
  }
  int reads = 0;
  int bad = 0;
  for (bool running = true; running;) {
    std::optional<HostEntry> seen = ReadPrimaryHint(path_);
    ++reads;
    if (!seen.has_value() || std::find(entries.begin(), entries.end(), *seen) == entries.end()) {
      ++bad;
    }
    running = false;
    for (pid_t pid : writers) running = running || waitpid(pid, nullptr, WNOHANG) == 0;
  }
  EXPECT_EQ(bad, 0) << "of " << reads << " reads";
  for (pid_t pid : writers) waitpid(pid, nullptr, 0);
  EXPECT_EQ(std::system(("test \"$(ls -A '" + run_ + "')\" = postgres-primary").c_str()), 0);
}

// A writer killed between its open and its rename leaves ".NAME.PID.tmp";
// the next write removes such files once they are a minute old, and
// leaves a young one (a writer may be at work on it) and any other file.
TEST_F(PrimaryHintTest, ALeftoverTemporaryFileIsRemovedOnceStale) {
  WritePrimaryHint(path_, HostEntry{"db1", "", ""});
  auto put = [&](const std::string& file, time_t age) {
    const std::string path = run_ + "/" + file;
    std::ofstream(path) << "host=db";
    const struct timespec times[2] = {{time(nullptr) - age, 0}, {time(nullptr) - age, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
  };
  ASSERT_NO_FATAL_FAILURE(put(".postgres-primary.4242.tmp", 3600));           // stale: removed
  ASSERT_NO_FATAL_FAILURE(put(".postgres-primary.4243.tmp", 61));             // stale: removed
  ASSERT_NO_FATAL_FAILURE(put(".postgres-primary.4244.tmp", 0));              // young: kept
  ASSERT_NO_FATAL_FAILURE(put(".postgres-primary.12x.tmp", 3600));            // not a pid: kept
  ASSERT_NO_FATAL_FAILURE(put(".other-file.4245.tmp", 3600));                 // another name: kept
  ASSERT_NO_FATAL_FAILURE(put("postgres-primary.4246.tmp", 3600));            // no dot: kept
  ASSERT_EQ(mkdir((run_ + "/.postgres-primary.4247.tmp").c_str(), 0700), 0);  // not a file
  WritePrimaryHint(path_, HostEntry{"db2", "", ""});
  EXPECT_EQ(ReadPrimaryHint(path_), (HostEntry{"db2", "", ""}));
  const std::vector<std::string> expected = {
      ".other-file.4245.tmp",       ".postgres-primary.12x.tmp", ".postgres-primary.4244.tmp",
      ".postgres-primary.4247.tmp", "postgres-primary",          "postgres-primary.4246.tmp"};
  EXPECT_EQ(List(run_), expected);
}

TEST(PrimaryHintOrderTest, TheHintedServerFirstTheOthersInTheirOrder) {
  const std::vector<HostEntry> listed = ListHostEntries("db1,db2,db3", "", "5432,5433,5434");
  ASSERT_EQ(listed.size(), 3u);
  HostKeywords k = HostKeywordsTryingFirst(listed, 2, false, true);
  EXPECT_EQ(k.host, "db3,db1,db2");
  EXPECT_EQ(k.hostaddr, "");
  EXPECT_EQ(k.port, "5434,5432,5433");
  // One port for all stays the DSN's; addresses follow their hosts.
  const std::vector<HostEntry> addressed =
      ListHostEntries("db1,db2", "192.0.2.1,192.0.2.2", "5432");
  k = HostKeywordsTryingFirst(addressed, 1, true, false);
  EXPECT_EQ(k.host, "db2,db1");
  EXPECT_EQ(k.hostaddr, "192.0.2.2,192.0.2.1");
  EXPECT_EQ(k.port, "");
  // Addresses alone: no host list is made up.
  k = HostKeywordsTryingFirst(ListHostEntries("", "192.0.2.1,192.0.2.2", ""), 1, true, false);
  EXPECT_EQ(k.host, "");
  EXPECT_EQ(k.hostaddr, "192.0.2.2,192.0.2.1");
}

TEST(PrimaryHintOrderTest, TheServerReachedIsFoundInTheList) {
  const std::vector<HostEntry> listed = {{"/run/postgresql", "", ""},
                                         {"db1", "", "5433"},
                                         {"db1", "", "5434"},
                                         {"", "192.0.2.5", ""},
                                         {"db2", "192.0.2.6", ""}};
  EXPECT_EQ(ReachedEntry(listed, "/run/postgresql", "", "5432"), 0u);
  EXPECT_EQ(ReachedEntry(listed, "db1", "192.0.2.1", "5434"), 2u) << "a looked-up name";
  EXPECT_EQ(ReachedEntry(listed, "192.0.2.5", "192.0.2.5", "5432"), 3u);
  EXPECT_EQ(ReachedEntry(listed, "db2", "192.0.2.6", "5432"), 4u);
  EXPECT_EQ(ReachedEntry(listed, "db2", "192.0.2.7", "5432"), 5u) << "not the listed address";
  EXPECT_EQ(ReachedEntry(listed, "db3", "", "5432"), 5u);
}

}  // namespace
}  // namespace sesame::postgres_internal
#endif  // SESAME_WITH_POSTGRES
