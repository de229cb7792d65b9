// The banned-word check makes lower-case copies of the new password (and
// of a banned word that matches a piece of it); they must be wiped before
// their memory is freed. Checked by reading this process's heap after the
// call for the lower-case form of a distinctive password (the caller's own
// copy is upper case, so only a leftover copy can match). Not under ASan,
// which keeps freed memory away from the heap we read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "core/config/config.h"
#include "core/crypto/password_hash.h"
#include "core/policy/password_policy.h"
#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

#if !defined(__SANITIZE_ADDRESS__)

// How many times `needle` occurs in this process's [heap] mapping. The
// copy of the heap is read into its own mapping (outside the heap), and
// the needle must not live on the heap itself.
int HeapOccurrences(std::string_view needle) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return -1;
  unsigned long start = 0, end = 0;
  char line[512];
  bool found = false;
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    if (std::strstr(line, "[heap]") != nullptr && std::sscanf(line, "%lx-%lx", &start, &end) == 2) {
      found = true;
      break;
    }
  }
  std::fclose(maps);
  if (!found) return -1;
  const size_t size = end - start;
  void* copy = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED) return -1;
  int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  int count = -1;
  if (fd >= 0 && pread(fd, copy, size, static_cast<off_t>(start)) == static_cast<ssize_t>(size)) {
    std::string_view heap(static_cast<const char*>(copy), size);
    count = 0;
    for (size_t at = heap.find(needle); at != std::string_view::npos;
         at = heap.find(needle, at + 1))
      ++count;
  }
  if (fd >= 0) close(fd);
  std::memset(copy, 0, size);
  munmap(copy, size);
  return count;
}

TEST(PolicyWipeTest, TheBannedWordCheckLeavesNoCopyOfTheNewPassword) {
  char dir_template[] = "/tmp/policy_wipe.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const std::string banned = dir + "/banned";
  std::ofstream(banned) << "password\nQWERTYUIOPASDFGH-BANNED\n";
  ASSERT_EQ(chmod(banned.c_str(), 0644), 0);

  Config config;
  config.banned_passwords_file = banned;
  config.password_quality = false;
  config.password_min_length = 8;
  testing::RecordingLogger logger;
  PasswordHasher hasher(Argon2Params{1, 8, 1}, nullptr, logger);
  // Upper case here; the check lowers it. Long enough for the heap.
  const std::string upper = "ZQXJVW-DISTINCTIVE-MARKER-FOR-WIPE-TEST-QWERTYUIOPASDFGH-BANNED";
  char lower[128] = {0};  // on the stack, not the heap
  ASSERT_LT(upper.size(), sizeof lower);
  for (size_t i = 0; i < upper.size(); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(upper[i])));
  const std::string_view word = "qwertyuiopasdfgh-banned";  // the matching banned word, lowered

  ASSERT_EQ(HeapOccurrences(lower), 0);
  PolicySubject subject{"alice", upper, nullptr, "", nullptr};
  Status refused = CheckPasswordPolicy(config, hasher, subject);
  EXPECT_EQ(refused.code(), Code::kInvalidArgument) << refused.message();
  EXPECT_EQ(HeapOccurrences(lower), 0) << "a lower-case copy of the new password was not wiped";
  EXPECT_EQ(HeapOccurrences(word), 0) << "the lower-cased matching word was not wiped";
  std::memset(lower, 0, sizeof lower);
  EXPECT_EQ(unlink(banned.c_str()), 0);
  EXPECT_EQ(rmdir(dir.c_str()), 0);
}

#endif

}  // namespace
}  // namespace sesame
