// App passwords: one secret per mail client (or other program that can only
// send one password), made by the user after a full sign-in, accepted only
// by services in mode=app_password.
//
// An app password is 24 lowercase letters from getrandom(2) (Random): 24 x
// log2(26) = 112.8 bits, NIST SP 800-63B's line for a secret that may be
// stored with a fast keyed hash. It is shown once, in groups of four
// ("abcd efgh ijkl mnop qrst uvwx"); spaces, dashes and case are ignored when
// it is typed. Only HMAC-SHA256 under a subkey of the host key
// (kAppPasswordPurpose, secret_box.h) over the normalized letters is stored,
// under a unique index: a check is one indexed lookup, whatever the number
// of app passwords (a slow hash tried against each of a user's app
// passwords would cost N argon2 computations per login).
#ifndef SESAME_CORE_CRYPTO_APP_PASSWORD_H_
#define SESAME_CORE_CRYPTO_APP_PASSWORD_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/random.h"
#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

inline constexpr size_t kAppPasswordLetters = 24;
// A stored digest: 64 lower-case hex characters (all 256 bits).
inline constexpr size_t kAppPasswordDigestChars = 64;
inline constexpr size_t kMaxAppPasswordNameBytes = 64;
inline constexpr size_t kMaxAppPasswordServices = 16;

// A fresh app password: kAppPasswordLetters letters a-z, uniform (bytes
// above the last whole multiple of 26 are drawn again). The Random's status
// if it fails.
Result<SecretBuffer> NewAppPassword(Random& random);

// "abcd efgh ijkl mnop qrst uvwx": groups of four for reading.
SecretBuffer GroupAppPassword(std::string_view letters);

// What a person or a client sent, as the letters a digest is computed over:
// spaces, tabs and dashes dropped, A-Z lowered. Empty when what remains is
// not exactly kAppPasswordLetters letters a-z (then it is not an app
// password; it may be a main password).
SecretBuffer NormalizeAppPassword(std::string_view typed);

// Lower-case hex HMAC-SHA256(DeriveSubkey(host_key, kAppPasswordPurpose),
// normalized): what is stored and looked up. "" (matches nothing; never
// store it) when `normalized` is empty or the key cannot be used.
std::string AppPasswordDigest(const SecretBuffer& host_key, std::string_view normalized);

// A name for an app password ("Thunderbird on the laptop"): 1 to
// kMaxAppPasswordNameBytes bytes of printable UTF-8, no control characters
// (C0, DEL, nor C1: U+0080-U+009F), not only spaces. kInvalidArgument
// saying what is wrong.
Status CheckAppPasswordName(std::string_view name);

// The services an app password may sign in to: PAM service names ("imap",
// "pop3", "submission", "smtp", "sieve", ...), comma separated, spaces
// around them ignored, each 1-32 of [a-z0-9_.-], at most
// kMaxAppPasswordServices, none twice. "" means every service that uses
// mode=app_password (an empty list).
Result<std::vector<std::string>> ParseAppPasswordServices(std::string_view list);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_APP_PASSWORD_H_
