// The Store contract (core/store/store.h), written once and run against
// every backend in tests/fakes/store_backends.h: users, events and their
// coalescing, attempts reserved and settled, password history, must-change,
// authenticators and recovery codes (with the lock guard), MFA
// requirements, app passwords and their lockout bucket, the
// compare-and-set methods, and writers in several processes at once. What only one backend has
// (SQLite's files, modes, WAL and migrations) is tested apart (tests/unit/sqlite_store_test.cc).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/store/store.h"
#include "tests/fakes/store_backends.h"

namespace sesame {
namespace {

using testing::AppDigest;
using testing::AppPassword;
using testing::BackendStore;
using testing::Digest;
using testing::Event;
using testing::ExpectNoAuthenticator;
using testing::ExpectNoFailures;
using testing::ExpectNoMfaRequirement;
using testing::StoreBackend;
using testing::StoreBackends;
using testing::User;
using testing::Wrong;
using testing::WrongAtSignIn;
using Verdict = Reservation::Verdict;

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    SESAME_SKIP_UNAVAILABLE_BACKEND(GetParam());
    auto made = GetParam().make();
    ASSERT_TRUE(made.ok()) << made.status().message();
    backend_ = std::move(made).value();
  }

  // A new connection to this test's store (nullptr, and a test failure,
  // when it cannot be opened).
  std::unique_ptr<Store> MustConnect(int wait_ms = 5000) {
    auto store = backend_->Connect(wait_ms);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<BackendStore> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::ValuesIn(StoreBackends()),
                         [](const ::testing::TestParamInfo<StoreBackend>& backend) {
                           return std::string(backend.param.name);
                         });

TEST_P(StoreContractTest, UserLifecycle) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  UserRecord carol = User("carol", 30);
  carol.password_hash = "";  // no password set: empty, not NULL
  ASSERT_TRUE(store->AddUser(User("bob", 20)).ok());
  ASSERT_TRUE(store->AddUser(carol).ok());
  ASSERT_TRUE(store->AddUser(User("alice", 10)).ok());

  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[1].name, "bob");
  EXPECT_EQ((*users)[2].name, "carol");
  EXPECT_EQ((*users)[2].password_hash, "");
  EXPECT_EQ((*users)[0].created, 10);
  EXPECT_EQ((*users)[0].password_changed, 10);

  ASSERT_TRUE(store->SetDisabled("bob", true).ok());
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_TRUE((*bob)->disabled);
  ASSERT_TRUE(store->SetDisabled("bob", false).ok());
  bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_FALSE((*bob)->disabled);

  ASSERT_TRUE(store->RemoveUser("bob").ok());
  bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(bob->has_value());
  // Names are compared byte for byte.
  auto upper = store->GetUser("ALICE");
  ASSERT_TRUE(upper.ok());
  EXPECT_FALSE(upper->has_value());
}

TEST_P(StoreContractTest, DuplicateAddAndNotFound) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  Status dup = store->AddUser(User("alice"));
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_NE(dup.message().find("alice"), std::string::npos) << dup.message();

  auto missing = store->GetUser("nobody");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  Status removed = store->RemoveUser("nobody");
  EXPECT_EQ(removed.code(), Code::kNotFound);
  EXPECT_NE(removed.message().find("nobody"), std::string::npos);
  EXPECT_EQ(store->SetDisabled("nobody", true).code(), Code::kNotFound);
}

TEST_P(StoreContractTest, ReplacePasswordHashIsCompareAndSet) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  const UserRecord alice = User("alice", 100);
  ASSERT_TRUE(store->AddUser(alice).ok());

  auto replaced = store->ReplacePasswordHash("alice", "stale", "new1", 0);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(*replaced);
  auto got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, alice.password_hash);

  // A rehash (changed_at == 0) keeps password_changed.
  replaced = store->ReplacePasswordHash("alice", alice.password_hash, "new1", 0);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(*replaced);
  got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "new1");
  EXPECT_EQ((*got)->password_changed, 100);

  // A real change records when.
  replaced = store->ReplacePasswordHash("alice", "new1", "new2", 555);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(*replaced);
  got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "new2");
  EXPECT_EQ((*got)->password_changed, 555);

  replaced = store->ReplacePasswordHash("nobody", "x", "y", 1);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(*replaced);
}

TEST_P(StoreContractTest, EventsFilterAndLimit) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->RecordEvent(Event("alice", 100, "success")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("bob", 110, "failure")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("alice", 120, "failure")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("alice", 130, "success")).ok());
  ASSERT_TRUE(store->RecordEvent(Event("bob", 140, "success")).ok());
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());  // events are kept

  auto all = store->ListEvents({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].time, 100);
  EXPECT_EQ((*all)[4].time, 140);
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  EXPECT_EQ((*all)[1].service, "sshd");
  EXPECT_EQ((*all)[1].remote_host, "192.0.2.7");
  EXPECT_EQ((*all)[1].method, "password");
  EXPECT_EQ((*all)[1].outcome, "failure");
  EXPECT_EQ((*all)[1].detail, "");

  EventFilter filter;
  filter.user = "alice";
  auto alice = store->ListEvents(filter);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 3u);
  EXPECT_EQ((*alice)[0].time, 100);
  EXPECT_EQ((*alice)[2].time, 130);

  filter.limit = 2;  // newest two, oldest first
  alice = store->ListEvents(filter);
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].time, 120);
  EXPECT_EQ((*alice)[1].time, 130);

  EventFilter since;
  since.since = 120;  // inclusive
  auto recent = store->ListEvents(since);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].time, 120);
  since.limit = 1;
  recent = store->ListEvents(since);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].user, "bob");
  EXPECT_EQ((*recent)[0].time, 140);
}

// The activity listings' filters: until (exclusive), service, outcomes,
// methods, newest first; CountEvents sums the counts of what they take.
TEST_P(StoreContractTest, EventsFilterByUntilServiceOutcomeMethodNewestFirst) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  SignInEvent e = Event("alice", 100, "success");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 110, "failure");
  e.service = "imap";
  e.method = "app-password";
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e.time = 115;  // coalesced into the row above: count 2
  ASSERT_TRUE(store->RecordEvent(e, 60).ok());
  e = Event("alice", 120, "locked");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("bob", 130, "failure");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 140, "success");
  e.method = "password+totp";
  ASSERT_TRUE(store->RecordEvent(e).ok());

  EventFilter filter;
  filter.user = "alice";
  filter.newest_first = true;
  auto listed = store->ListEvents(filter);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ((*listed)[0].time, 140);
  EXPECT_EQ((*listed)[1].time, 120);
  EXPECT_EQ((*listed)[2].time, 115);
  EXPECT_EQ((*listed)[2].count, 2);
  EXPECT_EQ((*listed)[3].time, 100);
  filter.limit = 2;  // the newest two, newest first
  listed = store->ListEvents(filter);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].time, 140);
  EXPECT_EQ((*listed)[1].time, 120);

  EventFilter until;
  until.until = 120;  // exclusive
  until.since = 110;  // inclusive
  listed = store->ListEvents(until);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].service, "imap");

  EventFilter service;
  service.service = "imap";
  listed = store->ListEvents(service);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].method, "app-password");

  EventFilter failures;
  failures.outcomes = {"failure", "locked"};
  listed = store->ListEvents(failures);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].outcome, "failure");
  EXPECT_EQ((*listed)[1].outcome, "locked");
  EXPECT_EQ((*listed)[2].user, "bob");
  auto counted = store->CountEvents(failures);
  ASSERT_TRUE(counted.ok()) << counted.status().message();
  EXPECT_EQ(*counted, 4);  // 2 + 1 + 1
  failures.user = "alice";
  failures.since = 111;
  counted = store->CountEvents(failures);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(*counted, 3);  // the coalesced row's time is its last (115)
  failures.since = 116;
  EXPECT_EQ(store->CountEvents(failures).value(), 1);
  failures.user = "carol";
  EXPECT_EQ(store->CountEvents(failures).value(), 0);
  // after_id: only events recorded after the one with that id.
  EventFilter after;
  after.user = "alice";
  after.newest_first = true;
  auto alice_all = store->ListEvents(after);
  ASSERT_TRUE(alice_all.ok());
  ASSERT_EQ(alice_all->size(), 4u);
  after.after_id = (*alice_all)[2].id;  // the coalesced failure
  listed = store->ListEvents(after);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].time, 140);
  EXPECT_EQ((*listed)[1].time, 120);
  EXPECT_EQ(store->CountEvents(after).value(), 2);

  EventFilter methods;
  methods.methods = {"password", "password+totp"};
  methods.outcomes = {"success"};
  listed = store->ListEvents(methods);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].time, 100);
  EXPECT_EQ((*listed)[1].method, "password+totp");
  methods.methods = {"password+"};  // exact, not a prefix
  EXPECT_TRUE(store->ListEvents(methods).value().empty());

  // Names that could break the matching are refused in front.
  EventFilter bad;
  bad.outcomes = {"failure\x1f"};
  EXPECT_EQ(store->ListEvents(bad).status().code(), Code::kInvalidArgument);
  bad.outcomes = {""};
  EXPECT_EQ(store->CountEvents(bad).status().code(), Code::kInvalidArgument);
}

// ReadLastSignIn: the success (of the methods) before the newest one, and
// the failures (of the outcomes and methods) recorded after it; without one,
// all of them. A failure in the same second is "since" only when recorded
// after it. Other users, other methods and other outcomes do not count.
TEST_P(StoreContractTest, ReadLastSignInIsTheSuccessBeforeTheNewestAndTheFailuresSince) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> methods = {"password", "password+totp"};
  const std::vector<std::string> failures = {"failure", "locked"};
  auto read = [&]() {
    Result<LastSignIn> last = store->ReadLastSignIn("alice", methods, failures);
    EXPECT_TRUE(last.ok()) << last.status().message();
    return last.ok() ? *last : LastSignIn{};
  };
  LastSignIn last = read();
  EXPECT_FALSE(last.found);
  EXPECT_EQ(last.failures_since, 0);

  SignInEvent e = Event("alice", 90, "failure");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 95, "failure");
  e.method = "app-password";  // not one of the methods
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 100, "failure");  // the same second, before the success
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 100, "success");
  e.remote_host = "198.51.100.4";
  ASSERT_TRUE(store->RecordEvent(e).ok());
  // Only one success: it is this sign-in; every failure so far counts.
  last = read();
  EXPECT_FALSE(last.found);
  EXPECT_EQ(last.failures_since, 2);

  e = Event("alice", 100, "failure");  // the same second, after the success
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 104, "locked");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e.time = 105;  // coalesced: count 2
  ASSERT_TRUE(store->RecordEvent(e, 60).ok());
  e = Event("alice", 106, "disabled");  // not one of the outcomes
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("bob", 107, "failure");  // another user
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("bob", 107, "success");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 108, "success");
  e.method = "app-password";  // not one of the methods: not a sign-in here
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 110, "success");
  e.method = "password+totp";
  e.service = "login";
  e.remote_host = "";
  ASSERT_TRUE(store->RecordEvent(e).ok());

  last = read();
  EXPECT_TRUE(last.found);
  EXPECT_EQ(last.time, 100);
  EXPECT_EQ(last.service, "sshd");
  EXPECT_EQ(last.remote_host, "198.51.100.4");
  EXPECT_EQ(last.failures_since, 3);  // 100 (after it) and 104-105 (count 2)

  // A third success: the one before is now the second.
  e = Event("alice", 120, "success");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  last = read();
  EXPECT_TRUE(last.found);
  EXPECT_EQ(last.time, 110);
  EXPECT_EQ(last.service, "login");
  EXPECT_EQ(last.remote_host, "");
  EXPECT_EQ(last.failures_since, 0);

  // Empty lists take any, as in EventFilter: with any method the
  // app-password success at 125 is the newest and 120 the one before; with
  // any outcome, everything after 120 counts (121 and 125).
  e = Event("alice", 121, "disabled");
  ASSERT_TRUE(store->RecordEvent(e).ok());
  e = Event("alice", 125, "success");
  e.method = "app-password";
  ASSERT_TRUE(store->RecordEvent(e).ok());
  Result<LastSignIn> any = store->ReadLastSignIn("alice", {}, {});
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_TRUE(any->found);
  EXPECT_EQ(any->time, 120);
  EXPECT_EQ(any->failures_since, 2);
  last = read();  // the methods given: still 110, and nothing failed since
  EXPECT_EQ(last.time, 110);
  EXPECT_EQ(last.failures_since, 0);

  Result<LastSignIn> nobody = store->ReadLastSignIn("carol", methods, failures);
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->found);
  EXPECT_EQ(nobody->failures_since, 0);

  EXPECT_EQ(store->ReadLastSignIn("alice", {"password\x1f"}, failures).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store->ReadLastSignIn("alice", methods, {""}).status().code(), Code::kInvalidArgument);
}

// Settlement::last_sign_in: a success's own write also answers
// ReadLastSignIn, the same answer as a ReadLastSignIn right after it
// (PostgreSQL does it in the write's statement, SQLite after it).
TEST_P(StoreContractTest, ASuccessReadsTheLastSignInWithItsWrite) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LastSignInQuery query{{"password", "password+totp"}, {"failure", "locked"}};
  const LastSignInQuery any{{}, {}};
  const LockoutPolicy policy{5, 900, 600};
  int64_t now = 1000;
  auto succeed = [&](const LastSignInQuery& q, const std::string& method,
                     const std::string& host) -> LastSignIn {
    ++now;
    Settlement settlement;
    settlement.kind = Settlement::Kind::kSuccess;
    settlement.reservation = store->ReserveAttempt("alice", now, policy, "").value();
    settlement.last_sign_in = &q;
    SignInEvent event = Event("alice", now, "success");
    event.method = method;
    event.remote_host = host;
    Result<SettleOutcome> settled = store->SettleAttempt("alice", settlement, &event);
    EXPECT_TRUE(settled.ok()) << settled.status().message();
    if (!settled.ok()) return LastSignIn{};
    EXPECT_TRUE(settled->last_sign_in_error.empty()) << settled->last_sign_in_error;
    EXPECT_TRUE(settled->last_sign_in.has_value());
    Result<LastSignIn> after = store->ReadLastSignIn("alice", q.methods, q.failure_outcomes);
    EXPECT_TRUE(after.ok());
    if (!after.ok() || !settled->last_sign_in.has_value()) return LastSignIn{};
    const LastSignIn& with = *settled->last_sign_in;
    EXPECT_EQ(with.found, after->found);
    EXPECT_EQ(with.time, after->time);
    EXPECT_EQ(with.service, after->service);
    EXPECT_EQ(with.remote_host, after->remote_host);
    EXPECT_EQ(with.failures_since, after->failures_since);
    return with;
  };
  auto fail = [&](const std::string& outcome, const std::string& method) {
    ++now;
    SignInEvent e = Event("alice", now, outcome);
    e.method = method;
    ASSERT_TRUE(store->RecordEvent(e).ok());
  };

  // The first sign-in: none before it; the failures before it count.
  fail("failure", "password");
  fail("failure", "password");
  LastSignIn last = succeed(query, "password", "198.51.100.4");
  EXPECT_FALSE(last.found);
  EXPECT_EQ(last.failures_since, 2);

  // Then failures of other kinds and one of ours, and a success by another
  // method, which the query leaves out.
  fail("locked", "password+totp");
  fail("disabled", "password");
  fail("failure", "app-password");
  last = succeed(query, "app-password", "");
  last = succeed(query, "password+totp", "203.0.113.9");
  EXPECT_TRUE(last.found);
  EXPECT_EQ(last.time, 1003);
  EXPECT_EQ(last.remote_host, "198.51.100.4");
  EXPECT_EQ(last.failures_since, 1);

  // Any method, any outcome (read after the write: with any outcome this
  // success counts too, as ReadLastSignIn says).
  fail("disabled", "password");
  last = succeed(any, "password", "");
  EXPECT_TRUE(last.found);
  EXPECT_EQ(last.time, 1008);
  EXPECT_EQ(last.remote_host, "203.0.113.9");
  EXPECT_EQ(last.failures_since, 2);
  // And the line's own case again, after all of that.
  fail("failure", "password");
  fail("unknown-user", "password");
  last = succeed(query, "password", "192.0.2.1");
  EXPECT_TRUE(last.found);
  EXPECT_EQ(last.time, 1010);
  EXPECT_EQ(last.remote_host, "");
  EXPECT_EQ(last.failures_since, 1);  // 1011 (unknown-user is not asked for)

  // Not asked: not answered. A bad query is refused before anything is
  // written.
  Settlement plain;
  plain.kind = Settlement::Kind::kSuccess;
  plain.reservation = store->ReserveAttempt("alice", ++now, policy, "").value();
  SignInEvent event = Event("alice", now, "success");
  Result<SettleOutcome> settled = store->SettleAttempt("alice", plain, &event);
  ASSERT_TRUE(settled.ok());
  EXPECT_FALSE(settled->last_sign_in.has_value());
  const LastSignInQuery bad{{"password\x1f"}, {}};
  auto before = store->ListEvents(EventFilter{});
  ASSERT_TRUE(before.ok());
  plain.last_sign_in = &bad;
  EXPECT_EQ(store->SettleAttempt("alice", plain, &event).status().code(), Code::kInvalidArgument);
  auto after = store->ListEvents(EventFilter{});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size());
}

// The new-host mark: set on an event from a remote host the user had no
// success from in an earlier event; never for an empty host; only when asked.
TEST_P(StoreContractTest, EventsMarkRemoteHostsNewToTheUser) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto record = [&](const std::string& user, int64_t time, const std::string& host,
                    const std::string& outcome) {
    SignInEvent e = Event(user, time, outcome);
    e.remote_host = host;
    ASSERT_TRUE(store->RecordEvent(e).ok());
  };
  record("alice", 100, "192.0.2.1", "failure");  // new: no success from it yet
  record("alice", 110, "192.0.2.1", "success");  // new: the first success
  record("alice", 120, "192.0.2.1", "success");  // known
  record("alice", 130, "192.0.2.1", "failure");  // known
  record("alice", 140, "198.51.100.9", "failure");
  record("bob", 150, "198.51.100.9", "success");  // another user's success
  record("alice", 160, "198.51.100.9", "success");
  record("alice", 170, "", "success");  // no host: never marked

  EventFilter filter;
  filter.user = "alice";
  filter.mark_new_hosts = true;
  auto listed = store->ListEvents(filter);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 7u);
  const bool expected[] = {true, true, false, false, true, true, false};
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ((*listed)[i].new_host, expected[i]) << i;
  filter.limit = 2;  // the mark looks at every earlier event, not only the listed ones
  filter.newest_first = true;
  listed = store->ListEvents(filter);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_FALSE((*listed)[0].new_host);
  EXPECT_TRUE((*listed)[1].new_host);
  EventFilter unmarked;
  unmarked.user = "alice";
  listed = store->ListEvents(unmarked);
  ASSERT_TRUE(listed.ok());
  for (const SignInEvent& e : *listed) EXPECT_FALSE(e.new_host);
  // Every user's events at once (an administrator's listing): each is
  // marked against its own user's successes only.
  EventFilter everyone;
  everyone.mark_new_hosts = true;
  listed = store->ListEvents(everyone);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 8u);
  const bool expected_all[] = {true, true, false, false, true, true, true, false};
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ((*listed)[i].new_host, expected_all[i]) << i << " " << (*listed)[i].user;
  }
}

// PruneEvents deletes exactly the events older than the limit, oldest
// first, at most a batch at a time; what is left is untouched.
TEST_P(StoreContractTest, PruneEventsDeletesExactlyTheOlderOnesInBatches) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  for (int64_t t = 1000; t < 1025; ++t)
    ASSERT_TRUE(store->RecordEvent(Event(t % 2 == 0 ? "alice" : "bob", t, "success")).ok());
  auto pruned = store->PruneEvents(1010, 4);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(*pruned, 4);
  auto left = store->ListEvents(EventFilter{});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 21u);
  EXPECT_EQ(left->front().time, 1004);  // the oldest went first
  EXPECT_EQ(store->PruneEvents(1010, 4).value(), 4);
  EXPECT_EQ(store->PruneEvents(1010, 4).value(), 2);  // less than a batch: done
  EXPECT_EQ(store->PruneEvents(1010, 4).value(), 0);
  left = store->ListEvents(EventFilter{});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 15u);
  EXPECT_EQ(left->front().time, 1010);  // not older than the limit: kept
  EXPECT_EQ(left->back().time, 1024);
  EXPECT_EQ(store->PruneEvents(0, 100).value(), 0);

  EXPECT_EQ(store->PruneEvents(2000, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->PruneEvents(2000, kMaxPruneBatch + 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->ListEvents(EventFilter{}).value().size(), 15u);  // refused: nothing deleted
  EXPECT_EQ(store->PruneEvents(2000, kMaxPruneBatch).value(), 15);
  EXPECT_TRUE(store->ListEvents(EventFilter{}).value().empty());
}

// Retention in passing: a settlement or RecordEvent with prune_before
// deletes exactly the kPruneInPassingBatch oldest events older than the
// limit (whatever the kind, with or without an event), never a newer one
// nor the event it records; nothing with prune_before = 0.
TEST_P(StoreContractTest, SettlementsAndEventsPruneAFewOldEventsInPassing) {
  static_assert(kPruneInPassingBatch >= 1, "the table must stop growing while each write adds one");
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const int64_t kLimit = 1100;
  const int64_t kOld = 3 * kPruneInPassingBatch + 1;  // due: times 1000 .. 1000 + kOld - 1
  for (int64_t t = 1000; t < 1000 + kOld; ++t)
    ASSERT_TRUE(store->RecordEvent(Event(t % 2 == 0 ? "alice" : "bob", t, "success")).ok());
  for (int64_t t = kLimit; t < kLimit + 3; ++t)  // at the limit and after it: kept
    ASSERT_TRUE(store->RecordEvent(Event("bob", t, "success")).ok());
  size_t expected = static_cast<size_t>(kOld) + 3;
  int64_t oldest = 1000;
  // The events' times, oldest first; each deletion takes the oldest due.
  auto expect_left = [&](const char* step) {
    auto left = store->ListEvents(EventFilter{});
    ASSERT_TRUE(left.ok()) << step;
    ASSERT_EQ(left->size(), expected) << step;
    EXPECT_EQ(left->front().time, oldest) << step;
  };
  const LockoutPolicy policy{3, 900, 600};
  SignInEvent event = Event("alice", 5000, "success");

  // prune_before = 0 (the default): the event only.
  Settlement settlement;
  settlement.kind = Settlement::Kind::kSuccess;
  settlement.reservation = store->ReserveAttempt("alice", 5000, policy, "").value();
  ASSERT_TRUE(store->SettleAttempt("alice", settlement, &event).ok());
  expected += 1;
  expect_left("no prune_before");

  // A success with its event: the batch goes, the event comes.
  settlement.reservation = store->ReserveAttempt("alice", 5001, policy, "").value();
  settlement.prune_before = kLimit;
  auto settled = store->SettleAttempt("alice", settlement, &event);
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  expected += 1 - kPruneInPassingBatch;
  oldest += kPruneInPassingBatch;
  expect_left("a success");

  // A wrong attempt settled without its event (the flow records it after):
  // the batch goes all the same, and the counters are as without it.
  const std::string digest = Digest('a');
  Settlement wrong;
  wrong.kind = Settlement::Kind::kWrong;
  wrong.reservation = store->ReserveAttempt("alice", 5002, policy, digest).value();
  wrong.attempt = digest;
  wrong.now = 5002;
  wrong.policy = policy;
  wrong.prune_before = kLimit;
  settled = store->SettleAttempt("alice", wrong, nullptr);
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_EQ(settled->failures, 1);
  expected -= kPruneInPassingBatch;
  oldest += kPruneInPassingBatch;
  expect_left("a wrong attempt without its event");

  // RecordEvent: the same, coalescing or not; without prune_before, nothing.
  ASSERT_TRUE(store->RecordEvent(Event("alice", 5003, "failure"), 0, 0).ok());
  expected += 1;
  expect_left("RecordEvent without prune_before");
  ASSERT_TRUE(store->RecordEvent(Event("alice", 5004, "failure"), 60, kLimit).ok());  // coalesced
  expected -= kPruneInPassingBatch;
  oldest += kPruneInPassingBatch;
  expect_left("RecordEvent, coalesced");
  EXPECT_EQ(store->CountEvents(EventFilter{}).value(), static_cast<int64_t>(expected) + 1);

  // The last due one: fewer than a batch are left, and only they go; an
  // event older than the limit itself is recorded after the deletion, so
  // it stays.
  ASSERT_EQ(oldest, 1000 + kOld - 1);
  ASSERT_TRUE(store->RecordEvent(Event("alice", 1, "failure"), 0, kLimit).ok());
  auto left = store->ListEvents(EventFilter{});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), expected);  // one deleted, one added
  EXPECT_EQ(left->front().time, 1);
  EXPECT_EQ((*left)[1].time, kLimit);  // nothing at or after the limit went
  EXPECT_EQ(left->back().time, 5004);

  // Nothing due: nothing deleted.
  settlement.reservation = store->ReserveAttempt("alice", 5005, policy, "").value();
  settlement.prune_before = 2;  // only the event at time 1 is older
  ASSERT_TRUE(store->SettleAttempt("alice", settlement, &event).ok());
  settlement.reservation = store->ReserveAttempt("alice", 5006, policy, "").value();
  ASSERT_TRUE(store->SettleAttempt("alice", settlement, &event).ok());
  left = store->ListEvents(EventFilter{});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), expected + 1);  // -1 (time 1), +2 events
  EXPECT_EQ(left->front().time, kLimit);
}

// Coalescing: equal events within the window share a row; any field that
// differs, or a gap longer than the window, starts a new one.
TEST_P(StoreContractTest, RecordEventCoalescesEqualEventsWithinTheWindow) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  SignInEvent e;
  e.user = "alice";
  e.service = "sshd";
  e.remote_host = "192.0.2.1";
  e.method = "password";
  e.outcome = "failure";
  e.detail = "empty password";
  for (int64_t t = 1000; t < 1100; t += 10) {
    e.time = t;
    ASSERT_TRUE(store->RecordEvent(e, 60).ok());
  }
  SignInEvent other = e;
  other.remote_host = "192.0.2.2";
  ASSERT_TRUE(store->RecordEvent(other, 60).ok());
  e.time = 1090 + 61;  // the window has passed since the last one
  ASSERT_TRUE(store->RecordEvent(e, 60).ok());
  e.time = 1152;
  ASSERT_TRUE(store->RecordEvent(e, 0).ok());  // not coalesced when not asked
  auto events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].count, 10);
  EXPECT_EQ((*events)[0].time, 1090);
  EXPECT_EQ((*events)[1].remote_host, "192.0.2.2");
  EXPECT_EQ((*events)[1].count, 1);
  EXPECT_EQ((*events)[2].count, 1);
  EXPECT_EQ((*events)[3].count, 1);
}

// Four processes write events while this one changes users: all writes land,
// none fails with kBusy.
TEST_P(StoreContractTest, ConcurrentWritersQueue) {
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
  }  // closed before fork: a connection must not cross fork()
  constexpr int kChildren = 4;
  constexpr int kEventsEach = 200;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      {
        auto store = backend_->Connect();  // its own connection, after fork
        if (!store.ok()) _exit(10);
        for (int i = 0; i < kEventsEach && code == 0; ++i) {
          if (!(*store)->RecordEvent(Event("alice", 1000 + i, "success")).ok()) code = 11;
          auto user = (*store)->GetUser("alice");
          if (!user.ok() || !user->has_value()) code = 12;
        }
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 40; ++i) {
      const std::string name = "user" + std::to_string(i);
      EXPECT_TRUE(store->AddUser(User(name)).ok());
      EXPECT_TRUE(store->SetDisabled(name, true).ok());
      EXPECT_TRUE(store->SetDisabled("alice", i % 2 == 0).ok());
    }
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto events = store->ListEvents({});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), static_cast<size_t>(kChildren * kEventsEach));
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->size(), 41u);
}

// A store busy for longer than a writer waits (MUST: waited for, bounded,
// then kBusy with a message, never a half-applied change): every write is
// kBusy, nothing of it is applied, and it goes through once the store is
// free again. Readers are not blocked.
TEST_P(StoreContractTest, ABusyStoreRefusesWritesWholeWithKBusy) {
  auto store = MustConnect(/*wait_ms=*/50);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  {
    auto hold = backend_->BlockWrites();
    ASSERT_TRUE(hold.ok()) << hold.status().message();
    auto read = store->GetUser("alice");
    EXPECT_TRUE(read.ok()) << read.status().message();
    Status added = store->AddUser(User("bob"));
    EXPECT_EQ(added.code(), Code::kBusy) << added.message();
    EXPECT_FALSE(added.message().empty());
    Status changed = store->SetPassword("alice", "h-new", 2000, false, 5);
    EXPECT_EQ(changed.code(), Code::kBusy) << changed.message();
    auto reserved = store->ReserveAttempt("alice", 2000, LockoutPolicy{}, "");
    EXPECT_EQ(reserved.status().code(), Code::kBusy) << reserved.status().message();
    Status recorded = store->RecordEvent(Event("alice", 2000, "success"));
    EXPECT_EQ(recorded.code(), Code::kBusy) << recorded.message();
  }
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->password_hash, User("alice").password_hash);
  EXPECT_EQ((*alice)->password_changed, User("alice").password_changed);
  EXPECT_EQ((*alice)->failures, 0);
  EXPECT_EQ((*alice)->pending_attempts, 0);
  EXPECT_TRUE(store->PasswordHistory("alice").value().empty());
  EXPECT_FALSE(store->GetUser("bob").value().has_value());
  EXPECT_TRUE(store->ListEvents(EventFilter{}).value().empty());
  // Free again: the same calls go through.
  EXPECT_TRUE(store->AddUser(User("bob")).ok());
  EXPECT_TRUE(store->SetPassword("alice", "h-new", 2000, false, 5).ok());
  EXPECT_EQ(store->PasswordHistory("alice").value(),
            std::vector<std::string>{User("alice").password_hash});
}

TEST_P(StoreContractTest, NewFieldsRoundTrip) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  UserRecord dave = User("dave", 77);
  dave.must_change = true;
  dave.failures = 3;
  dave.first_failure = 70;
  dave.locked_until = kLockedUntilUnlocked;
  ASSERT_TRUE(store->AddUser(dave).ok());
  ASSERT_TRUE(store->AddUser(User("erin", 78)).ok());
  auto got = store->GetUser("dave");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->must_change);
  EXPECT_EQ((*got)->failures, 3);
  EXPECT_EQ((*got)->first_failure, 70);
  EXPECT_EQ((*got)->locked_until, kLockedUntilUnlocked);
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].locked_until, kLockedUntilUnlocked);
  ExpectNoFailures((*users)[1]);
  ExpectNoAuthenticator((*users)[1]);
  ExpectNoMfaRequirement((*users)[1]);
}

TEST_P(StoreContractTest, ReserveAttemptWindowLockAndExpiry) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{3, 100, 50};
  auto fail = [&](int64_t now) { return Wrong(*store, "alice", now, policy); };
  auto stored = [&]() {
    auto u = store->GetUser("alice");
    EXPECT_TRUE(u.ok() && u->has_value());
    return u.ok() && u->has_value() ? **u : UserRecord{};
  };

  // First failure opens the window.
  Reservation r = fail(1000);
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.window, 1000);
  EXPECT_EQ(r.locked_until, 0);
  EXPECT_EQ(stored().first_failure, 1000);
  // Counted within the window.
  r = fail(1099);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.window, 1000);
  // now == first_failure + fail_interval: the window has passed, back to 1.
  r = fail(1100);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.window, 1100);
  r = fail(1150);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.locked_until, 0);
  // deny reached: the reservation that reaches it sets the lock.
  r = fail(1160);
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 3);
  EXPECT_EQ(r.locked_until, 1210);
  // While it is in force nothing more is reserved, nor counted.
  r = fail(1170);
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.failures, 3);
  EXPECT_EQ(r.locked_until, 1210);
  UserRecord u = stored();
  EXPECT_EQ(u.failures, 3);
  EXPECT_EQ(u.first_failure, 1100);
  EXPECT_EQ(u.locked_until, 1210);
  // Lock run out (locked_until <= now), though still inside the window:
  // a new window, the lock gone, and that is reported.
  r = fail(1210);
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 0);
  EXPECT_TRUE(r.lock_expired);
  u = stored();
  EXPECT_EQ(u.first_failure, 1210);
  EXPECT_EQ(u.locked_until, 0);
  // And it can lock again.
  EXPECT_FALSE(fail(1211).lock_expired);
  r = fail(1212);
  EXPECT_EQ(r.locked_until, 1262);
}

TEST_P(StoreContractTest, ReserveAttemptAdminLockDenyZeroAndEdges) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  for (const char* name : {"alice", "bob", "carol", "dave"}) {
    ASSERT_TRUE(store->AddUser(User(name)).ok());
  }

  // unlock_time 0: until an administrator unlocks.
  const LockoutPolicy admin{2, 900, 0};
  EXPECT_EQ(Wrong(*store, "alice", 5000, admin).locked_until, 0);
  Reservation r = Wrong(*store, "alice", 5001, admin);
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked);
  r = Wrong(*store, "alice", 5002, admin);
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked);
  // Long after the window a lock in force still stands.
  r = Wrong(*store, "alice", 5000 + 10 * 900, admin);
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked);
  const LockoutPolicy timed{2, 60, 600};
  Wrong(*store, "dave", 100, timed);
  r = Wrong(*store, "dave", 101, timed);
  ASSERT_EQ(r.locked_until, 701);
  r = Wrong(*store, "dave", 300, timed);  // window (60 s) over, lock (600 s) is not
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.locked_until, 701);
  r = Wrong(*store, "dave", 701, timed);  // the lock ran out: a new window
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 0);

  // deny 0 counts but never locks, and ignores a lock recorded earlier.
  const LockoutPolicy never{0, 900, 600};
  for (int i = 1; i <= 20; ++i) {
    r = Wrong(*store, "bob", 5000 + i, never);
    EXPECT_EQ(r.verdict, Verdict::kReserved);
    EXPECT_EQ(r.failures, i);
    EXPECT_EQ(r.locked_until, 0);
  }
  r = Wrong(*store, "alice", 5003, never);
  EXPECT_EQ(r.verdict, Verdict::kReserved) << "deny 0: the recorded lock does not refuse";

  // deny 1: the first failure locks.
  r = Wrong(*store, "carol", 5000, LockoutPolicy{1, 900, 600});
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 5600);

  // now + unlock_time near the top of int64 is clamped below the admin lock.
  const int64_t late = kLockedUntilUnlocked - 10;
  ASSERT_TRUE(store->ClearFailures("dave").ok());
  r = Wrong(*store, "dave", late, LockoutPolicy{1, 900, 31536000});
  EXPECT_EQ(r.locked_until, kLockedUntilUnlocked - 1);

  // Bad policy, unknown user.
  EXPECT_EQ(store->ReserveAttempt("bob", 6000, LockoutPolicy{5, 900, -1}, "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store->ReserveAttempt("bob", 6000, LockoutPolicy{5, -1, 600}, "").status().code(),
            Code::kInvalidArgument);
  auto missing = store->ReserveAttempt("nobody", 6000, LockoutPolicy{}, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nobody"), std::string::npos);
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->failures, 20);  // the refused calls changed nothing
}

// Reservations in flight: pending ones count toward deny, so no more than
// deny secrets are checked at once; when the window is full of pending
// ones the next waits (kFull); the lock comes only from failures settled
// as wrong; a success clears all but what is still pending.
TEST_P(StoreContractTest, PendingAttemptsFillTheWindowAndSettle) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{3, 900, 600};
  auto reserve = [&](int64_t now, const std::string& digest = "") {
    auto r = store->ReserveAttempt("alice", now, policy, digest);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Reservation{};
  };
  auto settle = [&](Settlement::Kind kind, const Reservation& r, int64_t now,
                    const std::string& digest = "") {
    Settlement s;
    s.kind = kind;
    s.reservation = r;
    s.attempt = digest;
    s.now = now;
    s.policy = policy;
    auto settled = store->SettleAttempt("alice", s, nullptr);
    EXPECT_TRUE(settled.ok()) << settled.status().message();
    return settled.ok() ? *settled : SettleOutcome{};
  };
  auto stored = [&]() {
    auto u = store->GetUser("alice");
    return u.ok() && u->has_value() ? **u : UserRecord{};
  };

  Reservation a = reserve(100);
  Reservation b = reserve(101);
  Reservation c = reserve(102);
  EXPECT_EQ(c.verdict, Verdict::kReserved);
  EXPECT_EQ(c.failures, 3);
  EXPECT_EQ(stored().pending_attempts, 3);
  EXPECT_EQ(stored().locked_until, 0) << "nothing is locked by attempts still in flight";
  Reservation d = reserve(103);
  EXPECT_EQ(d.verdict, Verdict::kFull) << "a fourth waits: three are being checked";
  EXPECT_EQ(stored().failures, 3) << "and is not counted";

  // a was right: a success. b and c are still pending and stay counted.
  SettleOutcome done = settle(Settlement::Kind::kSuccess, a, 104);
  EXPECT_EQ(done.failures, 2);
  EXPECT_EQ(stored().pending_attempts, 2);
  EXPECT_EQ(stored().first_failure, 100);
  EXPECT_EQ(reserve(105).verdict, Verdict::kReserved) << "room again";
  // b gave up (released), c was wrong: counted, no lock (2 of 3).
  settle(Settlement::Kind::kRelease, b, 106);
  SettleOutcome wrong = settle(Settlement::Kind::kWrong, c, 107, Digest('c'));
  EXPECT_EQ(wrong.locked_until, 0);
  EXPECT_FALSE(wrong.repeated);
  UserRecord u = stored();
  EXPECT_EQ(u.failures, 2);
  EXPECT_EQ(u.pending_attempts, 1);
  // One more wrong completes the count: that settlement sets the lock.
  Reservation e = reserve(108);
  EXPECT_EQ(e.failures, 3);
  // The pending one from 105 ends wrong too, the same secret as c: not
  // counted again.
  Reservation f{Verdict::kReserved, 3, 100, 0, false};
  SettleOutcome again = settle(Settlement::Kind::kWrong, f, 109, Digest('c'));
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.failures, 2);
  wrong = settle(Settlement::Kind::kWrong, e, 110, Digest('e'));
  EXPECT_EQ(wrong.locked_until, 0) << "2 of 3 after the repeat was taken back";
  Reservation g = reserve(111);
  wrong = settle(Settlement::Kind::kWrong, g, 112, Digest('9'));
  EXPECT_EQ(wrong.locked_until, 712);
  EXPECT_EQ(wrong.failures, 3);
  EXPECT_EQ(reserve(113).verdict, Verdict::kLocked);
  EXPECT_EQ(stored().pending_attempts, 0);

  // A success clears the lock, the count and the window.
  ASSERT_TRUE(store->ClearFailures("alice").ok());
  Reservation h = reserve(200);
  settle(Settlement::Kind::kSuccess, h, 201);
  u = stored();
  EXPECT_EQ(u.failures, 0);
  EXPECT_EQ(u.pending_attempts, 0);
  EXPECT_EQ(u.first_failure, 0);
  EXPECT_EQ(u.locked_until, 0);

  // A settlement from a window that is gone changes no counter.
  Reservation old = reserve(300);
  Reservation fresh = reserve(300 + 900);  // the window has passed: a new one
  EXPECT_EQ(fresh.failures, 1);
  settle(Settlement::Kind::kRelease, old, 1201);
  settle(Settlement::Kind::kWrong, old, 1201, Digest('0'));
  u = stored();
  EXPECT_EQ(u.failures, 1);
  EXPECT_EQ(u.pending_attempts, 1);
  EXPECT_EQ(reserve(1202, Digest('0')).verdict, Verdict::kReserved)
      << "the old window's digest was not remembered in the new one";
  // A reservation that was refused settles no counter.
  Reservation refused{Verdict::kLocked, 3, 0, 999, false};
  settle(Settlement::Kind::kRelease, refused, 1203);
  EXPECT_EQ(stored().failures, 2);

  // deny lowered below a count with nothing pending: locked at once.
  ASSERT_TRUE(store->ClearFailures("alice").ok());
  for (int i = 0; i < 2; ++i) Wrong(*store, "alice", 1300 + i, policy);
  Reservation lowered =
      store->ReserveAttempt("alice", 1310, LockoutPolicy{2, 900, 600}, "").value();
  EXPECT_EQ(lowered.verdict, Verdict::kLocked);
  EXPECT_EQ(lowered.locked_until, 1910);
}

TEST_P(StoreContractTest, SettleAttemptRecordsTheEventInTheSameTransaction) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{3, 900, 600};
  SignInEvent event;
  event.time = 300;
  event.user = "alice";
  event.method = "password";
  event.outcome = "success";
  Settlement ok;
  ok.kind = Settlement::Kind::kSuccess;
  ok.reservation = store->ReserveAttempt("alice", 300, policy, "").value();
  ASSERT_TRUE(store->SettleAttempt("alice", ok, &event).ok());
  auto events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->back().outcome, "success");
  EXPECT_EQ(store->GetUser("alice").value()->failures, 0);
  // A user removed meanwhile: no counter, but the event is kept.
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  ASSERT_TRUE(store->SettleAttempt("alice", ok, &event).ok());
  events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 2u);
}

TEST_P(StoreContractTest, ClearFailures) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{2, 900, 0};
  Wrong(*store, "alice", 100, policy);
  Reservation r = Wrong(*store, "alice", 101, policy);
  ASSERT_EQ(r.locked_until, kLockedUntilUnlocked);

  ASSERT_TRUE(store->ClearFailures("alice").ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectNoFailures(**alice);
  // A fresh window afterwards.
  r = Wrong(*store, "alice", 102, policy);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.locked_until, 0);
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->first_failure, 102);

  Status missing = store->ClearFailures("nobody");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
}

TEST_P(StoreContractTest, ARepeatedWrongDigestCountsOnce) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{10, 900, 600};
  auto count = [&](int64_t now, const std::string& digest) {
    return Wrong(*store, "alice", now, policy, digest);
  };
  auto repeated = [](const Reservation& r) { return r.verdict == Verdict::kRepeated; };

  Reservation r = count(1000, Digest('a'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_FALSE(repeated(r));
  r = count(1001, Digest('a'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_TRUE(repeated(r));
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, 1);
  EXPECT_EQ((*alice)->first_failure, 1000) << "a repeat changes nothing";

  // b, c, d, e: the last four are remembered, so a is forgotten and counts again.
  int expected = 1;
  for (char c : {'b', 'c', 'd', 'e'}) {
    r = count(1002, Digest(c));
    EXPECT_EQ(r.failures, ++expected);
    EXPECT_FALSE(repeated(r));
  }
  EXPECT_TRUE(repeated(count(1003, Digest('b'))));
  r = count(1003, Digest('a'));
  EXPECT_FALSE(repeated(r)) << "only the last " << kRememberedWrongAttempts << " are remembered";
  EXPECT_EQ(r.failures, 6);
  EXPECT_FALSE(repeated(count(1003, Digest('b')))) << "a pushed b out";
  EXPECT_EQ(count(1003, Digest('e')).failures, 7);  // e is still remembered: 7 stays
  // No digest (no key file): counted every time.
  EXPECT_EQ(count(1004, "").failures, 8);
  EXPECT_EQ(count(1004, "").failures, 9);

  // A new window forgets them all.
  r = count(1000 + 900, Digest('e'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_FALSE(repeated(r));
  EXPECT_TRUE(repeated(count(1901, Digest('e'))));
  EXPECT_FALSE(repeated(count(1901, Digest('a'))));

  // So does ClearFailures (an unlock), a success, and a new password (one
  // of the remembered wrong ones may be the new password).
  ASSERT_TRUE(store->ClearFailures("alice").ok());
  r = count(1902, Digest('e'));
  EXPECT_EQ(r.failures, 1);
  EXPECT_FALSE(repeated(r));
  ASSERT_TRUE(store->SetPassword("alice", "h-new", 1903, false, 5).ok());
  EXPECT_FALSE(repeated(count(1904, Digest('e'))));
  ASSERT_TRUE(store->SetTotp("alice", "sealed", {}).ok());
  EXPECT_FALSE(repeated(count(1905, Digest('e')))) << "a new authenticator forgets them too";
  count(1906, Digest('f'));
  Settlement ok;
  ok.kind = Settlement::Kind::kSuccess;
  ok.reservation = store->ReserveAttempt("alice", 1906, policy, "").value();
  ASSERT_TRUE(store->SettleAttempt("alice", ok, nullptr).ok());
  EXPECT_FALSE(repeated(count(1907, Digest('f'))));
  count(1907, Digest('f'));

  // A wrong code settled with a digest remembered already (typed again in
  // the same time step after a right password): the reservation is taken
  // back and the settlement says so.
  Reservation again = store->ReserveAttempt("alice", 1908, policy, "").value();
  const int before = again.failures;
  Settlement wrong;
  wrong.kind = Settlement::Kind::kWrong;
  wrong.reservation = again;
  const std::string f = Digest('f');
  wrong.attempt = f;
  wrong.now = 1908;
  wrong.policy = policy;
  auto settled = store->SettleAttempt("alice", wrong, nullptr);
  ASSERT_TRUE(settled.ok());
  EXPECT_TRUE(settled->repeated);
  EXPECT_EQ(store->GetUser("alice").value()->failures, before - 1);
}

TEST_P(StoreContractTest, ALockIsReportedBeforeARepeat) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{2, 900, 600};
  Wrong(*store, "alice", 100, policy, Digest('1'));
  Reservation r = Wrong(*store, "alice", 101, policy, Digest('2'));
  ASSERT_EQ(r.locked_until, 701);
  r = Wrong(*store, "alice", 102, policy, Digest('1'));
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.locked_until, 701);
}

TEST_P(StoreContractTest, MalformedDigestsAreRefusedAndChangeNothing) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy policy{5, 900, 600};
  Reservation held = store->ReserveAttempt("alice", 100, policy, "").value();
  for (const std::string& bad :
       {Digest('a').substr(1), Digest('a') + "a", Digest('A'), Digest('g'),
        std::string(kWrongAttemptDigestChars, '\0'), std::string(1 << 20, 'a')}) {
    auto r = store->ReserveAttempt("alice", 100, policy, bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().message();
    Settlement wrong;
    wrong.kind = Settlement::Kind::kWrong;
    wrong.reservation = held;
    wrong.attempt = bad;
    auto settled = store->SettleAttempt("alice", wrong, nullptr);
    ASSERT_FALSE(settled.ok());
    EXPECT_EQ(settled.status().code(), Code::kInvalidArgument);
  }
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, 1);
  EXPECT_EQ((*alice)->first_failure, 100);
  auto missing = store->ReserveAttempt("nobody", 100, policy, Digest('a'));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_P(StoreContractTest, SetPasswordKeepsNewestHistory) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  UserRecord alice = User("alice", 100);
  alice.password_hash = "h0";
  alice.must_change = true;
  ASSERT_TRUE(store->AddUser(alice).ok());

  // Four changes keeping 2: h0 and h1 fall out.
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(store
                    ->SetPassword("alice", "h" + std::to_string(i), 100 + 100 * i,
                                  /*must_change=*/i == 4, /*history_keep=*/2)
                    .ok());
  }
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, (std::vector<std::string>{"h3", "h2"}));
  auto got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "h4");
  EXPECT_EQ((*got)->password_changed, 500);
  EXPECT_TRUE((*got)->must_change);
  // (Each entry is dated when that hash was set: no Store method reads the
  // dates, so SqliteStoreTest.PasswordHistoryRowsAreDated checks the rows.)

  // A larger keep keeps more from then on; 0 keeps none.
  ASSERT_TRUE(store->SetPassword("alice", "h5", 600, false, 10).ok());
  history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, (std::vector<std::string>{"h4", "h3", "h2"}));
  got = store->GetUser("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_FALSE((*got)->must_change);
  ASSERT_TRUE(store->SetPassword("alice", "h6", 700, false, 0).ok());
  history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());

  // No password set: nothing goes into the history.
  UserRecord bob = User("bob");
  bob.password_hash = "";
  ASSERT_TRUE(store->AddUser(bob).ok());
  ASSERT_TRUE(store->SetPassword("bob", "b1", 800, false, 5).ok());
  history = store->PasswordHistory("bob");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
  // Other users' history is separate.
  ASSERT_TRUE(store->SetPassword("bob", "b2", 900, false, 5).ok());
  history = store->PasswordHistory("bob");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(*history, std::vector<std::string>{"b1"});
  history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());

  // Missing user: kNotFound and nothing written; bad keep refused.
  Status missing = store->SetPassword("nobody", "x", 1, false, 5);
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
  EXPECT_EQ(store->SetPassword("bob", "b3", 1000, false, -1).code(), Code::kInvalidArgument);
  got = store->GetUser("bob");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->password_hash, "b2");
  auto none = store->PasswordHistory("nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, HistoryRemovedWithUser) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetPassword("alice", "a1", 2000, false, 5).ok());
  ASSERT_TRUE(store->SetPassword("alice", "a2", 3000, false, 5).ok());
  ASSERT_TRUE(store->SetPassword("bob", "b1", 2000, false, 5).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  auto bobs = store->PasswordHistory("bob");  // bob's is kept
  ASSERT_TRUE(bobs.ok());
  EXPECT_EQ(*bobs, std::vector<std::string>{User("bob").password_hash});

  // A new account with the old name starts with no history.
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  auto history = store->PasswordHistory("alice");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
}

TEST_P(StoreContractTest, SetMustChange) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetMustChange("alice", true).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_TRUE((*alice)->must_change);
  ASSERT_TRUE(store->SetMustChange("alice", true).ok());  // unchanged is still found
  ASSERT_TRUE(store->SetMustChange("alice", false).ok());
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_FALSE((*alice)->must_change);
  EXPECT_EQ((*alice)->password_hash, User("alice").password_hash);
  Status missing = store->SetMustChange("nobody", true);
  EXPECT_EQ(missing.code(), Code::kNotFound);
}

// Forks kFailingChildren processes that each make kFailuresEach wrong
// attempts (reserve, then settle as wrong) on `user` at the same moment
// (released together through a pipe), each on its own connection opened
// after fork. Returns how many reservations set the lock, or -1 when a
// child failed.
constexpr int kFailingChildren = 8;
constexpr int kFailuresEach = 25;
// How long a racing writer may wait for the others.
constexpr int kRaceWaitMs = 30000;

int ConcurrentFailures(BackendStore& backend, const LockoutPolicy& policy) {
  int gate[2];
  if (pipe(gate) != 0) return -1;
  std::vector<pid_t> children;
  for (int c = 0; c < kFailingChildren; ++c) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      close(gate[1]);
      int code = 0;
      {
        auto store = backend.Connect(kRaceWaitMs);
        if (!store.ok()) _exit(100);
        char byte;
        if (read(gate[0], &byte, 1) != 0) _exit(101);  // EOF: go
        for (int i = 0; i < kFailuresEach; ++i) {
          // Half reserve as a password sign-in does (with the record, one
          // statement on a server), half alone: both ways race each other.
          Reservation r = c % 2 == 0 ? Wrong(**store, "alice", 5000, policy)
                                     : WrongAtSignIn(**store, "alice", 5000, policy);
          if (r.failures < 0) _exit(102);
          if (r.verdict == Reservation::Verdict::kReserved && r.locked_until != 0) ++code;
        }
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // releases every child at once
  int locked = 0;
  bool failed = false;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) > kFailuresEach) {
      failed = true;
      continue;
    }
    locked += WEXITSTATUS(status);
  }
  return failed ? -1 : locked;
}

TEST_P(StoreContractTest, ConcurrentFailuresAreNotLost) {
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
  }  // closed before fork
  EXPECT_EQ(ConcurrentFailures(*backend_, LockoutPolicy{1000, 900, 600}), 0);
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->failures, kFailingChildren * kFailuresEach);
  EXPECT_EQ((*alice)->first_failure, 5000);
  EXPECT_EQ((*alice)->locked_until, 0);
}

TEST_P(StoreContractTest, ConcurrentFailuresLockOnce) {
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
  }
  EXPECT_EQ(ConcurrentFailures(*backend_, LockoutPolicy{5, 900, 600}), 1);
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  // Exactly `deny` attempts were reserved (and so could be checked) however
  // many came at once; the rest were refused by the lock.
  EXPECT_EQ((*alice)->failures, 5);
  EXPECT_EQ((*alice)->locked_until, 5600);
}

TEST_P(StoreContractTest, SetTotpRoundTripAndReplace) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectNoAuthenticator(**alice);
  ExpectNoMfaRequirement(**alice);

  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2", "d3"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());  // same digest, other user
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ((*alice)->totp_last_step, -1);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);

  // Replacing: new secret, last step back to -1, only the new codes.
  auto used = store->UseTotpStep("alice", 50, LockGuard{});
  ASSERT_TRUE(used.ok() && *used == CodeUse::kUsed);
  ASSERT_TRUE(store->SetTotp("alice", "sealed-2", {"e1", "e2"}).ok());
  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].totp_sealed, "sealed-2");
  EXPECT_EQ((*users)[0].totp_last_step, -1);
  EXPECT_EQ((*users)[1].totp_sealed, "sealed-b");
  count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2);
  used = store->UseRecoveryCode("alice", "d1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);  // an old code is gone
  used = store->UseRecoveryCode("alice", "e1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  count = store->CountRecoveryCodes("bob");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);  // bob's untouched

  // No codes at all is allowed.
  ASSERT_TRUE(store->SetTotp("alice", "sealed-3", {}).ok());
  count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);

  // AddUser writes the columns too.
  UserRecord carol = User("carol");
  carol.totp_sealed = "sealed-c";
  carol.totp_last_step = 123;
  ASSERT_TRUE(store->AddUser(carol).ok());
  auto got = store->GetUser("carol");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->totp_sealed, "sealed-c");
  EXPECT_EQ((*got)->totp_last_step, 123);
}

TEST_P(StoreContractTest, SetTotpRefusesBadDigestsWhole) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->UseTotpStep("alice", 9, LockGuard{}).ok());

  Status empty = store->SetTotp("alice", "sealed-2", {"e1", ""});
  EXPECT_EQ(empty.code(), Code::kInvalidArgument);
  // Refused in front of the backend (store.cc), naming the user.
  EXPECT_NE(empty.message().find("empty recovery code digest for user alice"), std::string::npos)
      << empty.message();
  Status dup = store->SetTotp("alice", "sealed-2", {"e1", "e2", "e1"});
  EXPECT_EQ(dup.code(), Code::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate recovery code digest for user alice"), std::string::npos)
      << dup.message();

  // Nothing of either call was written.
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ((*alice)->totp_last_step, 9);
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 2);
  EXPECT_EQ(store->UseRecoveryCode("alice", "e1", LockGuard{}).value(), CodeUse::kAlreadyUsed);
  EXPECT_EQ(store->UseRecoveryCode("alice", "d1", LockGuard{}).value(), CodeUse::kUsed);
  EXPECT_EQ(store->UseRecoveryCode("alice", "d2", LockGuard{}).value(), CodeUse::kUsed);
}

TEST_P(StoreContractTest, ClearMfa) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  ASSERT_TRUE(store->UseTotpStep("alice", 77, LockGuard{}).ok());

  ASSERT_TRUE(store->ClearMfa("alice").ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectNoAuthenticator(**alice);
  ExpectNoMfaRequirement(**alice);
  EXPECT_EQ((*alice)->password_hash, User("alice").password_hash);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
  count = store->CountRecoveryCodes("bob");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
  ASSERT_TRUE(store->ClearMfa("alice").ok());  // not enrolled is still found

  Status missing = store->ClearMfa("nobody");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
}

TEST_P(StoreContractTest, UseTotpStepIsMonotonic) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed", {}).ok());
  auto use = [&](int64_t step) {
    auto r = store->UseTotpStep("alice", step, LockGuard{});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && *r == CodeUse::kUsed;
  };
  EXPECT_TRUE(use(5));
  EXPECT_FALSE(use(5));  // replay
  EXPECT_FALSE(use(4));  // older
  EXPECT_TRUE(use(6));
  EXPECT_TRUE(use(0x7fffffffffffffffLL - 1));
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_last_step, 0x7fffffffffffffffLL - 1);
  EXPECT_EQ((*alice)->totp_sealed, "sealed");

  // Step 0 is accepted on a fresh enrollment (last step -1).
  ASSERT_TRUE(store->SetTotp("alice", "sealed-2", {}).ok());
  EXPECT_TRUE(use(0));
  EXPECT_FALSE(use(0));

  auto missing = store->UseTotpStep("nobody", 5, LockGuard{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nobody"), std::string::npos);
}

// A lock in force refuses a code in the same statement that would use it;
// nothing is used. With the lockout off for the user the lock is ignored.
TEST_P(StoreContractTest, CodesAreNotUsedWhileLocked) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed", {"d1"}).ok());
  const LockoutPolicy policy{2, 900, 600};
  Wrong(*store, "alice", 1000, policy);
  ASSERT_EQ(Wrong(*store, "alice", 1001, policy).locked_until, 1601);

  const LockGuard guard{true, 1002};
  EXPECT_EQ(store->UseTotpStep("alice", 50, guard).value(), CodeUse::kLocked);
  EXPECT_EQ(store->UseRecoveryCode("alice", "d1", guard).value(), CodeUse::kLocked);
  EXPECT_EQ(store->GetUser("alice").value()->totp_last_step, -1) << "nothing used";
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 1);
  // A replay while locked is reported as locked (nothing to tell apart).
  // After the lock has run out, or with the lockout off, the codes work.
  EXPECT_EQ(store->UseTotpStep("alice", 50, LockGuard{true, 1601}).value(), CodeUse::kUsed);
  EXPECT_EQ(store->UseRecoveryCode("alice", "d1", LockGuard{false, 1002}).value(), CodeUse::kUsed);
  EXPECT_EQ(store->UseTotpStep("alice", 50, LockGuard{true, 1601}).value(), CodeUse::kAlreadyUsed);
  EXPECT_EQ(store->UseTotpStep("nobody", 50, guard).status().code(), Code::kNotFound);
  EXPECT_EQ(store->UseRecoveryCode("nobody", "d1", guard).status().code(), Code::kNotFound);
}

TEST_P(StoreContractTest, UseRecoveryCodeOnce) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2", "d3"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  auto count = [&](const char* name) {
    auto r = store->CountRecoveryCodes(name);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  };
  EXPECT_EQ(count("alice"), 3);

  auto used = store->UseRecoveryCode("alice", "d2", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  EXPECT_EQ(count("alice"), 2);
  used = store->UseRecoveryCode("alice", "d2", LockGuard{});  // once only
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  used = store->UseRecoveryCode("alice", "unknown", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  used = store->UseRecoveryCode("alice", "", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  used = store->UseRecoveryCode("alice", "D1", LockGuard{});  // byte for byte
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);
  EXPECT_EQ(count("alice"), 2);
  used = store->UseRecoveryCode("alice", "d1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kUsed);
  EXPECT_EQ(count("alice"), 1);
  EXPECT_EQ(count("bob"), 1);  // bob's d1 is his own

  // Using a code leaves the authenticator alone.
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-a");

  auto missing = store->UseRecoveryCode("nobody", "d1", LockGuard{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(count("nobody"), 0);  // counting a missing user is just 0
  Status set_missing = store->SetTotp("nobody", "sealed", {"d1"});
  EXPECT_EQ(set_missing.code(), Code::kNotFound);
  EXPECT_NE(set_missing.message().find("nobody"), std::string::npos);
  EXPECT_EQ(count("nobody"), 0);  // nothing was written for nobody
}

TEST_P(StoreContractTest, RecoveryCodesRemovedWithUser) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  ASSERT_TRUE(store->SetTotp("alice", "sealed-a", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {"d1"}).ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  EXPECT_EQ(store->CountRecoveryCodes("bob").value(), 1);  // bob's are kept

  // A new account with the old name starts with no authenticator or codes.
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectNoAuthenticator(**alice);
  ExpectNoMfaRequirement(**alice);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
}

// Forks kRacingChildren processes that each open their own connection and,
// released together through a pipe, call `use` once. Returns how many
// calls returned kUsed, or -1 when a child failed.
constexpr int kRacingChildren = 8;

template <typename Use>
int RaceOnce(BackendStore& backend, Use use) {
  int gate[2];
  if (pipe(gate) != 0) return -1;
  std::vector<pid_t> children;
  for (int c = 0; c < kRacingChildren; ++c) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      close(gate[1]);
      int code = 0;
      {
        auto store = backend.Connect(kRaceWaitMs);
        if (!store.ok()) _exit(100);
        char byte;
        if (read(gate[0], &byte, 1) != 0) _exit(101);  // EOF: go
        Result<CodeUse> r = use(**store);
        if (!r.ok()) _exit(102);
        code = *r == CodeUse::kUsed ? 1 : 0;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // releases every child at once
  int wins = 0;
  bool failed = false;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      failed = true;
      continue;
    }
    wins += WEXITSTATUS(status);
  }
  return failed ? -1 : wins;
}

TEST_P(StoreContractTest, ConcurrentTotpStepUsedOnce) {
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
    ASSERT_TRUE(store->SetTotp("alice", "sealed", {}).ok());
  }  // closed before fork
  EXPECT_EQ(RaceOnce(*backend_, [](Store& s) { return s.UseTotpStep("alice", 1000, LockGuard{}); }),
            1);
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_last_step, 1000);
}

TEST_P(StoreContractTest, ConcurrentRecoveryCodeUsedOnce) {
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
    ASSERT_TRUE(store->SetTotp("alice", "sealed", {"d1", "d2"}).ok());
  }
  EXPECT_EQ(
      RaceOnce(*backend_, [](Store& s) { return s.UseRecoveryCode("alice", "d1", LockGuard{}); }),
      1);
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
}

// ---- 8 processes x 1,000 mixed operations (issue 13, "Proof") ----
//
// Every kind of write a fleet makes at once, on a few users, each child on
// its own connection opened after fork, designed so that the end state is
// exactly predictable whatever the interleaving. Per child, operation i is
// kind i % 10 (100 of each kind):
//   0  alice: a wrong sign-in (reserve, settle kWrong with a new digest and
//      an event); deny = 0 counts and never locks: failures end at 8 x 100
//   1  bob: a right sign-in (reserve, settle kSuccess with an event)
//   2  alice: UseTotpStep with steps 1, 2, ... 100 (every child tries every
//      step, in order): no step is taken twice, the last step is 100
//   3  alice: UseRecoveryCode of code 0, 1, ... 99 (every child tries every
//      code): each code is used exactly once in all, none is left
//   4  alice: app password "p1" used (settle kSuccess with its id and an
//      event): never refused
//   5  alice: app password "p2" used; child 0 revokes it instead at i = 505:
//      a child that was refused never gets it again, and the events of its
//      uses are exactly the uses accepted
//   6  alice: SetDisabled true / false by turns (each child's last: false)
//   7  alice, bob: SetMustChange true / false by turns (last: false)
//   8  ClearFailures(bob), or a wrong app password of alice (its own
//      bucket; 8 x 50), by turns
//   9  RecordEvent, or carol signing in wrong or right by turns
// Every event carries the child's service ("child-N"), so CountEvents per
// service must equal what the child's calls reported recorded. kBusy is the
// one failure allowed (the call is retried, as the contract says it wrote
// nothing); any other failure fails the test, naming the call.
constexpr int kMixedChildren = 8;
constexpr int kMixedOps = 1000;
constexpr int kMixedKinds = 10;
constexpr int kMixedSteps = kMixedOps / kMixedKinds;  // TOTP steps 1..100
constexpr int kMixedCodes = kMixedOps / kMixedKinds;  // recovery codes 0..99
constexpr int kRevokeP2At = 505;
constexpr int kBusyRetries = 1000;
constexpr int64_t kMixedBase = 10'000'000;  // "now" of op i is kMixedBase + i

// What the children report, in memory shared with the parent.
struct MixedReport {
  char error[512];  // the first failure ("" when none)
  int64_t events = 0;
  int64_t busy = 0;
  int64_t p2_used = 0;
  int64_t p2_gone = 0;
  int64_t p2_used_after_gone = 0;
};
struct MixedShared {
  MixedReport child[kMixedChildren];
  int step_wins[kMixedSteps + 1];  // index: the step
  int code_wins[kMixedCodes];      // index: the code
};

// The Status of a call, whether it returns a Status or a Result.
const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const Result<T>& result) {
  return result.status();
}

std::string MixedDigest(int child, int op) {  // a distinct wrong-secret digest
  static constexpr char kHex[] = "0123456789abcdef";
  std::string digest(kWrongAttemptDigestChars, '0');
  const uint32_t n = static_cast<uint32_t>(child * kMixedOps + op);
  for (size_t i = 0; i < 8; ++i) digest[digest.size() - 1 - i] = kHex[(n >> (4 * i)) & 15];
  return digest;
}

std::string MixedCode(int code) { return "recovery-digest-" + std::to_string(code); }

// One child's 1,000 operations. Returns "" or what failed. No gtest here.
std::string RunMixedChild(Store& store, int c, int64_t p1, int64_t p2, MixedShared& shared) {
  MixedReport& me = shared.child[c];
  const std::string service = "child-" + std::to_string(c);
  auto event = [&](const std::string& user, int64_t now, const std::string& method,
                   const std::string& outcome) {
    SignInEvent e = Event(user, now, outcome);
    e.service = service;
    e.method = method;
    return e;
  };
  // Runs `call` until it is not kBusy (bounded); its Status or Result.
  auto retry = [&](auto call) {
    auto r = call();
    for (int tries = 0;
         tries < kBusyRetries && !StatusOf(r).ok() && StatusOf(r).code() == Code::kBusy; ++tries) {
      ++me.busy;
      r = call();
    }
    return r;
  };
  const LockoutPolicy counting{0, 100'000'000, 600};
  LockoutPolicy app_counting = counting;
  app_counting.bucket = LockBucket::kAppPassword;
  // Reserve, then settle as `kind`, with an event: one sign-in.
  auto sign_in = [&](const std::string& user, int64_t now, const LockoutPolicy& policy,
                     Settlement::Kind kind, const std::string& digest,
                     const std::string& method) -> std::string {
    // Odd children reserve interactive attempts as a password sign-in does
    // (with the record, Store::GetUserForSignInAndReserve).
    const bool at_sign_in = c % 2 == 1 && policy.bucket == LockBucket::kInteractive;
    auto reserved = retry([&]() -> Result<Reservation> {
      if (!at_sign_in) return store.ReserveAttempt(user, now, policy, digest);
      auto start = store.GetUserForSignInAndReserve(user, now, policy, digest);
      if (!start.ok()) return start.status();
      if (!start->reservation.has_value()) return Status(Code::kNotFound, "no record");
      return *start->reservation;
    });
    if (!reserved.ok()) return "ReserveAttempt(" + user + "): " + reserved.status().message();
    if (reserved->verdict != Verdict::kReserved)
      return "ReserveAttempt(" + user + ") with deny = 0 was not kReserved";
    Settlement s;
    s.kind = kind;
    s.reservation = *reserved;
    s.attempt = digest;
    s.now = now;
    s.policy = policy;
    const SignInEvent e =
        event(user, now, method, kind == Settlement::Kind::kSuccess ? "success" : "failure");
    auto settled = retry([&] { return store.SettleAttempt(user, s, &e); });
    if (!settled.ok()) return "SettleAttempt(" + user + "): " + settled.status().message();
    if (settled->repeated || settled->locked_until != 0)
      return "SettleAttempt(" + user + "): a new digest was taken as a repeat, or deny = 0 locked";
    ++me.events;
    return "";
  };
  auto use_app = [&](int64_t id, int64_t now, bool* gone) -> std::string {
    Settlement s;
    s.kind = Settlement::Kind::kSuccess;
    s.app_password_id = id;
    s.now = now;
    s.policy = app_counting;
    const SignInEvent e = event("alice", now, "app-password", "success");
    auto settled = retry([&] { return store.SettleAttempt("alice", s, &e); });
    if (!settled.ok()) return "SettleAttempt(app password): " + settled.status().message();
    *gone = settled->app_password_gone;
    if (!*gone) ++me.events;
    return "";
  };

  int step = 0;
  int code = 0;
  for (int i = 0; i < kMixedOps; ++i) {
    const int64_t now = kMixedBase + i;
    const bool by_turns = (i / kMixedKinds) % 2 == 0;
    std::string failed;
    switch (i % kMixedKinds) {
      case 0:
        failed = sign_in("alice", now, counting, Settlement::Kind::kWrong, MixedDigest(c, i),
                         "password");
        break;
      case 1:
        failed = sign_in("bob", now, counting, Settlement::Kind::kSuccess, "", "password");
        break;
      case 2: {
        ++step;
        auto used = retry([&] { return store.UseTotpStep("alice", step, LockGuard{true, now}); });
        if (!used.ok()) {
          failed = "UseTotpStep: " + used.status().message();
        } else if (*used == CodeUse::kUsed) {
          __atomic_fetch_add(&shared.step_wins[step], 1, __ATOMIC_SEQ_CST);
        } else if (*used != CodeUse::kAlreadyUsed) {
          failed = "UseTotpStep: refused as locked; alice is never locked";
        }
        break;
      }
      case 3: {
        const std::string digest = MixedCode(code);
        auto used = retry([&] {
          return store.UseRecoveryCode("alice", digest, LockGuard{true, now});
        });
        if (!used.ok()) {
          failed = "UseRecoveryCode: " + used.status().message();
        } else if (*used == CodeUse::kUsed) {
          __atomic_fetch_add(&shared.code_wins[code], 1, __ATOMIC_SEQ_CST);
        } else if (*used != CodeUse::kAlreadyUsed) {
          failed = "UseRecoveryCode: refused as locked; alice is never locked";
        }
        ++code;
        break;
      }
      case 4: {
        bool gone = false;
        failed = use_app(p1, now, &gone);
        if (failed.empty() && gone) failed = "app password p1 (never revoked) was refused";
        break;
      }
      case 5: {
        if (c == 0 && i == kRevokeP2At) {
          auto revoked = retry([&] { return store.RevokeAppPasswords("alice", "p2", now); });
          if (!revoked.ok() || *revoked != 1)
            failed = "RevokeAppPasswords(p2): " +
                     (revoked.ok() ? std::to_string(*revoked) + " revoked, not 1"
                                   : revoked.status().message());
          break;
        }
        bool gone = false;
        failed = use_app(p2, now, &gone);
        if (gone) {
          ++me.p2_gone;
        } else if (me.p2_gone > 0) {
          ++me.p2_used_after_gone;
        } else {
          ++me.p2_used;
        }
        break;
      }
      case 6: {
        Status st = retry([&] { return store.SetDisabled("alice", by_turns); });
        if (!st.ok()) failed = "SetDisabled: " + st.message();
        break;
      }
      case 7: {
        const char* who = (i / kMixedKinds / 2) % 2 == 0 ? "alice" : "bob";
        Status st = retry([&] { return store.SetMustChange(who, by_turns); });
        if (!st.ok()) failed = "SetMustChange: " + st.message();
        break;
      }
      case 8:
        if (by_turns) {
          Status st = retry([&] { return store.ClearFailures("bob"); });
          if (!st.ok()) failed = "ClearFailures: " + st.message();
        } else {
          failed =
              sign_in("alice", now, app_counting, Settlement::Kind::kWrong, "", "app-password");
        }
        break;
      case 9:
        if (by_turns) {
          Status st = retry(
              [&] { return store.RecordEvent(event("nobody", now, "password", "unknown-user")); });
          if (!st.ok()) {
            failed = "RecordEvent: " + st.message();
          } else {
            ++me.events;
          }
        } else {
          failed = sign_in("carol", now, counting,
                           (i / kMixedKinds / 2) % 2 == 0 ? Settlement::Kind::kWrong
                                                          : Settlement::Kind::kSuccess,
                           "", "password");
        }
        break;
    }
    if (!failed.empty()) return "op " + std::to_string(i) + ": " + failed;
  }
  return "";
}

TEST_P(StoreContractTest, ConcurrentMixedOperationsLoseNothing) {
  int64_t p1 = 0;
  int64_t p2 = 0;
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    for (const char* name : {"alice", "bob", "carol"}) ASSERT_TRUE(store->AddUser(User(name)).ok());
    std::vector<std::string> codes;
    for (int i = 0; i < kMixedCodes; ++i) codes.push_back(MixedCode(i));
    ASSERT_TRUE(store->SetTotp("alice", "sealed", codes).ok());
    AppPasswordRecord first = AppPassword("alice", "p1", 1);
    AppPasswordRecord second = AppPassword("alice", "p2", 2);
    ASSERT_TRUE(store->AddAppPassword(first, 10, 1000).ok());
    ASSERT_TRUE(store->AddAppPassword(second, 10, 1000).ok());
    p1 = first.id;
    p2 = second.id;
  }  // closed before fork
  void* mapped =
      mmap(nullptr, sizeof(MixedShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  auto* shared = new (mapped) MixedShared{};
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  std::vector<pid_t> children;
  for (int c = 0; c < kMixedChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(gate[1]);
      std::string failed;
      {
        auto store = backend_->Connect(kRaceWaitMs);  // its own connection, after fork
        char byte;
        if (!store.ok()) {
          failed = "Connect: " + store.status().message();
        } else if (read(gate[0], &byte, 1) != 0) {  // EOF: go
          failed = "the start gate broke";
        } else {
          failed = RunMixedChild(**store, c, p1, p2, *shared);
        }
      }
      snprintf(shared->child[c].error, sizeof shared->child[c].error, "%s", failed.c_str());
      _exit(failed.empty() ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // releases every child at once
  for (int c = 0; c < kMixedChildren; ++c) {
    int status = 0;
    ASSERT_EQ(waitpid(children[c], &status, 0), children[c]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child " << c << " (status " << status << "): " << shared->child[c].error;
  }

  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  int64_t events = 0;
  int64_t busy = 0;
  int64_t p2_used = 0;
  for (int c = 0; c < kMixedChildren; ++c) {
    const MixedReport& r = shared->child[c];
    EventFilter mine;
    mine.service = "child-" + std::to_string(c);
    EXPECT_EQ(store->CountEvents(mine).value(), r.events) << "events of child " << c;
    EXPECT_EQ(r.p2_used_after_gone, 0) << "child " << c << " used p2 after it was refused";
    events += r.events;
    busy += r.busy;
    p2_used += r.p2_used;
  }
  EXPECT_EQ(store->CountEvents(EventFilter{}).value(), events);
  // Every kind of event that was reported is there, and exactly: the wrong
  // and right sign-ins of every child, and p2's uses that were accepted.
  EventFilter wrong_alice;
  wrong_alice.user = "alice";
  wrong_alice.methods = {"password"};
  EXPECT_EQ(store->CountEvents(wrong_alice).value(), kMixedChildren * kMixedSteps);
  EventFilter bob_in;
  bob_in.user = "bob";
  EXPECT_EQ(store->CountEvents(bob_in).value(), kMixedChildren * kMixedSteps);
  EventFilter app_uses;
  app_uses.user = "alice";
  app_uses.methods = {"app-password"};
  app_uses.outcomes = {"success"};
  EXPECT_EQ(store->CountEvents(app_uses).value(), kMixedChildren * kMixedSteps + p2_used);
  EXPECT_GT(p2_used, 0);

  auto alice = store->GetUser("alice").value();
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->failures, kMixedChildren * kMixedSteps) << "a wrong sign-in was lost";
  EXPECT_EQ(alice->pending_attempts, 0);
  EXPECT_EQ(alice->first_failure, kMixedBase);
  EXPECT_EQ(alice->locked_until, 0);
  EXPECT_EQ(alice->totp_last_step, kMixedSteps);
  EXPECT_FALSE(alice->disabled);
  EXPECT_FALSE(alice->must_change);
  EXPECT_EQ(alice->totp_sealed, "sealed");
  int step_wins = 0;
  for (int s = 1; s <= kMixedSteps; ++s) {
    EXPECT_LE(shared->step_wins[s], 1) << "time step " << s << " was used twice";
    step_wins += shared->step_wins[s];
  }
  EXPECT_GE(step_wins, 1);
  for (int code = 0; code < kMixedCodes; ++code)
    EXPECT_EQ(shared->code_wins[code], 1) << "recovery code " << code;
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 0);
  LockoutRecord app_bucket = store->AppPasswordLockout("alice").value();
  EXPECT_EQ(app_bucket.failures, kMixedChildren * kMixedSteps / 2)
      << "a wrong app password was lost";
  EXPECT_EQ(app_bucket.pending_attempts, 0);
  EXPECT_EQ(app_bucket.locked_until, 0);
  auto apps = store->ListAppPasswords("alice").value();
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].revoked, 0);
  EXPECT_GT(apps[0].last_used, kMixedBase);
  EXPECT_EQ(apps[0].last_used_from, "192.0.2.7");
  EXPECT_EQ(apps[1].revoked, kMixedBase + kRevokeP2At);

  auto bob = store->GetUser("bob").value();
  ASSERT_TRUE(bob.has_value());
  ExpectNoFailures(*bob);
  EXPECT_EQ(bob->pending_attempts, 0);
  auto carol = store->GetUser("carol").value();
  ASSERT_TRUE(carol.has_value());
  EXPECT_EQ(carol->pending_attempts, 0) << "a settlement was lost";
  EXPECT_LE(carol->failures, kMixedChildren * kMixedSteps / 4);
  std::printf("[ mixed ] %s: %lld events, %d time steps taken, %lld kBusy retried\n",
              GetParam().name, static_cast<long long>(events), step_wins,
              static_cast<long long>(busy));
  munmap(mapped, sizeof(MixedShared));
}

TEST_P(StoreContractTest, EnrollTotpIsCompareAndSet) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());

  // First enrollment: expected "" (none yet); the confirming step is used.
  ASSERT_TRUE(store->EnrollTotp("alice", "", "sealed-1", {"d1", "d2"}, 100).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ((*alice)->totp_last_step, 100);
  auto used = store->UseTotpStep("alice", 100, LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);  // the confirming code cannot sign in again

  // A second session that also saw "no authenticator" loses, and writes nothing.
  Status late = store->EnrollTotp("alice", "", "sealed-x", {"x1"}, 101);
  EXPECT_EQ(late.code(), Code::kAlreadyExists) << late.message();
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 2);
  EXPECT_EQ(store->UseRecoveryCode("alice", "x1", LockGuard{}).value(), CodeUse::kAlreadyUsed);

  // Replacing the one seen: new secret, new codes only.
  ASSERT_TRUE(store->EnrollTotp("alice", "sealed-1", "sealed-2", {"e1"}, 200).ok());
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-2");
  EXPECT_EQ((*alice)->totp_last_step, 200);
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);

  EXPECT_EQ(store->EnrollTotp("nobody", "", "s", {}, 1).code(), Code::kNotFound);
  EXPECT_EQ(store->EnrollTotp("alice", "sealed-2", "", {}, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(store->EnrollTotp("alice", "sealed-2", "s", {"a", "a"}, 1).code(),
            Code::kInvalidArgument);
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-2");  // the refused calls changed nothing
}

TEST_P(StoreContractTest, SetRecoveryCodesNeedsAnAuthenticator) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  Status none = store->SetRecoveryCodes("alice", {"d1"});
  EXPECT_EQ(none.code(), Code::kNotFound) << none.message();
  EXPECT_NE(none.message().find("no authenticator"), std::string::npos) << none.message();
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 0);

  ASSERT_TRUE(store->SetTotp("alice", "sealed-1", {"d1", "d2"}).ok());
  ASSERT_TRUE(store->UseTotpStep("alice", 5, LockGuard{}).ok());
  ASSERT_TRUE(store->SetRecoveryCodes("alice", {"n1", "n2", "n3"}).ok());
  auto count = store->CountRecoveryCodes("alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);
  auto used = store->UseRecoveryCode("alice", "d1", LockGuard{});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, CodeUse::kAlreadyUsed);  // the old ones are gone
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->totp_sealed, "sealed-1");  // the authenticator stays
  EXPECT_EQ((*alice)->totp_last_step, 5);
  EXPECT_EQ(store->SetRecoveryCodes("nobody", {"x"}).code(), Code::kNotFound);
  EXPECT_EQ(store->SetRecoveryCodes("alice", {"x", ""}).code(), Code::kInvalidArgument);
}

TEST_P(StoreContractTest, MfaRequiredAndGrace) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());

  // Requiring begins the grace once; requiring again keeps the start.
  ASSERT_TRUE(store->SetMfaRequired("alice", true, 1000).ok());
  ASSERT_TRUE(store->SetMfaRequired("alice", true, 2000).ok());
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_TRUE((*alice)->mfa_required);
  EXPECT_EQ((*alice)->mfa_required_since, 1000);
  ASSERT_TRUE(store->SetMfaRequired("alice", false, 3000).ok());
  alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_FALSE((*alice)->mfa_required);
  EXPECT_EQ(store->SetMfaRequired("nobody", true, 1).code(), Code::kNotFound);

  // BeginMfaGrace: the first call sets it, later calls return the first.
  auto since = store->BeginMfaGrace("bob", 5000);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(*since, 5000);
  since = store->BeginMfaGrace("bob", 6000);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(*since, 5000);
  EXPECT_EQ(store->BeginMfaGrace("nobody", 1).status().code(), Code::kNotFound);

  // ClearMfa (an administrator's reset) restarts the grace.
  ASSERT_TRUE(store->SetTotp("bob", "sealed-b", {}).ok());
  ASSERT_TRUE(store->ClearMfa("bob").ok());
  auto bob = store->GetUser("bob");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->mfa_required_since, 0);

  // Groups: set, idempotent, removed; listed in name order.
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", true, 10).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("staff", true, 11).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", true, 12).ok());
  auto groups = store->MfaRequiredGroups();
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, (std::vector<std::string>{"staff", "wheel"}));
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", false, 13).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("absent", false, 13).ok());
  groups = store->MfaRequiredGroups();
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, std::vector<std::string>{"staff"});

  // AddUser writes the columns too.
  UserRecord carol = User("carol");
  carol.mfa_required = true;
  carol.mfa_required_since = 777;
  ASSERT_TRUE(store->AddUser(carol).ok());
  auto got = store->GetUser("carol");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->mfa_required);
  EXPECT_EQ((*got)->mfa_required_since, 777);
}

// What a sign-in reads in one go: GetUser's record with the groups that
// must use MFA, the same answer as GetUser then MfaRequiredGroups.
TEST_P(StoreContractTest, GetUserForSignInIsGetUserWithTheRequiredGroups) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  UserRecord alice = User("alice", 10);
  alice.mfa_required = true;
  alice.mfa_required_since = 55;
  alice.totp_sealed = "sealed-a";
  ASSERT_TRUE(store->AddUser(alice).ok());

  auto check = [&](const std::vector<std::string>& want) {
    auto plain = store->GetUser("alice");
    auto both = store->GetUserForSignIn("alice");
    ASSERT_TRUE(plain.ok() && plain->has_value());
    ASSERT_TRUE(both.ok() && both->has_value());
    EXPECT_FALSE((*plain)->mfa_required_groups.has_value());  // only when asked
    ASSERT_TRUE((*both)->mfa_required_groups.has_value());
    EXPECT_EQ(*(*both)->mfa_required_groups, want);
    auto groups = store->MfaRequiredGroups();
    ASSERT_TRUE(groups.ok());
    EXPECT_EQ(*groups, want);
    const UserRecord& a = **plain;
    const UserRecord& b = **both;
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.password_hash, a.password_hash);
    EXPECT_EQ(b.created, a.created);
    EXPECT_EQ(b.totp_sealed, a.totp_sealed);
    EXPECT_EQ(b.mfa_required, a.mfa_required);
    EXPECT_EQ(b.mfa_required_since, a.mfa_required_since);
  };
  check({});  // none: an empty list, not "not read"
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", true, 10).ok());
  check({"wheel"});
  ASSERT_TRUE(store->SetMfaRequiredGroup("adm", true, 11).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("staff-2", true, 12).ok());
  check({"adm", "staff-2", "wheel"});  // name order
  ASSERT_TRUE(store->SetMfaRequiredGroup("staff-2", false, 13).ok());
  check({"adm", "wheel"});

  auto nobody = store->GetUserForSignIn("nobody");
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->has_value());
}

// What a password sign-in does once the password is typed, in one call:
// the same answers as GetUserForSignIn then ReserveAttempt. Twins "a" (the
// one call) and "b" (the two) go through every kind of reservation with
// the same arguments and the same settlements: a new window, a remembered
// wrong secret, a lock and its end, a window full of pending attempts,
// deny 0. The record is the row as it was before the reservation.
TEST_P(StoreContractTest, GetUserForSignInAndReserveAnswersAsTheTwoCalls) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("a")).ok());
  ASSERT_TRUE(store->AddUser(User("b")).ok());
  ASSERT_TRUE(store->SetMfaRequiredGroup("wheel", true, 10).ok());
  const LockoutPolicy policy{3, 100, 50};

  auto same_record = [](const UserRecord& x, const UserRecord& y, const std::string& step) {
    EXPECT_EQ(x.failures, y.failures) << step;
    EXPECT_EQ(x.first_failure, y.first_failure) << step;
    EXPECT_EQ(x.locked_until, y.locked_until) << step;
    EXPECT_EQ(x.pending_attempts, y.pending_attempts) << step;
    EXPECT_EQ(x.password_hash, y.password_hash) << step;
    EXPECT_EQ(x.disabled, y.disabled) << step;
    EXPECT_EQ(x.mfa_required_groups, y.mfa_required_groups) << step;
  };
  // Both twins at `now` with `digest`; the reservations (equal) returned.
  auto both = [&](int64_t now, const std::string& digest, const LockoutPolicy& p,
                  const std::string& step) -> Reservation {
    auto a_before = store->GetUserForSignIn("a");
    auto start = store->GetUserForSignInAndReserve("a", now, p, digest);
    auto b_record = store->GetUserForSignIn("b");
    auto b_reserved = store->ReserveAttempt("b", now, p, digest);
    EXPECT_TRUE(start.ok()) << step << ": " << start.status().message();
    EXPECT_TRUE(b_reserved.ok()) << step << ": " << b_reserved.status().message();
    if (!start.ok() || !b_reserved.ok() || !a_before.ok() || !b_record.ok()) return Reservation{};
    EXPECT_TRUE(start->user.has_value()) << step;
    EXPECT_TRUE(start->reservation.has_value()) << step;
    if (!start->user.has_value() || !start->reservation.has_value()) return Reservation{};
    EXPECT_EQ(start->user->name, "a") << step;
    EXPECT_TRUE(start->user->mfa_required_groups.has_value()) << step;
    same_record(*start->user, **a_before, step + " (a as it was)");
    same_record(*start->user, **b_record, step + " (a and b)");
    const Result<Reservation>& a = *start->reservation;
    EXPECT_TRUE(a.ok()) << step << ": " << a.status().message();
    if (!a.ok()) return Reservation{};
    EXPECT_EQ(a->verdict, b_reserved->verdict) << step;
    EXPECT_EQ(a->failures, b_reserved->failures) << step;
    EXPECT_EQ(a->window, b_reserved->window) << step;
    EXPECT_EQ(a->locked_until, b_reserved->locked_until) << step;
    EXPECT_EQ(a->lock_expired, b_reserved->lock_expired) << step;
    return *a;
  };
  auto settle_both = [&](Settlement::Kind kind, const Reservation& r, int64_t now,
                         const std::string& digest) {
    for (const char* name : {"a", "b"}) {
      Settlement s;
      s.kind = kind;
      s.reservation = r;
      s.attempt = digest;
      s.now = now;
      s.policy = policy;
      auto settled = store->SettleAttempt(name, s, nullptr);
      EXPECT_TRUE(settled.ok()) << name << ": " << settled.status().message();
    }
  };

  Reservation r = both(1000, Digest('1'), policy, "a new window");
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(r.window, 1000);
  settle_both(Settlement::Kind::kWrong, r, 1000, Digest('1'));
  r = both(1010, Digest('1'), policy, "a remembered wrong secret");
  EXPECT_EQ(r.verdict, Verdict::kRepeated);
  r = both(1020, Digest('2'), policy, "counted beside remembered ones");
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 2);
  settle_both(Settlement::Kind::kWrong, r, 1020, Digest('2'));
  r = both(1030, Digest('3'), policy, "the one that reaches deny");
  EXPECT_EQ(r.failures, 3);
  settle_both(Settlement::Kind::kWrong, r, 1030, Digest('3'));
  r = both(1040, Digest('4'), policy, "a lock in force");
  EXPECT_EQ(r.verdict, Verdict::kLocked);
  EXPECT_EQ(r.locked_until, 1080);
  r = both(1080, Digest('5'), policy, "the lock ran out");
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_TRUE(r.lock_expired);
  EXPECT_EQ(r.failures, 1);
  settle_both(Settlement::Kind::kSuccess, r, 1080, "");
  // Three in flight fill the window; the fourth waits.
  for (int i = 1; i <= 3; ++i) {
    r = both(1200 + i, "", policy, "pending " + std::to_string(i));
    EXPECT_EQ(r.verdict, Verdict::kReserved);
    EXPECT_EQ(r.failures, i);
    EXPECT_EQ(r.window, 1201);
  }
  EXPECT_EQ(both(1210, "", policy, "a full window").verdict, Verdict::kFull);
  // deny 0 counts but never fills.
  r = both(1220, "", LockoutPolicy{0, 100, 50}, "deny 0");
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 4);

  // No such user: no record, nothing reserved, no row made.
  auto nobody = store->GetUserForSignInAndReserve("nobody", 1300, policy, "");
  ASSERT_TRUE(nobody.ok()) << nobody.status().message();
  EXPECT_FALSE(nobody->user.has_value());
  EXPECT_FALSE(nobody->reservation.has_value());
  auto still_nobody = store->GetUser("nobody");
  ASSERT_TRUE(still_nobody.ok());
  EXPECT_FALSE(still_nobody->has_value());

  // Malformed arguments: refused before anything is read or counted.
  auto before = store->GetUser("a");
  ASSERT_TRUE(before.ok() && before->has_value());
  EXPECT_EQ(store->GetUserForSignInAndReserve("a", 1300, policy, "short").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      store->GetUserForSignInAndReserve("a", 1300, LockoutPolicy{3, -1, 50}, "").status().code(),
      Code::kInvalidArgument);
  auto after = store->GetUser("a");
  ASSERT_TRUE(after.ok() && after->has_value());
  same_record(**after, **before, "after the refused calls");
}

// A reserved attempt's success reports the account state as its own
// transaction saw it (SettleOutcome::account): what the account check of
// the same PAM handle decides on. Other settlements report none; a user
// removed meanwhile has none.
TEST_P(StoreContractTest, ASuccessReportsTheAccountStateItsTransactionSaw) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice", 77)).ok());
  for (LockBucket bucket : {LockBucket::kInteractive, LockBucket::kAppPassword}) {
    SCOPED_TRACE(bucket == LockBucket::kInteractive ? "interactive" : "app-password bucket");
    const LockoutPolicy policy{5, 900, 600, bucket};
    auto settle = [&](Settlement::Kind kind, int64_t now, bool with_event) {
      auto reserved = store->ReserveAttempt("alice", now, policy, "");
      EXPECT_TRUE(reserved.ok()) << reserved.status().message();
      Settlement s;
      s.kind = kind;
      s.reservation = reserved.ok() ? *reserved : Reservation{};
      s.now = now;
      s.policy = policy;
      SignInEvent event = Event("alice", now, "success");
      auto settled = store->SettleAttempt("alice", s, with_event ? &event : nullptr);
      EXPECT_TRUE(settled.ok()) << settled.status().message();
      return settled.ok() ? *settled : SettleOutcome{};
    };
    ASSERT_TRUE(store->SetDisabled("alice", false).ok());
    ASSERT_TRUE(store->SetMustChange("alice", false).ok());
    SettleOutcome plain = settle(Settlement::Kind::kSuccess, 1000, true);
    ASSERT_TRUE(plain.account.has_value());
    EXPECT_FALSE(plain.account->disabled);
    EXPECT_FALSE(plain.account->must_change);
    EXPECT_EQ(plain.account->password_changed, 77);
    // Changed by an administrator while the secret was being checked: the
    // success sees it.
    auto reserved = store->ReserveAttempt("alice", 1100, policy, "");
    ASSERT_TRUE(reserved.ok());
    ASSERT_TRUE(store->SetDisabled("alice", true).ok());
    ASSERT_TRUE(store->SetMustChange("alice", true).ok());
    Settlement s;
    s.kind = Settlement::Kind::kSuccess;
    s.reservation = *reserved;
    s.now = 1100;
    s.policy = policy;
    auto changed = store->SettleAttempt("alice", s, nullptr);
    ASSERT_TRUE(changed.ok()) << changed.status().message();
    ASSERT_TRUE(changed->account.has_value());
    EXPECT_TRUE(changed->account->disabled);
    EXPECT_TRUE(changed->account->must_change);
    EXPECT_FALSE(settle(Settlement::Kind::kWrong, 1200, false).account.has_value());
    EXPECT_FALSE(settle(Settlement::Kind::kRelease, 1300, false).account.has_value());
  }
  // Removed while its password was being checked: no state to report.
  auto reserved = store->ReserveAttempt("alice", 1400, LockoutPolicy{5, 900, 600}, "");
  ASSERT_TRUE(reserved.ok());
  ASSERT_TRUE(store->RemoveUser("alice").ok());
  Settlement s;
  s.kind = Settlement::Kind::kSuccess;
  s.reservation = *reserved;
  s.now = 1400;
  s.policy = LockoutPolicy{5, 900, 600};
  auto gone = store->SettleAttempt("alice", s, nullptr);
  ASSERT_TRUE(gone.ok()) << gone.status().message();
  EXPECT_FALSE(gone->account.has_value());
}

// ---- App passwords (AddAppPassword and friends) ----

// The app-password bucket with deny 3, as mode=app_password counts.
const LockoutPolicy kAppBucket{3, 900, 600, LockBucket::kAppPassword};

// A sign-in with app password `id` at `now`, as the flow settles it.
Settlement AppPasswordUsed(int64_t id, int64_t now) {
  Settlement used;
  used.kind = Settlement::Kind::kSuccess;
  used.app_password_id = id;
  used.now = now;
  used.policy = kAppBucket;
  return used;
}

SignInEvent AppPasswordEvent(const std::string& user, int64_t time) {
  SignInEvent event = Event(user, time, "success");
  event.service = "imap";
  event.remote_host = "198.51.100.4";
  event.method = "app-password:Phone";
  return event;
}

// Stores `record` for its user with a cap of 25 at `now`; its id, or 0
// (and a test failure) when refused.
int64_t MustAdd(Store& store, AppPasswordRecord record, int64_t now = 1000) {
  Status added = store.AddAppPassword(record, 25, now);
  EXPECT_TRUE(added.ok()) << added.message();
  return added.ok() ? record.id : 0;
}

AppPasswordRecord MustFind(Store& store, uint32_t n) {
  auto found = store.FindAppPassword(AppDigest(n));
  EXPECT_TRUE(found.ok()) << found.status().message();
  EXPECT_TRUE(found.ok() && found->has_value()) << "no app password with digest " << n;
  return found.ok() && found->has_value() ? **found : AppPasswordRecord{};
}

LockoutRecord MustLockout(Store& store, const std::string& user) {
  auto lockout = store.AppPasswordLockout(user);
  EXPECT_TRUE(lockout.ok()) << lockout.status().message();
  return lockout.ok() ? *lockout : LockoutRecord{-1, -1, -1, -1};
}

void ExpectSameAppPassword(const AppPasswordRecord& got, const AppPasswordRecord& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.user, want.user);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.digest, want.digest);
  EXPECT_EQ(got.services, want.services);
  EXPECT_EQ(got.created, want.created);
  EXPECT_EQ(got.expires, want.expires);
  EXPECT_EQ(got.last_used, want.last_used);
  EXPECT_EQ(got.last_used_from, want.last_used_from);
  EXPECT_EQ(got.revoked, want.revoked);
}

TEST_P(StoreContractTest, AppPasswordsRoundTrip) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  EXPECT_TRUE(store->ListAppPasswords("alice").value().empty());

  AppPasswordRecord mail =
      AppPassword("alice", "Thunderbird on the laptop", 1, 0, {"imap", "submission"});
  // What a caller puts in the fields the store owns is not taken.
  mail.created = 5;
  mail.last_used = 6;
  mail.last_used_from = "203.0.113.9";
  mail.revoked = 7;
  ASSERT_TRUE(store->AddAppPassword(mail, 25, 1000).ok());
  EXPECT_GT(mail.id, 0);
  EXPECT_EQ(mail.created, 1000);
  EXPECT_EQ(mail.last_used, 0);
  EXPECT_EQ(mail.last_used_from, "");
  EXPECT_EQ(mail.revoked, 0);
  AppPasswordRecord phone = AppPassword("alice", "Téléphone 📱", 2, 90000);
  ASSERT_TRUE(store->AddAppPassword(phone, 25, 1001).ok());
  EXPECT_NE(phone.id, mail.id);
  AppPasswordRecord bobs = AppPassword("bob", "Phone", 3, 0, {"pop3"});
  ASSERT_TRUE(store->AddAppPassword(bobs, 25, 1002).ok());

  // Listed oldest first, every field as stored; only the user's own.
  auto list = store->ListAppPasswords("alice");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  ExpectSameAppPassword((*list)[0], mail);
  ExpectSameAppPassword((*list)[1], phone);
  EXPECT_EQ((*list)[1].services, std::vector<std::string>{});
  EXPECT_EQ((*list)[1].expires, 90000);
  ASSERT_EQ(store->ListAppPasswords("bob").value().size(), 1u);

  // Found by digest alone, whoever's it is.
  ExpectSameAppPassword(MustFind(*store, 1), mail);
  ExpectSameAppPassword(MustFind(*store, 3), bobs);
  auto none = store->FindAppPassword(AppDigest(99));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  // A digest that is not one is refused, not looked up.
  for (const std::string& bad : {std::string(), std::string(63, 'a'), std::string(65, 'a'),
                                 std::string(64, 'A'), std::string(63, 'a') + "g"}) {
    auto found = store->FindAppPassword(bad);
    EXPECT_EQ(found.status().code(), Code::kInvalidArgument) << bad;
  }
  auto nobody = store->ListAppPasswords("nobody");
  EXPECT_EQ(nobody.status().code(), Code::kNotFound);
}

TEST_P(StoreContractTest, AppPasswordsRefusedWriteNothing) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  struct {
    AppPasswordRecord record;
    Code code;
  } cases[] = {
      {AppPassword("nobody", "Phone", 1), Code::kNotFound},
      {AppPassword("alice", "", 2), Code::kInvalidArgument},
      {AppPassword("alice", "   ", 3), Code::kInvalidArgument},
      {AppPassword("alice", "a\nb", 4), Code::kInvalidArgument},
      {AppPassword("alice", std::string(65, 'n'), 5), Code::kInvalidArgument},
      {AppPassword("alice", "Phone", 6, 0, {"IMAP"}), Code::kInvalidArgument},
      {AppPassword("alice", "Phone", 7, 0, {"imap", "imap"}), Code::kInvalidArgument},
      {AppPassword("alice", "Phone", 8, 0, {""}), Code::kInvalidArgument},
      {AppPassword("alice", "Phone", 9, 0, {"imap,pop3"}), Code::kInvalidArgument},
      {AppPassword("alice", "Phone", 10, -1), Code::kInvalidArgument},
  };
  for (auto& c : cases) {
    Status added = store->AddAppPassword(c.record, 25, 1000);
    EXPECT_EQ(added.code(), c.code) << c.record.name << ": " << added.message();
    EXPECT_EQ(c.record.id, 0);
  }
  AppPasswordRecord bad_digest = AppPassword("alice", "Phone", 11);
  for (const std::string& digest : {std::string(), std::string(64, 'A'), std::string(32, 'a')}) {
    bad_digest.digest = digest;
    EXPECT_EQ(store->AddAppPassword(bad_digest, 25, 1000).code(), Code::kInvalidArgument);
  }
  // app_password_max = 0: none may be made.
  AppPasswordRecord capped = AppPassword("alice", "Phone", 12);
  Status none_allowed = store->AddAppPassword(capped, 0, 1000);
  EXPECT_EQ(none_allowed.code(), Code::kPermissionDenied);
  EXPECT_NE(none_allowed.message().find("app_password_max"), std::string::npos);
  EXPECT_TRUE(store->ListAppPasswords("alice").value().empty());
  for (uint32_t n = 1; n <= 12; ++n)
    EXPECT_FALSE(store->FindAppPassword(AppDigest(n))->has_value());
}

// The digest is what a sign-in looks up: one row per digest in the whole
// store, whoever's and whatever its state (112 random bits do not collide;
// a broken Random does, and must not make two users' secrets one).
TEST_P(StoreContractTest, AppPasswordDigestsAreUniqueInTheStore) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  const int64_t id = MustAdd(*store, AppPassword("alice", "Phone", 1));
  AppPasswordRecord same = AppPassword("bob", "Phone", 1);
  Status taken = store->AddAppPassword(same, 25, 1001);
  EXPECT_EQ(taken.code(), Code::kInternal) << taken.message();
  EXPECT_EQ(same.id, 0);
  AppPasswordRecord mine = AppPassword("alice", "Laptop", 1);
  EXPECT_EQ(store->AddAppPassword(mine, 25, 1001).code(), Code::kInternal);
  // A revoked one keeps its digest.
  ASSERT_EQ(store->RevokeAppPasswords("alice", "Phone", 1002).value(), 1);
  AppPasswordRecord again = AppPassword("bob", "Tablet", 1);
  EXPECT_EQ(store->AddAppPassword(again, 25, 1003).code(), Code::kInternal);
  EXPECT_EQ(MustFind(*store, 1).id, id);
  EXPECT_EQ(MustFind(*store, 1).user, "alice");
  EXPECT_TRUE(store->ListAppPasswords("bob").value().empty());
  EXPECT_EQ(store->ListAppPasswords("alice").value().size(), 1u);
}

TEST_P(StoreContractTest, AppPasswordNamesAreUniqueAmongAUsersLiveOnes) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  MustAdd(*store, AppPassword("alice", "Phone", 1));
  AppPasswordRecord twice = AppPassword("alice", "Phone", 2);
  Status taken = store->AddAppPassword(twice, 25, 1001);
  EXPECT_EQ(taken.code(), Code::kAlreadyExists);
  EXPECT_NE(taken.message().find("Phone"), std::string::npos) << taken.message();
  // Another user's, and another spelling (compared byte for byte), are others.
  MustAdd(*store, AppPassword("bob", "Phone", 3));
  MustAdd(*store, AppPassword("alice", "phone", 4));

  // A revoked one gives its name up.
  ASSERT_EQ(store->RevokeAppPasswords("alice", "Phone", 1100).value(), 1);
  MustAdd(*store, AppPassword("alice", "Phone", 5), 1101);

  // An expired one too, once it has expired (expires <= now), and is
  // revoked then to make room.
  const int64_t tablet = MustAdd(*store, AppPassword("alice", "Tablet", 6, 2000), 1200);
  AppPasswordRecord early = AppPassword("alice", "Tablet", 7);
  EXPECT_EQ(store->AddAppPassword(early, 25, 1999).code(), Code::kAlreadyExists);
  MustAdd(*store, AppPassword("alice", "Tablet", 8), 2000);
  AppPasswordRecord old = MustFind(*store, 6);
  EXPECT_EQ(old.id, tablet);
  EXPECT_EQ(old.revoked, 2000);
  EXPECT_EQ(old.expires, 2000);

  auto list = store->ListAppPasswords("alice");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const AppPasswordRecord& r : *list)
    names.push_back(r.name + (r.LiveAt(2000) ? "" : " (ended)"));
  EXPECT_EQ(names, (std::vector<std::string>{"Phone (ended)", "phone", "Phone", "Tablet (ended)",
                                             "Tablet"}));
  EXPECT_EQ(store->ListAppPasswords("bob").value().size(), 1u);
}

// At most max_live live app passwords per user: revoked and expired ones,
// and other users' ones, do not count.
TEST_P(StoreContractTest, AppPasswordCapCountsTheUsersLiveOnes) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  auto add = [&](const std::string& user, const std::string& name, uint32_t n, int64_t now,
                 int64_t expires = 0) {
    AppPasswordRecord record = AppPassword(user, name, n, expires);
    return store->AddAppPassword(record, 3, now);
  };
  ASSERT_TRUE(add("alice", "one", 1, 1000).ok());
  ASSERT_TRUE(add("alice", "two", 2, 1000).ok());
  ASSERT_TRUE(add("alice", "three", 3, 1000, 5000).ok());
  Status full = add("alice", "four", 4, 1000);
  EXPECT_EQ(full.code(), Code::kPermissionDenied);
  EXPECT_NE(full.message().find("app_password_max = 3"), std::string::npos) << full.message();
  EXPECT_FALSE(store->FindAppPassword(AppDigest(4))->has_value());
  ASSERT_TRUE(add("bob", "one", 5, 1000).ok());  // bob's own count

  // Once one expires (at 5000) there is room again.
  EXPECT_EQ(add("alice", "four", 4, 4999).code(), Code::kPermissionDenied);
  ASSERT_TRUE(add("alice", "four", 4, 5000).ok());
  EXPECT_EQ(add("alice", "five", 6, 5000).code(), Code::kPermissionDenied);
  // And once one is revoked.
  ASSERT_EQ(store->RevokeAppPasswords("alice", "one", 5001).value(), 1);
  ASSERT_TRUE(add("alice", "five", 6, 5002).ok());
  // A lower cap than the live count: no more.
  AppPasswordRecord six = AppPassword("alice", "six", 7);
  EXPECT_EQ(store->AddAppPassword(six, 1, 5003).code(), Code::kPermissionDenied);
  EXPECT_EQ(store->ListAppPasswords("alice").value().size(), 5u);
}

// Forks kRacingChildren processes that each add one app password for alice
// (their own name and digest) with a cap of `max_live`, released together,
// each on its own connection. Returns how many were stored, or -1 when a
// child failed otherwise than by the cap.
int ConcurrentAppPasswordAdds(BackendStore& backend, int max_live);

TEST_P(StoreContractTest, ConcurrentAppPasswordAddsStopAtTheCap) {
  {
    auto store = MustConnect();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AddUser(User("alice")).ok());
    MustAdd(*store, AppPassword("alice", "already", 1000));
  }  // closed before fork
  EXPECT_EQ(ConcurrentAppPasswordAdds(*backend_, 4), 3);
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  auto list = store->ListAppPasswords("alice");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 4u);
}

TEST_P(StoreContractTest, RevokeAppPasswordsByNameOrAll) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  MustAdd(*store, AppPassword("alice", "Phone", 1));
  MustAdd(*store, AppPassword("alice", "Laptop", 2));
  MustAdd(*store, AppPassword("alice", "Tablet", 3));
  MustAdd(*store, AppPassword("alice", "Old", 4, 1500));  // expired at 1500
  MustAdd(*store, AppPassword("bob", "Phone", 5));

  auto one = store->RevokeAppPasswords("alice", "Phone", 2000);
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(*one, 1);
  EXPECT_EQ(MustFind(*store, 1).revoked, 2000);
  EXPECT_EQ(MustFind(*store, 5).revoked, 0);  // bob's Phone stays
  EXPECT_EQ(MustFind(*store, 2).revoked, 0);

  // A name that names no live one: kNotFound, nothing written.
  for (const char* name : {"Phone", "phone", "Nothing", "Old"}) {
    auto missing = store->RevokeAppPasswords("alice", name, 2100);
    EXPECT_EQ(missing.status().code(), Code::kNotFound) << name;
    EXPECT_NE(missing.status().message().find(name), std::string::npos)
        << missing.status().message();
  }
  EXPECT_EQ(MustFind(*store, 1).revoked, 2000);
  EXPECT_EQ(MustFind(*store, 4).revoked, 0);

  // All: the live ones, counted.
  auto all = store->RevokeAppPasswords("alice", "", 2200);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 2);
  EXPECT_EQ(MustFind(*store, 2).revoked, 2200);
  EXPECT_EQ(MustFind(*store, 3).revoked, 2200);
  EXPECT_EQ(MustFind(*store, 1).revoked, 2000);  // its own time kept
  EXPECT_EQ(MustFind(*store, 5).revoked, 0);
  // None left: nothing to do, not an error.
  all = store->RevokeAppPasswords("alice", "", 2300);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 0);

  EXPECT_EQ(store->RevokeAppPasswords("nobody", "", 2400).status().code(), Code::kNotFound);
  EXPECT_EQ(store->RevokeAppPasswords("nobody", "Phone", 2400).status().code(), Code::kNotFound);
}

// Find is a lookup, not a decision: revoked and expired rows come back as
// they are (the flow says no), so a sign-in can tell why.
TEST_P(StoreContractTest, FindAppPasswordReturnsEndedOnesToo) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  MustAdd(*store, AppPassword("alice", "Revoked", 1));
  MustAdd(*store, AppPassword("alice", "Expired", 2, 1500));
  ASSERT_EQ(store->RevokeAppPasswords("alice", "Revoked", 1200).value(), 1);
  AppPasswordRecord revoked = MustFind(*store, 1);
  EXPECT_EQ(revoked.revoked, 1200);
  EXPECT_FALSE(revoked.LiveAt(1300));
  AppPasswordRecord expired = MustFind(*store, 2);
  EXPECT_EQ(expired.revoked, 0);
  EXPECT_EQ(expired.expires, 1500);
  EXPECT_TRUE(expired.LiveAt(1499));
  EXPECT_FALSE(expired.LiveAt(1500));
}

TEST_P(StoreContractTest, AnAppPasswordSignInMarksItUsedWithItsEvent) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const int64_t id = MustAdd(*store, AppPassword("alice", "Phone", 1, 9000));
  // Counters in both buckets, which a right app password leaves alone.
  Wrong(*store, "alice", 4000, kAppBucket, Digest('a'));
  Wrong(*store, "alice", 4000, LockoutPolicy{}, Digest('b'));

  const SignInEvent event = AppPasswordEvent("alice", 5000);
  auto settled = store->SettleAttempt("alice", AppPasswordUsed(id, 5000), &event);
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_FALSE(settled->app_password_gone);
  AppPasswordRecord used = MustFind(*store, 1);
  EXPECT_EQ(used.last_used, 5000);
  EXPECT_EQ(used.last_used_from, "198.51.100.4");
  EXPECT_EQ(used.revoked, 0);
  auto events = store->ListEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().method, "app-password:Phone");
  EXPECT_EQ(events->front().service, "imap");
  EXPECT_EQ(events->front().time, 5000);
  EXPECT_EQ(MustLockout(*store, "alice").failures, 1);
  EXPECT_EQ(store->GetUser("alice").value()->failures, 1);

  // The next sign-in, from elsewhere, the last second before it expires.
  SignInEvent later = AppPasswordEvent("alice", 8999);
  later.remote_host = "";
  settled = store->SettleAttempt("alice", AppPasswordUsed(id, 8999), &later);
  ASSERT_TRUE(settled.ok());
  EXPECT_FALSE(settled->app_password_gone);
  used = MustFind(*store, 1);
  EXPECT_EQ(used.last_used, 8999);
  EXPECT_EQ(used.last_used_from, "");
  EXPECT_EQ(store->ListEvents(EventFilter{}).value().size(), 2u);
}

// Revoked or expired between the lookup and the settlement (or never
// this user's): the revoke wins, nothing is written, not even the event.
TEST_P(StoreContractTest, AnEndedAppPasswordSignsInNothing) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  const int64_t revoked = MustAdd(*store, AppPassword("alice", "Revoked", 1));
  const int64_t expired = MustAdd(*store, AppPassword("alice", "Expired", 2, 6000));
  const int64_t bobs = MustAdd(*store, AppPassword("bob", "Phone", 3));
  ASSERT_EQ(store->RevokeAppPasswords("alice", "Revoked", 5000).value(), 1);

  struct {
    int64_t id;
    int64_t now;
    uint32_t n;
  } cases[] = {
      {revoked, 5000, 1},                          // revoked at that very second
      {revoked, 5500, 1},     {expired, 6000, 2},  // expires <= now
      {expired, 7000, 2},     {bobs, 5500, 3},     // bob's, settled as alice's sign-in
      {bobs + 1000, 5500, 0},                      // no such app password
  };
  for (const auto& c : cases) {
    const SignInEvent event = AppPasswordEvent("alice", c.now);
    auto settled = store->SettleAttempt("alice", AppPasswordUsed(c.id, c.now), &event);
    ASSERT_TRUE(settled.ok()) << settled.status().message();
    EXPECT_TRUE(settled->app_password_gone) << c.id << " at " << c.now;
    if (c.n != 0) {
      AppPasswordRecord row = MustFind(*store, c.n);
      EXPECT_EQ(row.last_used, 0) << c.id;
      EXPECT_EQ(row.last_used_from, "") << c.id;
    }
  }
  EXPECT_TRUE(store->ListEvents(EventFilter{}).value().empty());
  EXPECT_EQ(MustFind(*store, 1).revoked, 5000);
}

// Retention in passing with an app password's sign-in: pruned with the
// success; a sign-in with an ended app password writes nothing, so it
// deletes nothing either.
TEST_P(StoreContractTest, AnAppPasswordSignInPrunesOnlyWhenItWrites) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const int64_t live = MustAdd(*store, AppPassword("alice", "Phone", 1));
  const int64_t revoked = MustAdd(*store, AppPassword("alice", "Revoked", 2));
  ASSERT_EQ(store->RevokeAppPasswords("alice", "Revoked", 4000).value(), 1);
  const int64_t old = 2 * kPruneInPassingBatch;
  for (int64_t t = 100; t < 100 + old; ++t)
    ASSERT_TRUE(store->RecordEvent(Event("alice", t, "success")).ok());

  const SignInEvent event = AppPasswordEvent("alice", 5000);
  Settlement gone = AppPasswordUsed(revoked, 5000);
  gone.prune_before = 1000;
  auto settled = store->SettleAttempt("alice", gone, &event);
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_TRUE(settled->app_password_gone);
  EXPECT_EQ(store->ListEvents(EventFilter{}).value().size(), static_cast<size_t>(old));

  Settlement used = AppPasswordUsed(live, 5000);
  used.prune_before = 1000;
  settled = store->SettleAttempt("alice", used, &event);
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_FALSE(settled->app_password_gone);
  auto left = store->ListEvents(EventFilter{});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), static_cast<size_t>(old - kPruneInPassingBatch + 1));
  EXPECT_EQ(left->front().time, 100 + kPruneInPassingBatch);
  EXPECT_EQ(left->back().time, 5000);
}

// An app password is marked used only by a success that records its
// event: anything else is a caller's mistake, refused whole.
TEST_P(StoreContractTest, AnAppPasswordIsMarkedUsedOnlyByASuccessWithItsEvent) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const int64_t id = MustAdd(*store, AppPassword("alice", "Phone", 1));
  Reservation reserved = store->ReserveAttempt("alice", 5000, kAppBucket, "").value();
  ASSERT_EQ(reserved.verdict, Verdict::kReserved);
  const SignInEvent event = AppPasswordEvent("alice", 5000);

  for (Settlement::Kind kind : {Settlement::Kind::kWrong, Settlement::Kind::kRelease}) {
    Settlement odd = AppPasswordUsed(id, 5000);
    odd.kind = kind;
    odd.reservation = reserved;
    auto settled = store->SettleAttempt("alice", odd, &event);
    EXPECT_EQ(settled.status().code(), Code::kInvalidArgument);
  }
  auto no_event = store->SettleAttempt("alice", AppPasswordUsed(id, 5000), nullptr);
  EXPECT_EQ(no_event.status().code(), Code::kInvalidArgument);

  EXPECT_EQ(MustFind(*store, 1).last_used, 0);
  EXPECT_TRUE(store->ListEvents(EventFilter{}).value().empty());
  LockoutRecord lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 1);  // the reservation is still pending
  EXPECT_EQ(lockout.pending_attempts, 1);
}

// mode=app_password counts in its own bucket: locking it leaves the
// interactive sign-in (ssh) alone, and the other way round.
TEST_P(StoreContractTest, TheAppPasswordBucketLocksOnlyItself) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  Reservation r = Wrong(*store, "alice", 1000, kAppBucket, Digest('1'));
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  LockoutRecord lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 1);
  EXPECT_EQ(lockout.pending_attempts, 0);
  EXPECT_EQ(lockout.first_failure, 1000);
  EXPECT_EQ(lockout.locked_until, 0);
  Wrong(*store, "alice", 1001, kAppBucket, Digest('2'));
  r = Wrong(*store, "alice", 1002, kAppBucket, Digest('3'));
  EXPECT_EQ(r.failures, 3);
  EXPECT_EQ(r.locked_until, 1602);
  lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 3);
  EXPECT_EQ(lockout.locked_until, 1602);

  // Locked there...
  auto again = store->ReserveAttempt("alice", 1100, kAppBucket, Digest('4'));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->verdict, Verdict::kLocked);
  EXPECT_EQ(again->locked_until, 1602);
  // ...and nowhere else: the user's own counters never moved.
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  ExpectNoFailures(**alice);
  EXPECT_EQ((*alice)->pending_attempts, 0);
  const LockoutPolicy interactive{3, 900, 600};
  auto ssh = store->ReserveAttempt("alice", 1100, interactive, Digest('1'));
  ASSERT_TRUE(ssh.ok());
  EXPECT_EQ(ssh->verdict, Verdict::kReserved);  // Digest('1') was the other bucket's
  EXPECT_EQ(ssh->failures, 1);
  Settlement ok;
  ok.kind = Settlement::Kind::kSuccess;
  ok.reservation = *ssh;
  ok.policy = interactive;
  ASSERT_TRUE(store->SettleAttempt("alice", ok, nullptr).ok());
  // An interactive success clears its own bucket only.
  EXPECT_EQ(MustLockout(*store, "alice").locked_until, 1602);
  EXPECT_EQ(store->GetUser("alice").value()->failures, 0);

  // The lock runs out at 1602: a new window there.
  auto after = store->ReserveAttempt("alice", 1602, kAppBucket, "");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->verdict, Verdict::kReserved);
  EXPECT_TRUE(after->lock_expired);
  EXPECT_EQ(after->failures, 1);
}

TEST_P(StoreContractTest, TheInteractiveBucketLeavesTheAppPasswordOneAlone) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy interactive{2, 900, 0};
  Wrong(*store, "alice", 1000, interactive, Digest('1'));
  Reservation r = Wrong(*store, "alice", 1001, interactive, Digest('2'));
  ASSERT_EQ(r.locked_until, kLockedUntilUnlocked);
  EXPECT_EQ(store->GetUser("alice").value()->locked_until, kLockedUntilUnlocked);

  LockoutRecord lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 0);
  EXPECT_EQ(lockout.pending_attempts, 0);
  EXPECT_EQ(lockout.first_failure, 0);
  EXPECT_EQ(lockout.locked_until, 0);
  auto mail = store->ReserveAttempt("alice", 1002, kAppBucket, Digest('2'));
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(mail->verdict, Verdict::kReserved);
  EXPECT_EQ(mail->failures, 1);
  // A success there clears that bucket and leaves the interactive lock.
  Settlement ok;
  ok.kind = Settlement::Kind::kSuccess;
  ok.reservation = *mail;
  ok.policy = kAppBucket;
  ASSERT_TRUE(store->SettleAttempt("alice", ok, nullptr).ok());
  lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 0);
  EXPECT_EQ(lockout.pending_attempts, 0);
  EXPECT_EQ(store->GetUser("alice").value()->locked_until, kLockedUntilUnlocked);
  EXPECT_EQ(store->GetUser("alice").value()->failures, 2);
}

// A phone retrying the app password it has saved counts once in its
// bucket; a release there takes the reservation back.
TEST_P(StoreContractTest, TheAppPasswordBucketCountsARepeatOnce) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const LockoutPolicy bucket{5, 900, 600, LockBucket::kAppPassword};
  Reservation r = Wrong(*store, "alice", 1000, bucket, Digest('a'));
  EXPECT_EQ(r.failures, 1);
  for (int i = 1; i <= 20; ++i) {
    r = Wrong(*store, "alice", 1000 + i, bucket, Digest('a'));
    EXPECT_EQ(r.verdict, Verdict::kRepeated);
    EXPECT_EQ(r.failures, 1);
  }
  EXPECT_EQ(MustLockout(*store, "alice").failures, 1);
  EXPECT_EQ(MustLockout(*store, "alice").locked_until, 0);

  // Reserved, then released: as if never counted.
  auto reserved = store->ReserveAttempt("alice", 1100, bucket, Digest('b'));
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(reserved->failures, 2);
  EXPECT_EQ(MustLockout(*store, "alice").pending_attempts, 1);
  Settlement release;
  release.kind = Settlement::Kind::kRelease;
  release.reservation = *reserved;
  release.policy = bucket;
  auto released = store->SettleAttempt("alice", release, nullptr);
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->failures, 1);
  LockoutRecord lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 1);
  EXPECT_EQ(lockout.pending_attempts, 0);
  // The interactive bucket remembers nothing of it.
  r = Wrong(*store, "alice", 1200, LockoutPolicy{}, Digest('a'));
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
}

TEST_P(StoreContractTest, ClearFailuresClearsBothBuckets) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  for (int i = 0; i < 3; ++i) {
    Wrong(*store, "alice", 1000 + i, kAppBucket, Digest(static_cast<char>('a' + i)));
    Wrong(*store, "alice", 1000 + i, LockoutPolicy{3, 900, 0}, Digest('f'));
    Wrong(*store, "bob", 1000 + i, kAppBucket, Digest(static_cast<char>('a' + i)));
  }
  ASSERT_EQ(MustLockout(*store, "alice").locked_until, 1602);
  ASSERT_EQ(store->GetUser("alice").value()->failures, 1);  // Digest('f') counted once

  ASSERT_TRUE(store->ClearFailures("alice").ok());
  LockoutRecord lockout = MustLockout(*store, "alice");
  EXPECT_EQ(lockout.failures, 0);
  EXPECT_EQ(lockout.pending_attempts, 0);
  EXPECT_EQ(lockout.first_failure, 0);
  EXPECT_EQ(lockout.locked_until, 0);
  ExpectNoFailures(store->GetUser("alice").value().value());
  // The remembered digests went too: the same wrong secret counts again.
  Reservation r = Wrong(*store, "alice", 1100, kAppBucket, Digest('a'));
  EXPECT_EQ(r.verdict, Verdict::kReserved);
  EXPECT_EQ(r.failures, 1);
  // bob's bucket is his.
  EXPECT_EQ(MustLockout(*store, "bob").locked_until, 1602);
}

TEST_P(StoreContractTest, AppPasswordLockoutOfNewAndUnknownUsers) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  LockoutRecord fresh = MustLockout(*store, "alice");
  EXPECT_EQ(fresh.failures, 0);
  EXPECT_EQ(fresh.pending_attempts, 0);
  EXPECT_EQ(fresh.first_failure, 0);
  EXPECT_EQ(fresh.locked_until, 0);

  Status missing = store->AppPasswordLockout("nobody").status();
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nobody"), std::string::npos);
  // Counting for no such user makes no bucket for one.
  auto reserved = store->ReserveAttempt("nobody", 1000, kAppBucket, "");
  EXPECT_EQ(reserved.status().code(), Code::kNotFound);
  ASSERT_TRUE(store->AddUser(User("nobody")).ok());
  EXPECT_EQ(MustLockout(*store, "nobody").failures, 0);
}

// Removing a user removes its app passwords and its bucket: none can sign
// in, and a new user of that name starts with none.
TEST_P(StoreContractTest, RemoveUserRemovesItsAppPasswords) {
  auto store = MustConnect();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  ASSERT_TRUE(store->AddUser(User("bob")).ok());
  MustAdd(*store, AppPassword("alice", "Phone", 1));
  MustAdd(*store, AppPassword("alice", "Laptop", 2));
  ASSERT_EQ(store->RevokeAppPasswords("alice", "Laptop", 1100).value(), 1);
  MustAdd(*store, AppPassword("bob", "Phone", 3));
  Wrong(*store, "alice", 1000, kAppBucket, Digest('a'));

  ASSERT_TRUE(store->RemoveUser("alice").ok());
  EXPECT_FALSE(store->FindAppPassword(AppDigest(1)).value().has_value());
  EXPECT_FALSE(store->FindAppPassword(AppDigest(2)).value().has_value());
  EXPECT_EQ(MustFind(*store, 3).user, "bob");
  EXPECT_EQ(store->ListAppPasswords("alice").status().code(), Code::kNotFound);

  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  EXPECT_TRUE(store->ListAppPasswords("alice").value().empty());
  EXPECT_EQ(MustLockout(*store, "alice").failures, 0);
  MustAdd(*store, AppPassword("alice", "Phone", 4));
}

// A busy store refuses each app-password write whole (kBusy), and lookups
// still answer.
TEST_P(StoreContractTest, ABusyStoreRefusesAppPasswordWritesWhole) {
  auto store = MustConnect(/*wait_ms=*/50);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddUser(User("alice")).ok());
  const int64_t id = MustAdd(*store, AppPassword("alice", "Phone", 1));
  {
    auto hold = backend_->BlockWrites();
    ASSERT_TRUE(hold.ok()) << hold.status().message();
    EXPECT_EQ(MustFind(*store, 1).id, id);
    EXPECT_EQ(store->ListAppPasswords("alice").value().size(), 1u);
    AppPasswordRecord laptop = AppPassword("alice", "Laptop", 2);
    EXPECT_EQ(store->AddAppPassword(laptop, 25, 2000).code(), Code::kBusy);
    EXPECT_EQ(store->RevokeAppPasswords("alice", "Phone", 2000).status().code(), Code::kBusy);
    const SignInEvent event = AppPasswordEvent("alice", 2000);
    EXPECT_EQ(store->SettleAttempt("alice", AppPasswordUsed(id, 2000), &event).status().code(),
              Code::kBusy);
    EXPECT_EQ(store->ReserveAttempt("alice", 2000, kAppBucket, "").status().code(), Code::kBusy);
  }
  EXPECT_FALSE(store->FindAppPassword(AppDigest(2)).value().has_value());
  AppPasswordRecord phone = MustFind(*store, 1);
  EXPECT_EQ(phone.revoked, 0);
  EXPECT_EQ(phone.last_used, 0);
  EXPECT_TRUE(store->ListEvents(EventFilter{}).value().empty());
  EXPECT_EQ(MustLockout(*store, "alice").failures, 0);
}

int ConcurrentAppPasswordAdds(BackendStore& backend, int max_live) {
  int gate[2];
  if (pipe(gate) != 0) return -1;
  std::vector<pid_t> children;
  for (int c = 0; c < kRacingChildren; ++c) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      close(gate[1]);
      int code = 0;
      {
        auto store = backend.Connect(kRaceWaitMs);
        if (!store.ok()) _exit(100);
        char byte;
        if (read(gate[0], &byte, 1) != 0) _exit(101);  // EOF: go
        AppPasswordRecord record =
            AppPassword("alice", "client " + std::to_string(c), static_cast<uint32_t>(c + 1));
        Status added = (*store)->AddAppPassword(record, max_live, 2000);
        if (added.ok()) {
          code = 1;
        } else if (added.code() != Code::kPermissionDenied) {
          _exit(102);
        }
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // releases every child at once
  int stored = 0;
  bool failed = false;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      failed = true;
      continue;
    }
    stored += WEXITSTATUS(status);
  }
  return failed ? -1 : stored;
}

}  // namespace
}  // namespace sesame
