// Who must use MFA. Three sources, any one is enough:
//  - the user's own flag (sesame-admin mfa require NAME, user add
//    --require-mfa);
//  - the config: mfa_required = all, or group:NAME;
//  - a required group in the store (sesame-admin mfa require @GROUP).
// Group membership is the system's (NSS: /etc/group, LDAP, ...): the group's
// member list or the user's primary group. A user who is not a system user
// can be a member only through the member list.
//
// MUST rules: any lookup that fails (an NSS error, a directory server down)
// and a named group that does not exist are kUnavailable: the caller fails
// closed. Never "not required" because a requirement could not be read.
#ifndef SESAME_CORE_POLICY_MFA_REQUIREMENT_H_
#define SESAME_CORE_POLICY_MFA_REQUIREMENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/store/store.h"

namespace sesame {

struct MfaRequirement {
  bool required = false;
  std::string why;  // for logs and tools: "mfa_required = all in the config", ...
};

// The required groups are user.mfa_required_groups when the record was
// read with them (Store::GetUserForSignIn), else Store::MfaRequiredGroups.
// kUnavailable when the store or the group database cannot be read, or a
// named group does not exist (the caller fails closed).
Result<MfaRequirement> MfaRequirementOf(const Config& config, Store& store, const UserRecord& user);

enum class GroupMembership { kMember, kNotMember, kNoSuchGroup };

// Whether `user` belongs to the system group `group` (one group lookup,
// and a user lookup for the primary group when not a listed member);
// kUnavailable when a lookup itself fails.
Result<GroupMembership> GroupMembershipOf(std::string_view user, std::string_view group);

// Whether the system group exists; kUnavailable when the lookup fails.
Result<bool> GroupExists(std::string_view group);

// What a reentrant NSS lookup's result means: an error number (rc) other
// than 0 is an error, whatever getpwnam_r(3) says modules may mean by it.
enum class NssAnswer { kFound, kNotFound, kError };
NssAnswer ClassifyNssResult(int rc, bool got_entry);

// Seconds of grace left at `now` for a user whose grace began at `since`
// (0: not yet begun, so all of it), <= 0 when it is over.
int64_t GraceLeft(const Config& config, int64_t since, int64_t now);

}  // namespace sesame

#endif  // SESAME_CORE_POLICY_MFA_REQUIREMENT_H_
