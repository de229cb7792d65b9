// Checks on text that came from outside: user names, passwords typed at a
// prompt, command-line arguments.
#ifndef SESAME_CORE_BASE_INPUT_CHECK_H_
#define SESAME_CORE_BASE_INPUT_CHECK_H_

#include <string>
#include <string_view>

#include "core/base/status.h"

namespace sesame {

// Longest password we hash. Longer input is refused before any work (a
// 1 MB "password" must not cost 1 MB of hashing per try).
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr size_t kMaxUserNameBytes = 64;

bool IsValidUtf8(std::string_view text);
// `text` as valid UTF-8 of at most `max_bytes` bytes, for a store that keeps
// only valid text (PostgreSQL): each byte that is not part of a valid
// sequence (and each NUL) becomes U+FFFD, and the cut falls between
// characters, never inside one.
std::string ValidUtf8Prefix(std::string_view text, size_t max_bytes);
// Any byte < 0x20 or 0x7f.
bool HasControlChars(std::string_view text);

// A name we keep accounts for: 1..64 bytes of [A-Za-z0-9_.@-], not starting
// with '-' or '.', optionally ending in '$' (machine accounts). Messages
// never echo the raw name.
Status CheckUserName(std::string_view name);

// A group name (mfa_required = group:NAME, sesame-admin mfa require @NAME):
// the same characters as a user name, at most 32 bytes (as groupadd).
Status CheckGroupName(std::string_view name);

// A password a person sets (admin add, change): 1..kMaxPasswordBytes bytes,
// valid UTF-8, no control characters.
Status CheckNewPassword(std::string_view password);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_INPUT_CHECK_H_
