// crypt(3) hashes adopted from /etc/shadow (`sesame-admin import-shadow`):
// which ones we accept, why others are refused, and checking a password
// against one with libxcrypt. A crypt hash is only ever verified; the first
// successful sign-in replaces it with argon2id (PasswordHasher::NeedsRehash).
//
// Accepted: yescrypt ($y$), gost-yescrypt ($gy$), scrypt ($7$), sha512crypt
// ($6$), sha256crypt ($5$), bcrypt ($2b$, $2a$, $2y$). Refused: MD5 ($1$,
// $md5), DES (13 characters, or BSDi "_..."), and everything else.
#ifndef SESAME_CORE_CRYPTO_CRYPT_HASH_H_
#define SESAME_CORE_CRYPTO_CRYPT_HASH_H_

#include <string_view>

#include "core/base/status.h"

namespace sesame {

// True when `hash` starts with a prefix we accept (see above). Says nothing
// about the rest of the string: VerifyCryptHash and CheckImportableHash look
// at that.
bool IsCryptHash(std::string_view hash);

// The algorithm's name for people ("yescrypt", "sha512crypt", "bcrypt", ...);
// "unknown" when !IsCryptHash(hash).
const char* CryptHashName(std::string_view hash);

// Whether a shadow password field may be imported. OK, or kInvalidArgument
// whose message is the reason, meant to follow "skipped NAME: ":
//   "locked (starts with '!')"
//   "no password ('*' or empty)"
//   "MD5/DES hashes are too weak to adopt; reset the password instead"
//   "malformed <algorithm> hash" (an accepted prefix, but not in the form
//       crypt(3) writes: bad characters, no hash field, too long)
//   "unknown hash format"
// Never echoes the hash.
Status CheckImportableHash(std::string_view field);

// Checks `password` against `hash` with libxcrypt's crypt_rn. true on
// match, false on mismatch (also for a password that no crypt hash can come
// from: one with a NUL byte, or of 512 bytes or more). kCorrupt ("stored
// crypt hash is not usable: ...") when IsCryptHash(hash) is false or
// crypt(3) cannot use the hash; kUnavailable when libxcrypt runs out of
// memory. Costs what the hash's algorithm and parameters cost (yescrypt is
// memory-hard): callers that cap concurrent hashing hold their slot around
// this call.
Result<bool> VerifyCryptHash(std::string_view hash, std::string_view password);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_CRYPT_HASH_H_
