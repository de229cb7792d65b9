// Wrong-attempt digests: how the lockout recognises the same wrong secret
// sent again (a mail client or a script retrying what it has saved), so it
// counts once (Store::RecordFailure).
//
// The digest is HMAC-SHA256 under a subkey of the host key
// (kWrongAttemptPurpose, see secret_box.h) over the kind of secret, the user
// name, for a verification code the time step it was typed in, and the
// secret, cut to 128 bits and written as 32 lower-case hex characters. A
// code's validity changes every totp_period: the same wrong code typed in a
// later time step is a new guess (it may have become right), so it counts
// again. Without the key file it reveals nothing about the secret; the
// store keeps only the last few per user, and forgets them at a success, an
// unlock or a new failure window.
#ifndef SESAME_CORE_CRYPTO_WRONG_ATTEMPT_H_
#define SESAME_CORE_CRYPTO_WRONG_ATTEMPT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/secret.h"

namespace sesame {

// A digest is this many lower-case hex characters (128 bits).
inline constexpr size_t kWrongAttemptDigestChars = 32;

// What kind of secret was wrong: the same text typed as a password and as
// a verification code are different attempts.
enum class AttemptKind { kPassword, kCode };

// The digest described above, or "" when it cannot be made (no host key, a
// key of the wrong size, an HMAC failure): the failure is then counted
// every time, as without this rule. `step` is the TOTP time step the code
// was typed in (kCode); it is not part of a password's digest.
std::string WrongAttemptDigest(const SecretBuffer* host_key, AttemptKind kind,
                               std::string_view user, std::string_view secret, int64_t step = 0);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_WRONG_ATTEMPT_H_
