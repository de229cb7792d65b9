#include "core/crypto/secret_box.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <set>
#include <string>
#include <vector>

#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

using sesame::testing::FakeRandom;

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(kHex[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kHex[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

// Unpadded standard base64 through OpenSSL, independent of the code under test.
std::string B64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string UnB64(std::string text) {
  size_t pad = (4 - text.size() % 4) % 4;
  text.append(pad, '=');
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  EXPECT_GE(n, 0);
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

SecretBuffer KeyFrom(uint8_t first) {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(first + i));
  return SecretBuffer(k);
}

const SecretBuffer& HostKey() {
  static const SecretBuffer* key = new SecretBuffer(KeyFrom(0));  // 00 01 .. 1f
  return *key;
}

// ---- HKDF: RFC 5869 appendix A ----

TEST(HkdfTest, Rfc5869TestCase1) {
  SecretBuffer ikm(std::string(22, '\x0b'));
  Result<SecretBuffer> okm =
      HkdfSha256(ikm, Unhex("000102030405060708090a0b0c"), Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status().message();
  EXPECT_EQ(Hex(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// Zero-length salt and info: the path DeriveSubkey takes (no salt).
TEST(HkdfTest, Rfc5869TestCase3) {
  SecretBuffer ikm(std::string(22, '\x0b'));
  Result<SecretBuffer> okm = HkdfSha256(ikm, "", "", 42);
  ASSERT_TRUE(okm.ok()) << okm.status().message();
  EXPECT_EQ(Hex(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// RFC 4231 test case 2.
TEST(HmacSha256HexTest, Rfc4231TestCase2AndTruncation) {
  const SecretBuffer key("Jefe");
  EXPECT_EQ(HmacSha256Hex(key, "what do ya want for nothing?", 32),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex(key, "what do ya want for nothing?", 16),
            "5bdcc146bf60754e6a042426089575c7");
  EXPECT_EQ(HmacSha256Hex(SecretBuffer(), "x", 32), "");
  EXPECT_EQ(HmacSha256Hex(key, "x", 0), "");
  EXPECT_EQ(HmacSha256Hex(key, "x", 33), "");
}

TEST(HkdfTest, RejectsBadArguments) {
  SecretBuffer ikm(std::string(22, '\x0b'));
  EXPECT_EQ(HkdfSha256(SecretBuffer(), "", "x", 32).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, "", "x", 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, "", "x", 255 * 32 + 1).status().code(), Code::kInvalidArgument);
}

// Pinned values (computed independently with python3 cryptography's HKDF):
// changing them would make every stored secret and digest unreadable.
TEST(HkdfTest, SubkeysArePinnedAndDistinct) {
  struct {
    std::string_view purpose;
    const char* hex;
  } cases[] = {
      {kTotpSecretPurpose, "d9574819634346bda1750fc39d8db972d37108b60bbf282ebf62c730176c8e35"},
      {kAppPasswordPurpose, "393517b97b08bbafbfd4f564c8c8961211627f5a41d7b9ccc4721aeaadf7e069"},
      {kRecoveryCodePurpose, "0cff048fc6cca04694f7db8e27d3bc211137d2b6946110420afec7417742e108"},
  };
  for (const auto& c : cases) {
    Result<SecretBuffer> subkey = DeriveSubkey(HostKey(), c.purpose);
    ASSERT_TRUE(subkey.ok()) << subkey.status().message();
    EXPECT_EQ(subkey->size(), kSubkeyBytes);
    EXPECT_EQ(Hex(subkey->view()), c.hex) << c.purpose;
  }
  Result<SecretBuffer> other = DeriveSubkey(KeyFrom(1), kTotpSecretPurpose);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(Hex(other->view()), cases[0].hex);
}

TEST(HkdfTest, DeriveSubkeyRejectsBadHostKey) {
  EXPECT_EQ(DeriveSubkey(SecretBuffer(std::string(31, 'k')), kTotpSecretPurpose).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(DeriveSubkey(SecretBuffer(), kTotpSecretPurpose).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(DeriveSubkey(HostKey(), "").status().code(), Code::kInvalidArgument);
}

// ---- AES-256-GCM: test cases from McGrew & Viega, "The Galois/Counter Mode
// of Operation" (values cross-checked with python3 cryptography's AESGCM) ----

TEST(AesGcmTest, GcmSpecTestCase13EmptyPlaintext) {
  SecretBuffer key(std::string(32, '\0'));
  Result<std::string> out = AesGcmSealRaw(key, std::string(12, '\0'), "", "");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Hex(*out), "530f8afbc74536b9a963b4f1c4cb738b");
  Result<SecretBuffer> back = AesGcmOpenRaw(key, std::string(12, '\0'), *out, "");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(AesGcmTest, GcmSpecTestCase14) {
  SecretBuffer key(std::string(32, '\0'));
  Result<std::string> out = AesGcmSealRaw(key, std::string(12, '\0'), std::string(16, '\0'), "");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Hex(*out), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(AesGcmTest, GcmSpecTestCase16WithAssociatedData) {
  SecretBuffer key(Unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  std::string iv = Unhex("cafebabefacedbaddecaf888");
  std::string plaintext = Unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  std::string aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string expected =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"  // ciphertext
      "76fc6ece0f4e1768cddf8853bb2d551b";                         // tag
  Result<std::string> out = AesGcmSealRaw(key, iv, plaintext, aad);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Hex(*out), expected);

  Result<SecretBuffer> back = AesGcmOpenRaw(key, iv, Unhex(expected), aad);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->view(), plaintext);
  std::string bad_tag = Unhex(expected);
  bad_tag.back() ^= 1;
  EXPECT_EQ(AesGcmOpenRaw(key, iv, bad_tag, aad).status().code(), Code::kCorrupt);
}

TEST(AesGcmTest, RejectsBadKeyAndNonceLengths) {
  SecretBuffer short_key(std::string(16, 'k'));
  EXPECT_EQ(AesGcmSealRaw(short_key, std::string(12, 'n'), "p", "").status().code(),
            Code::kInvalidArgument);
  SecretBuffer key(std::string(32, 'k'));
  EXPECT_EQ(AesGcmSealRaw(key, std::string(16, 'n'), "p", "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(AesGcmOpenRaw(key, std::string(8, 'n'), std::string(20, 'c'), "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(AesGcmOpenRaw(key, std::string(12, 'n'), std::string(15, 'c'), "").status().code(),
            Code::kCorrupt);
}

// ---- Seal / Open ----

const SecretBuffer& TotpSecret() {
  static const SecretBuffer* secret = new SecretBuffer("12345678901234567890");
  return *secret;
}

std::string SealOrDie(std::string_view aad, Random& random) {
  Result<std::string> sealed = Seal(HostKey(), TotpSecret(), aad, random);
  EXPECT_TRUE(sealed.ok()) << sealed.status().message();
  return sealed.ok() ? *sealed : std::string();
}

void ExpectDoesNotOpen(std::string_view sealed, std::string_view aad = "alice",
                       const SecretBuffer& key = HostKey()) {
  Result<SecretBuffer> opened = Open(key, sealed, aad);
  ASSERT_FALSE(opened.ok()) << "opened: " << sealed;
  EXPECT_EQ(opened.status().code(), Code::kCorrupt) << sealed;
  EXPECT_EQ(opened.status().message(),
            "sealed secret does not open (wrong key file, or the value was moved or altered)");
}

TEST(SecretBoxTest, RoundTrip) {
  SystemRandom random;
  std::string sealed = SealOrDie("alice", random);
  EXPECT_EQ(sealed.substr(0, 3), "v1:");
  EXPECT_EQ(sealed.find(TotpSecret().view()), std::string::npos);
  Result<SecretBuffer> opened = Open(HostKey(), sealed, "alice");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->view(), TotpSecret().view());
}

TEST(SecretBoxTest, RoundTripEmptyAndBinaryPlaintext) {
  SystemRandom random;
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  for (const std::string& text : {std::string(), binary}) {
    Result<std::string> sealed = Seal(HostKey(), SecretBuffer(text), "", random);
    ASSERT_TRUE(sealed.ok()) << sealed.status().message();
    Result<SecretBuffer> opened = Open(HostKey(), *sealed, "");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_EQ(opened->view(), text);
  }
}

// The format is pinned: nonce || AES-256-GCM(subkey) || tag, unpadded base64.
// Expected value computed independently with python3 cryptography.
TEST(SecretBoxTest, FormatIsPinned) {
  FakeRandom random(42);
  std::string sealed = SealOrDie("alice", random);
  EXPECT_EQ(sealed, "v1:kTlpoa4GBSd5BluHNtVJUw8iZ0YnWyYzV77z6tf+mRUf4/nW/M4OtV0+PEYGMqxG");

  FakeRandom same(42);
  uint8_t nonce[kGcmNonceBytes];
  ASSERT_TRUE(same.Fill(nonce, sizeof(nonce)).ok());
  std::string nonce_bytes(reinterpret_cast<const char*>(nonce), sizeof(nonce));
  Result<SecretBuffer> subkey = DeriveSubkey(HostKey(), kTotpSecretPurpose);
  ASSERT_TRUE(subkey.ok());
  Result<std::string> raw = AesGcmSealRaw(*subkey, nonce_bytes, TotpSecret().view(), "alice");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(sealed, "v1:" + B64(nonce_bytes + *raw));
}

TEST(SecretBoxTest, FreshNonceEachTime) {
  SystemRandom random;
  std::set<std::string> sealed_values;
  std::set<std::string> nonces;
  for (int i = 0; i < 50; ++i) {
    std::string sealed = SealOrDie("alice", random);
    sealed_values.insert(sealed);
    nonces.insert(UnB64(sealed.substr(3)).substr(0, kGcmNonceBytes));
  }
  EXPECT_EQ(sealed_values.size(), 50u);
  EXPECT_EQ(nonces.size(), 50u);
}

TEST(SecretBoxTest, WrongKeyDoesNotOpen) {
  SystemRandom random;
  std::string sealed = SealOrDie("alice", random);
  ExpectDoesNotOpen(sealed, "alice", KeyFrom(1));
}

TEST(SecretBoxTest, OtherUsersRowDoesNotOpen) {
  SystemRandom random;
  std::string sealed = SealOrDie("alice", random);
  ExpectDoesNotOpen(sealed, "bob");
  ExpectDoesNotOpen(sealed, "");
  ExpectDoesNotOpen(sealed, "alice ");
}

TEST(SecretBoxTest, AnyFlippedBitDoesNotOpen) {
  SystemRandom random;
  std::string sealed = SealOrDie("alice", random);
  std::string payload = UnB64(sealed.substr(3));
  ASSERT_EQ(payload.size(), kGcmNonceBytes + TotpSecret().size() + kGcmTagBytes);
  ASSERT_EQ("v1:" + B64(payload), sealed);
  // Every bit of nonce, ciphertext and tag.
  for (size_t byte = 0; byte < payload.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = payload;
      altered[byte] = static_cast<char>(altered[byte] ^ (1 << bit));
      ExpectDoesNotOpen("v1:" + B64(altered));
    }
  }
}

TEST(SecretBoxTest, TruncatedOrExtendedDoesNotOpen) {
  SystemRandom random;
  std::string sealed = SealOrDie("alice", random);
  for (size_t n = 0; n < sealed.size(); ++n) ExpectDoesNotOpen(sealed.substr(0, n));
  std::string payload = UnB64(sealed.substr(3));
  for (size_t n = 0; n < payload.size(); ++n) ExpectDoesNotOpen("v1:" + B64(payload.substr(0, n)));
  ExpectDoesNotOpen(sealed + "A");
  ExpectDoesNotOpen(sealed + "AA");
  ExpectDoesNotOpen("v1:" + B64(payload + std::string(1, '\0')));
}

TEST(SecretBoxTest, MalformedDoesNotOpen) {
  SystemRandom random;
  std::string sealed = SealOrDie("alice", random);
  std::string body = sealed.substr(3);
  ExpectDoesNotOpen("");
  ExpectDoesNotOpen("v1:");
  ExpectDoesNotOpen("v1");
  ExpectDoesNotOpen("garbage");
  ExpectDoesNotOpen("v2:" + body);
  ExpectDoesNotOpen("V1:" + body);
  ExpectDoesNotOpen(" v1:" + body);
  ExpectDoesNotOpen(body);
  ExpectDoesNotOpen("v1:" + body + "=");
  ExpectDoesNotOpen("v1:" + body + "==");
  ExpectDoesNotOpen("v1:" + body.substr(0, 10) + " " + body.substr(10));
  ExpectDoesNotOpen("v1:" + body.substr(0, 10) + "\n" + body.substr(10));
  ExpectDoesNotOpen("v1:" + body.substr(0, 10) + std::string(1, '\0') + body.substr(11));
  ExpectDoesNotOpen("v1:" + body.substr(0, 10) + "-" + body.substr(11));
  ExpectDoesNotOpen("v1:" + std::string(100000, 'A'));
  ExpectDoesNotOpen(std::string(3, '\xff') + body);
}

// Random junk after the prefix, any length: kCorrupt, never a crash.
TEST(SecretBoxTest, RandomInputsDoNotOpen) {
  FakeRandom random(7);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  for (int i = 0; i < 2000; ++i) {
    uint8_t len_byte = 0;
    ASSERT_TRUE(random.Fill(&len_byte, 1).ok());
    std::string text = i % 2 == 0 ? "v1:" : "";
    for (int j = 0; j < len_byte; ++j) {
      uint8_t b = 0;
      ASSERT_TRUE(random.Fill(&b, 1).ok());
      text.push_back(i % 4 < 2 ? alphabet[b % alphabet.size()] : static_cast<char>(b));
    }
    ExpectDoesNotOpen(text);
  }
}

TEST(SecretBoxTest, RejectsBadHostKeyAndOversizedSecret) {
  SystemRandom random;
  SecretBuffer short_key(std::string(16, 'k'));
  EXPECT_EQ(Seal(short_key, TotpSecret(), "alice", random).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Open(short_key, "v1:AAAA", "alice").status().code(), Code::kInvalidArgument);
  SecretBuffer big(std::string(kMaxSealedPlaintextBytes + 1, 's'));
  EXPECT_EQ(Seal(HostKey(), big, "alice", random).status().code(), Code::kInvalidArgument);
  SecretBuffer largest(std::string(kMaxSealedPlaintextBytes, 's'));
  Result<std::string> sealed = Seal(HostKey(), largest, "alice", random);
  ASSERT_TRUE(sealed.ok());
  Result<SecretBuffer> opened = Open(HostKey(), *sealed, "alice");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->view(), largest.view());
}

class FailingRandom final : public Random {
 public:
  Status Fill(uint8_t*, size_t) override { return Status(Code::kUnavailable, "no entropy"); }
};

TEST(SecretBoxTest, RandomFailureIsReported) {
  FailingRandom random;
  Result<std::string> sealed = Seal(HostKey(), TotpSecret(), "alice", random);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace sesame
