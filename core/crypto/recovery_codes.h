// Recovery codes: single-use codes a user keeps on paper for when the
// authenticator is lost.
//
// A code is 10 symbols from kRecoveryCodeAlphabet (32 symbols, 5 bits each:
// 50 bits), shown as "xxxxx-xxxxx". The alphabet is Crockford's base32 in
// lower case: digits and letters without i, l, o and u, so nothing on the
// paper reads as two things; when typed, 'o' is taken as '0' and 'i' or 'l'
// as '1'. Only the digest is stored (HMAC-SHA256 under a pepper derived from
// the host key with kRecoveryCodePurpose, see secret_box.h), under a unique
// index, so a check is one lookup by digest.
#ifndef SESAME_CORE_CRYPTO_RECOVERY_CODES_H_
#define SESAME_CORE_CRYPTO_RECOVERY_CODES_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/base/random.h"
#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

inline constexpr std::string_view kRecoveryCodeAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
inline constexpr size_t kRecoveryCodeSymbols = 10;  // normalized length
inline constexpr int kMaxRecoveryCodes = 1000;

// `count` fresh, distinct codes, each "xxxxx-xxxxx" (11 characters).
// kInvalidArgument unless 1 <= count <= kMaxRecoveryCodes; the Random's
// status if it fails; kInternal if it repeats a code (a broken source).
Result<std::vector<SecretBuffer>> NewRecoveryCodes(Random& random, int count);

// What a person typed, as the 10 symbols a digest is computed over: lower
// case, spaces and '-' dropped, o -> 0, i/l -> 1. Empty when the rest is not
// exactly 10 alphabet symbols. A SecretBuffer: it is the code itself, wiped
// when it goes.
SecretBuffer NormalizeRecoveryCode(std::string_view typed);

// Lower-case hex HMAC-SHA256(pepper, normalized): what is stored and looked
// up. Returns "" (matches nothing; never store it) if `pepper` or
// `normalized` is empty or HMAC fails.
std::string RecoveryCodeDigest(const SecretBuffer& pepper, std::string_view normalized);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_RECOVERY_CODES_H_
