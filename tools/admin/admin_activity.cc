// sesame-admin activity: sign-in events of every user or one, newest first,
// filtered by time, outcome and service (the lockout events show which
// failures locked an account, and when); `activity prune` deletes the
// events older than activity_retention_days now, in small transactions.
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/flows/activity.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/common/activity_output.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"

namespace sesame::admin {

int RunActivity(const Invocation& inv) {
  // The options are checked before anything is opened.
  const int64_t now = SystemClock().Now();
  ActivityQuery query;
  if (inv.user.has_value()) {
    Status name = CheckUserName(*inv.user);
    if (!name.ok()) return Table().Usage("--user: " + name.message());
    query.user = *inv.user;
  }
  for (const auto& [value, out, flag] : {std::tuple{&inv.since, &query.since, "--since"},
                                         std::tuple{&inv.until, &query.until, "--until"}}) {
    if (!value->has_value()) continue;
    Result<int64_t> parsed = ParseActivityTime(**value, now);
    if (!parsed.ok()) return Table().Usage(std::string(flag) + ": " + parsed.status().message());
    *out = *parsed;
  }
  if (inv.outcome.has_value()) {
    Status word = CheckOutcomeWord(*inv.outcome);
    if (!word.ok()) return Table().Usage(word.message());
    query.outcome = *inv.outcome;
  }
  if (inv.service.has_value()) {
    if (inv.service->empty() || inv.service->size() > 128 ||
        SanitizeForLog(*inv.service) != *inv.service)
      return Table().Usage("--service takes a PAM service name (sshd, imap, ...)");
    query.service = *inv.service;
  }
  if (inv.limit.has_value()) {
    Result<size_t> limit = ParseLimit(*inv.limit);
    if (!limit.ok()) return Table().Usage(limit.status().message());
    query.limit = *limit;
  } else if (!query.since.has_value()) {
    query.limit = kDefaultActivityLimit;
  }

  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  Result<std::vector<SignInEvent>> events = (*env)->store->ListEvents(ActivityFilter(query));
  if (!events.ok()) return Fail(events.status());
  if (inv.json) {
    JsonWriter j;
    j.BeginObject().Key("events");
    WriteActivityJson(j, *events);
    j.EndObject();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::fputs(ActivityTable(*events, /*with_user=*/true).c_str(), stdout);
  return kExitOk;
}

int RunActivityPrune(const Invocation& inv) {
  Result<std::unique_ptr<AdminEnv>> env = OpenAdminEnv(inv.config_path, inv.verbose);
  if (!env.ok()) return Fail(env.status());
  const Config& config = (*env)->config;
  if (config.activity_retention_days <= 0) {
    if (inv.json) {
      std::printf("{\"deleted\":0,\"retention_days\":0}\n");
    } else {
      std::printf("activity_retention_days = 0 in %s: every event is kept; nothing deleted\n",
                  config.source.c_str());
    }
    return kExitOk;
  }
  Result<int64_t> pruned = PruneAllEvents(*(*env)->store, config, (*env)->clock.Now());
  if (!pruned.ok()) return Fail(pruned.status());
  if (inv.json) {
    JsonWriter j;
    j.BeginObject()
        .Key("deleted")
        .Int(*pruned)
        .Key("retention_days")
        .Int(config.activity_retention_days)
        .EndObject();
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("deleted %lld sign-in event(s) older than %d days (activity_retention_days)\n",
                static_cast<long long>(*pruned), config.activity_retention_days);
  }
  return kExitOk;
}

}  // namespace sesame::admin
