// Files that decide security (config, key, store) in an unsafe state, and bad
// module arguments: every one denies, with a log line that names the file (or
// argument) and says how to fix it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

constexpr char kPassword[] = "safe files only 5";

class UnsafeFilesTest : public PamTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
    // Sanity: the untouched setup works, so each denial below is the change.
    PamRun ok = RunPam("sesame", "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    ASSERT_EQ(ok.err, PAMTEST_ERR_OK) << PamCodeNames(ok.codes);
  }

  // alice signs in with the right password; expects `code` and a log line
  // that contains every one of `needles` and, when `any_of` is not empty,
  // one of `any_of` (a fix whose wording may vary).
  void ExpectDenied(int code, const std::vector<std::string>& needles,
                    const std::string& service = "sesame",
                    const std::vector<std::string>& any_of = {}) {
    size_t mark = DevLog().Mark();
    PamRun run = RunPam(service, "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, code}});
    EXPECT_PAM_CODES(run, code);
    SKIP_WITHOUT_LOGS();
    std::vector<LogLine> lines = DevLog().Since(mark);
    bool found = false;
    for (const LogLine& l : lines) {
      bool all = true;
      for (const std::string& n : needles) all = all && l.text.find(n) != std::string::npos;
      bool one = any_of.empty();
      for (const std::string& n : any_of) one = one || l.text.find(n) != std::string::npos;
      found = found || (all && one);
    }
    std::string wanted;
    for (const std::string& n : needles) wanted += "\n  " + n;
    if (!any_of.empty()) wanted += "\nand one of:";
    for (const std::string& n : any_of) wanted += "\n  " + n;
    EXPECT_TRUE(found) << "no log line with all of:" << wanted << "\n" << Dump(lines);
  }

  // Moves `path` aside and puts a symlink to it in its place.
  void ReplaceWithSymlink(const std::string& path) {
    std::string real = state_dir_ + "/real-target";
    ASSERT_EQ(rename(path.c_str(), real.c_str()), 0) << path << ": " << strerror(errno);
    ASSERT_EQ(symlink(real.c_str(), path.c_str()), 0) << path << ": " << strerror(errno);
  }

  void WriteConfigText(const std::string& text) {
    ASSERT_TRUE(WriteFile(kConfigPath, text, 0644)) << kConfigPath << ": " << strerror(errno);
  }

  // The config lines WriteConfig() makes, for configs with one bad line.
  std::string GoodLines() {
    return "store_path = " + store_path_ + "\nkey_file = " + key_path_ +
           "\nruntime_dir = " + runtime_dir_ + "\nargon2_memory_kib = 8\nargon2_time_cost = 1\n";
  }
};

// ---- config ----

TEST_F(UnsafeFilesTest, ConfigMissing) {
  ASSERT_EQ(unlink(kConfigPath.c_str()), 0);
  // Names the file and says what to do: put a config there, or fix the
  // config= argument that names it.
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + " (config file) does not exist"}, "sesame",
               {"create it", "install", "config="});
}

TEST_F(UnsafeFilesTest, ConfigWorldWritable) {
  ASSERT_EQ(chmod(kConfigPath.c_str(), 0646), 0);
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + " (config file) is writable by group or others",
                                 "chmod go-w " + kConfigPath});
}

TEST_F(UnsafeFilesTest, ConfigGroupWritable) {
  ASSERT_EQ(chmod(kConfigPath.c_str(), 0664), 0);
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + " (config file) is writable by group or others",
                                 "chmod go-w " + kConfigPath});
}

TEST_F(UnsafeFilesTest, ConfigSymlink) {
  ASSERT_NO_FATAL_FAILURE(ReplaceWithSymlink(kConfigPath));
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + " (config file) is a symbolic link",
                                 "replace it with the file itself"});
}

TEST_F(UnsafeFilesTest, ConfigOwnedByAnotherUser) {
  ASSERT_EQ(chown(kConfigPath.c_str(), 65534, 65534), 0) << strerror(errno);
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + " (config file) is owned by uid 65534",
                                 "chown root:root " + kConfigPath});
}

TEST_F(UnsafeFilesTest, ConfigDirectoryWritableByOthers) {
  ASSERT_EQ(chmod(kFixedDir.c_str(), 0777), 0);
  ExpectDenied(PAM_SERVICE_ERR, {"directory " + kFixedDir + " (holding config file " + kConfigPath +
                                     ") is writable by group or others",
                                 "chmod go-w " + kFixedDir});
}

TEST_F(UnsafeFilesTest, ConfigUnknownKeyNamesTheLine) {
  // Line 6: a near miss of argon2_memory_kib.
  ASSERT_NO_FATAL_FAILURE(WriteConfigText(GoodLines() + "argon2_memory_kb = 16\n"));
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + ":6: unknown key 'argon2_memory_kb'",
                                 "did you mean 'argon2_memory_kib'?", "accepted keys: store,"});
}

TEST_F(UnsafeFilesTest, ConfigBadValueNamesTheLineAndTheRange) {
  ASSERT_NO_FATAL_FAILURE(
      WriteConfigText("# a comment\n" + GoodLines() + "argon2_max_concurrent = 0\n"));
  ExpectDenied(PAM_SERVICE_ERR, {kConfigPath + ":7: argon2_max_concurrent = '0' is not accepted",
                                 "use a whole number from 1 to 1024"});
}

// ---- key ----

TEST_F(UnsafeFilesTest, KeyMissing) {
  ASSERT_EQ(unlink(key_path_.c_str()), 0);
  ExpectDenied(
      PAM_AUTHINFO_UNAVAIL,
      {"cannot use the key", key_path_ + " (key file) does not exist", "sesame-admin init"});
}

TEST_F(UnsafeFilesTest, KeyWorldReadable) {
  ASSERT_EQ(chmod(key_path_.c_str(), 0444), 0);
  ExpectDenied(PAM_AUTHINFO_UNAVAIL,
               {key_path_ + " (key file) is readable by group or others but holds a secret",
                "chmod 0400 " + key_path_});
}

TEST_F(UnsafeFilesTest, KeySymlink) {
  ASSERT_NO_FATAL_FAILURE(ReplaceWithSymlink(key_path_));
  ExpectDenied(PAM_AUTHINFO_UNAVAIL,
               {key_path_ + " (key file) is a symbolic link", "replace it with the file itself"});
}

TEST_F(UnsafeFilesTest, KeyWrongSize) {
  ASSERT_EQ(unlink(key_path_.c_str()), 0);
  ASSERT_TRUE(WriteFile(key_path_, std::string(31, 'k'), 0400));
  ExpectDenied(PAM_AUTHINFO_UNAVAIL,
               {"key file " + key_path_ + " has 31 bytes, expected 32", "restore it from backup"});
  ASSERT_EQ(unlink(key_path_.c_str()), 0);
  ASSERT_TRUE(WriteFile(key_path_, std::string(33, 'k'), 0400));
  ExpectDenied(PAM_AUTHINFO_UNAVAIL, {"key file " + key_path_ + " has 33 bytes, expected 32"});
}

// ---- store ----

TEST_F(UnsafeFilesTest, StoreMissing) {
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((store_path_ + suffix).c_str());
  ExpectDenied(PAM_AUTHINFO_UNAVAIL,
               {"store " + store_path_ + " does not exist", "run `sesame-admin init`"});
}

TEST_F(UnsafeFilesTest, StoreWorldWritable) {
  ASSERT_EQ(chmod(store_path_.c_str(), 0666), 0);
  ExpectDenied(PAM_AUTHINFO_UNAVAIL, {store_path_ + " (store) is writable by group or others",
                                      "chmod go-w " + store_path_});
}

TEST_F(UnsafeFilesTest, StoreSymlink) {
  for (const char* suffix : {"-wal", "-shm"}) unlink((store_path_ + suffix).c_str());
  ASSERT_NO_FATAL_FAILURE(ReplaceWithSymlink(store_path_));
  ExpectDenied(PAM_AUTHINFO_UNAVAIL,
               {store_path_ + " (store) is a symbolic link", "replace it with the file itself"});
}

TEST_F(UnsafeFilesTest, StoreGarbage) {
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((store_path_ + suffix).c_str());
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 7919) & 0xff));
  ASSERT_TRUE(WriteFile(store_path_, garbage, 0600));
  ExpectDenied(PAM_AUTHINFO_UNAVAIL, {"store " + store_path_ + " is not a valid SQLite database",
                                      "restore it from a backup"});
}

// ---- module arguments ----

TEST_F(UnsafeFilesTest, UnknownModuleArgument) {
  ExpectDenied(PAM_SERVICE_ERR,
               {"unknown module argument 'bogus_option'",
                "accepted: config=FILE, mode=interactive, mode=app_password"},
               "sesame-bad-arg");
  PamRun account = RunPam("sesame-bad-arg", "alice", {}, {{PAMTEST_ACCOUNT, PAM_SERVICE_ERR}});
  EXPECT_PAM_CODES(account, PAM_SERVICE_ERR);
}

}  // namespace
}  // namespace sesame::pam_testing
