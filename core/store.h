// Store: accounts and sign-in activity. One interface, several backends
// (sqlite now; postgres later), one conformance test suite.
//
// MUST rules for every backend:
//  - every change is one transaction; counters change in the database
//    (UPDATE ... SET n = n + 1), never read-modify-written in the process;
//  - a busy database is waited for (bounded), and a timeout is kBusy with a
//    message, never a half-applied change;
//  - names are compared byte for byte (callers validate them first).
#ifndef SESAME_CORE_STORE_H_
#define SESAME_CORE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sesame {

struct UserRecord {
  std::string name;
  std::string password_hash;  // PHC string; empty = no password set
  bool disabled = false;
  int64_t created = 0;           // unix seconds
  int64_t password_changed = 0;  // unix seconds
};

// What happened at one decision. Strings, not enums, so later kinds of
// method and outcome need no schema change.
struct SignInEvent {
  int64_t id = 0;  // assigned by the store
  int64_t time = 0;
  std::string user;
  std::string service;
  std::string remote_host;
  std::string method;   // "password", ...
  std::string outcome;  // "success", "failure", "unknown-user", "disabled", "error", ...
  std::string detail;   // short reason, never a secret
};

struct EventFilter {
  std::optional<std::string> user;
  int64_t since = 0;  // unix seconds, inclusive
  size_t limit = 0;   // newest N; 0 = all
};

class Store {
 public:
  virtual ~Store() = default;

  // nullopt when there is no such user.
  virtual Result<std::optional<UserRecord>> GetUser(std::string_view name) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  // kAlreadyExists when the name is taken.
  virtual Status AddUser(const UserRecord& user) = 0;
  // kNotFound when there is no such user. Sign-in events are kept.
  virtual Status RemoveUser(std::string_view name) = 0;
  // kNotFound when there is no such user.
  virtual Status SetDisabled(std::string_view name, bool disabled) = 0;
  // Replaces the hash only if the stored one is still `expected_hash`
  // (compare-and-set, so a rehash never undoes a concurrent change). Returns
  // false when it was not replaced. `changed_at` set to nonzero also updates
  // password_changed (a real change, not a rehash).
  virtual Result<bool> ReplacePasswordHash(std::string_view name, std::string_view expected_hash,
                                           std::string_view new_hash, int64_t changed_at) = 0;

  virtual Status RecordEvent(const SignInEvent& event) = 0;
  // Oldest first (within the newest `limit` when set).
  virtual Result<std::vector<SignInEvent>> ListEvents(const EventFilter& filter) = 0;

  virtual Result<int> SchemaVersion() = 0;
};

}  // namespace sesame

#endif  // SESAME_CORE_STORE_H_
