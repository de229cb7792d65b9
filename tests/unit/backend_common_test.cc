// What both store backends do alike with stored values
// (core/store/backend_common.h).
#include "core/store/backend_common.h"

#include <gtest/gtest.h>

#include <map>
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

SignInEvent Listed(int64_t id, const std::string& user, const std::string& host) {
  SignInEvent e;
  e.id = id;
  e.user = user;
  e.remote_host = host;
  e.new_host = true;  // whatever it was, MarkNewHosts sets it
  return e;
}

// The new-host mark from each user's first successes: asked once per user
// with a remote host, a host is new unless a success from it has a smaller
// id; an empty host is never new.
TEST(BackendCommonTest, MarkNewHostsAsksOncePerUserAndComparesIds) {
  std::vector<SignInEvent> events = {Listed(10, "alice", "192.0.2.1"),
                                     Listed(11, "alice", "192.0.2.1"),
                                     Listed(12, "alice", "198.51.100.9"),
                                     Listed(13, "bob", "192.0.2.1"),
                                     Listed(14, "carol", ""),
                                     Listed(15, "alice", "")};
  std::map<std::string, int> asked;
  Status st = MarkNewHosts(events, [&](const std::string& user) -> Result<FirstSuccessByHost> {
    ++asked[user];
    if (user == "alice") return FirstSuccessByHost{{"192.0.2.1", 11}, {"203.0.113.5", 1}};
    return FirstSuccessByHost{};
  });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(asked, (std::map<std::string, int>{{"alice", 1}, {"bob", 1}}));
  const bool expected[] = {true, true, true, true, false, false};
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].new_host, expected[i]) << i;
  events[1].id = 12;  // the first success itself is not new; a later event from the host is known
  events[0].id = 11;
  ASSERT_TRUE(MarkNewHosts(events, [](const std::string& user) -> Result<FirstSuccessByHost> {
                if (user == "alice") return FirstSuccessByHost{{"192.0.2.1", 11}};
                return FirstSuccessByHost{};
              }).ok());
  EXPECT_TRUE(events[0].new_host);
  EXPECT_FALSE(events[1].new_host);
}

TEST(BackendCommonTest, MarkNewHostsPassesTheStoresErrorOn) {
  std::vector<SignInEvent> events = {Listed(1, "alice", "192.0.2.1")};
  Status st = MarkNewHosts(events, [](const std::string&) -> Result<FirstSuccessByHost> {
    return Status(Code::kUnavailable, "store is gone");
  });
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(st.message(), "store is gone");
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
