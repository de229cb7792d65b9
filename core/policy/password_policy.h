// The policy a new password must meet. Every refusal names the rule, in the
// words pam_pwquality uses ("BAD PASSWORD: ..."), so a person knows what to
// change.
//
// Rules, cheapest first: the input checks of CheckNewPassword (not empty, at
// most 1024 bytes, UTF-8, no control characters); password_min_length in
// characters; banned_passwords_file (case-insensitive: a banned word of four
// or more characters anywhere in the password, a shorter one only as the
// whole password); libpwquality when password_quality = yes (its own
// /etc/security/pwquality.conf: dictionary, user name, similarity to the old
// password); not the current password; not one of the last password_history
// passwords. The last two cost one argon2 verify each.
#ifndef SESAME_CORE_POLICY_PASSWORD_POLICY_H_
#define SESAME_CORE_POLICY_PASSWORD_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/base/safe_file.h"
#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/crypto/password_hash.h"

namespace sesame {

struct PolicySubject {
  std::string_view user;
  std::string_view new_password;
  const SecretBuffer* old_password = nullptr;         // when the person typed it
  std::string_view current_hash;                      // may be empty
  const std::vector<std::string>* history = nullptr;  // newest first; may be null
};

// OK, or kInvalidArgument with "BAD PASSWORD: ..." naming the rule; other
// codes when a check could not run (unreadable banned list, missing
// dictionary, argon2 busy): the password is refused then too.
// banned_passwords_file is read through `reader` (null: ReadTrustedFile,
// with the process's ids).
Status CheckPasswordPolicy(const Config& config, PasswordHasher& hasher,
                           const PolicySubject& subject, TrustedFileReader* reader = nullptr);

// Number of UTF-8 code points (REQUIRES: valid UTF-8).
size_t Utf8Length(std::string_view text);

}  // namespace sesame

#endif  // SESAME_CORE_POLICY_PASSWORD_POLICY_H_
