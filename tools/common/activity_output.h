// Sign-in activity as both tools print it (sesame activity, sesame-admin
// activity): a table for a person, or JSON for scripts. What the events
// mean (method words, the new-host mark) is core/flows/activity.h's.
#ifndef SESAME_TOOLS_COMMON_ACTIVITY_OUTPUT_H_
#define SESAME_TOOLS_COMMON_ACTIVITY_OUTPUT_H_

#include <string>
#include <vector>

#include "core/store/store.h"
#include "tools/common/json.h"

namespace sesame {

// One column per field, newest first as given, local times; the user column
// only with `with_user`. Every text from the store is sanitised (a remote
// host is whatever the client sent). "No sign-in activity." for none.
std::string ActivityTable(const std::vector<SignInEvent>& events, bool with_user);

// The events as a JSON array (into an open writer): for each, time (unix
// seconds), time_local (ISO 8601 with the local offset), user, service,
// remote_host, method (as stored: "password+totp", "app-password:NAME"),
// method_words ("password+code"), outcome, detail, count and new_host.
void WriteActivityJson(JsonWriter& j, const std::vector<SignInEvent>& events);

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_ACTIVITY_OUTPUT_H_
