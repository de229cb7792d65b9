// The common ground of the core flow tests (sign-in, password lifecycle,
// MFA flows): a temp dir holding a new SQLite store, argon2 at the minimum
// cost, a fake clock and random source, a recording logger, and Services
// over all of them. A fixture derives, calls SetUpFlows() first in its
// SetUp and then sets config_ as it needs (Services holds a reference).
#ifndef SESAME_TESTS_FAKES_FLOW_TEST_H_
#define SESAME_TESTS_FAKES_FLOW_TEST_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "core/base/safe_file.h"
#include "core/base/secret.h"
#include "core/config/config.h"
#include "core/crypto/password_hash.h"
#include "core/flows/services.h"
#include "core/store/sqlite/sqlite_store.h"
#include "core/store/store.h"
#include "tests/fakes/fakes.h"
#include "tests/fakes/scripted_prompter.h"

namespace sesame::testing {

class FlowTest : public ::testing::Test {
 protected:
  // `tag` names the temp dir; `trust_secret` is the store's TrustRule::secret;
  // `host_key` (may be null) goes into Services.
  void SetUpFlows(const std::string& tag, bool trust_secret, const SecretBuffer* host_key) {
    const char* base = std::getenv("SESAME_TEST_TMPDIR");
    const std::string parent = base != nullptr && *base != '\0' ? base : "/tmp";
    ASSERT_EQ(std::system(("mkdir -p '" + parent + "'").c_str()), 0);
    std::string tmpl = parent + "/sesame-" + tag + ".XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    SqliteOptions options;
    options.create = true;
    options.trust = TrustRule{geteuid(), trust_secret};
    auto store = OpenSqliteStore(dir_ + "/sesame.db", options);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store.value());
    config_.argon2_memory_kib = 8;
    config_.argon2_time_cost = 1;
    hasher_ = std::make_unique<PasswordHasher>(Argon2Params{1, 8, 1}, nullptr, logger_);
    services_ = std::make_unique<Services>(
        Services{config_, *store_, *hasher_, clock_, random_, logger_, host_key});
  }

  void TearDown() override {
    services_.reset();
    store_.reset();
    if (!dir_.empty()) {
      ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0);
    }
  }

  // Adds `name` with `password` hashed at the minimum cost.
  void AddUser(const std::string& name, const std::string& password, bool disabled = false) {
    auto hash = hasher_->Hash(password, random_);
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE(
        store_->AddUser(UserRecord{name, hash.value(), disabled, clock_.Now(), clock_.Now()}).ok());
  }

  std::string dir_;
  Config config_;
  FakeClock clock_;
  FakeRandom random_;
  RecordingLogger logger_{true};
  std::unique_ptr<Store> store_;
  std::unique_ptr<PasswordHasher> hasher_;
  std::unique_ptr<Services> services_;
  ScriptedPrompter prompter_;
};

}  // namespace sesame::testing

#endif  // SESAME_TESTS_FAKES_FLOW_TEST_H_
