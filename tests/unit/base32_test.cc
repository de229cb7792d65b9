#include "core/base/base32.h"

#include <gtest/gtest.h>

#include <string>

namespace sesame {
namespace {

struct Vector {
  const char* plain;
  const char* encoded;
};

// RFC 4648 section 10, without the padding our encoder leaves off.
constexpr Vector kRfc4648[] = {{"", ""},
                               {"f", "MY"},
                               {"fo", "MZXQ"},
                               {"foo", "MZXW6"},
                               {"foob", "MZXW6YQ"},
                               {"fooba", "MZXW6YTB"},
                               {"foobar", "MZXW6YTBOI"}};

TEST(Base32Test, EncodesRfc4648Vectors) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(Base32Encode(v.plain).view(), v.encoded) << v.plain;
  }
}

TEST(Base32Test, DecodesRfc4648Vectors) {
  for (const Vector& v : kRfc4648) {
    Result<SecretBuffer> r = Base32Decode(v.encoded);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->view(), v.plain);
  }
}

TEST(Base32Test, DecodesPaddedRfc4648Vectors) {
  constexpr Vector kPadded[] = {{"f", "MY======"},     {"fo", "MZXQ===="},
                                {"foo", "MZXW6==="},   {"foob", "MZXW6YQ="},
                                {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI======"}};
  for (const Vector& v : kPadded) {
    Result<SecretBuffer> r = Base32Decode(v.encoded);
    ASSERT_TRUE(r.ok()) << v.encoded << ": " << r.status().message();
    EXPECT_EQ(r->view(), v.plain);
  }
}

TEST(Base32Test, DecodeIgnoresCaseSpacesAndDashes) {
  Result<SecretBuffer> r = Base32Decode("mzxw 6ytb-oi");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->view(), "foobar");
  r = Base32Decode(" MzXw6-YtBoI ==== == ");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->view(), "foobar");
}

TEST(Base32Test, RoundTripsAllLengthsAndBytes) {
  std::string bytes;
  for (int len = 0; len < 70; ++len) {
    SecretBuffer encoded = Base32Encode(bytes);
    EXPECT_EQ(encoded.size(), (bytes.size() * 8 + 4) / 5);
    Result<SecretBuffer> decoded = Base32Decode(encoded.view());
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->view(), bytes);
    bytes.push_back(static_cast<char>((len * 37 + 11) & 0xff));
  }
}

TEST(Base32Test, RejectsBadCharacterNamingItAndItsPosition) {
  Result<SecretBuffer> r = Base32Decode("MZXW1YTB");  // '1' is not in the alphabet
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'1'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("position 5"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("MZXW"), std::string::npos) << "must not echo the input";

  for (const char* bad : {"MZXW8YTB", "MZXW0YTB", "MZXW.YTB", "MZXW_YTB", "MZ\tXW6"}) {
    EXPECT_FALSE(Base32Decode(bad).ok()) << bad;
  }
  r = Base32Decode(std::string_view("MZ\0XW6", 6));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("0x00"), std::string::npos) << r.status().message();
}

TEST(Base32Test, RejectsPaddingBeforeData) {
  Result<SecretBuffer> r = Base32Decode("MY==MZXQ");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("position 5"), std::string::npos) << r.status().message();
  EXPECT_FALSE(Base32Decode("=MY").ok());
}

TEST(Base32Test, RejectsImpossibleLengthsAndWrongPadding) {
  EXPECT_FALSE(Base32Decode("M").ok());
  EXPECT_FALSE(Base32Decode("MZX").ok());
  EXPECT_FALSE(Base32Decode("MZXW6Y").ok());
  EXPECT_FALSE(Base32Decode("MY=").ok());        // needs 6 or none
  EXPECT_FALSE(Base32Decode("MY=======").ok());  // 7 is too many
  EXPECT_FALSE(Base32Decode("========").ok());
}

TEST(Base32Test, GroupsForReading) {
  EXPECT_EQ(GroupForReading(""), "");
  EXPECT_EQ(GroupForReading("ABC"), "ABC");
  EXPECT_EQ(GroupForReading("ABCD"), "ABCD");
  EXPECT_EQ(GroupForReading("ABCDE"), "ABCD E");
  EXPECT_EQ(GroupForReading("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
            "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567");
  // What a person reads back decodes to the same bytes.
  SecretBuffer encoded = Base32Encode("12345678901234567890");
  Result<SecretBuffer> decoded = Base32Decode(GroupForReading(encoded.view()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->view(), "12345678901234567890");
}

}  // namespace
}  // namespace sesame
