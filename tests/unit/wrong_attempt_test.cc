// Wrong-attempt digests: keyed, framed, 32 lower-case hex characters.
#include "core/crypto/wrong_attempt.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/base/secret.h"
#include "core/store/store.h"

namespace sesame {
namespace {

SecretBuffer KeyOf(unsigned char first) {
  SecretBuffer key;
  for (unsigned char i = 0; i < 32; ++i) {
    const char c = static_cast<char>(first + i);
    key.Append(&c, 1);
  }
  return key;
}

// Computed outside this code base, with Python's hmac and hashlib:
// okm = HKDF-SHA256(ikm = bytes 0..31, no salt, info = "sesame wrong-attempt v1", 32);
// HMAC-SHA256(okm, kind || len(user) as 8 bytes little-endian || user ||
// [code: time step as 8 bytes little-endian, signed] || secret)[:16].
TEST(WrongAttemptTest, MatchesAnIndependentComputation) {
  const SecretBuffer key = KeyOf(0);
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", "hunter2"),
            "adebf7a704dd7f37eb2056e925c7c519");
  // A password's digest has no time step, whatever step is passed.
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", "hunter2", 56666666),
            "adebf7a704dd7f37eb2056e925c7c519");
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", 0),
            "fefa238f6edf814146bbd06fa1188d1d");
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", 56666666),
            "d63690ed31e6bf8d3ae34e94a5db094e");
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", -1),
            "9eaebbb517208cc84d428d17faab841b");
}

// A code's validity changes with time: the same wrong code typed in another
// time step is another attempt (issue: a code that becomes valid later,
// sent again and again, was "not counted again" up to the moment it signed
// in).
TEST(WrongAttemptTest, ACodeTypedInAnotherTimeStepIsAnotherAttempt) {
  const SecretBuffer key = KeyOf(0);
  const std::string now = WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", 100);
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", 100), now);
  EXPECT_NE(WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", 101), now);
  EXPECT_NE(WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "123456", 99), now);
}

TEST(WrongAttemptTest, SameInputSameDigestAnyChangeAnother) {
  const SecretBuffer key = KeyOf(0);
  const SecretBuffer other_key = KeyOf(1);
  const std::string base = WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", "secret");
  ASSERT_EQ(base.size(), kWrongAttemptDigestChars);
  for (char c : base) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << base;
  EXPECT_EQ(WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", "secret"), base);

  std::set<std::string> seen{base};
  for (const std::string& d : {
           WrongAttemptDigest(&other_key, AttemptKind::kPassword, "alice", "secret"),
           WrongAttemptDigest(&key, AttemptKind::kCode, "alice", "secret"),
           WrongAttemptDigest(&key, AttemptKind::kPassword, "bob", "secret"),
           WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", "secret "),
           WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", ""),
           // The fields are framed: moving a byte from the name to the secret
           // is another input.
           WrongAttemptDigest(&key, AttemptKind::kPassword, "alic", "esecret"),
       }) {
    EXPECT_EQ(d.size(), kWrongAttemptDigestChars);
    EXPECT_TRUE(seen.insert(d).second) << "digest repeated: " << d;
  }
  // NUL bytes and non-UTF-8 are bytes like any other.
  const std::string odd("a\0\xff", 3);
  EXPECT_NE(WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", odd),
            WrongAttemptDigest(&key, AttemptKind::kPassword, "alice", "a"));
}

TEST(WrongAttemptTest, NoUsableKeyNoDigest) {
  EXPECT_EQ(WrongAttemptDigest(nullptr, AttemptKind::kPassword, "alice", "x"), "");
  const SecretBuffer short_key("too short");
  EXPECT_EQ(WrongAttemptDigest(&short_key, AttemptKind::kPassword, "alice", "x"), "");
}

}  // namespace
}  // namespace sesame
