// Base32 encode/decode for TOTP secrets.
//
// MUST rules:
//  - input and output are secrets: no copy outside a SecretBuffer, no
//    reallocation of a buffer that holds secret bytes (sizes are reserved up
//    front), temporaries wiped;
//  - an error message names a bad character and its position, never the
//    text being decoded.
#include "core/base/base32.h"

#include <cstdint>
#include <cstdio>

namespace sesame {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Value of a base32 character, or -1.
int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

bool Ignorable(char c) { return c == ' ' || c == '-'; }

// "'x'" for a printable character, "byte 0x07" otherwise.
std::string Describe(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  char buf[16];
  if (u >= 0x21 && u < 0x7f) {
    std::snprintf(buf, sizeof(buf), "'%c'", c);
  } else {
    std::snprintf(buf, sizeof(buf), "byte 0x%02x", u);
  }
  return buf;
}

Status BadChar(char c, size_t index, const char* why) {
  return Status(Code::kInvalidArgument,
                "base32: " + Describe(c) + " at position " + std::to_string(index + 1) + " " + why);
}

}  // namespace

SecretBuffer Base32Encode(std::string_view bytes) {
  SecretBuffer out;
  out.Resize((bytes.size() * 8 + 4) / 5);
  char* dst = out.mutable_data();
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      dst[n++] = kAlphabet[(acc >> bits) & 0x1f];
    }
  }
  if (bits > 0) dst[n++] = kAlphabet[(acc << (5 - bits)) & 0x1f];
  WipeMemory(&acc, sizeof(acc));
  return out;
}

Result<SecretBuffer> Base32Decode(std::string_view text) {
  SecretBuffer out;
  out.Resize(text.size() * 5 / 8 + 1);
  uint8_t* dst = out.mutable_bytes();
  size_t n = 0;
  size_t data_chars = 0;
  size_t pad_chars = 0;
  uint32_t acc = 0;
  int bits = 0;
  Status error;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (Ignorable(c)) continue;
    if (c == '=') {
      ++pad_chars;
      continue;
    }
    const int v = DecodeChar(c);
    if (v < 0) {
      error = BadChar(c, i, "is not a base32 character (A-Z, 2-7)");
      break;
    }
    if (pad_chars > 0) {
      error = BadChar(c, i, "follows '=' padding, which is allowed only at the end");
      break;
    }
    ++data_chars;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      dst[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  WipeMemory(&acc, sizeof(acc));
  if (!error.ok()) return error;
  const size_t rem = data_chars % 8;
  if (rem == 1 || rem == 3 || rem == 6) {
    return Status(Code::kInvalidArgument,
                  "base32: " + std::to_string(data_chars) +
                      " characters is not a valid length (a character is missing or extra)");
  }
  if (pad_chars >= 8 || (pad_chars > 0 && (data_chars + pad_chars) % 8 != 0)) {
    return Status(Code::kInvalidArgument,
                  "base32: wrong amount of '=' padding (" + std::to_string(pad_chars) + ")");
  }
  out.Resize(n);
  return out;
}

std::string GroupForReading(std::string_view b32) {
  std::string out;
  if (b32.empty()) return out;
  out.reserve(b32.size() + (b32.size() - 1) / 4);
  for (size_t i = 0; i < b32.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back(' ');
    out.push_back(b32[i]);
  }
  return out;
}

}  // namespace sesame
