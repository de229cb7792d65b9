#include "core/crypto/key_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

class FailingRandom final : public Random {
 public:
  Status Fill(uint8_t*, size_t) override { return Status(Code::kUnavailable, "no entropy"); }
};

// The key must be root's, so these tests need root; they use a private 0700
// directory (mkdtemp) under $SESAME_TEST_TMPDIR or /tmp.
class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the key file must be owned by root)";
    const char* base = getenv("SESAME_TEST_TMPDIR");
    std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
    mkdir(root.c_str(), 0700);  // may exist already
    std::string templ = root + "/key_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << templ;
    dir_ = templ;
    path_ = dir_ + "/sesame.key";
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }

  static std::string ReadRaw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  std::string path_;
};

TEST_F(KeyFileTest, CreateMakes32BytesMode0400) {
  mode_t old_umask = umask(0);  // the mode must not depend on the umask
  testing::FakeRandom random(7);
  Status st = CreateHostKey(path_, random);
  umask(old_umask);
  ASSERT_TRUE(st.ok()) << st.message();
  struct stat sb;
  ASSERT_EQ(lstat(path_.c_str(), &sb), 0);
  EXPECT_TRUE(S_ISREG(sb.st_mode));
  EXPECT_EQ(sb.st_mode & 07777, 0400u);
  EXPECT_EQ(sb.st_uid, 0u);
  EXPECT_EQ(sb.st_size, 32);

  uint8_t expected[kHostKeyBytes];
  testing::FakeRandom same(7);
  ASSERT_TRUE(same.Fill(expected, sizeof expected).ok());
  EXPECT_EQ(ReadRaw(path_), std::string(reinterpret_cast<char*>(expected), sizeof expected));
}

TEST_F(KeyFileTest, CreateAgainLeavesKeyAlone) {
  testing::FakeRandom first(1);
  ASSERT_TRUE(CreateHostKey(path_, first).ok());
  std::string before = ReadRaw(path_);
  testing::FakeRandom second(2);
  Status st = CreateHostKey(path_, second);
  EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.message();
  EXPECT_EQ(ReadRaw(path_), before);
}

TEST_F(KeyFileTest, CreateDoesNotFollowSymlink) {
  std::string target = dir_ + "/target";
  ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
  testing::FakeRandom random;
  EXPECT_EQ(CreateHostKey(path_, random).code(), Code::kAlreadyExists);
  struct stat sb;
  EXPECT_NE(lstat(target.c_str(), &sb), 0);  // nothing created through the link
}

TEST_F(KeyFileTest, CreateWithoutEntropyLeavesNothing) {
  FailingRandom random;
  Status st = CreateHostKey(path_, random);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  struct stat sb;
  EXPECT_NE(lstat(path_.c_str(), &sb), 0);
}

TEST_F(KeyFileTest, CreateRefusesUnsafeOrMissingDirectory) {
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  testing::FakeRandom random;
  EXPECT_EQ(CreateHostKey(path_, random).code(), Code::kPermissionDenied);
  ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
  EXPECT_EQ(CreateHostKey(dir_ + "/nodir/sesame.key", random).code(), Code::kNotFound);
}

TEST_F(KeyFileTest, LoadReturnsTheKey) {
  testing::FakeRandom random(3);
  ASSERT_TRUE(CreateHostKey(path_, random).ok());
  Result<SecretBuffer> key = LoadHostKey(path_);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->size(), kHostKeyBytes);
  EXPECT_EQ(key->view(), ReadRaw(path_));
}

TEST_F(KeyFileTest, WrongSizeIsCorrupt) {
  for (size_t size : {0, 16, 31, 33, 4096}) {
    unlink(path_.c_str());
    std::ofstream(path_, std::ios::binary) << std::string(size, 'k');
    ASSERT_EQ(chmod(path_.c_str(), 0400), 0);
    Result<SecretBuffer> key = LoadHostKey(path_);
    ASSERT_FALSE(key.ok()) << size;
    EXPECT_EQ(key.status().code(), Code::kCorrupt);
    EXPECT_NE(key.status().message().find("key file " + path_ + " has " + std::to_string(size) +
                                          " bytes, expected 32"),
              std::string::npos)
        << key.status().message();
  }
  // Larger than any key file could be: refused before reading.
  unlink(path_.c_str());
  std::ofstream(path_, std::ios::binary) << std::string(4097, 'k');
  ASSERT_EQ(chmod(path_.c_str(), 0400), 0);
  EXPECT_EQ(LoadHostKey(path_).status().code(), Code::kInvalidArgument);
}

TEST_F(KeyFileTest, ReadableByOthersRefused) {
  testing::FakeRandom random;
  ASSERT_TRUE(CreateHostKey(path_, random).ok());
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  Result<SecretBuffer> key = LoadHostKey(path_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_NE(key.status().message().find("chmod 0400 " + path_), std::string::npos)
      << key.status().message();
}

TEST_F(KeyFileTest, MissingKeyIsNotFound) {
  EXPECT_EQ(LoadHostKey(path_).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace sesame
