// Base32 (RFC 4648, section 6): the text form of TOTP secrets.
//
// Encoding uses the uppercase alphabet A-Z 2-7 and no '=' padding (what the
// Key Uri Format and authenticator apps expect). Decoding is lenient about
// what a person types (case, spaces, dashes, trailing padding) and strict
// about everything else.
#ifndef SESAME_CORE_BASE_BASE32_H_
#define SESAME_CORE_BASE_BASE32_H_

#include <string>
#include <string_view>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace sesame {

// Encodes `bytes` as uppercase base32 without padding. The text is as secret
// as the bytes, hence a SecretBuffer.
SecretBuffer Base32Encode(std::string_view bytes);

// Decodes base32 text into bytes.
//  - letters may be upper or lower case;
//  - spaces and '-' anywhere are ignored;
//  - '=' padding is accepted only at the end (after the last data character);
//  - any other character, or a number of data characters no encoder can
//    produce (1, 3 or 6 modulo 8), is kInvalidArgument. The message names the
//    offending character and its position (counting from 1), never the text.
// Unused low bits of the last character are ignored.
Result<SecretBuffer> Base32Decode(std::string_view text);

// "ABCDEFGHIJ" -> "ABCD EFGH IJ": groups of 4 separated by single spaces,
// for showing a secret to a person. Characters are copied as given.
std::string GroupForReading(std::string_view b32);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_BASE32_H_
