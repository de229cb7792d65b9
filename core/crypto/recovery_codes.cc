// Recovery codes.
//
// MUST rules:
//  - every symbol comes from Random through a mapping without bias
//    (byte & 31: 256 is a multiple of 32), never from rand() or a clock;
//  - the random bytes and the codes live only in wiped memory (SecretBuffer,
//    WipeMemory); the code is never logged or put in a Status;
//  - only RecoveryCodeDigest's output is stored; a check is a lookup by
//    digest, never a loop comparing codes;
//  - NormalizeRecoveryCode accepts nothing but the documented forms, so one
//    code has exactly one digest.
#include "core/crypto/recovery_codes.h"

#include <cstdint>

#include "core/crypto/secret_box.h"

namespace sesame {
namespace {

static_assert(kRecoveryCodeAlphabet.size() == 32, "5 bits per symbol, no modulo bias");

constexpr size_t kGroup = 5;
constexpr size_t kMaxTypedChars = 64;  // anything longer is not a code

// Index in the alphabet of a lower-case character (after the o/i/l mapping), or -1.
int SymbolValue(char c) {
  if (c == 'o') c = '0';
  if (c == 'i' || c == 'l') c = '1';
  size_t pos = kRecoveryCodeAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

Result<std::vector<SecretBuffer>> NewRecoveryCodes(Random& random, int count) {
  if (count < 1 || count > kMaxRecoveryCodes)
    return Status(Code::kInvalidArgument,
                  "number of recovery codes must be 1.." + std::to_string(kMaxRecoveryCodes));
  std::vector<SecretBuffer> codes;
  codes.reserve(static_cast<size_t>(count));
  uint8_t bytes[kRecoveryCodeSymbols];
  char text[kRecoveryCodeSymbols + 1];
  Status failed;
  while (codes.size() < static_cast<size_t>(count)) {
    failed = random.Fill(bytes, sizeof(bytes));
    if (!failed.ok()) {
      failed = failed.WithContext("cannot draw recovery codes");
      break;
    }
    size_t out = 0;
    for (size_t i = 0; i < kRecoveryCodeSymbols; ++i) {
      if (i == kGroup) text[out++] = '-';
      text[out++] = kRecoveryCodeAlphabet[bytes[i] & 31];
    }
    std::string_view code(text, out);
    for (const SecretBuffer& earlier : codes)
      if (earlier.view() == code)
        failed = Status(Code::kInternal, "random source repeated a recovery code");
    if (!failed.ok()) break;
    codes.emplace_back(code);
  }
  WipeMemory(bytes, sizeof(bytes));
  WipeMemory(text, sizeof(text));
  if (!failed.ok()) return failed;
  return codes;
}

SecretBuffer NormalizeRecoveryCode(std::string_view typed) {
  if (typed.size() > kMaxTypedChars) return SecretBuffer();
  char out[kRecoveryCodeSymbols];
  size_t n = 0;
  for (char c : typed) {
    if (c == ' ' || c == '-') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    int v = SymbolValue(c);
    if (v < 0 || n == kRecoveryCodeSymbols) {
      WipeMemory(out, sizeof(out));
      return SecretBuffer();
    }
    out[n++] = kRecoveryCodeAlphabet[static_cast<size_t>(v)];
  }
  SecretBuffer normalized;
  if (n == kRecoveryCodeSymbols) normalized.Assign(out, n);
  WipeMemory(out, sizeof(out));
  return normalized;
}

std::string RecoveryCodeDigest(const SecretBuffer& pepper, std::string_view normalized) {
  if (pepper.empty() || normalized.empty()) return "";
  return HmacSha256Hex(pepper, normalized, 32);
}

}  // namespace sesame
