// sesame activity: the calling user's own sign-in events, newest first:
// when (local time), the service, where from (a host never seen before in
// a success is marked "new"), how, and how it ended (failures too). A table
// on a terminal, --json for scripts. Read only.
#include <cstdio>
#include <string>
#include <vector>

#include "core/flows/activity.h"
#include "tools/common/activity_output.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"

namespace sesame::self {
namespace {

constexpr const char* kNotShown = "your sign-in activity was not shown; nothing was changed";

}  // namespace

int RunActivity(const Invocation& inv) {
  // The options are checked before anything is opened.
  ActivityQuery query;
  query.user = inv.user;
  if (!inv.since.empty()) {
    Result<int64_t> since = ParseActivityTime(inv.since, SystemClock().Now());
    if (!since.ok()) return Table().Usage("--since: " + since.status().message());
    query.since = *since;
  }
  if (!inv.limit.empty()) {
    Result<size_t> limit = ParseLimit(inv.limit);
    if (!limit.ok()) return Table().Usage(limit.status().message());
    query.limit = *limit;
  } else if (!query.since.has_value()) {
    query.limit = kDefaultActivityLimit;
  }
  if (inv.failures) query.outcome = "failure";

  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return Fail(env.status());
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());
  Result<std::vector<SignInEvent>> events = (*env)->store->ListEvents(ActivityFilter(query));
  if (!events.ok()) return Fail(events.status());
  if (inv.json) {
    JsonWriter j;
    j.BeginObject().Key("user").String(inv.user).Key("events");
    WriteActivityJson(j, *events);
    j.EndObject();
    std::printf("%s\n", j.str().c_str());
    return Printed(kNotShown);
  }
  std::fputs(ActivityTable(*events, /*with_user=*/false).c_str(), stdout);
  return Printed(kNotShown);
}

}  // namespace sesame::self
