#include "core/crypto/recovery_codes.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/crypto/secret_box.h"
#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

using sesame::testing::FakeRandom;

// Bytes 0, 1, 2, ... 255, 0, 1, ...: every byte value equally often.
class CountingRandom final : public Random {
 public:
  Status Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = next_++;
    return Status::Ok();
  }

 private:
  uint8_t next_ = 0;
};

class ConstantRandom final : public Random {
 public:
  Status Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = 7;
    return Status::Ok();
  }
};

class FailingRandom final : public Random {
 public:
  Status Fill(uint8_t*, size_t) override { return Status(Code::kUnavailable, "no entropy"); }
};

bool IsWellFormed(std::string_view code) {
  if (code.size() != 11 || code[5] != '-') return false;
  for (size_t i = 0; i < code.size(); ++i) {
    if (i == 5) continue;
    if (kRecoveryCodeAlphabet.find(code[i]) == std::string_view::npos) return false;
  }
  return true;
}

SecretBuffer Pepper() {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(i));
  Result<SecretBuffer> pepper = DeriveSubkey(SecretBuffer(k), kRecoveryCodePurpose);
  EXPECT_TRUE(pepper.ok());
  return pepper.ok() ? std::move(*pepper) : SecretBuffer();
}

TEST(RecoveryCodeTest, AlphabetIs32UnambiguousLowercaseSymbols) {
  ASSERT_EQ(kRecoveryCodeAlphabet.size(), 32u);
  EXPECT_EQ(256 % kRecoveryCodeAlphabet.size(), 0u);  // byte & 31 has no bias
  std::set<char> symbols(kRecoveryCodeAlphabet.begin(), kRecoveryCodeAlphabet.end());
  EXPECT_EQ(symbols.size(), 32u);
  for (char c : kRecoveryCodeAlphabet) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) << c;
  }
  for (char c : std::string("ilou")) EXPECT_EQ(symbols.count(c), 0u) << c;
}

TEST(RecoveryCodeTest, CountAndFormat) {
  SystemRandom random;
  Result<std::vector<SecretBuffer>> codes = NewRecoveryCodes(random, 10);
  ASSERT_TRUE(codes.ok()) << codes.status().message();
  ASSERT_EQ(codes->size(), 10u);
  for (const SecretBuffer& code : *codes) {
    EXPECT_TRUE(IsWellFormed(code.view())) << code.view();
    std::string normalized(NormalizeRecoveryCode(code.view()).view());
    EXPECT_EQ(normalized.size(), 10u);
    EXPECT_EQ(normalized,
              std::string(code.view().substr(0, 5)) + std::string(code.view().substr(6)));
  }
}

TEST(RecoveryCodeTest, UniqueOver1000) {
  SystemRandom random;
  Result<std::vector<SecretBuffer>> codes = NewRecoveryCodes(random, 1000);
  ASSERT_TRUE(codes.ok()) << codes.status().message();
  ASSERT_EQ(codes->size(), 1000u);
  std::set<std::string> seen;
  for (const SecretBuffer& code : *codes) {
    EXPECT_TRUE(IsWellFormed(code.view()));
    seen.insert(std::string(code.view()));
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RecoveryCodeTest, CountOutOfRange) {
  SystemRandom random;
  EXPECT_EQ(NewRecoveryCodes(random, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewRecoveryCodes(random, -1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewRecoveryCodes(random, kMaxRecoveryCodes + 1).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(NewRecoveryCodes(random, 1).ok());
}

TEST(RecoveryCodeTest, RandomFailureAndRepeatsAreErrors) {
  FailingRandom failing;
  EXPECT_EQ(NewRecoveryCodes(failing, 10).status().code(), Code::kUnavailable);
  ConstantRandom constant;
  EXPECT_EQ(NewRecoveryCodes(constant, 2).status().code(), Code::kInternal);
  EXPECT_TRUE(NewRecoveryCodes(constant, 1).ok());
}

// Each byte maps to alphabet[byte & 31]: feeding every byte value equally
// often gives every symbol exactly equally often (no modulo bias).
TEST(RecoveryCodeTest, SymbolsAreUnbiased) {
  CountingRandom random;
  // 256 codes x 10 bytes = 2560 bytes = 10 full cycles of 0..255. One code
  // per call: this source repeats codes, which one batch would refuse.
  std::vector<SecretBuffer> codes;
  for (int i = 0; i < 256; ++i) {
    Result<std::vector<SecretBuffer>> one = NewRecoveryCodes(random, 1);
    ASSERT_TRUE(one.ok()) << one.status().message();
    codes.push_back(std::move((*one)[0]));
  }
  std::map<char, int> counts;
  for (const SecretBuffer& code : codes)
    for (char c : code.view())
      if (c != '-') ++counts[c];
  ASSERT_EQ(counts.size(), 32u);
  for (const auto& [symbol, count] : counts) EXPECT_EQ(count, 2560 / 32) << symbol;
  // The very first code: bytes 0..9.
  EXPECT_EQ(codes[0].view(), "01234-56789");
}

TEST(RecoveryCodeTest, SymbolsUseLowFiveBits) {
  FakeRandom a(3);
  Result<std::vector<SecretBuffer>> codes = NewRecoveryCodes(a, 1);
  ASSERT_TRUE(codes.ok());
  FakeRandom b(3);
  uint8_t bytes[10];
  ASSERT_TRUE(b.Fill(bytes, sizeof(bytes)).ok());
  std::string expected;
  for (int i = 0; i < 10; ++i) {
    if (i == 5) expected.push_back('-');
    expected.push_back(kRecoveryCodeAlphabet[bytes[i] & 31]);
  }
  EXPECT_EQ((*codes)[0].view(), expected);
}

TEST(RecoveryCodeTest, NormalizeAcceptsSpacesDashesAndCase) {
  EXPECT_EQ(NormalizeRecoveryCode("abcde-fghjk").view(), "abcdefghjk");
  EXPECT_EQ(NormalizeRecoveryCode("abcdefghjk").view(), "abcdefghjk");
  EXPECT_EQ(NormalizeRecoveryCode("ABCDE-FGHJK").view(), "abcdefghjk");
  EXPECT_EQ(NormalizeRecoveryCode("  abcde fghjk ").view(), "abcdefghjk");
  EXPECT_EQ(NormalizeRecoveryCode("a-b-c-d-e-f-g-h-j-k").view(), "abcdefghjk");
  EXPECT_EQ(NormalizeRecoveryCode("AbCdE--fGhJk").view(), "abcdefghjk");
  EXPECT_EQ(NormalizeRecoveryCode("01234-56789").view(), "0123456789");
}

TEST(RecoveryCodeTest, NormalizeReadsLookalikes) {
  EXPECT_EQ(NormalizeRecoveryCode("o1234-56789").view(), "0123456789");
  EXPECT_EQ(NormalizeRecoveryCode("O0000-00000").view(), "0000000000");
  EXPECT_EQ(NormalizeRecoveryCode("i1111-L1111").view(), "1111111111");
  EXPECT_EQ(NormalizeRecoveryCode("l1111-I1111").view(), "1111111111");
}

TEST(RecoveryCodeTest, NormalizeRejectsInvalid) {
  for (const char* bad :
       {"", "-", "     ", "abcde-fghj", "abcde-fghjkm", "abcde-fghjk0", "abcde_fghjk",
        "abcde.fghjk", "abcde-fghju", "abcdeufghj", "abcde\tfghjk", "abcde\nfghjk", "abcde-fgh!k",
        "\xc3\xa9"
        "bcde-fghjk"}) {
    EXPECT_EQ(NormalizeRecoveryCode(bad).view(), "") << bad;
  }
  EXPECT_EQ(NormalizeRecoveryCode(std::string("abcde\0fghjk", 11)).view(), "");
  EXPECT_EQ(NormalizeRecoveryCode(std::string(1000, 'a')).view(), "");
  EXPECT_EQ(NormalizeRecoveryCode("abcde" + std::string(100, ' ') + "fghjk").view(), "");
}

TEST(RecoveryCodeTest, DigestIsStableHexAndPinned) {
  SecretBuffer pepper = Pepper();
  std::string digest = RecoveryCodeDigest(pepper, "0123456789");
  // HMAC-SHA256 computed independently with python3 cryptography.
  EXPECT_EQ(digest, "6364b3059c9f9bf23231d890c01d5284fcdd36247660824ea36cc5e355352dd9");
  EXPECT_EQ(RecoveryCodeDigest(pepper, "0123456789"), digest);
  EXPECT_EQ(RecoveryCodeDigest(pepper, NormalizeRecoveryCode("O1234 56789").view()), digest);
}

TEST(RecoveryCodeTest, DigestDependsOnPepperAndCode) {
  SecretBuffer pepper = Pepper();
  SecretBuffer other(std::string(32, 'p'));
  std::string digest = RecoveryCodeDigest(pepper, "abcdefghjk");
  EXPECT_EQ(digest.size(), 64u);
  EXPECT_NE(RecoveryCodeDigest(other, "abcdefghjk"), digest);
  EXPECT_NE(RecoveryCodeDigest(pepper, "abcdefghjm"), digest);
  EXPECT_EQ(RecoveryCodeDigest(pepper, ""), "");
  EXPECT_EQ(RecoveryCodeDigest(SecretBuffer(), "abcdefghjk"), "");
}

TEST(RecoveryCodeTest, EveryNewCodeDigestsToItsTypedForm) {
  SystemRandom random;
  SecretBuffer pepper = Pepper();
  Result<std::vector<SecretBuffer>> codes = NewRecoveryCodes(random, 10);
  ASSERT_TRUE(codes.ok());
  std::set<std::string> digests;
  for (const SecretBuffer& code : *codes) {
    std::string shown(code.view());
    std::string typed;
    for (char c : shown) typed.push_back(c == '-' ? ' ' : static_cast<char>(toupper(c)));
    std::string digest = RecoveryCodeDigest(pepper, NormalizeRecoveryCode(typed).view());
    EXPECT_EQ(digest, RecoveryCodeDigest(pepper, NormalizeRecoveryCode(shown).view()));
    digests.insert(digest);
  }
  EXPECT_EQ(digests.size(), 10u);
}

}  // namespace
}  // namespace sesame
