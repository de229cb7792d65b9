#include "core/crypto/crypt_hash.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/crypto/argon2_limiter.h"
#include "core/crypto/password_hash.h"
#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

using testing::FakeClock;
using testing::FakeRandom;
using testing::RecordingLogger;

struct CryptVector {
  const char* name;  // CryptHashName
  const char* password;
  const char* hash;
};

// Made on Debian 12 (libxcrypt 4.4.33) with Python's crypt.crypt(password,
// salt), which calls crypt(3).
const char kUnicodePassword[] =
    "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf"
    "code";
const CryptVector kVectors[] = {
    {"yescrypt", "correct horse",
     "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSUkF8RHJ./tK5KU79"},
    {"yescrypt", kUnicodePassword,
     "$y$j9T$3ZcQ2ZxkX0y5rE4KHvB1j/$c.6/qAzJ2OYU.TmJH8p7i5INeGlYghfhOsdIoiwkxZ."},
    {"gost-yescrypt", "correct horse",
     "$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$fjSOzYe3VPU6Q.dJqx4tYW6CE1ptRyuKNHZ4IlHBYq1"},
    {"scrypt", "correct horse",
     "$7$CU..../....F5Jx5fExrKuPp53xLKQ..1$qELaomrJVf6WlQgpn7qfvkdhyhQvtq3Hgy2fzI/2.q5"},
    {"sha512crypt", "correct horse",
     "$6$yqleS03YZwJnxONY$9UdhjLzSXXKtJWir45.spfnl1gwFSI8PbKZF7cnFjcMNscjb/VjMtGJavd99KQjYHt7dotFl"
     "wMs02UhnauS/p0"},
    {"sha512crypt", kUnicodePassword,
     "$6$rounds=6000$q2JbDzQk2hPQxN5y$ZzFpv4YFtVDV3tOQx/CsomLbxZ5wel/8WkCm690eDHtrhDuFg37rRk/"
     "0trIslM5/TpvgDz9zn.iWFd66VMaa4/"},
    {"sha256crypt", "correct horse",
     "$5$8zL5EkpnuS6hkqB2$C4ycCd9UeK9yQHZ.KPBzaD9cAbLvdpuw69g9H8muoKD"},
    {"sha256crypt", kUnicodePassword,
     "$5$0123456789abcdef$LocfUqkxBNvU9EWK91whuFKIQqgeFAtrHNY.C3ocIO5"},
    {"bcrypt", "correct horse", "$2b$05$G9RX8w41tC.yeBBajS3bH.0LtDoXLyR7h2gdP9k6IVqRNafbzYHCu"},
    {"bcrypt", kUnicodePassword, "$2b$05$XXXXXXXXXXXXXXXXXXXXXOs.A9fvAmy7SKwElvtHBooN5h6XleWcq"},
    {"bcrypt", "correct horse", "$2a$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2"},
    {"bcrypt", "correct horse", "$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2"},
    {"sha512crypt", "",
     "$6$saltsaltsaltsa$x9QopcRK9fzSvtwKZ3LV2zZulxXaUuDlRMFn9caelLSuaeTEzXtjZ1ca/BgkhKY4xRsXHV/"
     "WA.AwNQpo1SEWs1"},
};

const char kSha512[] =
    "$6$yqleS03YZwJnxONY$9UdhjLzSXXKtJWir45.spfnl1gwFSI8PbKZF7cnFjcMNscjb/VjMtGJavd99KQjYHt7dotFl"
    "wMs02UhnauS/p0";
const char kYescrypt[] =
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSUkF8RHJ./tK5KU79";

constexpr Argon2Params kFast{1, 1024, 1};

TEST(CryptHashTest, VectorsVerify) {
  for (const CryptVector& v : kVectors) {
    SCOPED_TRACE(v.hash);
    EXPECT_TRUE(IsCryptHash(v.hash));
    EXPECT_STREQ(CryptHashName(v.hash), v.name);
    EXPECT_TRUE(CheckImportableHash(v.hash).ok()) << CheckImportableHash(v.hash).message();

    Result<bool> right = VerifyCryptHash(v.hash, v.password);
    ASSERT_TRUE(right.ok()) << right.status().message();
    EXPECT_TRUE(*right);

    const std::string pw = v.password;
    for (const std::string& wrong : {pw + "x", std::string("wrong"), std::string("Correct horse"),
                                     pw.empty() ? std::string("x") : pw.substr(1)}) {
      Result<bool> r = VerifyCryptHash(v.hash, wrong);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_FALSE(*r) << wrong;
    }
  }
}

TEST(CryptHashTest, PasswordWithNulNeverMatches) {
  // crypt(3) would see "correct horse" only.
  Result<bool> r = VerifyCryptHash(kSha512, std::string("correct horse\0x", 15));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  r = VerifyCryptHash(kSha512, std::string("correct horse\0", 14));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(CryptHashTest, OverlongPasswordIsFalseNotError) {
  Result<bool> r = VerifyCryptHash(kSha512, std::string(600, 'a'));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(*r);
  r = VerifyCryptHash(kSha512, std::string(511, 'a'));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(*r);
}

TEST(CryptHashTest, AcceptedPrefixesOnly) {
  for (const char* yes : {"$y$", "$gy$", "$7$", "$6$", "$5$", "$2b$", "$2a$", "$2y$"})
    EXPECT_TRUE(IsCryptHash(std::string(yes) + "rest")) << yes;
  for (const char* no : {"", "$", "$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.", "abzlUXK5ed5rs", "$2$",
                         "$2x$05$abc", "$3$$8846f7eaee8fb117ad06bdd830b7586c", "$md5$abc",
                         "$sha1$abc", "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$abc", "!$y$abc", "*",
                         "$Y$", " $6$abc", "y$j9T$abc"}) {
    EXPECT_FALSE(IsCryptHash(no)) << no;
    EXPECT_STREQ(CryptHashName(no), "unknown") << no;
  }
}

TEST(CryptHashTest, CheckImportableHashExplainsRefusals) {
  struct Case {
    std::string field;
    const char* reason;  // nullptr: importable
  };
  const std::string locked = "locked (starts with '!')";
  const std::string none = "no password ('*' or empty)";
  const std::string weak = "MD5/DES hashes are too weak to adopt; reset the password instead";
  const std::string unknown = "unknown hash format";
  const std::vector<Case> cases = {
      {kYescrypt, nullptr},
      {kSha512, nullptr},
      {"!" + std::string(kYescrypt), locked.c_str()},
      {"!", locked.c_str()},
      {"!!", locked.c_str()},
      {"!*", locked.c_str()},
      {"", none.c_str()},
      {"*", none.c_str()},
      {"*LK*", none.c_str()},
      {"$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.", weak.c_str()},
      {"$md5$rounds=904$abc$def", weak.c_str()},
      {"abzlUXK5ed5rs", weak.c_str()},         // DES
      {"_J9..abcdTZ/33djMPto", weak.c_str()},  // BSDi DES
      {"x", unknown.c_str()},
      {"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$abc", unknown.c_str()},
      {"$sha1$40000$salt$hash", unknown.c_str()},
      {"$3$$8846f7eaee8fb117ad06bdd830b7586c", unknown.c_str()},
      {"plain text password", unknown.c_str()},
      {"$y$", "malformed yescrypt hash"},
      {"$y$j9T$salt$", "malformed yescrypt hash"},
      {"$y$j9T$salt$hash with space", "malformed yescrypt hash"},
      {"$y$j9T$salt$hash:x", "malformed yescrypt hash"},
      {"$y$j9T$salt$hash\n", "malformed yescrypt hash"},
      {"$6$onlyonefield", "malformed sha512crypt hash"},
      {"$6$salt$" + std::string(400, 'a'), "malformed sha512crypt hash"},
      {"$2b$05$short", "malformed bcrypt hash"},
      {"$2b$99$XXXXXXXXXXXXXXXXXXXXXOs.A9fvAmy7SKwElvtHBooN5h6XleWcq", "malformed bcrypt hash"},
      {"$2b$5$XXXXXXXXXXXXXXXXXXXXXOs.A9fvAmy7SKwElvtHBooN5h6XleWcqq", "malformed bcrypt hash"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    Status s = CheckImportableHash(c.field);
    if (c.reason == nullptr) {
      EXPECT_TRUE(s.ok()) << s.message();
      continue;
    }
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message(), c.reason);
  }
}

// Whatever crypt(3) makes of a bad string, the answer is kCorrupt or false.
void ExpectCorruptOrFalse(const std::string& hash) {
  Result<bool> r = VerifyCryptHash(hash, "correct horse");
  if (r.ok()) {
    EXPECT_FALSE(*r) << hash;
  } else {
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << hash;
    EXPECT_NE(r.status().message().find("stored crypt hash is not usable"), std::string::npos);
    if (hash.size() > 8) {
      EXPECT_EQ(r.status().message().find(hash), std::string::npos);
    }
  }
}

TEST(CryptHashTest, GarbageIsCorruptNeverCrash) {
  const std::vector<std::string> corrupt = {
      "$y$",
      "$y$garbage",
      "$y$j9T$",
      "$y$j9T$salt",
      "$y$j9T$salt$hash",
      "$y$!!!$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSUkF8RHJ./tK5KU79",
      "$gy$",
      "$7$",
      "$7$zz$abc",
      "$6$salt$abc",
      "$6$rounds=abc$salt$hash",
      "$5$",
      "$2b$",
      "$2b$99$XXXXXXXXXXXXXXXXXXXXXOs.A9fvAmy7SKwElvtHBooN5h6XleWcq",
      "$2b$05$short",
      "$2a$05$" + std::string(400, 'a'),
      std::string("$6$salt\0$abc", 12),
      "$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.",
      "abzlUXK5ed5rs",
      "",
  };
  for (const std::string& h : corrupt) {
    SCOPED_TRACE(h);
    Result<bool> r = VerifyCryptHash(h, "correct horse");
    ASSERT_FALSE(r.ok()) << "verified: " << h;
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
  }
}

TEST(CryptHashTest, MutatedVectorsNeverCrash) {
  std::mt19937 rng(4242);
  const std::string alphabet = "$./0123456789abcyzABCY=,:j9T\n ";
  for (const CryptVector& v : kVectors) {
    // yescrypt and scrypt are memory-hard (a few ms each): fewer of those.
    const int rounds =
        std::string(v.hash).rfind("$6$", 0) == 0 || std::string(v.hash).rfind("$5$", 0) == 0 ? 40
                                                                                             : 8;
    for (int i = 0; i < rounds; ++i) {
      std::string h = v.hash;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        size_t pos = rng() % h.size();
        switch (rng() % 3) {
          case 0:
            h[pos] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            h.erase(pos, 1 + rng() % 4);
            break;
          default:
            h.insert(pos, 1, alphabet[rng() % alphabet.size()]);
            break;
        }
        if (h.empty()) h = "$";
      }
      ExpectCorruptOrFalse(h);
    }
  }
}

TEST(CryptHashTest, HasherVerifiesCryptHashesAndWantsRehash) {
  RecordingLogger logger;
  PasswordHasher hasher(kFast, nullptr, logger);
  for (const CryptVector& v : kVectors) {
    SCOPED_TRACE(v.hash);
    Result<bool> ok = hasher.Verify(v.hash, v.password);
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_TRUE(*ok);
    Result<bool> bad = hasher.Verify(v.hash, "not it");
    ASSERT_TRUE(bad.ok()) << bad.status().message();
    EXPECT_FALSE(*bad);
    EXPECT_TRUE(hasher.NeedsRehash(v.hash));
  }
  // The argon2 start/end lines are argon2's alone.
  EXPECT_FALSE(logger.Contains("argon2: start"));

  // A fresh argon2id hash of the same password needs no rehash.
  FakeRandom random;
  Result<std::string> fresh = hasher.Hash("correct horse", random);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(hasher.NeedsRehash(*fresh));
  Result<bool> again = hasher.Verify(*fresh, "correct horse");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
}

TEST(CryptHashTest, HasherRefusesOtherFormatsAsCorrupt) {
  NullLogger logger;
  PasswordHasher hasher(kFast, nullptr, logger);
  for (const char* h : {"$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.", "abzlUXK5ed5rs", "!", "*", "",
                        "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$abc", "$6$salt$abc", "$y$"}) {
    SCOPED_TRACE(h);
    Result<bool> r = hasher.Verify(h, "correct horse");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
  }
  Result<bool> md5 = hasher.Verify("$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.", "pw");
  ASSERT_FALSE(md5.ok());
  EXPECT_NE(md5.status().message().find("too weak"), std::string::npos) << md5.status().message();
}

TEST(CryptHashTest, HasherHoldsALimiterSlotForCrypt) {
  const char* env = std::getenv("SESAME_TEST_TMPDIR");
  std::string base = (env != nullptr && *env != '\0') ? env : "/tmp";
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  std::string dir = base + "/sesame-crypt-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);

  FakeClock clock;
  NullLogger logger;
  {
    Argon2Limiter limiter(dir, 1, 50, clock);
    PasswordHasher hasher(kFast, &limiter, logger);
    Result<bool> ok = hasher.Verify(kSha512, "correct horse");
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_TRUE(*ok);

    // With the only slot taken, a crypt verify waits like argon2 and gives up.
    Result<Argon2Limiter::Slot> held = limiter.Acquire();
    ASSERT_TRUE(held.ok()) << held.status().message();
    Result<bool> busy = hasher.Verify(kSha512, "correct horse");
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.status().code(), Code::kBusy);
  }
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace sesame
