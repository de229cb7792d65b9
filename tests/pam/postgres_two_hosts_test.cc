// Two hosts, one store (issue 13, "Proof"): two configs, each with its own
// key file (the same key, as an administrator copies it to every host: it
// seals TOTP secrets and keys the digests of app passwords and wrong
// secrets) and its own runtime dir, no SQLite, and one PostgreSQL database
// (store = postgres over the Unix socket of the test cluster; a fresh
// database per test), signed into through the real libpam: the services
// host-a, host-b (auth, account, password) and host-a-imap, host-b-imap
// (mode=app_password) name one config each (tests/pam/CMakeLists.txt).
// The two DSNs say the same thing in another order, so the module's pool
// (pam_module/store_pool.h) keeps one connection per "host", as two
// machines would have: what one host wrote, the other reads from the
// database, not from a shared connection.
//
// Proven: failures on A and B add up to one lock both honour; a TOTP code
// used on A is refused on B in the same time step; a recovery code used on
// A is gone on B; an app password revoked on A fails on B at once; a
// password changed on A works on B, and the old one fails there.
//
// Without a cluster (SESAME_TEST_POSTGRES unset, or a build without libpq)
// the tests skip with the reason, or fail with SESAME_REQUIRE_POSTGRES=1.
#include <gtest/gtest.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/base32.h"
#include "core/base/secret.h"
#include "core/config/config.h"
#include "core/crypto/totp.h"
#include "core/store/open/open_store.h"
#include "core/store/store.h"
#include "tests/fakes/store_backends.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

#ifdef SESAME_WITH_POSTGRES

using ::sesame::testing::PostgresBackend;
using ::sesame::testing::PostgresClusterFacts;
using ::sesame::testing::PostgresRun;
using ::sesame::testing::PostgresValue;

constexpr char kOld[] = "correct horse battery staple 7";
constexpr char kNew[] = "Violet tractor sings 42 loud";
constexpr char kSecret[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const std::vector<std::string> kBothPrompts = {"Password: ", "Verification code: "};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// Now, once at least `margin` seconds are left in the current 30 s step
// (waiting into the next step otherwise): both hosts see one step.
int64_t SafeNow(int margin = 5) {
  for (;;) {
    const int64_t now = Now();
    const int64_t left = 30 - now % 30;
    if (left >= margin) return now;
    sleep(static_cast<unsigned>(left));
  }
}

std::string CodeAt(int64_t unix_time) {
  Result<SecretBuffer> key = Base32Decode(kSecret);
  EXPECT_TRUE(key.ok());
  return key.ok() ? TotpAt(key.value(), unix_time, TotpParams{}) : "";
}

// The first cell of `sql`'s result on `dsn`, or "ERROR: ..." .

class TwoHostsTest : public PamTest {
 protected:
  struct Host {
    std::string name;     // "a" or "b"
    std::string service;  // its interactive service (auth, account, password)
    std::string imap;     // its mode=app_password service
    std::string config;   // its config file
    std::string key;      // its key file
  };

  void SetUp() override {
    SESAME_SKIP_UNAVAILABLE_BACKEND(PostgresBackend());
    std::string why;
    facts_ = PostgresClusterFacts(&why);
    ASSERT_FALSE(facts_.empty()) << why;
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());  // the fixed and state dirs (and a SQLite
                                                // store nobody uses here)
    static int counter = 0;
    db_ = "two_hosts_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    const std::string created =
        PostgresRun(facts_["PG_ADMIN_DSN"], "CREATE DATABASE " + db_ + " OWNER sesame");
    ASSERT_EQ(created, "") << "CREATE DATABASE " << db_;
    db_created_ = true;
    a_ = Host{"a", "host-a", "host-a-imap", kFixedDir + "/host-a.conf", state_dir_ + "/host-a.key"};
    b_ = Host{"b", "host-b", "host-b-imap", kFixedDir + "/host-b.conf", state_dir_ + "/host-b.key"};
    // The same place, written two ways: one connection per host.
    dsn_a_ = "host=" + facts_["PG_SOCKET_DIR"] + " port=" + facts_["PG_PORT"] + " dbname=" + db_ +
             " user=sesame";
    dsn_b_ = "user=sesame dbname=" + db_ + " port=" + facts_["PG_PORT"] +
             " host=" + facts_["PG_SOCKET_DIR"];
    ASSERT_NO_FATAL_FAILURE(WriteHostConfig(a_, dsn_a_));
    ASSERT_NO_FATAL_FAILURE(WriteHostConfig(b_, dsn_b_));
    // Host A is set up as the first host of a fleet (key and schema made
    // by init); host B gets a copy of its key, and its init finds the
    // schema there.
    ASSERT_NO_FATAL_FAILURE(HostAdmin(a_, {"init"}));
    std::string key;
    ASSERT_TRUE(ReadFile(a_.key, &key)) << a_.key;
    ASSERT_TRUE(WriteFile(b_.key, key, 0400)) << b_.key;
    ASSERT_NO_FATAL_FAILURE(HostAdmin(b_, {"init"}));
    ASSERT_NO_FATAL_FAILURE(
        HostAdmin(a_, {"user", "add", "alice", "--password-stdin"}, std::string(kOld) + "\n"));
  }

  void TearDown() override {
    PamTest::TearDown();
    // WITH (FORCE): the module's kept connections to it are ended too.
    if (db_created_)
      PostgresRun(facts_["PG_ADMIN_DSN"], "DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  static bool ReadFile(const std::string& path, std::string* out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    char buf[4096];
    size_t n;
    out->clear();
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
    std::fclose(f);
    return true;
  }

  void WriteHostConfig(const Host& host, const std::string& dsn) {
    const std::map<std::string, std::string> config = {
        {"store", "postgres"},
        {"postgres_dsn", dsn},
        {"store_path", state_dir_ + "/unused-" + host.name + ".db"},
        {"key_file", host.key},
        {"runtime_dir", state_dir_ + "/run-" + host.name},
        {"argon2_memory_kib", "8"},
        {"argon2_time_cost", "1"},
        {"deny", "3"},
        {"fail_interval", "900"},
        {"unlock_time", "600"},
        {"app_passwords_for", "all"},
    };
    std::string text = "# host " + host.name + ", written by sesame_pam_tests\n";
    for (const auto& [key, value] : config) text += key + " = " + value + "\n";
    ASSERT_TRUE(WriteFile(host.config, text, 0644)) << host.config;
  }

  // sesame-admin --config HOST's ARGS..., expecting exit 0; its stdout.
  std::string HostAdmin(const Host& host, const std::vector<std::string>& args,
                        const std::string& input = "") {
    std::vector<std::string> argv = {kAdminPath, "--config", host.config};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = RunCommand(argv, input);
    std::string shown;
    for (const std::string& a : args) shown += " " + a;
    EXPECT_EQ(r.exit_code, 0) << "host " << host.name << ": sesame-admin" << shown
                              << " failed\nstdout: " << r.out << "\nstderr: " << r.err;
    return r.out;
  }

  // One pam_authenticate on `service`, answering `answers`.
  PamRun Auth(const std::string& service, std::vector<std::string> answers, int expected) {
    PamRun run = RunPam(service, "alice", std::move(answers), {{PAMTEST_AUTHENTICATE, expected}});
    EXPECT_PAM_CODES(run, expected) << " (service " << service << ")";
    return run;
  }

  // The shared store, as a third reader sees it.
  std::unique_ptr<Store> OpenShared() {
    Config config;
    config.store = "postgres";
    config.postgres_dsn = dsn_a_;
    Result<std::unique_ptr<Store>> store = ::sesame::OpenStore(config, StoreOptions{});
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  UserRecord Alice() {
    std::unique_ptr<Store> store = OpenShared();
    if (store == nullptr) return UserRecord{};
    Result<std::optional<UserRecord>> alice = store->GetUser("alice");
    EXPECT_TRUE(alice.ok() && alice->has_value());
    return alice.ok() && alice->has_value() ? **alice : UserRecord{};
  }

  // alice's newest event.
  SignInEvent LastEvent() {
    std::unique_ptr<Store> store = OpenShared();
    if (store == nullptr) return SignInEvent{};
    EventFilter filter;
    filter.user = "alice";
    filter.newest_first = true;
    filter.limit = 1;
    Result<std::vector<SignInEvent>> events = store->ListEvents(filter);
    EXPECT_TRUE(events.ok() && !events->empty());
    return events.ok() && !events->empty() ? events->front() : SignInEvent{};
  }

  // The recovery codes `mfa enroll` printed on host A.
  std::vector<std::string> EnrollOnA() {
    const std::string out =
        HostAdmin(a_, {"mfa", "enroll", "alice", "--secret-stdin"}, std::string(kSecret) + "\n");
    std::vector<std::string> codes;
    size_t header = out.find("\nRecovery codes (");
    EXPECT_NE(header, std::string::npos) << out;
    if (header == std::string::npos) return codes;
    size_t pos = out.find('\n', header + 1);
    while (pos != std::string::npos && pos + 1 < out.size()) {
      size_t end = out.find('\n', pos + 1);
      std::string line = out.substr(pos + 1, end == std::string::npos ? end : end - pos - 1);
      if (line.rfind("  ", 0) != 0) break;
      codes.push_back(line.substr(2));
      pos = end;
    }
    return codes;
  }

  std::map<std::string, std::string> facts_;
  std::string db_;
  bool db_created_ = false;
  std::string dsn_a_, dsn_b_;
  Host a_, b_;
};

TEST_F(TwoHostsTest, FailuresOnBothHostsAddUpToOneLockBothHonour) {
  Auth(a_.service, {"wrong on a 1"}, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent().detail, "wrong password (1 of 3 failures)");
  // B counts on from A's failure: one counter, not one per host.
  Auth(b_.service, {"wrong on b 2"}, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent().service, "host-b");
  EXPECT_EQ(LastEvent().detail, "wrong password (2 of 3 failures)");
  EXPECT_EQ(Alice().failures, 2);
  Auth(a_.service, {"wrong on a 3"}, PAM_AUTH_ERR);
  const UserRecord locked = Alice();
  EXPECT_EQ(locked.failures, 3);
  EXPECT_GT(locked.locked_until, Now() + 500) << "locked for unlock_time = 600 s";

  // Both refuse the right password now, without checking it, and say so.
  for (const Host* host : {&b_, &a_}) {
    PamRun right = Auth(host->service, {kOld}, PAM_AUTH_ERR);
    ASSERT_EQ(right.conv.Errors().size(), 1u) << "host " << host->name;
    EXPECT_NE(right.conv.Errors()[0].find("locked"), std::string::npos) << right.conv.Errors()[0];
    const SignInEvent refused = LastEvent();
    EXPECT_EQ(refused.service, host->service);
    EXPECT_EQ(refused.outcome, "locked") << refused.detail;
  }
  EXPECT_EQ(Alice().failures, 3) << "refused while locked: not counted";
  EXPECT_EQ(Alice().locked_until, locked.locked_until);

  // Each host kept its own session (two machines, not one connection).
  EXPECT_EQ(PostgresValue(facts_["PG_ADMIN_DSN"],
                          "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db_ +
                              "' AND application_name = 'sesame'"),
            "2");

  // An unlock on A lets alice in on B.
  HostAdmin(a_, {"unlock", "alice"});
  Auth(b_.service, {kOld}, PAM_SUCCESS);
}

TEST_F(TwoHostsTest, ATotpCodeUsedOnAIsRefusedOnB) {
  ASSERT_EQ(EnrollOnA().size(), 10u);
  const int64_t now = SafeNow();
  const std::string code = CodeAt(now);
  PamRun on_a = Auth(a_.service, {kOld, code}, PAM_SUCCESS);
  EXPECT_EQ(on_a.conv.Prompts(), kBothPrompts);
  EXPECT_EQ(Alice().totp_last_step, TotpStep(now, 30));
  // B opens the secret sealed under A's key (the same key) and finds the
  // step used: a replay, though B never saw the code.
  PamRun on_b = Auth(b_.service, {kOld, code}, PAM_AUTH_ERR);
  EXPECT_EQ(on_b.conv.Prompts(), kBothPrompts);
  ASSERT_EQ(TotpStep(Now(), 30), TotpStep(now, 30))
      << "the step changed during the test; the replay check is not meaningful";
  const SignInEvent refused = LastEvent();
  EXPECT_EQ(refused.service, "host-b");
  EXPECT_EQ(refused.detail, "verification code already used (replay) (1 of 3 failures)");
  EXPECT_EQ(Alice().totp_last_step, TotpStep(now, 30));
  // (A replay, not a wrong code: B opened the secret sealed under A's key
  // and found the code right, but its step taken.) A wrong code on B is
  // counted on the same counter.
  std::string wrong = "000000";
  while (wrong == CodeAt(now - 30) || wrong == code || wrong == CodeAt(now + 30)) wrong[5]++;
  Auth(b_.service, {kOld, wrong}, PAM_AUTH_ERR);
  EXPECT_EQ(LastEvent().detail, "wrong verification code (2 of 3 failures)");
}

TEST_F(TwoHostsTest, ARecoveryCodeUsedOnAIsGoneOnB) {
  std::vector<std::string> codes = EnrollOnA();
  ASSERT_EQ(codes.size(), 10u);
  Auth(a_.service, {kOld, codes[0]}, PAM_SUCCESS);
  EXPECT_EQ(LastEvent().detail, "password and recovery code accepted (9 left)");
  Auth(b_.service, {kOld, codes[0]}, PAM_AUTH_ERR);
  const SignInEvent refused = LastEvent();
  EXPECT_EQ(refused.service, "host-b");
  EXPECT_EQ(refused.outcome, "failure");
  std::unique_ptr<Store> store = OpenShared();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 9);
  // Another code of the same set works on B, and is gone on A then.
  Auth(b_.service, {kOld, codes[1]}, PAM_SUCCESS);
  EXPECT_EQ(LastEvent().detail, "password and recovery code accepted (8 left)");
  Auth(a_.service, {kOld, codes[1]}, PAM_AUTH_ERR);
  EXPECT_EQ(store->CountRecoveryCodes("alice").value(), 8);
}

TEST_F(TwoHostsTest, AnAppPasswordRevokedOnAFailsOnBAtOnce) {
  const std::string json =
      HostAdmin(a_, {"app-password", "create", "alice", "Thunderbird", "--json"});
  const std::string field = "\"app_password\":\"";
  const size_t at = json.find(field);
  ASSERT_NE(at, std::string::npos) << json;
  const size_t end = json.find('"', at + field.size());
  ASSERT_NE(end, std::string::npos) << json;
  const std::string app = json.substr(at + field.size(), end - at - field.size());
  ASSERT_EQ(app.size(), 29u) << app;

  // Made on A (its digest under A's key), accepted on B (the same key).
  Auth(b_.imap, {app}, PAM_SUCCESS);
  Auth(a_.imap, {app}, PAM_SUCCESS);
  Auth(b_.imap, {app}, PAM_SUCCESS);  // B's kept connection, in use again
  HostAdmin(a_, {"app-password", "revoke", "alice", "Thunderbird"});
  // No wait, no cache: B's very next sign-in is refused.
  PamRun on_b = Auth(b_.imap, {app}, PAM_AUTH_ERR);
  ASSERT_EQ(on_b.conv.Errors().size(), 1u);
  EXPECT_EQ(on_b.conv.Errors()[0].rfind("This app password was revoked.", 0), 0u)
      << on_b.conv.Errors()[0];
  const SignInEvent refused = LastEvent();
  EXPECT_EQ(refused.service, "host-b-imap");
  EXPECT_EQ(refused.outcome, "failure");
  Auth(a_.imap, {app}, PAM_AUTH_ERR);
}

TEST_F(TwoHostsTest, APasswordChangedOnAWorksOnBAndTheOldOneFails) {
  Auth(b_.service, {kOld}, PAM_SUCCESS);  // B's connection is kept from here on
  PamRun changed = RunPam(a_.service, "alice", {kNew, kNew}, {{PAMTEST_CHAUTHTOK, PAM_SUCCESS}});
  EXPECT_PAM_CODES(changed, PAM_SUCCESS);
  Auth(b_.service, {kNew}, PAM_SUCCESS);
  Auth(b_.service, {kOld}, PAM_AUTH_ERR);
  Auth(a_.service, {kNew}, PAM_SUCCESS);
  Auth(a_.service, {kOld}, PAM_AUTH_ERR);
  std::unique_ptr<Store> store = OpenShared();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->PasswordHistory("alice").value().size(), 1u);
}

// PAM_RHOST is whatever the application set: bytes that are not UTF-8, or a
// long name. PostgreSQL keeps only valid text, so the event (and an app
// password's last_used_from) get it as valid UTF-8, cut between characters;
// the sign-in is a success, and nothing stays counted.
TEST_F(TwoHostsTest, ARemoteHostThatIsNotUtf8IsStoredAsValidText) {
  const DirectRun odd =
      DirectSignIn(a_.service.c_str(), "alice", kOld, "gw-\xff\xfe.example", true);
  EXPECT_EQ(odd.auth, PAM_SUCCESS);
  EXPECT_EQ(odd.account, PAM_SUCCESS);
  EXPECT_EQ(LastEvent().remote_host, "gw-\xEF\xBF\xBD\xEF\xBF\xBD.example");
  EXPECT_EQ(LastEvent().outcome, "success");
  // 255 bytes, then a two-byte character that would end at byte 257.
  const std::string long_host = std::string(255, 'h') + "\xc3\xa9" + std::string(40, 'h');
  EXPECT_EQ(DirectSignIn(b_.service.c_str(), "alice", kOld, long_host.c_str(), true).auth,
            PAM_SUCCESS);
  EXPECT_EQ(LastEvent().remote_host, std::string(255, 'h'));
  UserRecord alice = Alice();
  EXPECT_EQ(alice.failures, 0);
  EXPECT_EQ(alice.pending_attempts, 0);

  const std::string json =
      HostAdmin(a_, {"app-password", "create", "alice", "Thunderbird", "--json"});
  const std::string field = "\"app_password\":\"";
  const size_t at = json.find(field);
  ASSERT_NE(at, std::string::npos) << json;
  const std::string app = json.substr(at + field.size(), 29);
  EXPECT_EQ(DirectSignIn(b_.imap.c_str(), "alice", app, "\x80mail", true).auth, PAM_SUCCESS);
  EXPECT_EQ(LastEvent().remote_host, "\xEF\xBF\xBDmail");
  std::unique_ptr<Store> store = OpenShared();
  ASSERT_NE(store, nullptr);
  Result<std::vector<AppPasswordRecord>> apps = store->ListAppPasswords("alice");
  ASSERT_TRUE(apps.ok()) << apps.status().message();
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ(apps->front().last_used_from, "\xEF\xBF\xBDmail");
}

#else  // !SESAME_WITH_POSTGRES

// The rule of SESAME_SKIP_UNAVAILABLE_BACKEND (tests/fakes/store_backends.h),
// for a build without the backend.
TEST(TwoHostsTest, NeedsThePostgresBackend) {
  const std::string why =
      "this build has no PostgreSQL backend (libpq was not found when it was configured; "
      "install libpq-dev)";
  const char* require = std::getenv("SESAME_REQUIRE_POSTGRES");
  if (require != nullptr && std::string(require) == "1") {
    FAIL() << why << " (SESAME_REQUIRE_POSTGRES=1: not skipped)";
  }
  GTEST_SKIP() << why;
}

#endif  // SESAME_WITH_POSTGRES

}  // namespace
}  // namespace sesame::pam_testing
