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

// PostgreSQL returns the groups that must use MFA joined by unit
// separators, NULL (read as "") for none.
TEST(BackendCommonTest, SplitNonEmptyLeavesEmptyPiecesOut) {
  EXPECT_TRUE(SplitNonEmpty("", '\x1f').empty());
  EXPECT_EQ(SplitNonEmpty("wheel", '\x1f'), std::vector<std::string>{"wheel"});
  EXPECT_EQ(SplitNonEmpty("adm\x1f"
                          "staff-2\x1f"
                          "wheel",
                          '\x1f'),
            (std::vector<std::string>{"adm", "staff-2", "wheel"}));
  EXPECT_EQ(SplitNonEmpty("\x1f\x1f"
                          "a\x1f\x1f",
                          '\x1f'),
            std::vector<std::string>{"a"});
  EXPECT_EQ(SplitNonEmpty("a,b", '\x1f'), std::vector<std::string>{"a,b"});
}

TEST(BackendCommonTest, EventFilterListsMatchWholeNames) {
  EXPECT_EQ(JoinForEventFilter({}), "\x1f");
  EXPECT_EQ(JoinForEventFilter({"failure", "locked"}),
            "\x1f"
            "failure\x1f"
            "locked\x1f");
}

TEST(BackendCommonTest, SchemaStepsAndTheirFixes) {
  auto step = [](int found, bool create, bool migrate) {
    return DecideSchemaStep("store S", found, 3, create, migrate);
  };
  EXPECT_EQ(step(3, false, false).value(), SchemaStep::kUpToDate);
  EXPECT_EQ(step(0, true, false).value(), SchemaStep::kMigrate);
  EXPECT_EQ(step(1, false, true).value(), SchemaStep::kMigrate);
  Result<SchemaStep> empty = step(0, false, true);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kUnavailable);
  EXPECT_EQ(empty.status().message(),
            "store S is empty (no schema); run `sesame-admin init` to initialize it");
  Result<SchemaStep> older = step(2, true, false);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().message(),
            "store S has schema version 2 but this sesame needs 3; run `sesame-admin db migrate`");
  Result<SchemaStep> newer = step(4, true, true);  // never migrated down
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().message(),
            "store S has schema version 4 but this sesame knows only up to 3; upgrade sesame");
}

}  // namespace
}  // namespace sesame
