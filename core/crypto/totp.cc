// TOTP / HOTP codes (RFC 6238, RFC 4226).
//
// MUST rules:
//  - HMAC outputs, truncated values and candidate codes are wiped after use;
//  - a typed code is compared with every candidate in the window, each in
//    constant time (CRYPTO_memcmp), with no early exit;
//  - a time step is accepted at most once (step <= last_used_step fails);
//  - any doubt (bad params, empty key, HMAC failure, bad code) fails closed;
//  - the key and codes never reach a Status message or a log.
#include "core/crypto/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

namespace sesame {
namespace {

const EVP_MD* Digest(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return EVP_sha1();
    case TotpAlgorithm::kSha256:
      return EVP_sha256();
    case TotpAlgorithm::kSha512:
      return EVP_sha512();
  }
  return nullptr;
}

constexpr uint32_t kPowersOfTen[] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

}  // namespace

const char* TotpAlgorithmName(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return "SHA1";
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
  }
  return "unknown";
}

Result<TotpAlgorithm> ParseTotpAlgorithm(std::string_view name) {
  std::string upper;
  for (char c : name)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper == "SHA1") return TotpAlgorithm::kSha1;
  if (upper == "SHA256") return TotpAlgorithm::kSha256;
  if (upper == "SHA512") return TotpAlgorithm::kSha512;
  return Status(Code::kInvalidArgument,
                "unknown TOTP algorithm '" + std::string(name) + "' (use SHA1, SHA256 or SHA512)");
}

Status ValidateTotpParams(const TotpParams& params) {
  if (Digest(params.algorithm) == nullptr) {
    return Status(Code::kInvalidArgument, "unknown TOTP algorithm");
  }
  if (params.digits < kTotpMinDigits || params.digits > kTotpMaxDigits) {
    return Status(Code::kInvalidArgument, "TOTP digits " + std::to_string(params.digits) +
                                              " is out of range (" +
                                              std::to_string(kTotpMinDigits) + " to " +
                                              std::to_string(kTotpMaxDigits) + ")");
  }
  if (params.period < kTotpMinPeriod || params.period > kTotpMaxPeriod) {
    return Status(Code::kInvalidArgument, "TOTP period " + std::to_string(params.period) +
                                              " is out of range (" +
                                              std::to_string(kTotpMinPeriod) + " to " +
                                              std::to_string(kTotpMaxPeriod) + " seconds)");
  }
  if (params.window < 0 || params.window > kTotpMaxWindow) {
    return Status(Code::kInvalidArgument, "TOTP window " + std::to_string(params.window) +
                                              " is out of range (0 to " +
                                              std::to_string(kTotpMaxWindow) + " steps)");
  }
  return Status::Ok();
}

std::string Hotp(const SecretBuffer& key, uint64_t counter, TotpAlgorithm algorithm, int digits) {
  const EVP_MD* md = Digest(algorithm);
  if (md == nullptr || key.empty() || digits < kTotpMinDigits || digits > kTotpMaxDigits) {
    return std::string();
  }
  unsigned char message[8];
  for (int i = 7; i >= 0; --i) {
    message[i] = static_cast<unsigned char>(counter & 0xff);
    counter >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()), message, sizeof(message), mac, &mac_len) ==
          nullptr ||
      mac_len < 20) {
    OPENSSL_cleanse(mac, sizeof(mac));
    return std::string();
  }
  // Dynamic truncation (RFC 4226 section 5.3).
  const unsigned offset = mac[mac_len - 1] & 0x0f;
  uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                    (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                    (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                    static_cast<uint32_t>(mac[offset + 3]);
  OPENSSL_cleanse(mac, sizeof(mac));
  uint32_t value = binary % kPowersOfTen[digits];
  std::string code(static_cast<size_t>(digits), '0');  // short: no heap, no reallocation
  for (int i = digits - 1; i >= 0; --i) {
    code[static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  OPENSSL_cleanse(&binary, sizeof(binary));
  return code;
}

int64_t TotpStep(int64_t unix_time, int period) {
  int64_t step = unix_time / period;
  if (unix_time % period != 0 && unix_time < 0) --step;  // floor, not truncation
  return step;
}

std::string TotpAt(const SecretBuffer& key, int64_t unix_time, const TotpParams& params) {
  if (!ValidateTotpParams(params).ok() || unix_time < 0) return std::string();
  return Hotp(key, static_cast<uint64_t>(TotpStep(unix_time, params.period)), params.algorithm,
              params.digits);
}

TotpMatch VerifyTotp(const SecretBuffer& key, std::string_view code, int64_t now,
                     const TotpParams& params, int64_t last_used_step) {
  TotpMatch result;
  if (!ValidateTotpParams(params).ok() || key.empty() || now < 0) return result;

  // Normalise: drop spaces, require exactly `digits` digits.
  char typed[kTotpMaxDigits];
  size_t typed_len = 0;
  bool well_formed = true;
  for (char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9' || typed_len >= static_cast<size_t>(params.digits)) {
      well_formed = false;
      break;
    }
    typed[typed_len++] = c;
  }
  if (!well_formed || typed_len != static_cast<size_t>(params.digits)) {
    OPENSSL_cleanse(typed, sizeof(typed));
    return result;
  }

  const int64_t current = TotpStep(now, params.period);
  int matched = 0;
  int64_t matched_step = 0;
  for (int64_t step = current - params.window; step <= current + params.window; ++step) {
    // Steps before the epoch cannot occur (and only near the epoch): no match.
    std::string candidate =
        step >= 0 ? Hotp(key, static_cast<uint64_t>(step), params.algorithm, params.digits)
                  : std::string();
    const bool usable = candidate.size() == typed_len;
    const int equal =
        usable ? CRYPTO_memcmp(candidate.data(), typed, typed_len) == 0 : 0;  // constant time
    const int fresh = step > last_used_step ? 1 : 0;
    const int hit = equal & fresh;
    // Later steps overwrite earlier ones: the latest match wins.
    matched |= hit;
    matched_step = hit ? step : matched_step;
    OPENSSL_cleanse(candidate.data(), candidate.size());
  }
  OPENSSL_cleanse(typed, sizeof(typed));
  result.ok = matched != 0;
  result.step = result.ok ? matched_step : 0;
  return result;
}

Result<SecretBuffer> NewTotpSecret(Random& random) {
  SecretBuffer secret;
  secret.Resize(kTotpSecretBytes);
  Status st = random.Fill(secret.mutable_bytes(), secret.size());
  if (!st.ok()) return st.WithContext("generating a TOTP secret");
  return secret;
}

}  // namespace sesame
