// Password hashing: argon2id PHC strings through libargon2.
//
// MUST rules:
//  - compare digests with CRYPTO_memcmp (constant time);
//  - every argon2 computation (hash, verify, dummy verify) holds a slot of
//    the host-wide Argon2Limiter for its duration;
//  - memory that held the password or a derived digest is wiped;
//  - a PHC string that does not parse is kCorrupt, never "no match".
//
// Memory for argon2 comes from mmap with MADV_HUGEPAGE where the kernel
// allows it (a fresh verify is mostly page faults); elsewhere plain pages.
#ifndef SESAME_CORE_CRYPTO_PASSWORD_HASH_H_
#define SESAME_CORE_CRYPTO_PASSWORD_HASH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/crypto/argon2_limiter.h"

namespace sesame {

struct Argon2Params {
  uint32_t time_cost = 3;
  uint32_t memory_kib = 65536;
  uint32_t parallelism = 1;
};

inline constexpr size_t kArgon2SaltBytes = 16;
inline constexpr size_t kArgon2HashBytes = 32;

// A parsed PHC string "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" (base64 without
// padding). Only argon2id, version 19 is accepted.
struct PhcHash {
  Argon2Params params;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};
Result<PhcHash> ParsePhc(std::string_view phc);
std::string FormatPhc(const PhcHash& phc);

class PasswordHasher {
 public:
  // `limiter` may be null (no cap; the admin tool's calibrate uses that).
  PasswordHasher(Argon2Params params, Argon2Limiter* limiter, Logger& logger);

  // New argon2id PHC string with a fresh 16-byte salt.
  Result<std::string> Hash(std::string_view password, Random& random);

  // true on match, false on mismatch; kCorrupt if `phc` is not a hash we
  // know; kBusy if no argon2 slot came free in time; kUnavailable if argon2
  // could not get its memory; kInternal for other argon2 failures.
  Result<bool> Verify(std::string_view phc, std::string_view password);

  // Same cost as Verify against a hash with the configured parameters, for
  // unknown users. Fails like Verify (limiter, memory, parameters).
  Status DummyVerify(std::string_view password);

  // True when `phc` was made with other parameters or another algorithm.
  bool NeedsRehash(std::string_view phc) const;

  const Argon2Params& params() const { return params_; }

 private:
  Status Compute(const Argon2Params& params, std::string_view salt, std::string_view password,
                 uint8_t* out, size_t out_len);

  Argon2Params params_;
  Argon2Limiter* limiter_;
  Logger& logger_;
};

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_PASSWORD_HASH_H_
