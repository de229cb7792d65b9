// otpauth:// URIs (Google Authenticator "Key Uri Format") for TOTP.
//
//   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// The URI holds the secret: treat it (and the QR code made from it) as one.
#ifndef SESAME_CORE_CRYPTO_OTPAUTH_H_
#define SESAME_CORE_CRYPTO_OTPAUTH_H_

#include <string>
#include <string_view>

#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/crypto/totp.h"

namespace sesame {

// Builds the URI. Issuer and account are percent-encoded (RFC 3986
// unreserved characters kept, so ':' becomes %3A and ' ' becomes %20).
// `base32_secret` is written without spaces, dashes or padding, in upper
// case. With an empty issuer the label is the account alone and there is no
// issuer parameter. `params.window` is not part of the URI.
std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::string_view base32_secret, const TotpParams& params);

struct ParsedOtpauth {
  std::string issuer;   // "" if the URI has none
  std::string account;  // never empty
  SecretBuffer secret;  // the decoded key bytes
  TotpParams params;    // window is left at its default
};

// Parses a URI strictly: scheme "otpauth", type "totp", a non-empty label,
// a secret of at least kTotpMinSecretBytes, and only the parameters secret,
// issuer, algorithm, digits and period, each at most once and valid (see
// ValidateTotpParams). If both the label and the parameter name an issuer
// they must agree. Any other input is kInvalidArgument; messages never
// contain the secret.
Result<ParsedOtpauth> ParseOtpauthUri(std::string_view uri);

}  // namespace sesame

#endif  // SESAME_CORE_CRYPTO_OTPAUTH_H_
