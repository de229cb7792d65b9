// The PostgreSQL backend's name lookups (core/store/postgres/postgres_lookup.cc):
// which hosts of a DSN are looked up, what libpq is then given, and that
// LookUpNames answers from the system's resolution. The bound itself (a
// name server that never answers) is proven with a real resolver in
// tests/integration/postgres_name_lookup.sh.
#ifdef SESAME_WITH_POSTGRES
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/store/postgres/postgres_internal.h"

namespace sesame::postgres_internal {
namespace {

TEST(PostgresLookupTest, OnlyHostNamesWithoutAnAddressAreLookedUp) {
  // Nothing to look up: the DSN is used as written.
  EXPECT_TRUE(PlanHostLookups("", "", "").entries.empty());
  EXPECT_TRUE(PlanHostLookups("", "192.0.2.1", "5432").entries.empty());
  EXPECT_TRUE(PlanHostLookups("/run/postgresql", "", "").entries.empty());
  EXPECT_TRUE(PlanHostLookups("@abstract", "", "").entries.empty());
  EXPECT_TRUE(PlanHostLookups("192.0.2.1,2001:db8::1,fe80::1%lo", "", "").entries.empty());
  EXPECT_TRUE(PlanHostLookups("db.example.org", "192.0.2.1", "").entries.empty())
      << "a name with its own hostaddr is not looked up";

  HostPlan plan =
      PlanHostLookups("/run/postgresql,db1.example.org,192.0.2.9,db2.example.org", ",,,", "");
  ASSERT_EQ(plan.entries.size(), 4u);
  EXPECT_EQ(plan.lookups, (std::vector<size_t>{1, 3}));
  EXPECT_FALSE(plan.per_host_ports);

  plan = PlanHostLookups("db1.example.org,db2.example.org", "", "5432,6432");
  ASSERT_EQ(plan.entries.size(), 2u);
  EXPECT_TRUE(plan.per_host_ports);
  EXPECT_EQ(plan.entries[1], (HostEntry{"db2.example.org", "", "6432"}));
}

TEST(PostgresLookupTest, ListsThatDoNotMatchAreLeftToLibpq) {
  EXPECT_TRUE(PlanHostLookups("db1.example.org,db2.example.org", "192.0.2.1", "").entries.empty());
  EXPECT_TRUE(PlanHostLookups("db1.example.org,db2.example.org", "", "1,2,3").entries.empty());
}

// doctor's list of servers (CheckPostgresServers): every entry, names or
// not.
TEST(PostgresLookupTest, ListHostEntriesNamesEveryServerOfTheLists) {
  EXPECT_TRUE(ListHostEntries("", "", "").empty());
  EXPECT_EQ(ListHostEntries("/run/postgresql", "", "5432"),
            (std::vector<HostEntry>{{"/run/postgresql", "", ""}}));
  EXPECT_EQ(ListHostEntries("192.0.2.1,db2.example.org", "", "5432"),
            (std::vector<HostEntry>{{"192.0.2.1", "", ""}, {"db2.example.org", "", ""}}));
  EXPECT_EQ(ListHostEntries("", "192.0.2.1,192.0.2.2", "5432,6432"),
            (std::vector<HostEntry>{{"", "192.0.2.1", "5432"}, {"", "192.0.2.2", "6432"}}));
  EXPECT_EQ(
      ListHostEntries("db1.example.org,db2.example.org", "192.0.2.1,", ""),
      (std::vector<HostEntry>{{"db1.example.org", "192.0.2.1", ""}, {"db2.example.org", "", ""}}));
  // Lists that do not match: libpq refuses the DSN; nothing to list.
  EXPECT_TRUE(ListHostEntries("db1.example.org,db2.example.org", "192.0.2.1", "").empty());
  EXPECT_TRUE(ListHostEntries("db1.example.org,db2.example.org", "", "1,2,3").empty());
  EXPECT_EQ(DsnHostEntries("host=a.example.org,b.example.org port=5432,5433 dbname=s user=s"),
            (std::vector<HostEntry>{{"a.example.org", "", "5432"}, {"b.example.org", "", "5433"}}));
  EXPECT_EQ(DsnHostEntries("host=a.example.org,b.example.org port=6432 dbname=s user=s"),
            (std::vector<HostEntry>{{"a.example.org", "", "6432"}, {"b.example.org", "", "6432"}}))
      << "the one port is each entry's";
  EXPECT_TRUE(DsnHostEntries("host='unterminated").empty());
}

TEST(PostgresLookupTest, EachAddressBecomesAHostOfItsOwnAndFailedNamesAreLeftOut) {
  const HostPlan plan = PlanHostLookups(
      "db1.example.org,/run/postgresql,db2.example.org,db3.example.org", "", "5432,5433,5434,5435");
  std::vector<LookupResult> results(3);
  results[0].addresses = {"192.0.2.1", "2001:db8::1"};
  results[1].error = "no answer for the name \"db2.example.org\"";
  results[2].addresses = {"192.0.2.3"};
  std::string errors;
  const HostKeywords k = ExpandHostEntries(plan, results, &errors);
  EXPECT_EQ(k.host, "db1.example.org,db1.example.org,/run/postgresql,db3.example.org");
  EXPECT_EQ(k.hostaddr, "192.0.2.1,2001:db8::1,,192.0.2.3");
  EXPECT_EQ(k.port, "5432,5432,5433,5435");
  EXPECT_EQ(errors, "no answer for the name \"db2.example.org\"");

  // One port for all stays the DSN's: no port keyword.
  const HostPlan one_port = PlanHostLookups("db1.example.org", "", "6432");
  const HostKeywords k1 = ExpandHostEntries(one_port, {LookupResult{{"192.0.2.1"}, ""}}, &errors);
  EXPECT_EQ(k1.host, "db1.example.org");
  EXPECT_EQ(k1.hostaddr, "192.0.2.1");
  EXPECT_EQ(k1.port, "");
  EXPECT_EQ(errors, "");
}

TEST(PostgresLookupTest, WhenNoNameIsFoundThereIsNoHostAndEveryErrorIsSaid) {
  const HostPlan plan = PlanHostLookups("db1.example.org,db2.example.org", "", "");
  std::string errors;
  const HostKeywords k =
      ExpandHostEntries(plan, {LookupResult{{}, "first failed"}, LookupResult{{}, ""}}, &errors);
  EXPECT_EQ(k.host, "");
  EXPECT_EQ(errors, "first failed; no address for the name \"db2.example.org\"");
}

TEST(PostgresLookupTest, LookUpNamesUsesTheSystemsResolution) {
  // localhost is in /etc/hosts on every Debian system; "" is refused by
  // getaddrinfo at once. Neither asks a name server.
  const auto start = std::chrono::steady_clock::now();
  const std::vector<LookupResult> found = LookUpNames({"localhost", ""}, 2000);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].error, "");
  ASSERT_FALSE(found[0].addresses.empty());
  for (const std::string& a : found[0].addresses) {
    EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
  }
  EXPECT_TRUE(found[1].addresses.empty());
  EXPECT_NE(found[1].error.find("could not translate host name \"\""), std::string::npos)
      << found[1].error;
  EXPECT_LT(took, 1.5) << "answered from /etc/hosts, without waiting";
  EXPECT_TRUE(LookUpNames({}, 10).empty());
}

}  // namespace
}  // namespace sesame::postgres_internal
#endif  // SESAME_WITH_POSTGRES
