// For the store backends only (core/store/sqlite, core/store/postgres):
// what both do alike with a value they read or write, written once so the
// two cannot drift apart. Not part of the Store API (store.h).
#ifndef SESAME_CORE_STORE_BACKEND_COMMON_H_
#define SESAME_CORE_STORE_BACKEND_COMMON_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"

namespace sesame {

// True when `attempt` is one of the digests in `recent` (a user's recent
// wrong secrets, concatenated, kWrongAttemptDigestChars each). Every
// remembered digest is compared, in constant time, whatever matched.
bool RememberedWrongAttempt(std::string_view recent, std::string_view attempt);

// One forward migration of a backend's schema: from `from_version` to the
// next, by `sql` (run in one transaction with the version's update).
struct SchemaMigration {
  int from_version;
  const char* sql;
};

// What opening a store does with the schema version it found there
// (`found`, 0: an empty store) when this sesame knows up to `known`.
enum class SchemaStep { kUpToDate, kMigrate };
// kMigrate only when the caller may (`create` for an empty store, `migrate`
// for an older one); otherwise, and for a newer schema, kUnavailable
// naming the fix (`sesame-admin init`, `sesame-admin db migrate`, upgrade
// sesame). `store` names the store in the message ("store /var/lib/...").
Result<SchemaStep> DecideSchemaStep(const std::string& store, int found, int known, bool create,
                                    bool migrate);

// The pieces of `joined` between `separator`s, empty ones left out ("":
// none).
std::vector<std::string> SplitNonEmpty(std::string_view joined, char separator);

// An app password's services as stored: comma-separated ("" = every
// service), and back. Service names hold no comma (CheckAppPasswordRecord).
std::string JoinAppPasswordServices(const std::vector<std::string>& services);
std::vector<std::string> SplitAppPasswordServices(std::string_view stored);

// An EventFilter list (outcomes, methods) as the event queries match it:
// each name between unit separators (0x1f), "\x1fa\x1fb\x1f", so a name
// matches only whole (strpos/instr of 0x1f NAME 0x1f). Names hold no
// control character (CheckEventFilter).
std::string JoinForEventFilter(const std::vector<std::string>& names);

// For each remote host a user has a success from: the smallest id of one.
using FirstSuccessByHost = std::map<std::string, int64_t>;

// Fills SignInEvent::new_host of `events` (EventFilter::mark_new_hosts):
// `first_successes` is asked once per user with an event from a remote
// host, so the cost is one pass over each listed user's successes, not an
// index probe per event (and no index kept for it at every sign-in's
// write). An error from it is returned and leaves the marks unset.
Status MarkNewHosts(
    std::vector<SignInEvent>& events,
    const std::function<Result<FirstSuccessByHost>(const std::string& user)>& first_successes);

}  // namespace sesame

#endif  // SESAME_CORE_STORE_BACKEND_COMMON_H_
