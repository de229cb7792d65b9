#include "core/base/secret.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

namespace sesame {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBuffer>, "secrets must not be copyable");
static_assert(!std::is_copy_assignable_v<SecretBuffer>, "secrets must not be copyable");

TEST(SecretBufferTest, HoldsBytesIncludingNul) {
  SecretBuffer s(std::string_view("a\0b", 3));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.view(), std::string_view("a\0b", 3));
  EXPECT_EQ(s.data()[3], '\0');  // always NUL-terminated
}

TEST(SecretBufferTest, MoveLeavesSourceEmpty) {
  SecretBuffer a("hunter2");
  SecretBuffer b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.view(), "hunter2");
  SecretBuffer c;
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.view(), "hunter2");
}

TEST(SecretBufferTest, AppendGrowsAndKeepsContent) {
  SecretBuffer s;
  std::string expect;
  for (int i = 0; i < 1000; ++i) {
    char c = static_cast<char>('a' + i % 26);
    s.Append(&c, 1);
    expect.push_back(c);
  }
  EXPECT_EQ(s.view(), expect);
}

TEST(SecretBufferTest, ShrinkingWipesTheDroppedTail) {
  SecretBuffer s("secret-password");
  const char* p = s.data();
  s.Resize(6);
  EXPECT_EQ(s.view(), "secret");
  // The memory past the new size is still ours (same allocation): zeroed.
  for (size_t i = 6; i < 15; ++i) EXPECT_EQ(p[i], '\0') << "byte " << i;
}

TEST(SecretBufferTest, WipeMemoryZeroes) {
  char buf[32];
  std::memset(buf, 'x', sizeof buf);
  WipeMemory(buf, sizeof buf);
  for (char c : buf) EXPECT_EQ(c, '\0');
}

#if !defined(__SANITIZE_ADDRESS__)
// glibc hands a freed chunk straight back to the next malloc of the same
// size (tcache, LIFO), so we can look at what the destructor left behind
// without touching freed memory. The allocator writes its own bookkeeping
// into the first 16 bytes; the rest must be zero.
TEST(SecretBufferTest, DestructorWipesBeforeFree) {
  const std::string secret(63, 'S');
  const void* where = nullptr;
  {
    SecretBuffer s(secret);
    where = s.data();
  }
  char* again = static_cast<char*>(std::malloc(64));
  ASSERT_EQ(static_cast<const void*>(again), where) << "allocator did not reuse the chunk";
  for (size_t i = 16; i < 64; ++i) EXPECT_EQ(again[i], '\0') << "byte " << i << " not wiped";
  std::free(again);
}
#endif

TEST(ConstantTimeEqualsTest, ComparesBytes) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace sesame
