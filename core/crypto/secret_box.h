// SecretBox: secrets at rest under the host key, and purpose-specific subkeys.
//
// TOTP secrets are stored AES-256-GCM encrypted under a subkey derived from
// the host key (/etc/security/sesame.key); app-password and recovery-code
// digests are keyed with their own derived peppers. One host key, one subkey
// per purpose, so no key is ever used for two things.
//
// Sealed format (text, stored as is):
//   "v1:" + base64(nonce[12] || ciphertext || tag[16])
// base64 is the standard alphabet without padding, decoded strictly (one
// accepted encoding per byte string). The key is
// HKDF-SHA256(ikm = host key, no salt, info = kTotpSecretPurpose, 32 bytes).
// The associated data (the user name) is authenticated, not stored: a value
// copied to another user's row does not open.
#ifndef SESAME_CORE_CRYPTO_SECRET_BOX_H_
#define SESAME_CORE_CRYPTO_SECRET_BOX_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/random.h"
#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

// HKDF "info" strings. Changing one makes every stored value under it
// unreadable: add a new version instead.
inline constexpr std::string_view kTotpSecretPurpose = "sesame totp-secret v1";
inline constexpr std::string_view kAppPasswordPurpose = "sesame app-password v1";
inline constexpr std::string_view kRecoveryCodePurpose = "sesame recovery-code v1";
inline constexpr std::string_view kWrongAttemptPurpose = "sesame wrong-attempt v1";

inline constexpr size_t kSubkeyBytes = 32;
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;
// Largest plaintext Seal accepts (TOTP secrets are 20-64 bytes).
inline constexpr size_t kMaxSealedPlaintextBytes = 4096;

// A 32-byte subkey for `purpose` (one of the k*Purpose strings):
// HKDF-SHA256(host_key, no salt, info = purpose).
// REQUIRES: host_key.size() == kHostKeyBytes (else kInvalidArgument).
Result<SecretBuffer> DeriveSubkey(const SecretBuffer& host_key, std::string_view purpose);

// Encrypts `plaintext` under a subkey of `host_key` with a fresh random
// 96-bit nonce from `random`. Returns the sealed text described above.
// kInvalidArgument for a host key that is not kHostKeyBytes or a plaintext
// over kMaxSealedPlaintextBytes; the Random's status if it fails.
Result<std::string> Seal(const SecretBuffer& host_key, const SecretBuffer& plaintext,
                         std::string_view associated_data, Random& random);

// Reverses Seal. Any input that is not a value Seal produced with this host
// key and this associated data (wrong key, other user, altered, truncated,
// unknown version, not base64) is kCorrupt; never crashes.
Result<SecretBuffer> Open(const SecretBuffer& host_key, std::string_view sealed,
                          std::string_view associated_data);

// ---- Building blocks, exposed for known-answer tests. Use the above. ----

// RFC 5869 HKDF with SHA-256. An empty salt means "no salt" (HashLen zeros).
// kInvalidArgument for an empty ikm or a length outside 1..255*32.
Result<SecretBuffer> HkdfSha256(const SecretBuffer& ikm, std::string_view salt,
                                std::string_view info, size_t length);

// Lower-case hex of the first `bytes` (1..32) bytes of HMAC-SHA256(key,
// message): the keyed digests that are stored instead of a secret
// (recovery codes, wrong attempts). "" for an empty key, `bytes` out of
// range or an OpenSSL failure. The full MAC is wiped.
std::string HmacSha256Hex(const SecretBuffer& key, std::string_view message, size_t bytes);

// AES-256-GCM with a 12-byte nonce and a 16-byte tag: returns
// ciphertext || tag. kInvalidArgument for a key that is not 32 bytes, a
// nonce that is not 12 bytes, or an oversized input.
Result<std::string> AesGcmSealRaw(const SecretBuffer& key, std::string_view nonce,
                                  std::string_view plaintext, std::string_view associated_data);

// Reverses AesGcmSealRaw; kCorrupt if the tag does not verify (no plaintext
// is returned then). kInvalidArgument for a bad key or nonce length.
Result<SecretBuffer> AesGcmOpenRaw(const SecretBuffer& key, std::string_view nonce,
                                   std::string_view ciphertext_and_tag,
                                   std::string_view associated_data);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_SECRET_BOX_H_
