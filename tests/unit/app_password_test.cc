// App passwords (core/crypto/app_password.h): what a person or a mail
// client typed becomes exactly one form or none, a new app password is 24
// uniform letters drawn from the given Random, and its digest matches an
// independent computation (python3's hmac and hashlib).
#include "core/crypto/app_password.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/crypto/secret_box.h"
#include "tests/fakes/fakes.h"

namespace sesame {
namespace {

using sesame::testing::FakeRandom;
using sesame::testing::ScriptedRandom;

constexpr char kLetters[] = "abcdefghijklmnopqrstuvwx";

std::string Normalized(std::string_view typed) {
  return std::string(NormalizeAppPassword(typed).view());
}

bool OnlyLowerLetters(std::string_view text) {
  for (char c : text) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

// ---- NormalizeAppPassword ----

TEST(NormalizeAppPasswordTest, AcceptsTheShownFormAndWhatPeopleTypeForIt) {
  EXPECT_EQ(Normalized(kLetters), kLetters);
  EXPECT_EQ(Normalized("abcd efgh ijkl mnop qrst uvwx"), kLetters);
  EXPECT_EQ(Normalized("ABCD EFGH IJKL MNOP QRST UVWX"), kLetters);
  EXPECT_EQ(Normalized("abcd-efgh-ijkl-mnop-qrst-uvwx"), kLetters);
  EXPECT_EQ(Normalized("abcd\tefgh\tijkl\tmnop\tqrst\tuvwx"), kLetters);
  EXPECT_EQ(Normalized("  aBcD - EfGh -- iJkL mNoP\tqRsT-uVwX  "), kLetters);
  EXPECT_EQ(Normalized("a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x"), kLetters);
  EXPECT_EQ(NormalizeAppPassword("ABCD EFGH IJKL MNOP QRST UVWX").size(), kAppPasswordLetters);
}

TEST(NormalizeAppPasswordTest, AnythingElseIsNotAnAppPassword) {
  const std::string cases[] = {
      "",
      "    ",
      "----",
      "abcd efgh ijkl mnop qrst uvw",    // 23 letters
      "abcd efgh ijkl mnop qrst uvwxy",  // 25 letters
      "abcd efgh ijkl mnop qrst uvwxabcd efgh ijkl mnop qrst uvwx",
      "abcd efgh ijkl mnop qrst uvw1",  // a digit
      "abcd efgh ijkl mnop qrst uvw_",
      "abcd.efgh.ijkl.mnop.qrst.uvwx",  // dots are not separators
      "abcd_efgh_ijkl_mnop_qrst_uvwx",
      "abcd\nefgh\nijkl\nmnop\nqrst\nuvwx",  // nor newlines
      "abcd efgh ijkl mnop qrst uvwx\n",
      "abcd efgh ijkl mnop qrst uvwx\r",
      "abcd efgh ijkl mnop qrst uvw\xc3\xa9",      // é: not a-z
      "abcd efgh ijkl mnop qrst uvw\xef\xbd\x98",  // fullwidth x
      "abcd efgh ijkl mnop qrst uvw\xff",          // not UTF-8
      "\xff\xfe"
      "abcdefghijklmnopqrstuvwx",                          // not UTF-8, in front
      std::string("abcd efgh ijkl mnop qrst uvwx\0", 30),  // NUL after
      std::string("abcd efgh ijkl\0mnop qrst uvwx", 29),   // NUL inside
      std::string("abcd efgh ijkl mnop qrst uvw\0", 29),   // NUL for a letter
      "correct horse battery staple",                      // a main password
  };
  for (const std::string& typed : cases) {
    SecretBuffer out = NormalizeAppPassword(typed);
    EXPECT_TRUE(out.empty()) << "'" << typed << "' gave '" << out.view() << "'";
  }
}

TEST(NormalizeAppPasswordTest, OverlongInputIsRefusedWhateverItHolds) {
  // 1 MB of anything, even separators around the right letters.
  EXPECT_TRUE(NormalizeAppPassword(std::string(1 << 20, 'a')).empty());
  EXPECT_TRUE(NormalizeAppPassword(std::string(1 << 20, ' ') + kLetters).empty());
  EXPECT_TRUE(NormalizeAppPassword(kLetters + std::string(1 << 20, '-')).empty());
  EXPECT_TRUE(NormalizeAppPassword(std::string(1 << 20, '\0')).empty());
  // A few separators more than the grouped form still are one.
  EXPECT_EQ(
      Normalized(std::string(20, ' ') + "abcd efgh ijkl mnop qrst uvwx" + std::string(20, ' ')),
      kLetters);
}

// ---- NewAppPassword ----

TEST(NewAppPasswordTest, TwentyFourLettersAToZFromTheGivenRandom) {
  FakeRandom random(7);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    Result<SecretBuffer> made = NewAppPassword(random);
    ASSERT_TRUE(made.ok()) << made.status().message();
    EXPECT_EQ(made->size(), kAppPasswordLetters);
    EXPECT_TRUE(OnlyLowerLetters(made->view())) << made->view();
    // What is shown normalizes back to exactly the letters.
    EXPECT_EQ(Normalized(GroupAppPassword(made->view()).view()), made->view());
    seen.insert(std::string(made->view()));
  }
  EXPECT_EQ(seen.size(), 200u);
  // The same Random state gives the same letters: nothing else goes in.
  FakeRandom a(99);
  FakeRandom b(99);
  EXPECT_EQ(NewAppPassword(a)->view(), NewAppPassword(b)->view());
}

// Each byte below 234 (the last whole multiple of 26) is one letter,
// 'a' + byte % 26, in order: these 24 bytes spell a known password.
TEST(NewAppPasswordTest, ScriptedBytesGiveAKnownPassword) {
  ScriptedRandom random({148, 56,  174, 0,  38, 212, 26,  145, 15, 208, 96,  18,
                         48,  170, 173, 29, 94, 43,  226, 175, 20, 47,  100, 233});
  Result<SecretBuffer> made = NewAppPassword(random);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->view(), "sesameappasswordqrstuvwz");
  EXPECT_GE(random.served(), 24u);
}

// 256 is not a multiple of 26: the bytes 234-255 would make a-v more likely
// than w-z, so they are drawn again, never folded in.
TEST(NewAppPasswordTest, BytesFrom234UpAreDrawnAgain) {
  std::vector<uint8_t> script = {234, 255, 7, 240, 4, 250, 11, 233, 11, 245, 14};
  for (int i = 0; i < 19; ++i) script.push_back(static_cast<uint8_t>(i == 0 ? 234 : i));
  ScriptedRandom random(script);
  Result<SecretBuffer> made = NewAppPassword(random);
  ASSERT_TRUE(made.ok()) << made.status().message();
  // 7 4 11 [233] 11 14 = "hel" "z" "lo", then 1..18 = b..s.
  EXPECT_EQ(made->view(), "helzlobcdefghijklmnopqrs");

  // Only rejected bytes for a long while: it draws again until it has 24.
  std::vector<uint8_t> slow(1000, 234);
  for (int i = 0; i < 24; ++i) slow.push_back(25);
  ScriptedRandom patient(slow);
  made = NewAppPassword(patient);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->view(), std::string(24, 'z'));
  EXPECT_GE(patient.served(), 1024u);
}

TEST(NewAppPasswordTest, ARandomThatFailsFailsIt) {
  // At the first draw.
  ScriptedRandom none({}, 0, /*limit=*/0);
  Result<SecretBuffer> made = NewAppPassword(none);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kUnavailable);
  EXPECT_NE(made.status().message().find("scripted random"), std::string::npos);
  // At a later draw, after bytes that were all drawn again.
  ScriptedRandom later({}, 250, /*limit=*/300);
  made = NewAppPassword(later);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), Code::kUnavailable);
  EXPECT_GE(later.calls(), 2);
}

// ---- GroupAppPassword ----

TEST(GroupAppPasswordTest, GroupsOfFourForReading) {
  EXPECT_EQ(GroupAppPassword(kLetters).view(), "abcd efgh ijkl mnop qrst uvwx");
  EXPECT_EQ(GroupAppPassword("").view(), "");
  EXPECT_EQ(GroupAppPassword("abc").view(), "abc");
  EXPECT_EQ(GroupAppPassword("abcd").view(), "abcd");
  EXPECT_EQ(GroupAppPassword("abcde").view(), "abcd e");
}

// ---- AppPasswordDigest ----

SecretBuffer KeyFrom(unsigned char first) {
  SecretBuffer key;
  for (unsigned char i = 0; i < 32; ++i) {
    const char c = static_cast<char>(first + i);
    key.Append(&c, 1);
  }
  return key;
}

// Computed outside this code base, with python3's hmac and hashlib (the
// subkey is HKDF-SHA256(host key, no salt, info = kAppPasswordPurpose), as
// DeriveSubkey makes it; its first 32 bytes are one HMAC block):
//   python3 -c "import hmac,hashlib;k=bytes(range(32));
//   prk=hmac.new(bytes(32),k,hashlib.sha256).digest();
//   sub=hmac.new(prk,b'sesame app-password v1\x01',hashlib.sha256).digest();
//   print(hmac.new(sub,b'abcdefghijklmnopqrstuvwx',hashlib.sha256).hexdigest())"
// (the subkey printed on the way is secret_box_test's pinned
// 393517b9...; 'sesameappasswordqrstuvwz' and k = bytes(range(32, 64))
// for the other two.) Changing any of these makes every stored app
// password useless.
TEST(AppPasswordDigestTest, MatchesAnIndependentComputation) {
  const SecretBuffer key = KeyFrom(0);
  EXPECT_EQ(AppPasswordDigest(key, kLetters),
            "5754d18b756d51421f6e81b29fd0f75917b6aaaaaec4dbe4cb59e8f39b6eb28e");
  EXPECT_EQ(AppPasswordDigest(key, "sesameappasswordqrstuvwz"),
            "50ceae4cb73eeca7386d0f2604460cef38ed273976cf930e4ed3472b0a7215bf");
  EXPECT_EQ(AppPasswordDigest(KeyFrom(32), kLetters),
            "19256ccb0af290d0533e7755304a7b7ad71ca23d7f5473928e2f2e6b11a88841");
}

TEST(AppPasswordDigestTest, OneDigestPerAppPasswordHoweverItWasTyped) {
  const SecretBuffer key = KeyFrom(0);
  const std::string plain = AppPasswordDigest(key, kLetters);
  ASSERT_EQ(plain.size(), kAppPasswordDigestChars);
  for (char c : plain) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << plain;
  for (const char* typed : {"abcd efgh ijkl mnop qrst uvwx", "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
                            " aBcD\tefgh-ijkl mnop qrst uvwx "}) {
    EXPECT_EQ(AppPasswordDigest(key, NormalizeAppPassword(typed).view()), plain) << typed;
  }
  EXPECT_NE(AppPasswordDigest(key, "abcdefghijklmnopqrstuvwy"), plain);
}

TEST(AppPasswordDigestTest, NothingToStoreForNoAppPasswordOrABadKey) {
  const SecretBuffer key = KeyFrom(0);
  EXPECT_EQ(AppPasswordDigest(key, ""), "");
  EXPECT_EQ(AppPasswordDigest(key, "abcdefghijklmnopqrstuvw"), "");
  EXPECT_EQ(AppPasswordDigest(key, "abcdefghijklmnopqrstuvwxy"), "");
  EXPECT_EQ(AppPasswordDigest(key, "abcd efgh ijkl mnop qrst uvwx"), "");  // not normalized
  EXPECT_EQ(AppPasswordDigest(SecretBuffer(), kLetters), "");
  EXPECT_EQ(AppPasswordDigest(SecretBuffer(std::string(31, 'k')), kLetters), "");
  EXPECT_EQ(AppPasswordDigest(SecretBuffer(std::string(33, 'k')), kLetters), "");
}

// ---- CheckAppPasswordName ----

TEST(CheckAppPasswordNameTest, PrintableUtf8UpTo64Bytes) {
  const std::string good[] = {
      "a",
      "Thunderbird",
      "Thunderbird on the laptop",
      " phone",
      "Téléphone de Zoé",
      "\xf0\x9f\x93\xb1 phone",  // U+1F4F1, four bytes
      "iPhone (Mail) #2, 2026-01-05",
      std::string(64, 'x'),
      [] {  // 32 two-byte characters: 64 bytes
        std::string s;
        for (int i = 0; i < 32; ++i) s += "\xc3\xa9";
        return s;
      }(),
  };
  for (const std::string& name : good) {
    Status st = CheckAppPasswordName(name);
    EXPECT_TRUE(st.ok()) << "'" << name << "': " << st.message();
  }
}

TEST(CheckAppPasswordNameTest, RefusesWhatIsNotAName) {
  struct {
    std::string name;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {" ", "only spaces"},
      {"      ", "only spaces"},
      {std::string(65, 'x'), "longer than 64 bytes"},
      {std::string(63, 'x') + "\xc3\xa9", "longer than 64 bytes"},  // 65 bytes
      {std::string(1 << 20, 'x'), "longer than 64 bytes"},
      {"\t", "control character"},
      {"phone\n", "control character"},
      {"pho\rne", "control character"},
      {"\x1b[31mred", "control character"},
      {"del\x7f", "control character"},
      {std::string("nul\0inside", 10), "control character"},
      {"c1 \xc2\x9b"
       "31m",
       "control character"},                 // U+009B CSI
      {"c1 \xc2\x85", "control character"},  // U+0085 NEL
      {"\xff", "UTF-8"},
      {"caf\xc3", "UTF-8"},           // truncated
      {"\xc0\xaf", "UTF-8"},          // overlong '/'
      {"\xed\xa0\x80", "UTF-8"},      // a surrogate
      {"\xf4\x90\x80\x80", "UTF-8"},  // above U+10FFFF
  };
  for (const auto& c : cases) {
    Status st = CheckAppPasswordName(c.name);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << "'" << c.name << "'";
    EXPECT_NE(st.message().find(c.says), std::string::npos)
        << "'" << c.name << "': " << st.message();
  }
}

// ---- ParseAppPasswordServices ----

using Services = std::vector<std::string>;

TEST(ParseAppPasswordServicesTest, CommaSeparatedPamServiceNames) {
  struct {
    const char* list;
    Services services;
  } cases[] = {
      {"", {}},  // every service in mode=app_password
      {"imap", {"imap"}},
      {"imap,pop3,submission,smtp", {"imap", "pop3", "submission", "smtp"}},
      {" imap , pop3,  sieve ", {"imap", "pop3", "sieve"}},
      {"dovecot-imap,my_smtp,mail.example", {"dovecot-imap", "my_smtp", "mail.example"}},
  };
  for (const auto& c : cases) {
    Result<Services> parsed = ParseAppPasswordServices(c.list);
    ASSERT_TRUE(parsed.ok()) << c.list << ": " << parsed.status().message();
    EXPECT_EQ(*parsed, c.services) << c.list;
  }
  // 32 characters, and 16 services, are the most.
  const std::string longest(32, 's');
  EXPECT_EQ(ParseAppPasswordServices(longest).value(), Services{longest});
  std::string sixteen;
  Services expected;
  for (int i = 0; i < 16; ++i) {
    sixteen += (i > 0 ? "," : "") + std::string("s") + std::to_string(i);
    expected.push_back("s" + std::to_string(i));
  }
  EXPECT_EQ(ParseAppPasswordServices(sixteen).value(), expected);
}

TEST(ParseAppPasswordServicesTest, RefusesWhatIsNotAListOfServices) {
  std::string seventeen;
  for (int i = 0; i < 17; ++i)
    seventeen += (i > 0 ? "," : "") + std::string("s") + std::to_string(i);
  struct {
    std::string list;
    const char* says;
  } cases[] = {
      {",", "no service named"},
      {" , ,", "no service named"},
      {"   ", "no service named"},
      {"imap,", "is not a service name"},
      {",imap", "is not a service name"},
      {"imap,,pop3", "is not a service name"},
      {"imap, ,pop3", "is not a service name"},
      {"IMAP", "is not a service name"},
      {"im ap", "is not a service name"},
      {"imap;pop3", "is not a service name"},
      {"imap\t", "is not a service name"},
      {"imap\n", "is not a service name"},
      {std::string("imap\0", 5), "is not a service name"},
      {"imap,\xff", "is not a service name"},
      {"sm\xc3\xa9tp", "is not a service name"},
      {"../etc", "is not a service name"},
      {std::string(33, 's'), "is not a service name"},
      {std::string(1 << 20, 's'), "is not a service name"},
      {"imap,imap", "named twice"},
      {"imap, pop3 ,imap ", "named twice"},
      {seventeen, "more than 16 services"},
  };
  for (const auto& c : cases) {
    Result<Services> parsed = ParseAppPasswordServices(c.list);
    ASSERT_FALSE(parsed.ok()) << "'" << c.list << "'";
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.says), std::string::npos)
        << "'" << c.list << "': " << parsed.status().message();
    // The message may be printed on a terminal or logged: no raw bytes.
    for (char ch : parsed.status().message()) {
      const auto byte = static_cast<unsigned char>(ch);
      EXPECT_TRUE(byte >= 0x20 && byte < 0x7f) << parsed.status().message();
    }
    EXPECT_LT(parsed.status().message().size(), 300u);
  }
}

}  // namespace
}  // namespace sesame
