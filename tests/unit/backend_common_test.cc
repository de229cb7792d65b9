// What both store backends do alike with stored values
// (core/store/backend_common.h).
#include "core/store/backend_common.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/store/store.h"

namespace sesame {
namespace {

std::string Digest(char c) { return std::string(kWrongAttemptDigestChars, c); }

TEST(BackendCommonTest, RememberedWrongAttemptMatchesWholeDigestsOnly) {
  const std::string recent = Digest('a') + Digest('b') + Digest('c');
  EXPECT_TRUE(RememberedWrongAttempt(recent, Digest('a')));
  EXPECT_TRUE(RememberedWrongAttempt(recent, Digest('c')));
  EXPECT_FALSE(RememberedWrongAttempt(recent, Digest('d')));
  EXPECT_FALSE(RememberedWrongAttempt("", Digest('a')));
  // Not a digest spanning two remembered ones, nor a piece of one.
  EXPECT_FALSE(RememberedWrongAttempt(recent, recent.substr(1, kWrongAttemptDigestChars)));
  EXPECT_FALSE(RememberedWrongAttempt(recent, Digest('a').substr(1)));
  // A cut-off tail (a hand-edited row) is not compared.
  EXPECT_FALSE(RememberedWrongAttempt(Digest('a') + "ddd", "ddd"));
}

TEST(BackendCommonTest, AppPasswordServicesRoundTrip) {
  EXPECT_EQ(JoinAppPasswordServices({}), "");
  EXPECT_EQ(JoinAppPasswordServices({"imap"}), "imap");
  EXPECT_EQ(JoinAppPasswordServices({"imap", "smtp"}), "imap,smtp");
  EXPECT_TRUE(SplitAppPasswordServices("").empty());
  EXPECT_EQ(SplitAppPasswordServices("imap,smtp"), (std::vector<std::string>{"imap", "smtp"}));
  // Empty pieces of a hand-edited row are dropped, not services.
  EXPECT_EQ(SplitAppPasswordServices(",imap,,smtp,"), (std::vector<std::string>{"imap", "smtp"}));
  const std::vector<std::string> services = {"imap", "pop3", "submission"};
  EXPECT_EQ(SplitAppPasswordServices(JoinAppPasswordServices(services)), services);
}

TEST(BackendCommonTest, EventFilterListsMatchWholeNames) {
  EXPECT_EQ(JoinForEventFilter({}), "\x1f");
  EXPECT_EQ(JoinForEventFilter({"failure", "locked"}),
            "\x1f"
            "failure\x1f"
            "locked\x1f");
}

}  // namespace
}  // namespace sesame
