// Wrong-attempt digests (see wrong_attempt.h).
//
// MUST rules:
//  - the secret is only ever an HMAC input; nothing derived from it but the
//    truncated MAC leaves this file, and every intermediate is wiped;
//  - the fields are framed unambiguously (kind byte, user length, user,
//    for a code its time step, secret), so no two (kind, user, step,
//    secret) give the same input.
#include "core/crypto/wrong_attempt.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "core/crypto/secret_box.h"

namespace sesame {

std::string WrongAttemptDigest(const SecretBuffer* host_key, AttemptKind kind,
                               std::string_view user, std::string_view secret, int64_t step) {
  if (host_key == nullptr) return "";
  Result<SecretBuffer> subkey = DeriveSubkey(*host_key, kWrongAttemptPurpose);
  if (!subkey.ok()) return "";

  // kind, user length (8 bytes, little-endian), user, for a code the time
  // step (8 bytes, little-endian, two's complement), secret
  const bool code = kind == AttemptKind::kCode;
  const char kind_byte = code ? 'c' : 'p';
  const uint64_t user_size = user.size();
  char size_bytes[8];
  for (int i = 0; i < 8; ++i) size_bytes[i] = static_cast<char>(user_size >> (8 * i));
  char step_bytes[8];
  for (int i = 0; i < 8; ++i)
    step_bytes[i] = static_cast<char>(static_cast<uint64_t>(step) >> (8 * i));
  SecretBuffer message;
  message.Resize(1 + sizeof size_bytes + user.size() + (code ? sizeof step_bytes : 0) +
                 secret.size());
  char* at = message.mutable_data();
  *at++ = kind_byte;
  std::memcpy(at, size_bytes, sizeof size_bytes);
  at += sizeof size_bytes;
  if (!user.empty()) std::memcpy(at, user.data(), user.size());
  at += user.size();
  if (code) {
    std::memcpy(at, step_bytes, sizeof step_bytes);
    at += sizeof step_bytes;
  }
  if (!secret.empty()) std::memcpy(at, secret.data(), secret.size());

  return HmacSha256Hex(subkey.value(), message.view(), kWrongAttemptDigestChars / 2);
}

}  // namespace sesame
