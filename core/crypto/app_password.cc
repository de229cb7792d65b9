// App passwords (see app_password.h).
//
// MUST rules:
//  - every letter comes from Random without bias (rejection sampling), never
//    from rand() or a clock;
//  - the letters live only in wiped memory (SecretBuffer); an app password is
//    never logged or put in a Status, only its digest leaves this file;
//  - NormalizeAppPassword accepts only the documented forms, so one app
//    password has exactly one digest.
#include "core/crypto/app_password.h"

#include <cstdint>
#include <set>

#include "core/base/input_check.h"
#include "core/base/logger.h"
#include "core/crypto/secret_box.h"

namespace sesame {
namespace {

// 256 - 256 % 26: bytes at or above are drawn again, so every letter is
// equally likely.
constexpr unsigned kUnbiasedLimit = 256 - 256 % 26;

// A C1 control character (U+0080-U+009F; U+009B is a terminal's CSI),
// in text that is valid UTF-8: there they are exactly the two-byte
// sequences C2 80 - C2 9F. HasControlChars sees only C0 and DEL.
bool HasC1Controls(std::string_view utf8) {
  for (size_t i = 0; i + 1 < utf8.size(); ++i) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    const auto next = static_cast<unsigned char>(utf8[i + 1]);
    if (lead == 0xc2 && next >= 0x80 && next <= 0x9f) return true;
  }
  return false;
}

bool ServiceChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

Result<SecretBuffer> NewAppPassword(Random& random) {
  SecretBuffer letters;
  letters.Resize(kAppPasswordLetters);
  size_t made = 0;
  uint8_t pool[64];
  while (made < kAppPasswordLetters) {
    Status filled = random.Fill(pool, sizeof pool);
    if (!filled.ok()) {
      WipeMemory(pool, sizeof pool);
      return filled;
    }
    for (uint8_t b : pool) {
      if (b >= kUnbiasedLimit || made == kAppPasswordLetters) continue;
      letters.mutable_data()[made++] = static_cast<char>('a' + b % 26);
    }
  }
  WipeMemory(pool, sizeof pool);
  return letters;
}

SecretBuffer GroupAppPassword(std::string_view letters) {
  SecretBuffer grouped;
  if (letters.empty()) return grouped;
  grouped.Resize(letters.size() + (letters.size() - 1) / 4);
  size_t at = 0;
  for (size_t i = 0; i < letters.size(); ++i) {
    if (i > 0 && i % 4 == 0) grouped.mutable_data()[at++] = ' ';
    grouped.mutable_data()[at++] = letters[i];
  }
  return grouped;
}

SecretBuffer NormalizeAppPassword(std::string_view typed) {
  SecretBuffer out;
  // Anything much longer than a grouped app password is not one.
  if (typed.size() > 4 * kAppPasswordLetters) return out;
  out.Resize(kAppPasswordLetters);
  size_t n = 0;
  for (char c : typed) {
    if (c == ' ' || c == '\t' || c == '-') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c < 'a' || c > 'z' || n == kAppPasswordLetters) {
      out.Clear();
      return out;
    }
    out.mutable_data()[n++] = c;
  }
  if (n != kAppPasswordLetters) out.Clear();
  return out;
}

std::string AppPasswordDigest(const SecretBuffer& host_key, std::string_view normalized) {
  if (normalized.size() != kAppPasswordLetters) return "";
  Result<SecretBuffer> subkey = DeriveSubkey(host_key, kAppPasswordPurpose);
  if (!subkey.ok()) return "";
  return HmacSha256Hex(subkey.value(), normalized, kAppPasswordDigestChars / 2);
}

Status CheckAppPasswordName(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "the app password's name is empty");
  if (name.size() > kMaxAppPasswordNameBytes)
    return Status(Code::kInvalidArgument, "the app password's name is longer than " +
                                              std::to_string(kMaxAppPasswordNameBytes) + " bytes");
  if (!IsValidUtf8(name))
    return Status(Code::kInvalidArgument, "the app password's name is not valid UTF-8");
  if (HasControlChars(name) || HasC1Controls(name))
    return Status(Code::kInvalidArgument,
                  "the app password's name has a control character (a tab, a newline, ...)");
  if (name.find_first_not_of(' ') == std::string_view::npos)
    return Status(Code::kInvalidArgument, "the app password's name is only spaces");
  return Status::Ok();
}

Result<std::vector<std::string>> ParseAppPasswordServices(std::string_view list) {
  std::vector<std::string> services;
  std::set<std::string> seen;
  if (list.find_first_not_of(" ,") == std::string_view::npos) {
    if (list.empty()) return services;
    return Status(Code::kInvalidArgument, "no service named in the services list");
  }
  size_t at = 0;
  while (at <= list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(at, end - at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    bool ok = !item.empty() && item.size() <= 32;
    for (char c : item) ok = ok && ServiceChar(c);
    if (!ok) {
      return Status(Code::kInvalidArgument,
                    "'" + SanitizeForLog(item, 40) +
                        "' is not a service name (PAM service names such as imap, pop3, "
                        "submission, smtp: 1-32 of a-z, 0-9, '_', '.', '-')");
    }
    if (!seen.insert(std::string(item)).second)
      return Status(Code::kInvalidArgument, "service '" + std::string(item) + "' is named twice");
    services.emplace_back(item);
    if (services.size() > kMaxAppPasswordServices)
      return Status(Code::kInvalidArgument,
                    "more than " + std::to_string(kMaxAppPasswordServices) + " services");
    at = end + 1;
  }
  return services;
}

}  // namespace sesame
