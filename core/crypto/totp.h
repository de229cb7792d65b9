// TOTP (RFC 6238) over HOTP (RFC 4226): one-time codes from a shared key.
//
// Parameters default to what every authenticator app supports: HMAC-SHA1,
// 6 digits, 30-second steps, and a window of one step either side of now.
// Most apps ignore other algorithms, digit counts and periods.
#ifndef SESAME_CORE_CRYPTO_TOTP_H_
#define SESAME_CORE_CRYPTO_TOTP_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/random.h"
#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// Limits enforced by ValidateTotpParams (and so by every function below).
inline constexpr int kTotpMinDigits = 6;
inline constexpr int kTotpMaxDigits = 8;
inline constexpr int kTotpMinPeriod = 10;   // seconds
inline constexpr int kTotpMaxPeriod = 300;  // seconds
inline constexpr int kTotpMaxWindow = 10;   // steps either side
// New secrets: 160 bits (RFC 4226 recommends it); imported ones need at
// least 128 bits (RFC 4226 R6).
inline constexpr size_t kTotpSecretBytes = 20;
inline constexpr size_t kTotpMinSecretBytes = 16;

struct TotpParams {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;
  int digits = 6;
  int period = 30;  // seconds per step
  int window = 1;   // steps accepted before and after the current one
};

// "SHA1", "SHA256", "SHA512" (the Key Uri Format's spelling).
const char* TotpAlgorithmName(TotpAlgorithm algorithm);
// Case-insensitive inverse of TotpAlgorithmName; kInvalidArgument otherwise.
Result<TotpAlgorithm> ParseTotpAlgorithm(std::string_view name);

// OK if digits, period and window are within the limits above; otherwise
// kInvalidArgument naming the setting.
Status ValidateTotpParams(const TotpParams& params);

// RFC 4226 HOTP value of `counter`, `digits` long, zero-padded.
// Returns "" (which matches no code) if `key` is empty, `digits` is outside
// [kTotpMinDigits, kTotpMaxDigits] or the HMAC fails.
std::string Hotp(const SecretBuffer& key, uint64_t counter, TotpAlgorithm algorithm, int digits);

// Time step of `unix_time`: floor(unix_time / period). REQUIRES: period > 0.
int64_t TotpStep(int64_t unix_time, int period);

// RFC 6238 code at `unix_time`. Returns "" if the params are invalid, the
// time is before the epoch, or Hotp fails.
std::string TotpAt(const SecretBuffer& key, int64_t unix_time, const TotpParams& params);

struct TotpMatch {
  bool ok = false;
  int64_t step = 0;  // the matched time step when ok; record it as last used
};

// Checks a code typed by a person against the steps
// TotpStep(now) - window .. TotpStep(now) + window.
//  - spaces inside the code are ignored ("123 456"); anything else that is
//    not a digit, or the wrong number of digits, fails;
//  - every candidate is computed and compared in constant time, with no
//    early exit;
//  - a step <= last_used_step is refused (a code is accepted at most once;
//    pass -1, or any negative number, when no code was ever used);
//  - when several steps match, the latest is returned, so that the same code
//    cannot be replayed for a later step.
// Invalid params or an empty key never match.
TotpMatch VerifyTotp(const SecretBuffer& key, std::string_view code, int64_t now,
                     const TotpParams& params, int64_t last_used_step);

// A new random key of kTotpSecretBytes (160 bits).
Result<SecretBuffer> NewTotpSecret(Random& random);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_TOTP_H_
