#include "core/policy/mfa_requirement.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sesame {
namespace {

constexpr size_t kMaxNssBuffer = 1 << 20;

// Runs a reentrant NSS lookup with a buffer that grows on ERANGE. Returns
// the lookup's error number (0: success or not found, see `*found`).
template <typename Entry, typename Lookup>
int NssLookup(Lookup lookup, Entry* entry, std::vector<char>* buffer, bool* found) {
  buffer->assign(4096, '\0');
  for (;;) {
    Entry* result = nullptr;
    int rc = lookup(entry, buffer->data(), buffer->size(), &result);
    if (rc == ERANGE && buffer->size() < kMaxNssBuffer) {
      buffer->assign(buffer->size() * 4, '\0');
      continue;
    }
    NssAnswer answer = ClassifyNssResult(rc, result != nullptr);
    *found = answer == NssAnswer::kFound;
    return answer == NssAnswer::kError ? (rc != 0 ? rc : EIO) : 0;
  }
}

// getgrnam_r into `gr` (strings in `buffer`); whether the group exists.
Result<bool> LookupGroup(const std::string& name, struct group* gr, std::vector<char>* buffer) {
  bool found = false;
  int rc = NssLookup<struct group>(
      [&](struct group* e, char* b, size_t n, struct group** out) {
        return getgrnam_r(name.c_str(), e, b, n, out);
      },
      gr, buffer, &found);
  if (rc != 0) {
    return Status(Code::kUnavailable,
                  "cannot look up group " + name + ": " + std::string(std::strerror(rc)));
  }
  return found;
}

}  // namespace

NssAnswer ClassifyNssResult(int rc, bool got_entry) {
  // Only "no error, no entry" is "not found". getpwnam_r(3) allows modules
  // to say "not found" with ENOENT, ESRCH, EBADF or EPERM too, but
  // nss-pam-ldapd and others return those when their server is down: a
  // requirement that cannot be read must deny, not require no one.
  if (rc != 0) return NssAnswer::kError;
  return got_entry ? NssAnswer::kFound : NssAnswer::kNotFound;
}

Result<bool> GroupExists(std::string_view group) {
  struct group gr {};
  std::vector<char> buffer;
  return LookupGroup(std::string(group), &gr, &buffer);
}

Result<GroupMembership> GroupMembershipOf(std::string_view user, std::string_view group) {
  const std::string user_name(user);
  struct group gr {};
  std::vector<char> gr_buffer;
  Result<bool> exists = LookupGroup(std::string(group), &gr, &gr_buffer);
  if (!exists.ok()) return exists.status();
  if (!exists.value()) return GroupMembership::kNoSuchGroup;
  for (char** member = gr.gr_mem; member != nullptr && *member != nullptr; ++member) {
    if (user_name == *member) return GroupMembership::kMember;
  }
  struct passwd pw {};
  std::vector<char> pw_buffer;
  bool found = false;
  int rc = NssLookup<struct passwd>(
      [&](struct passwd* e, char* b, size_t n, struct passwd** out) {
        return getpwnam_r(user_name.c_str(), e, b, n, out);
      },
      &pw, &pw_buffer, &found);
  if (rc != 0) {
    return Status(Code::kUnavailable,
                  "cannot look up user " + user_name + ": " + std::string(std::strerror(rc)));
  }
  return found && pw.pw_gid == gr.gr_gid ? GroupMembership::kMember : GroupMembership::kNotMember;
}

namespace {

// Whether `user` is in `group`. A group that does not exist is an error:
// it was named to require MFA, and a typo or a deleted group must not
// quietly require it of no one.
Result<bool> MemberOf(const std::string& user, const std::string& group, const std::string& source,
                      const std::string& fix) {
  Result<GroupMembership> membership = GroupMembershipOf(user, group);
  if (!membership.ok()) return membership.status();
  if (membership.value() == GroupMembership::kNoSuchGroup) {
    return Status(Code::kUnavailable, "group " + group + " (" + source +
                                          ") does not exist, so whom it requires MFA of cannot "
                                          "be told; " +
                                          fix);
  }
  return membership.value() == GroupMembership::kMember;
}

}  // namespace

Result<MfaRequirement> MfaRequirementOf(const Config& config, Store& store,
                                        const UserRecord& user) {
  if (user.mfa_required) {
    return MfaRequirement{true, "an administrator requires it (sesame-admin mfa require)"};
  }
  if (config.mfa_required == "all") {
    return MfaRequirement{true, "mfa_required = all in the config"};
  }
  MfaRequirement result{false, "not required"};
  if (config.mfa_required.rfind("group:", 0) == 0) {
    const std::string group = config.mfa_required.substr(6);
    const std::string source = "mfa_required = " + config.mfa_required + " in the config";
    Result<bool> member = MemberOf(user.name, group, source,
                                   "create the group or correct mfa_required in sesame.conf");
    if (!member.ok()) return member.status();
    if (member.value()) {
      result.required = true;
      result.why = "member of group " + group + " (" + source + ")";
      return result;
    }
  }
  // Read with the record when it was (Store::GetUserForSignIn), so as old
  // as its mfa_required; else asked now.
  Result<std::vector<std::string>> groups =
      user.mfa_required_groups.has_value()
          ? Result<std::vector<std::string>>(*user.mfa_required_groups)
          : store.MfaRequiredGroups();
  if (!groups.ok()) return groups.status();
  for (const std::string& group : groups.value()) {
    const std::string source = "sesame-admin mfa require @" + group;
    Result<bool> member =
        MemberOf(user.name, group, source,
                 "create the group or run `sesame-admin mfa unrequire @" + group + "`");
    if (!member.ok()) return member.status();
    if (member.value()) {
      result.required = true;
      result.why = "member of group " + group + " (" + source + ")";
      return result;
    }
  }
  return result;
}

int64_t GraceLeft(const Config& config, int64_t since, int64_t now) {
  const int64_t grace = static_cast<int64_t>(config.mfa_grace_days) * 86400;
  if (since == 0) return grace;
  return since + grace - now;
}

}  // namespace sesame
