#include "core/crypto/password_hash.h"

#include <argon2.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

using testing::FakeRandom;
using testing::RecordingLogger;

struct Vector {
  const char* password;
  const char* salt;
  uint32_t t;
  uint32_t m;
  uint32_t p;
  const char* phc;
};

// argon2id, version 0x13, from phc-winner-argon2 src/test.c.
const Vector kVectors[] = {
    {"password", "somesalt", 2, 65536, 1,
     "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
    {"password", "somesalt", 2, 262144, 1,
     "$argon2id$v=19$m=262144,t=2,p=1$c29tZXNhbHQ$eP4eyR+zqlZX1y5xCFTkw9m5GYx0L5YWwvCFvtlbLow"},
    {"password", "somesalt", 2, 256, 1,
     "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
    {"password", "somesalt", 2, 256, 2,
     "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
    {"password", "somesalt", 1, 65536, 1,
     "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg"},
    {"password", "somesalt", 4, 65536, 1,
     "$argon2id$v=19$m=65536,t=4,p=1$c29tZXNhbHQ$kCXUjmjvc5XMqQedpMTsOv+zyJEf5PhtGiUghW9jFyw"},
    {"differentpassword", "somesalt", 2, 65536, 1,
     "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"},
    {"password", "diffsalt", 2, 65536, 1,
     "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw"},
};

// Small parameters so tests stay fast.
constexpr Argon2Params kFast{1, 1024, 1};

const char kGoodPhc[] =
    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";

TEST(PhcTest, ParsesAndFormatsReferenceVectors) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.phc);
    Result<PhcHash> parsed = ParsePhc(v.phc);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(parsed->params.time_cost, v.t);
    EXPECT_EQ(parsed->params.memory_kib, v.m);
    EXPECT_EQ(parsed->params.parallelism, v.p);
    EXPECT_EQ(parsed->salt, v.salt);
    EXPECT_EQ(parsed->hash.size(), 32u);
    EXPECT_EQ(FormatPhc(*parsed), v.phc);
  }
}

TEST(PasswordHashTest, ReferenceVectorsVerify) {
  NullLogger logger;
  PasswordHasher hasher(Argon2Params{}, nullptr, logger);
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.phc);
    std::string pwd = v.password;
    Result<bool> ok = hasher.Verify(v.phc, pwd);
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_TRUE(*ok);
    if (!*ok) {
      // Tell a wrong table entry from a bug of ours: ask libargon2's own
      // encoder what it makes of the same inputs.
      std::string salt = v.salt;
      char encoded[128];
      ASSERT_EQ(argon2id_hash_encoded(v.t, v.m, v.p, pwd.data(), pwd.size(), salt.data(),
                                      salt.size(), 32, encoded, sizeof encoded),
                ARGON2_OK);
      ADD_FAILURE() << "libargon2 says " << encoded;
    }
    if (v.m <= 256) {  // cheap ones: a wrong password must not match
      Result<bool> bad = hasher.Verify(v.phc, pwd + "x");
      ASSERT_TRUE(bad.ok()) << bad.status().message();
      EXPECT_FALSE(*bad);
    }
  }
}

// Our memory callbacks (heap below 2 MiB, a mapping from 2 MiB) give the
// same result as libargon2's own allocator, on both sides of that line
// (p=2, so 16 KiB is the least memory).
TEST(PasswordHashTest, AgreesWithLibargon2Encoder) {
  NullLogger logger;
  FakeRandom random(99);
  for (uint32_t memory_kib : {16u, 256u, 2047u, 2048u, 4096u}) {
    SCOPED_TRACE("m=" + std::to_string(memory_kib));
    PasswordHasher hasher(Argon2Params{2, memory_kib, 2}, nullptr, logger);
    for (const char* pwd : {"", "password", "p\xc3\xa4ssw\xc3\xb6rd"}) {
      Result<std::string> ours = hasher.Hash(pwd, random);
      ASSERT_TRUE(ours.ok()) << ours.status().message();
      Result<PhcHash> parsed = ParsePhc(*ours);
      ASSERT_TRUE(parsed.ok());
      char encoded[128];
      ASSERT_EQ(argon2id_hash_encoded(2, memory_kib, 2, pwd, std::strlen(pwd), parsed->salt.data(),
                                      parsed->salt.size(), 32, encoded, sizeof encoded),
                ARGON2_OK);
      EXPECT_EQ(*ours, encoded);
    }
  }
}

TEST(PasswordHashTest, WrongPasswordIsFalse) {
  NullLogger logger;
  PasswordHasher hasher(kFast, nullptr, logger);
  for (const char* wrong : {"", "passworD", "password ", "passwor", "Password"}) {
    Result<bool> r = hasher.Verify(kGoodPhc, wrong);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_FALSE(*r) << wrong;
  }
}

// A stored hash that differs from the right one in a single byte (the
// last, a middle one, the first) is refused: the whole digest is compared.
// (A compare of the first byte only was caught by luck before.)
TEST(PasswordHashTest, AHashDifferingInOneByteAnywhereIsRefused) {
  NullLogger logger;
  PasswordHasher hasher(kFast, nullptr, logger);
  FakeRandom random;
  Result<std::string> phc = hasher.Hash("the right one", random);
  ASSERT_TRUE(phc.ok());
  Result<PhcHash> parsed = ParsePhc(phc.value());
  ASSERT_TRUE(parsed.ok());
  ASSERT_GE(parsed->hash.size(), 3u);
  for (size_t at : {parsed->hash.size() - 1, parsed->hash.size() / 2, size_t{0}}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    PhcHash changed = parsed.value();
    changed.hash[at] = static_cast<char>(changed.hash[at] ^ 0x01);
    Result<bool> match = hasher.Verify(FormatPhc(changed), "the right one");
    ASSERT_TRUE(match.ok()) << match.status().message();
    EXPECT_FALSE(match.value());
  }
  EXPECT_TRUE(hasher.Verify(phc.value(), "the right one").value());
}

TEST(PasswordHashTest, HashThenVerifyRoundTrip) {
  NullLogger logger;
  FakeRandom random(7);
  PasswordHasher hasher(kFast, nullptr, logger);
  Result<std::string> h1 = hasher.Hash("correct horse battery staple", random);
  ASSERT_TRUE(h1.ok()) << h1.status().message();
  EXPECT_EQ(h1->rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << *h1;
  Result<PhcHash> parsed = ParsePhc(*h1);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->salt.size(), kArgon2SaltBytes);
  EXPECT_EQ(parsed->hash.size(), kArgon2HashBytes);

  Result<bool> ok = hasher.Verify(*h1, "correct horse battery staple");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
  Result<bool> bad = hasher.Verify(*h1, "correct horse battery stapler");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(*bad);
  EXPECT_FALSE(hasher.NeedsRehash(*h1));

  // A fresh salt each time.
  Result<std::string> h2 = hasher.Hash("correct horse battery staple", random);
  ASSERT_TRUE(h2.ok());
  EXPECT_NE(*h1, *h2);
}

TEST(PasswordHashTest, EmptyAndHugePasswords) {
  NullLogger logger;
  FakeRandom random;
  PasswordHasher hasher(kFast, nullptr, logger);
  for (size_t len : {size_t{0}, size_t{1}, size_t{1024}, size_t{1} << 20}) {
    SCOPED_TRACE(len);
    std::string pwd(len, 'a');
    Result<std::string> h = hasher.Hash(pwd, random);
    ASSERT_TRUE(h.ok()) << h.status().message();
    Result<bool> ok = hasher.Verify(*h, pwd);
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(*ok);
    pwd += 'a';
    Result<bool> bad = hasher.Verify(*h, pwd);
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(*bad);
    EXPECT_TRUE(hasher.DummyVerify(pwd).ok());
  }
  // Embedded NUL bytes are part of the password.
  std::string with_nul("ab\0cd", 5);
  Result<std::string> h = hasher.Hash(with_nul, random);
  ASSERT_TRUE(h.ok());
  Result<bool> truncated = hasher.Verify(*h, "ab");
  ASSERT_TRUE(truncated.ok());
  EXPECT_FALSE(*truncated);
}

TEST(PasswordHashTest, OtherSaltAndHashLengthsVerify) {
  NullLogger logger;
  PasswordHasher hasher(kFast, nullptr, logger);
  for (size_t salt_len : {size_t{8}, size_t{64}}) {
    for (size_t hash_len : {size_t{16}, size_t{64}}) {
      SCOPED_TRACE(std::to_string(salt_len) + "/" + std::to_string(hash_len));
      std::string salt(salt_len, 's');
      std::string out(hash_len, '\0');
      ASSERT_EQ(argon2id_hash_raw(kFast.time_cost, kFast.memory_kib, kFast.parallelism, "pw", 2,
                                  salt.data(), salt.size(), out.data(), out.size()),
                ARGON2_OK);
      PhcHash phc{kFast, salt, out};
      std::string text = FormatPhc(phc);
      Result<bool> ok = hasher.Verify(text, "pw");
      ASSERT_TRUE(ok.ok()) << ok.status().message();
      EXPECT_TRUE(*ok);
      EXPECT_TRUE(hasher.NeedsRehash(text));  // not our standard lengths
    }
  }
}

TEST(PasswordHashTest, VerifyCorruptIsCorruptNotFalse) {
  NullLogger logger;
  PasswordHasher hasher(kFast, nullptr, logger);
  for (const char* bad : {"", "*", "!", "$6$salt$abc",
                          "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"
                          "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"}) {
    Result<bool> r = hasher.Verify(bad, "password");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << bad;
  }
}

TEST(PasswordHashTest, NeedsRehash) {
  NullLogger logger;
  FakeRandom random;
  PasswordHasher hasher(kFast, nullptr, logger);
  Result<std::string> h = hasher.Hash("pw", random);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(hasher.NeedsRehash(*h));

  PhcHash base = *ParsePhc(*h);
  auto with = [&](auto change) {
    PhcHash copy = base;
    change(copy);
    return FormatPhc(copy);
  };
  EXPECT_TRUE(hasher.NeedsRehash(with([](PhcHash& p) { p.params.memory_kib = 2048; })));
  EXPECT_TRUE(hasher.NeedsRehash(with([](PhcHash& p) { p.params.time_cost = 2; })));
  EXPECT_TRUE(hasher.NeedsRehash(with([](PhcHash& p) { p.params.parallelism = 2; })));
  EXPECT_TRUE(hasher.NeedsRehash(with([](PhcHash& p) { p.salt.resize(8); })));
  EXPECT_TRUE(hasher.NeedsRehash(with([](PhcHash& p) { p.hash.resize(16); })));
  EXPECT_FALSE(hasher.NeedsRehash(with([](PhcHash& p) { p.hash.assign(32, 'x'); })));
  EXPECT_TRUE(hasher.NeedsRehash(""));
  EXPECT_TRUE(hasher.NeedsRehash("$6$rounds=5000$salt$hash"));
  EXPECT_TRUE(hasher.NeedsRehash("$argon2i" + h->substr(9)));

  // The reference vectors use other parameters than the defaults.
  PasswordHasher defaults(Argon2Params{}, nullptr, logger);
  EXPECT_TRUE(defaults.NeedsRehash(kVectors[0].phc));
}

TEST(PhcTest, RejectsBadStrings) {
  const std::string salt = "c29tZXNhbHQ";
  const std::string hash = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  auto phc = [&](const std::string& params) {
    return "$argon2id$v=19$" + params + "$" + salt + "$" + hash;
  };
  ASSERT_TRUE(ParsePhc(phc("m=256,t=2,p=1")).ok());

  const std::vector<std::string> bad = {
      "",
      "$",
      "$$",
      "argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash,
      "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + hash,
      "$argon2d$v=19$m=256,t=2,p=1$" + salt + "$" + hash,
      "$argon2ID$v=19$m=256,t=2,p=1$" + salt + "$" + hash,
      "$argon2id",
      "$argon2id$",
      "$argon2id$m=256,t=2,p=1$" + salt + "$" + hash,  // no version
      "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + hash,
      "$argon2id$v=019$m=256,t=2,p=1$" + salt + "$" + hash,
      "$argon2id$v=19,m=256,t=2,p=1$" + salt + "$" + hash,
      phc("t=2,m=256,p=1"),
      phc("m=256,t=2"),
      phc("m=256,t=2,p=1,"),
      phc("m=256,t=2,p=1,keyid=abc"),
      phc("m=256,t=2,p=1,data=abc"),
      phc("m=0256,t=2,p=1"),
      phc("m=256,t=02,p=1"),
      phc("m=+256,t=2,p=1"),
      phc("m=-256,t=2,p=1"),
      phc("m= 256,t=2,p=1"),
      phc("m=,t=2,p=1"),
      phc("m=256,t=2,p="),
      phc("m=256,t=0,p=1"),
      phc("m=256,t=1001,p=1"),
      phc("m=256,t=2,p=0"),
      phc("m=256,t=2,p=65"),
      phc("m=7,t=2,p=1"),
      phc("m=15,t=2,p=2"),
      phc("m=4194305,t=2,p=1"),
      phc("m=4294967296,t=2,p=1"),
      phc("m=99999999999999999999,t=2,p=1"),
      phc("m=256,t=2,p=1 "),
      "$argon2id$v=19$m=256,t=2,p=1$$" + hash,                              // empty salt
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbA$" + hash,                    // 7-byte salt
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$" + hash,                  // padding
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$" + hash,                   // non-zero tail bits
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQx1$" + hash,                 // impossible length
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNh-HQ$" + hash,                   // url-safe alphabet
      "$argon2id$v=19$m=256,t=2,p=1$" + std::string(88, 'A') + "$" + hash,  // 66-byte salt
      "$argon2id$v=19$m=256,t=2,p=1$" + salt,                               // no hash
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$",                         // empty hash
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash.substr(0, 20),    // 15-byte hash
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + std::string(87, 'A') + "A",  // 66 bytes
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash + "=",
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash + "$",
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash + "\n",
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash + " ",
      "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash + "$extra",
      std::string("$argon2id$v=19$m=256,t=2,p=1$") + salt + "$" + hash + std::string(1, '\0'),
      " " + phc("m=256,t=2,p=1"),
      "$1$abcdefgh$abcdefghijklmnopqrstuv",
      "$6$rounds=5000$saltsalt$" + std::string(86, 'a'),
      "$y$j9T$saltsaltsalt$hashhashhash",
  };
  for (const std::string& s : bad) {
    Result<PhcHash> r = ParsePhc(s);
    EXPECT_FALSE(r.ok()) << "accepted: " << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorrupt) << s;
      // The message never echoes the hash.
      EXPECT_EQ(r.status().message().find(hash), std::string::npos) << s;
    }
  }
}

TEST(PhcTest, OtherAlgorithmsSayNotArgon2id) {
  for (const char* s :
       {"$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
        "$argon2d$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
        "$6$saltsalt$hash", "plain", ""}) {
    Result<PhcHash> r = ParsePhc(s);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("not an argon2id hash"), std::string::npos)
        << r.status().message();
  }
}

TEST(PhcTest, AcceptsBoundaryParameters) {
  std::string salt = "c29tZXNhbHQ";
  std::string hash = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  for (const char* params : {"m=8,t=1,p=1", "m=4194304,t=1000,p=64", "m=512,t=1,p=64"}) {
    std::string s = std::string("$argon2id$v=19$") + params + "$" + salt + "$" + hash;
    Result<PhcHash> r = ParsePhc(s);
    ASSERT_TRUE(r.ok()) << s << ": " << r.status().message();
    EXPECT_EQ(FormatPhc(*r), s);
  }
}

TEST(PhcTest, NeverCrashesOnRandomOrMutatedInput) {
  std::mt19937 rng(12345);
  const std::string alphabet = "$argon2idv=19mtp,0123456789ABCabc+/=- \n";
  std::vector<std::string> seeds;
  for (const Vector& v : kVectors) seeds.emplace_back(v.phc);
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string s;
    switch (i % 4) {
      case 0: {  // random bytes
        size_t len = rng() % 120;
        for (size_t k = 0; k < len; ++k) s.push_back(static_cast<char>(rng() & 0xff));
        break;
      }
      case 1: {  // random from a PHC-ish alphabet
        size_t len = rng() % 120;
        for (size_t k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
        break;
      }
      case 2: {  // truncation of a good string
        const std::string& seed = seeds[rng() % seeds.size()];
        s = seed.substr(0, rng() % (seed.size() + 1));
        break;
      }
      default: {  // a few point mutations / insertions / deletions
        s = seeds[rng() % seeds.size()];
        int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits && !s.empty(); ++e) {
          size_t pos = rng() % s.size();
          switch (rng() % 3) {
            case 0:
              s[pos] = alphabet[rng() % alphabet.size()];
              break;
            case 1:
              s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
              break;
            default:
              s.erase(pos, 1);
          }
        }
      }
    }
    Result<PhcHash> r = ParsePhc(s);
    if (r.ok()) {
      ++accepted;
      // Strict parsing: whatever is accepted is exactly what we would write.
      EXPECT_EQ(FormatPhc(*r), s);
    }
  }
  // Some mutations (a hash character swapped) must still parse.
  EXPECT_GT(accepted, 0);
}

TEST(PasswordHashTest, LogsStartAndEndAroundEachComputation) {
  RecordingLogger logger(/*debug=*/true);
  FakeRandom random;
  PasswordHasher hasher(kFast, nullptr, logger);
  ASSERT_TRUE(hasher.Hash("pw", random).ok());
  ASSERT_TRUE(hasher.Verify(kGoodPhc, "password").ok());
  ASSERT_TRUE(hasher.DummyVerify("pw").ok());
  std::vector<std::pair<LogLevel, std::string>> lines = logger.lines();
  ASSERT_EQ(lines.size(), 6u) << logger.Joined();
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].first, LogLevel::kDebug);
    EXPECT_EQ(lines[i].second, i % 2 == 0 ? "argon2: start" : "argon2: end");
  }

  RecordingLogger quiet(/*debug=*/false);
  PasswordHasher quiet_hasher(kFast, nullptr, quiet);
  ASSERT_TRUE(quiet_hasher.DummyVerify("pw").ok());
  EXPECT_TRUE(quiet.lines().empty());
}

TEST(PasswordHashTest, CorruptHashComputesNothing) {
  RecordingLogger logger(/*debug=*/true);
  PasswordHasher hasher(kFast, nullptr, logger);
  Result<bool> r = hasher.Verify("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$", "pw");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(logger.lines().empty());
}

TEST(PasswordHashTest, BadConfiguredParametersAreRejected) {
  NullLogger logger;
  FakeRandom random;
  for (Argon2Params p : {Argon2Params{0, 1024, 1}, Argon2Params{1, 7, 1}, Argon2Params{1, 1024, 0},
                         Argon2Params{1, 1024, 65}, Argon2Params{1001, 1024, 1}}) {
    PasswordHasher hasher(p, nullptr, logger);
    Result<std::string> h = hasher.Hash("pw", random);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Code::kInvalidArgument);
    Status d = hasher.DummyVerify("pw");
    EXPECT_EQ(d.code(), Code::kInvalidArgument);
  }
}

TEST(PasswordHashTest, DummyVerifyIsOneComputationWithConfiguredParams) {
  RecordingLogger logger(/*debug=*/true);
  PasswordHasher hasher(Argon2Params{1, 8192, 1}, nullptr, logger);
  EXPECT_TRUE(hasher.DummyVerify("whatever").ok());
  EXPECT_EQ(logger.Joined(), "argon2: start\nargon2: end\n");
}

}  // namespace
}  // namespace sesame
