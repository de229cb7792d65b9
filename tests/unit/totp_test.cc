#include "core/crypto/totp.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "core/base/base32.h"
#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

const SecretBuffer& Sha1Seed() {
  static const SecretBuffer* seed = new SecretBuffer("12345678901234567890");
  return *seed;
}

TotpParams Params(TotpAlgorithm algorithm, int digits, int period = 30, int window = 1) {
  TotpParams p;
  p.algorithm = algorithm;
  p.digits = digits;
  p.period = period;
  p.window = window;
  return p;
}

// RFC 4226 appendix D.
TEST(HotpTest, Rfc4226Vectors) {
  const char* kExpected[] = {"755224", "287082", "359152", "969429", "338314",
                             "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(Hotp(Sha1Seed(), counter, TotpAlgorithm::kSha1, 6), kExpected[counter])
        << "counter " << counter;
  }
}

TEST(HotpTest, ZeroPadsAndRefusesBadInput) {
  // RFC 6238 SHA1 at 1111111109 is 07081804: the leading zero is kept.
  EXPECT_EQ(Hotp(Sha1Seed(), 1111111109 / 30, TotpAlgorithm::kSha1, 8), "07081804");
  EXPECT_EQ(Hotp(SecretBuffer(), 0, TotpAlgorithm::kSha1, 6), "");
  EXPECT_EQ(Hotp(Sha1Seed(), 0, TotpAlgorithm::kSha1, 5), "");
  EXPECT_EQ(Hotp(Sha1Seed(), 0, TotpAlgorithm::kSha1, 9), "");
}

// RFC 6238 appendix B (each value also checked against oathtool).
TEST(TotpTest, Rfc6238Vectors) {
  struct Row {
    int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  constexpr Row kRows[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  const SecretBuffer seed256("12345678901234567890123456789012");
  const SecretBuffer seed512("1234567890123456789012345678901234567890123456789012345678901234");
  for (const Row& row : kRows) {
    EXPECT_EQ(TotpAt(Sha1Seed(), row.time, Params(TotpAlgorithm::kSha1, 8)), row.sha1) << row.time;
    EXPECT_EQ(TotpAt(seed256, row.time, Params(TotpAlgorithm::kSha256, 8)), row.sha256) << row.time;
    EXPECT_EQ(TotpAt(seed512, row.time, Params(TotpAlgorithm::kSha512, 8)), row.sha512) << row.time;
  }
}

TEST(TotpTest, InvalidParamsGiveNoCode) {
  EXPECT_EQ(TotpAt(Sha1Seed(), 59, Params(TotpAlgorithm::kSha1, 6, 0)), "");
  EXPECT_EQ(TotpAt(Sha1Seed(), 59, Params(TotpAlgorithm::kSha1, 10)), "");
  EXPECT_EQ(TotpAt(Sha1Seed(), -1, Params(TotpAlgorithm::kSha1, 6)), "");
  EXPECT_FALSE(ValidateTotpParams(Params(TotpAlgorithm::kSha1, 6, 30, -1)).ok());
  EXPECT_FALSE(ValidateTotpParams(Params(TotpAlgorithm::kSha1, 6, 30, kTotpMaxWindow + 1)).ok());
  EXPECT_TRUE(ValidateTotpParams(TotpParams()).ok());
}

TEST(TotpTest, AlgorithmNames) {
  for (TotpAlgorithm a : {TotpAlgorithm::kSha1, TotpAlgorithm::kSha256, TotpAlgorithm::kSha512}) {
    Result<TotpAlgorithm> parsed = ParseTotpAlgorithm(TotpAlgorithmName(a));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_TRUE(ParseTotpAlgorithm("sha256").ok());
  EXPECT_FALSE(ParseTotpAlgorithm("MD5").ok());
  EXPECT_FALSE(ParseTotpAlgorithm("").ok());
}

TEST(TotpTest, StepIsFloor) {
  EXPECT_EQ(TotpStep(0, 30), 0);
  EXPECT_EQ(TotpStep(29, 30), 0);
  EXPECT_EQ(TotpStep(30, 30), 1);
  EXPECT_EQ(TotpStep(-1, 30), -1);
}

constexpr int64_t kNow = 1700000015;  // inside step 56666667

TEST(TotpVerifyTest, AcceptsWindowEdgesAndReturnsStep) {
  const TotpParams p;  // SHA1, 6 digits, 30 s, window 1
  const int64_t now_step = TotpStep(kNow, 30);
  for (int delta : {-1, 0, 1}) {
    const std::string code = TotpAt(Sha1Seed(), kNow + delta * 30, p);
    TotpMatch m = VerifyTotp(Sha1Seed(), code, kNow, p, -1);
    EXPECT_TRUE(m.ok) << "delta " << delta;
    EXPECT_EQ(m.step, now_step + delta);
  }
}

TEST(TotpVerifyTest, RefusesOutsideWindow) {
  const TotpParams p;
  for (int delta : {-2, 2, -3, 3}) {
    const std::string code = TotpAt(Sha1Seed(), kNow + delta * 30, p);
    EXPECT_FALSE(VerifyTotp(Sha1Seed(), code, kNow, p, -1).ok) << "delta " << delta;
  }
  // Window 0: only the current step.
  const TotpParams strict = Params(TotpAlgorithm::kSha1, 6, 30, 0);
  EXPECT_TRUE(VerifyTotp(Sha1Seed(), TotpAt(Sha1Seed(), kNow, strict), kNow, strict, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), TotpAt(Sha1Seed(), kNow - 30, strict), kNow, strict, -1).ok);
  // Window 2 accepts ±2.
  const TotpParams wide = Params(TotpAlgorithm::kSha1, 6, 30, 2);
  EXPECT_TRUE(VerifyTotp(Sha1Seed(), TotpAt(Sha1Seed(), kNow - 60, wide), kNow, wide, -1).ok);
  EXPECT_TRUE(VerifyTotp(Sha1Seed(), TotpAt(Sha1Seed(), kNow + 60, wide), kNow, wide, -1).ok);
}

TEST(TotpVerifyTest, RefusesReplayAndOlderSteps) {
  const TotpParams p;
  const std::string code = TotpAt(Sha1Seed(), kNow, p);
  TotpMatch first = VerifyTotp(Sha1Seed(), code, kNow, p, -1);
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code, kNow, p, first.step).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code, kNow + 10, p, first.step).ok);
  // The previous step's code is refused once the current step was used.
  const std::string older = TotpAt(Sha1Seed(), kNow - 30, p);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), older, kNow, p, first.step).ok);
  // The next step's code is still fine.
  const std::string next = TotpAt(Sha1Seed(), kNow + 30, p);
  TotpMatch later = VerifyTotp(Sha1Seed(), next, kNow + 30, p, first.step);
  EXPECT_TRUE(later.ok);
  EXPECT_EQ(later.step, first.step + 1);
}

TEST(TotpVerifyTest, CodeFormat) {
  const TotpParams p;
  const std::string code = TotpAt(Sha1Seed(), kNow, p);
  ASSERT_EQ(code.size(), 6u);
  const std::string spaced = code.substr(0, 3) + " " + code.substr(3);
  EXPECT_TRUE(VerifyTotp(Sha1Seed(), spaced, kNow, p, -1).ok);
  EXPECT_TRUE(VerifyTotp(Sha1Seed(), " " + code + " ", kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code.substr(0, 5), kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code + "0", kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), "0" + code, kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code.substr(0, 3) + "-" + code.substr(3), kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code.substr(0, 5) + "a", kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), "", kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), "      ", kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), std::string(code.data(), 5) + '\0', kNow, p, -1).ok);
  // Wrong key, empty key, bad params.
  EXPECT_FALSE(VerifyTotp(SecretBuffer("another key of twenty"), code, kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(SecretBuffer(), code, kNow, p, -1).ok);
  EXPECT_FALSE(VerifyTotp(Sha1Seed(), code, kNow, Params(TotpAlgorithm::kSha1, 6, 0), -1).ok);
}

TEST(TotpVerifyTest, EightDigitsAndOtherAlgorithms) {
  const SecretBuffer seed512("1234567890123456789012345678901234567890123456789012345678901234");
  const TotpParams p = Params(TotpAlgorithm::kSha512, 8);
  TotpMatch m = VerifyTotp(seed512, "9069 3936", 59, p, -1);  // RFC 6238 vector
  EXPECT_TRUE(m.ok);
  EXPECT_EQ(m.step, 1);
  EXPECT_FALSE(VerifyTotp(seed512, "906939", 59, p, -1).ok);
}

TEST(TotpVerifyTest, NearEpochSkipsNegativeSteps) {
  const TotpParams p;
  TotpMatch m = VerifyTotp(Sha1Seed(), "755224", 5, p, -1);  // HOTP counter 0
  EXPECT_TRUE(m.ok);
  EXPECT_EQ(m.step, 0);
}

TEST(TotpSecretTest, NewSecretIs160Bits) {
  testing::FakeRandom random(7);
  Result<SecretBuffer> a = NewTotpSecret(random);
  Result<SecretBuffer> b = NewTotpSecret(random);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 20u);
  EXPECT_FALSE(ConstantTimeEquals(a->view(), b->view()));
}

class FailingRandom final : public Random {
 public:
  Status Fill(uint8_t*, size_t) override { return Status(Code::kUnavailable, "no entropy"); }
};

TEST(TotpSecretTest, RandomFailureIsAnError) {
  FailingRandom random;
  Result<SecretBuffer> r = NewTotpSecret(random);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

// Runs a command, returns its stdout without the trailing newline.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 128> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  if (pclose(pipe) != 0) return "exit-failure:" + out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Independent checker: oathtool (Debian package oathtool) must agree with us.
// The secret goes on oathtool's argv, which is acceptable in a test only.
TEST(TotpOathtoolTest, AgreesWithOathtool) {
  if (RunCommand("command -v oathtool >/dev/null 2>&1 && echo yes") != "yes") {
    GTEST_SKIP() << "oathtool is not installed";
  }
  SystemRandom random;
  const struct {
    TotpAlgorithm algorithm;
    const char* flag;
  } kAlgorithms[] = {{TotpAlgorithm::kSha1, "SHA1"},
                     {TotpAlgorithm::kSha256, "SHA256"},
                     {TotpAlgorithm::kSha512, "SHA512"}};
  const int64_t kTimes[] = {0, 59, 1111111109, 1700000000, 4102444800};
  for (int i = 0; i < 20; ++i) {
    Result<SecretBuffer> secret = NewTotpSecret(random);
    ASSERT_TRUE(secret.ok());
    const SecretBuffer b32 = Base32Encode(secret->view());
    const int64_t time = kTimes[i % 5] + i * 7;
    for (const auto& alg : kAlgorithms) {
      for (int digits : {6, 8}) {
        const std::string command = std::string("oathtool --totp=") + alg.flag +
                                    " --digits=" + std::to_string(digits) + " -N @" +
                                    std::to_string(time) + " -b " + std::string(b32.view());
        EXPECT_EQ(TotpAt(*secret, time, Params(alg.algorithm, digits)), RunCommand(command))
            << alg.flag << " digits " << digits << " time " << time;
      }
    }
  }
}

}  // namespace
}  // namespace sesame
