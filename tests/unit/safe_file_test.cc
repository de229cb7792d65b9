#include "core/base/safe_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace sesame {
namespace {

constexpr uid_t kNobody = 65534;

// A private 0700 directory (mkdtemp) under $SESAME_TEST_TMPDIR or /tmp,
// removed with everything in it at the end.
class SafeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("SESAME_TEST_TMPDIR");
    std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
    mkdir(root.c_str(), 0700);  // may exist already
    std::string templ = root + "/safe_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << templ;
    dir_ = templ;
    rule_.owner = geteuid();
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }

  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    EXPECT_EQ(chmod(path.c_str(), mode), 0) << path;
    return path;
  }

  static bool Has(const Status& st, const std::string& needle) {
    return st.message().find(needle) != std::string::npos;
  }

  std::string dir_;
  TrustRule rule_;
};

TEST_F(SafeFileTest, ReadsRegularFile) {
  std::string path = Write("a.conf", "hello\nworld\n", 0644);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "hello\nworld\n");
  EXPECT_TRUE(CheckTrustedPath(path, "config file", rule_).ok());
  EXPECT_TRUE(CheckTrustedPath(dir_, "store directory", rule_).ok());
  EXPECT_TRUE(CheckTrustedPath(dir_ + "/", "store directory", rule_).ok());
}

TEST_F(SafeFileTest, ReadsEmptyFileAndExactMaximum) {
  std::string empty = Write("empty", "", 0600);
  Result<std::string> r = ReadTrustedFile(empty, "config file", 10, rule_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "");
  std::string full = Write("full", std::string(10, 'x'), 0600);
  r = ReadTrustedFile(full, "config file", 10, rule_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->size(), 10u);
}

TEST_F(SafeFileTest, MissingFile) {
  std::string path = dir_ + "/missing.conf";
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_TRUE(Has(r.status(), path + " (config file) does not exist")) << r.status().message();
  EXPECT_EQ(CheckTrustedPath(path, "config file", rule_).code(), Code::kNotFound);
  // A missing directory is reported as the file missing, too.
  r = ReadTrustedFile(dir_ + "/nodir/x", "config file", 1024, rule_);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(SafeFileTest, SymlinkRefused) {
  std::string target = Write("real.conf", "x", 0644);
  std::string link = dir_ + "/link.conf";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  Result<std::string> r = ReadTrustedFile(link, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), link + " (config file) is a symbolic link; sesame does not follow "
                                     "links for security files: replace it with the file itself"))
      << r.status().message();
  Status st = CheckTrustedPath(link, "config file", rule_);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(st, "symbolic link")) << st.message();
  // A dangling link is refused as a link, not reported missing.
  std::string dangling = dir_ + "/dangling";
  ASSERT_EQ(symlink("/nonexistent", dangling.c_str()), 0);
  EXPECT_EQ(ReadTrustedFile(dangling, "config file", 1024, rule_).status().code(),
            Code::kPermissionDenied);
}

TEST_F(SafeFileTest, SymlinkedDirectoryRefused) {
  std::string sub = dir_ + "/real";
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  std::ofstream(sub + "/a.conf") << "x";
  ASSERT_EQ(chmod((sub + "/a.conf").c_str(), 0644), 0);
  std::string link = dir_ + "/linkdir";
  ASSERT_EQ(symlink(sub.c_str(), link.c_str()), 0);
  Result<std::string> r = ReadTrustedFile(link + "/a.conf", "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), "directory " + link)) << r.status().message();
  EXPECT_EQ(CheckTrustedPath(link + "/a.conf", "config file", rule_).code(),
            Code::kPermissionDenied);
}

TEST_F(SafeFileTest, WorldWritableFileRefused) {
  std::string path = Write("a.conf", "x", 0646);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), "is writable by group or others: chmod go-w " + path))
      << r.status().message();
  EXPECT_EQ(CheckTrustedPath(path, "config file", rule_).code(), Code::kPermissionDenied);
}

TEST_F(SafeFileTest, GroupWritableFileRefused) {
  std::string path = Write("a.conf", "x", 0664);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), "chmod go-w " + path)) << r.status().message();
}

TEST_F(SafeFileTest, WritableDirectoryRefused) {
  std::string path = Write("a.conf", "x", 0644);
  for (mode_t mode : {0777, 01777, 0770}) {
    ASSERT_EQ(chmod(dir_.c_str(), mode), 0);
    Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
    EXPECT_TRUE(Has(r.status(), "directory " + dir_)) << r.status().message();
    EXPECT_TRUE(Has(r.status(), "chmod go-w " + dir_)) << r.status().message();
    Status st = CheckTrustedPath(path, "config file", rule_);
    EXPECT_EQ(st.code(), Code::kPermissionDenied);
    EXPECT_TRUE(Has(st, "chmod go-w " + dir_)) << st.message();
    // The directory itself, checked as a directory.
    EXPECT_EQ(CheckTrustedPath(dir_, "store directory", rule_).code(), Code::kPermissionDenied);
  }
  ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
  EXPECT_TRUE(ReadTrustedFile(path, "config file", 1024, rule_).ok());
}

TEST_F(SafeFileTest, OwnerMismatchRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string path = Write("a.conf", "x", 0644);
  ASSERT_EQ(chown(path.c_str(), kNobody, kNobody), 0);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), path +
                                  " (config file) is owned by uid 65534; it must be owned by "
                                  "root: chown root:root " +
                                  path))
      << r.status().message();
  EXPECT_EQ(CheckTrustedPath(path, "config file", rule_).code(), Code::kPermissionDenied);

  // With a non-root rule owner the message names that uid.
  TrustRule other{kNobody, false};
  ASSERT_EQ(chown(dir_.c_str(), kNobody, kNobody), 0);
  EXPECT_TRUE(ReadTrustedFile(path, "config file", 1024, other).ok());
  ASSERT_EQ(chown(path.c_str(), 0, 0), 0);
  r = ReadTrustedFile(path, "config file", 1024, other);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(
      Has(r.status(), "is owned by uid 0; it must be owned by uid 65534: chown 65534 " + path))
      << r.status().message();
}

TEST_F(SafeFileTest, DirectoryOwnerMismatchRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string path = Write("a.conf", "x", 0644);
  ASSERT_EQ(chown(dir_.c_str(), kNobody, kNobody), 0);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), "directory " + dir_)) << r.status().message();
  EXPECT_TRUE(Has(r.status(), "chown root:root " + dir_)) << r.status().message();
  EXPECT_EQ(CheckTrustedPath(path, "config file", rule_).code(), Code::kPermissionDenied);
  ASSERT_EQ(chown(dir_.c_str(), 0, 0), 0);
}

TEST_F(SafeFileTest, DirectoryInsteadOfFileRefused) {
  std::string sub = dir_ + "/sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  Result<std::string> r = ReadTrustedFile(sub, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), "is a directory")) << r.status().message();
}

TEST_F(SafeFileTest, FifoRefusedWithoutHanging) {
  std::string path = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(r.status(), "not a regular file")) << r.status().message();
  EXPECT_EQ(CheckTrustedPath(path, "config file", rule_).code(), Code::kPermissionDenied);
}

TEST_F(SafeFileTest, TooLargeRefused) {
  std::string path = Write("big", std::string(1025, 'x'), 0644);
  Result<std::string> r = ReadTrustedFile(path, "config file", 1024, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Has(r.status(), "is larger than 1024 bytes")) << r.status().message();
  Result<SecretBuffer> s = ReadTrustedSecretFile(path, "key file", 1024, {rule_.owner, false});
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
}

TEST_F(SafeFileTest, SecretFile) {
  std::string path = Write("k", std::string("\0\x01secret", 8), 0400);
  TrustRule secret{rule_.owner, true};
  Result<SecretBuffer> r = ReadTrustedSecretFile(path, "key file", 64, secret);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->view(), std::string_view("\0\x01secret", 8));
  EXPECT_TRUE(CheckTrustedPath(path, "key file", secret).ok());

  for (mode_t mode : {0644, 0440, 0404, 0600 | 0010}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    Result<SecretBuffer> bad = ReadTrustedSecretFile(path, "key file", 64, secret);
    ASSERT_FALSE(bad.ok()) << std::oct << mode;
    EXPECT_EQ(bad.status().code(), Code::kPermissionDenied);
    EXPECT_TRUE(Has(bad.status(), "chmod 0400 " + path)) << bad.status().message();
    EXPECT_EQ(CheckTrustedPath(path, "key file", secret).code(), Code::kPermissionDenied);
    // Not secret: only write bits matter.
    EXPECT_TRUE(ReadTrustedSecretFile(path, "key file", 64, rule_).ok()) << std::oct << mode;
  }
  // A secret directory must not be readable by others either; the fix is 0700.
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  Status st = CheckTrustedPath(dir_, "store directory", secret);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(st, "chmod 0700 " + dir_)) << st.message();
}

TEST_F(SafeFileTest, RelativePathWorks) {
  std::string path = Write("rel.conf", "rel", 0644);
  char old_cwd[4096];
  ASSERT_NE(getcwd(old_cwd, sizeof old_cwd), nullptr);
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  Result<std::string> r = ReadTrustedFile("rel.conf", "config file", 64, rule_);
  ASSERT_EQ(chdir(old_cwd), 0);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "rel");
}

TEST_F(SafeFileTest, PathsThatNameNoFile) {
  EXPECT_EQ(ReadTrustedFile("", "config file", 64, rule_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadTrustedFile(dir_ + "/..", "config file", 64, rule_).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(CheckTrustedPath("", "config file", rule_).code(), Code::kInvalidArgument);
}

TEST_F(SafeFileTest, ControlCharactersInPathAreEscaped) {
  std::string path = dir_ + "/bad\nname";
  Result<std::string> r = ReadTrustedFile(path, "config file", 64, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
  EXPECT_TRUE(Has(r.status(), "bad\\x0aname")) << r.status().message();
}

// Every directory up to "/" is checked, not only the file's own (as
// OpenSSH's safe_path): a group- or world-writable ancestor lets someone
// rename the directory holding the file and put another in its place.
TEST_F(SafeFileTest, AnAncestorWritableByOthersIsRefused) {
  ASSERT_EQ(mkdir((dir_ + "/a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/a/b").c_str(), 0755), 0);
  std::string path = dir_ + "/a/b/x.conf";
  std::ofstream(path) << "x";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(ReadTrustedFile(path, "config file", 100, rule_).ok());
  for (mode_t mode : {0775, 0757}) {
    ASSERT_EQ(chmod((dir_ + "/a").c_str(), mode), 0);
    Result<std::string> r = ReadTrustedFile(path, "config file", 100, rule_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
    EXPECT_TRUE(Has(r.status(), "directory " + dir_ + "/a (on the path to config file " + path +
                                    ") is writable by group or others: chmod go-w " + dir_ + "/a"))
        << r.status().message();
    EXPECT_EQ(CheckTrustedPath(path, "config file", rule_).code(), Code::kPermissionDenied);
  }
  ASSERT_EQ(chmod((dir_ + "/a").c_str(), 0755), 0);
  EXPECT_TRUE(ReadTrustedFile(path, "config file", 100, rule_).ok());
}

// A sticky directory writable by everyone (/tmp) is a safe ancestor when
// the entry in it on the path is ours: no one else can rename or replace
// it. An entry there owned by someone else is not.
TEST_F(SafeFileTest, AStickyAncestorIsSafeOnlyAboveAnEntryOfOurs) {
  ASSERT_EQ(mkdir((dir_ + "/tmp").c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir_ + "/tmp").c_str(), 01777), 0);
  ASSERT_EQ(mkdir((dir_ + "/tmp/ours").c_str(), 0755), 0);
  std::string path = dir_ + "/tmp/ours/x.conf";
  std::ofstream(path) << "x";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  Result<std::string> r = ReadTrustedFile(path, "config file", 100, rule_);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (geteuid() == 0) {
    ASSERT_EQ(chown((dir_ + "/tmp/ours").c_str(), kNobody, 0), 0);
    r = ReadTrustedFile(path, "config file", 100, rule_);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Has(r.status(), "is owned by uid 65534")) << r.status().message();
  }
  // Without the sticky bit the same directory is refused.
  ASSERT_EQ(chmod((dir_ + "/tmp").c_str(), 0777), 0);
  EXPECT_FALSE(ReadTrustedFile(path, "config file", 100, rule_).ok());
}

TEST_F(SafeFileTest, ASymlinkAnywhereOnThePathIsRefused) {
  ASSERT_EQ(mkdir((dir_ + "/real").c_str(), 0755), 0);
  std::ofstream(dir_ + "/real/x.conf") << "x";
  ASSERT_EQ(chmod((dir_ + "/real/x.conf").c_str(), 0644), 0);
  ASSERT_EQ(mkdir((dir_ + "/real/sub").c_str(), 0755), 0);
  std::ofstream(dir_ + "/real/sub/y.conf") << "y";
  ASSERT_EQ(chmod((dir_ + "/real/sub/y.conf").c_str(), 0644), 0);
  ASSERT_EQ(symlink((dir_ + "/real").c_str(), (dir_ + "/link").c_str()), 0);
  for (const std::string& path : {dir_ + "/link/x.conf", dir_ + "/link/sub/y.conf"}) {
    Result<std::string> r = ReadTrustedFile(path, "config file", 100, rule_);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
    EXPECT_TRUE(Has(r.status(), dir_ + "/link (on the path to config file"))
        << r.status().message();
    EXPECT_TRUE(Has(r.status(), "symbolic link")) << r.status().message();
  }
}

TEST_F(SafeFileTest, AnAncestorOwnedBySomeoneElseIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  ASSERT_EQ(mkdir((dir_ + "/theirs").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/theirs/mine").c_str(), 0755), 0);
  std::string path = dir_ + "/theirs/mine/x.conf";
  std::ofstream(path) << "x";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_EQ(chown((dir_ + "/theirs").c_str(), kNobody, kNobody), 0);
  Result<std::string> r = ReadTrustedFile(path, "config file", 100, rule_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Has(r.status(), "directory " + dir_ + "/theirs (on the path to config file"))
      << r.status().message();
  EXPECT_TRUE(Has(r.status(), "is owned by uid 65534")) << r.status().message();
}

}  // namespace
}  // namespace sesame
