#include "core/base/input_check.h"

#include <string>

namespace sesame {

namespace {

// The length of the valid UTF-8 sequence at s[i], or 0 when the bytes there
// are not one (a stray continuation byte, a cut sequence, an overlong form,
// a surrogate, a value past U+10FFFF).
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  const size_t n = s.size();
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceAt(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string ValidUtf8Prefix(std::string_view text, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  for (size_t i = 0; i < text.size();) {
    size_t len = Utf8SequenceAt(text, i);
    const bool valid = len != 0 && text[i] != '\0';
    const std::string_view piece = valid ? text.substr(i, len) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += valid ? len : 1;
  }
  return out;
}

bool HasControlChars(std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Status CheckUserName(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "the user name is empty");
  if (name.size() > kMaxUserNameBytes)
    return Status(Code::kInvalidArgument,
                  "the user name is longer than " + std::to_string(kMaxUserNameBytes) + " bytes");
  if (name[0] == '-' || name[0] == '.')
    return Status(Code::kInvalidArgument, "a user name may not start with '-' or '.'");
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-' || (c == '$' && i + 1 == name.size());
    if (!ok)
      return Status(Code::kInvalidArgument,
                    "the user name has a character that is not allowed (use letters, digits, "
                    "'_', '.', '@', '-', and '$' only at the end)");
  }
  return Status::Ok();
}

Status CheckGroupName(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "the group name is empty");
  if (name.size() > 32)
    return Status(Code::kInvalidArgument, "the group name is longer than 32 bytes");
  if (name[0] == '-' || name[0] == '.')
    return Status(Code::kInvalidArgument, "a group name may not start with '-' or '.'");
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || (c == '$' && i + 1 == name.size());
    if (!ok)
      return Status(Code::kInvalidArgument,
                    "the group name has a character that is not allowed (use letters, digits, "
                    "'_', '.', '-', and '$' only at the end)");
  }
  return Status::Ok();
}

Status CheckNewPassword(std::string_view password) {
  if (password.empty()) return Status(Code::kInvalidArgument, "the password is empty");
  if (password.size() > kMaxPasswordBytes)
    return Status(Code::kInvalidArgument,
                  "the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  if (!IsValidUtf8(password))
    return Status(Code::kInvalidArgument,
                  "the password is not valid UTF-8 (set your terminal to UTF-8)");
  if (HasControlChars(password))
    return Status(Code::kInvalidArgument, "the password contains a control character");
  return Status::Ok();
}

}  // namespace sesame
