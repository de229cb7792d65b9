#include "core/base/input_check.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base/logger.h"

namespace sesame {
namespace {

TEST(InputCheckTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac \xf0\x9f\x94\x91"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
}

TEST(InputCheckTest, ValidUtf8Prefix) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ValidUtf8Prefix("", 10), "");
  EXPECT_EQ(ValidUtf8Prefix("192.0.2.7", 256), "192.0.2.7");
  EXPECT_EQ(ValidUtf8Prefix("gr\xc3\xbc\xc3\x9f", 256), "gr\xc3\xbc\xc3\x9f");
  // Each byte that is not part of a valid sequence, and each NUL, is U+FFFD.
  EXPECT_EQ(ValidUtf8Prefix("a\xff"
                            "b",
                            256),
            "a" + fffd + "b");
  EXPECT_EQ(ValidUtf8Prefix("\xc3", 256), fffd);                        // cut sequence
  EXPECT_EQ(ValidUtf8Prefix("\xc0\xaf", 256), fffd + fffd);             // overlong '/'
  EXPECT_EQ(ValidUtf8Prefix("\xed\xa0\x80", 256), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(ValidUtf8Prefix(std::string_view("a\0b", 3), 256), "a" + fffd + "b");
  // The cut falls between characters.
  EXPECT_EQ(ValidUtf8Prefix("abc\xe2\x82\xac", 5), "abc");
  EXPECT_EQ(ValidUtf8Prefix("abc\xe2\x82\xac", 6), "abc\xe2\x82\xac");
  EXPECT_EQ(ValidUtf8Prefix("ab\xff", 4), "ab");
  EXPECT_EQ(ValidUtf8Prefix(std::string(1 << 20, 'x'), 256), std::string(256, 'x'));
  // Whatever comes in, what goes out is valid and within the bound.
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t max : {0u, 1u, 2u, 3u, 100u, 1000u}) {
    const std::string out = ValidUtf8Prefix(bytes + bytes, max);
    EXPECT_TRUE(IsValidUtf8(out)) << max;
    EXPECT_LE(out.size(), max);
    EXPECT_EQ(out.find('\0'), std::string::npos) << max;
  }
}

TEST(InputCheckTest, ControlChars) {
  EXPECT_FALSE(HasControlChars("a b~"));
  EXPECT_TRUE(HasControlChars("a\tb"));
  EXPECT_TRUE(HasControlChars(std::string_view("a\0b", 3)));
  EXPECT_TRUE(HasControlChars("a\x7f"));
}

TEST(InputCheckTest, UserNames) {
  for (const char* ok : {"alice", "a.b-c_d", "mail@example.org", "HOST$", "0day"})
    EXPECT_TRUE(CheckUserName(ok).ok()) << ok;
  for (std::string bad :
       {std::string(), std::string("-rf"), std::string(".hidden"), std::string("a b"),
        std::string("a/b"), std::string("a$b"), std::string("a\nb"), std::string("\xc3\xa9"),
        std::string(65, 'a'), std::string("a\0b", 3)}) {
    Status s = CheckUserName(bad);
    EXPECT_FALSE(s.ok()) << SanitizeForLog(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
  }
}

TEST(InputCheckTest, NewPasswords) {
  EXPECT_TRUE(CheckNewPassword("correct horse battery staple").ok());
  EXPECT_TRUE(CheckNewPassword("p\xc3\xa4ssw\xc3\xb6rter").ok());
  EXPECT_NE(CheckNewPassword("").message().find("empty"), std::string::npos);
  EXPECT_NE(CheckNewPassword(std::string(1025, 'a')).message().find("1024"), std::string::npos);
  EXPECT_TRUE(CheckNewPassword(std::string(1024, 'a')).ok());
  EXPECT_NE(CheckNewPassword("\xff\xfe").message().find("UTF-8"), std::string::npos);
  EXPECT_NE(CheckNewPassword("a\x1b[31m").message().find("control"), std::string::npos);
  EXPECT_NE(CheckNewPassword(std::string("a\0b", 3)).message().find("control"), std::string::npos);
}

TEST(SanitizeForLogTest, EscapesEverythingUnsafe) {
  EXPECT_EQ(SanitizeForLog("alice"), "alice");
  EXPECT_EQ(SanitizeForLog("a\nb"), "a\\x0ab");
  EXPECT_EQ(SanitizeForLog("\xff"), "\\xff");
  EXPECT_EQ(SanitizeForLog("q\"\\"), "q\\x22\\x5c");
  EXPECT_EQ(SanitizeForLog(std::string(200, 'x'), 10), std::string(10, 'x') + "...");
}

// For a table a person reads: the same, but a quote as it is.
TEST(SanitizeForDisplayTest, KeepsQuotesEscapesTheRest) {
  EXPECT_EQ(SanitizeForDisplay("app password \"Mail\""), "app password \"Mail\"");
  EXPECT_EQ(SanitizeForDisplay("a\x1b[2J\\x41\xc3\xa9"), "a\\x1b[2J\\x5cx41\\xc3\\xa9");
  EXPECT_EQ(SanitizeForDisplay(std::string(200, 'x'), 10), std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace sesame
