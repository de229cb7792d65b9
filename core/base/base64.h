// Base64 with the standard alphabet and no padding, as PHC strings and our
// sealed secrets use it. Decoding is strict: padding, foreign characters, an
// impossible length or non-zero unused trailing bits are refused, so each
// byte string has exactly one accepted encoding.
#ifndef SESAME_CORE_BASE_BASE64_H_
#define SESAME_CORE_BASE_BASE64_H_

#include <string>
#include <string_view>

namespace sesame {

std::string Base64Encode(std::string_view in);
// false on anything but canonical unpadded base64.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_BASE64_H_
