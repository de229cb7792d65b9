// The host key in /etc/security/sesame.key: 32 random bytes, 0400 root.
// HMAC pepper for app-password digests and AES key for TOTP secrets at rest.
#ifndef SESAME_CORE_CRYPTO_KEY_FILE_H_
#define SESAME_CORE_CRYPTO_KEY_FILE_H_

#include <string>

#include "core/base/random.h"
#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

inline constexpr size_t kHostKeyBytes = 32;

// Reads and checks the key (trusted, secret, exactly 32 bytes).
Result<SecretBuffer> LoadHostKey(const std::string& path);

// Creates the key with O_EXCL, mode 0400; kAlreadyExists if it exists (the
// existing file is left alone). The directory must exist.
Status CreateHostKey(const std::string& path, Random& random);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_KEY_FILE_H_
