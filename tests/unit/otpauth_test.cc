#include "core/crypto/otpauth.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base/base32.h"

namespace sesame {
namespace {

// Base32 of "12345678901234567890" (the RFC 4226 key).
constexpr char kSecret[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

TEST(OtpauthTest, BuildsDefaultUri) {
  EXPECT_EQ(OtpauthUri("Example", "alice@example.com", kSecret, TotpParams()),
            "otpauth://totp/Example:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=Example&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthTest, EscapesIssuerAndAccount) {
  TotpParams p;
  p.algorithm = TotpAlgorithm::kSha256;
  p.digits = 8;
  p.period = 60;
  EXPECT_EQ(OtpauthUri("ACME Co: Mail", "bob smith:x/y?&=", "gezd gnbv-gy3t", p),
            "otpauth://totp/ACME%20Co%3A%20Mail:bob%20smith%3Ax%2Fy%3F%26%3D?secret=GEZDGNBVGY3T"
            "&issuer=ACME%20Co%3A%20Mail&algorithm=SHA256&digits=8&period=60");
  // Unreserved characters are kept; UTF-8 bytes are escaped.
  EXPECT_EQ(OtpauthUri("a-b.c_d~e", "J\xc3\xb6rg", kSecret, TotpParams()).substr(0, 34),
            "otpauth://totp/a-b.c_d~e:J%C3%B6rg");
}

TEST(OtpauthTest, NoIssuer) {
  EXPECT_EQ(
      OtpauthUri("", "alice", kSecret, TotpParams()),
      std::string("otpauth://totp/alice?secret=") + kSecret + "&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthTest, RoundTrips) {
  TotpParams p;
  p.algorithm = TotpAlgorithm::kSha512;
  p.digits = 8;
  p.period = 45;
  const std::string issuer = "ACME Co: Mail & more";
  const std::string account = "bob:smith@example.com";
  const std::string uri = OtpauthUri(issuer, account, kSecret, p);
  Result<ParsedOtpauth> parsed = ParseOtpauthUri(uri);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->issuer, issuer);
  EXPECT_EQ(parsed->account, account);
  EXPECT_EQ(parsed->secret.view(), "12345678901234567890");
  EXPECT_EQ(parsed->params.algorithm, TotpAlgorithm::kSha512);
  EXPECT_EQ(parsed->params.digits, 8);
  EXPECT_EQ(parsed->params.period, 45);
  EXPECT_EQ(Base32Encode(parsed->secret.view()).view(), kSecret);
}

TEST(OtpauthTest, ParsesMinimalAndVariants) {
  Result<ParsedOtpauth> r = ParseOtpauthUri(std::string("otpauth://totp/alice?secret=") + kSecret);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->issuer, "");
  EXPECT_EQ(r->account, "alice");
  EXPECT_EQ(r->params.algorithm, TotpAlgorithm::kSha1);
  EXPECT_EQ(r->params.digits, 6);
  EXPECT_EQ(r->params.period, 30);

  // Issuer only in the label; leading spaces before the account; lower case secret.
  r = ParseOtpauthUri("OTPAUTH://TOTP/Example:%20%20alice?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->issuer, "Example");
  EXPECT_EQ(r->account, "alice");

  // Encoded separator, disambiguated by the issuer parameter.
  r = ParseOtpauthUri(std::string("otpauth://totp/Example%3Aalice?issuer=Example&secret=") +
                      kSecret);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->issuer, "Example");
  EXPECT_EQ(r->account, "alice");

  // Padding in the secret, percent-encoded or not.
  r = ParseOtpauthUri(
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE%3D%3D%3D%3D%3D%3D");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->secret.view(), "123456789012345678901");
}

TEST(OtpauthTest, Rejects) {
  const char* kBad[] = {
      "",
      "otpauth:/totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "http://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://hotp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1",
      "otpauth://totp?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/a",
      "otpauth://totp/a?issuer=x",                                           // no secret
      "otpauth://totp/a?secret=",                                            // empty secret
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ",                            // 80 bits
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",            // bad base32
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&secret=GE",  // twice
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&image=x",    // unknown
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&",           // empty param
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=7a",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=10",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=-6",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=0",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=MD5",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ#frag",
      "otpauth://totp/A:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=B",  // mismatch
      "otpauth://totp/:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/A:?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/A:b:c?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/A/b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/a%2?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/a%0A?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=",
  };
  for (const char* uri : kBad) {
    Result<ParsedOtpauth> r = ParseOtpauthUri(uri);
    EXPECT_FALSE(r.ok()) << uri;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << uri;
      EXPECT_EQ(r.status().message().find("GEZDGNBV"), std::string::npos)
          << "message echoes the secret: " << r.status().message();
    }
  }
}

TEST(OtpauthTest, BadSecretMessageNamesCharacterNotSecret) {
  Result<ParsedOtpauth> r =
      ParseOtpauthUri("otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'1' at position 32"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace sesame
