// Sign-in activity: what `sesame activity`, `sesame-admin activity` and the
// "Last sign-in" line after an interactive sign-in show, and the retention
// of events (activity_retention_days). Written once here; the tools only
// print what these return.
//
// MUST rules:
//  - the last-sign-in line never changes a sign-in's decision: it runs
//    after the decision is recorded, and a store that fails it is logged,
//    not returned;
//  - pruning in passing adds no transaction and no large delete to a
//    sign-in: every write that records a sign-in's event (flow_events.cc:
//    Finish, Note, Conclude) also deletes at most kPruneInPassingBatch due
//    events, in that same transaction (Settlement::prune_before,
//    Store::RecordEvent). It can fail only as that write fails.
#ifndef SESAME_CORE_FLOWS_ACTIVITY_H_
#define SESAME_CORE_FLOWS_ACTIVITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/prompter.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/flows/services.h"
#include "core/store/store.h"

namespace sesame {

// A TIME argument (--since, --until), as seconds since the epoch:
//  - "Nd", "Nh", "Nw" (N days, hours or weeks before `now`; N from 0 to
//    100000);
//  - "YYYY-MM-DD" (the start of that day), "YYYY-MM-DDTHH:MM" or
//    "YYYY-MM-DDTHH:MM:SS" (a space may stand for the T), in local time, or
//    in UTC with a trailing "Z", or at an offset ("+01:00", "-0500").
// kInvalidArgument naming what is accepted, for anything else.
Result<int64_t> ParseActivityTime(std::string_view text, int64_t now);

// "2026-12-02 09:14:05" in local time (the process's time zone).
std::string LocalTimeText(int64_t unix_seconds);
// "2026-12-02T09:14:05+01:00": ISO 8601 with the local offset, for --json.
std::string LocalTimeIso(int64_t unix_seconds);

// A method as the person reads it: "password", "password+code",
// "password+recovery code", "code", "recovery code", "app password NAME",
// "reset", "admin action", ... (an unknown method is shown as stored).
std::string MethodWords(std::string_view method);

// The outcomes that are a refused sign-in: "failure", "locked",
// "disabled", "unknown-user", "app-password-required". Not
// "mfa-required": a right password refused because MFA was not set up in
// time is no attempt by someone else, and administrators' events use that
// word too.
const std::vector<std::string>& FailureOutcomes();

// The methods of an interactive sign-in (a password, a code, a recovery
// code, or both; a forgotten-password reset at the prompt): the "Last
// sign-in" line looks at these only, so a mail client's app-password
// sign-ins neither hide it nor count as failures.
const std::vector<std::string>& InteractiveSignInMethods();

// The newest this many when a listing gives neither --limit nor --since.
inline constexpr size_t kDefaultActivityLimit = 20;

// What a listing asks for (both tools).
struct ActivityQuery {
  std::optional<std::string> user;     // nullopt: every user (sesame-admin)
  std::optional<int64_t> since;        // inclusive
  std::optional<int64_t> until;        // exclusive
  std::optional<std::string> service;  // exactly this one
  std::string outcome;                 // "", "success" or "failure"
  size_t limit = 0;                    // the newest N; 0: all
};

// "success" or "failure" as --outcome takes it; kInvalidArgument otherwise.
Status CheckOutcomeWord(std::string_view outcome);
// A --limit value: 1 to 100000.
Result<size_t> ParseLimit(std::string_view text);

// The filter for a listing: newest first, new remote hosts marked.
EventFilter ActivityFilter(const ActivityQuery& query);

// The interactive sign-in before the one that just succeeded for `user`
// (app-password sign-ins are not counted) and the interactive failures
// since it: Store::ReadLastSignIn, bounded as every store read.
Result<LastSignIn> ReadLastSignIn(Store& store, std::string_view user);

// "Last sign-in: 2026-12-02 09:14 from 203.0.113.7 (sshd). 3 failed
// attempts since." (the failures only when there were any; no "from" for
// a local sign-in); "First sign-in." when none was found. Local time.
std::string LastSignInLine(const LastSignIn& last);

// After a success in mode=interactive: tells the person the last sign-in
// (show_last_sign_in). A store that cannot be read is logged; the sign-in
// stays a success.
// `read_with_success`: the answer read with the success's own write
// (flow_internal::Attempt::read_last_sign_in), or `read_error` why it
// could not be; when neither, it is read now.
void TellLastSignIn(Services& s, Prompter& prompter, const RequestInfo& r,
                    const std::optional<LastSignIn>& read_with_success = std::nullopt,
                    const std::string& read_error = {});

// ReadLastSignIn's arguments for the "Last sign-in" line (interactive
// sign-in methods, failure outcomes), for Settlement::last_sign_in.
const LastSignInQuery& LastSignInQueryForSignIn();

// ---- Retention (activity_retention_days) ----

// Every write that records a sign-in's event deletes up to
// kPruneInPassingBatch (core/store/store.h) due events in its own
// transaction: as many as it adds, so the table stops growing, and no
// more, so that the sign-in hardly notices. A backlog is for
// sesame-admin activity prune (daily from sesame-activity-prune.timer).
inline constexpr int64_t kAdminPruneBatch = 1000;  // sesame-admin activity prune's batches

// Events before this time are due for deletion; nullopt when the config
// keeps every event (activity_retention_days = 0).
std::optional<int64_t> RetentionCutoff(const Config& config, int64_t now);

// What a sign-in's own write passes as prune_before (Settlement,
// Store::RecordEvent): the cutoff, or 0 (delete nothing) when the config
// keeps every event or the cutoff is not after the epoch.
int64_t PruneInPassingBefore(const Config& config, int64_t now);

// Every event older than the retention, in batches of `batch` (one
// transaction each); returns how many were deleted. 0 when retention is 0.
Result<int64_t> PruneAllEvents(Store& store, const Config& config, int64_t now,
                               int64_t batch = kAdminPruneBatch);

}  // namespace sesame

#endif  // SESAME_CORE_FLOWS_ACTIVITY_H_
