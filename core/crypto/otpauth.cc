// otpauth:// URI building and strict parsing.
//
// MUST rules:
//  - the secret is decoded only into SecretBuffers and never appears in a
//    Status message (errors name the parameter, not its value);
//  - parsing is strict: unknown, repeated or malformed parameters fail;
//  - the URI string built here holds the secret: reserve its size first so
//    no reallocation leaves copies behind.
#include "core/crypto/otpauth.h"

#include <cctype>

#include "core/base/base32.h"

namespace sesame {
namespace {

constexpr std::string_view kScheme = "otpauth://";

bool Unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

void AppendPercentEncoded(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (Unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Percent-decodes `text` into `out`. `what` names the part for messages.
// Control characters (before or after decoding) are refused.
Status PercentDecode(std::string_view text, std::string_view what, SecretBuffer& out) {
  out.Clear();
  out.Resize(text.size());
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      const int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status(Code::kInvalidArgument,
                      std::string(what) + ": '%' must be followed by two hex digits");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status(Code::kInvalidArgument, std::string(what) + ": contains a control character");
    }
    out.mutable_data()[n++] = c;
  }
  out.Resize(n);
  return Status::Ok();
}

Result<std::string> DecodePlain(std::string_view text, std::string_view what) {
  SecretBuffer buf;
  SESAME_RETURN_IF_ERROR(PercentDecode(text, what, buf));
  return std::string(buf.view());
}

// A decimal number of at most 4 digits, no sign.
bool ParseSmallInt(std::string_view text, int& value) {
  if (text.empty() || text.size() > 4) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

Status Invalid(const std::string& message) {
  return Status(Code::kInvalidArgument, "otpauth URI: " + message);
}

}  // namespace

std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::string_view base32_secret, const TotpParams& params) {
  std::string out;
  // Worst case: every issuer/account byte escaped (x3), issuer twice.
  out.reserve(kScheme.size() + 5 + 3 * (2 * issuer.size() + account.size()) + base32_secret.size() +
              96);
  out.append(kScheme);
  out.append("totp/");
  if (!issuer.empty()) {
    AppendPercentEncoded(issuer, out);
    out.push_back(':');
  }
  AppendPercentEncoded(account, out);
  out.append("?secret=");
  for (char c : base32_secret) {
    if (c == ' ' || c == '-' || c == '=') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (!issuer.empty()) {
    out.append("&issuer=");
    AppendPercentEncoded(issuer, out);
  }
  out.append("&algorithm=");
  out.append(TotpAlgorithmName(params.algorithm));
  out.append("&digits=");
  out.append(std::to_string(params.digits));
  out.append("&period=");
  out.append(std::to_string(params.period));
  return out;
}

Result<ParsedOtpauth> ParseOtpauthUri(std::string_view uri) {
  if (uri.size() < kScheme.size() || !EqualsIgnoreCase(uri.substr(0, kScheme.size()), kScheme)) {
    return Invalid("must start with otpauth://");
  }
  if (uri.find('#') != std::string_view::npos) return Invalid("a fragment ('#') is not allowed");
  std::string_view rest = uri.substr(kScheme.size());

  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return Invalid("missing type and label (totp/LABEL)");
  const std::string_view type = rest.substr(0, slash);
  if (!EqualsIgnoreCase(type, "totp")) {
    return Invalid("type must be totp (hotp and others are not supported)");
  }
  rest = rest.substr(slash + 1);

  const size_t question = rest.find('?');
  if (question == std::string_view::npos) return Invalid("missing parameters (?secret=...)");
  const std::string_view raw_label = rest.substr(0, question);
  const std::string_view query = rest.substr(question + 1);
  if (raw_label.empty()) return Invalid("missing label (ISSUER:ACCOUNT)");
  if (raw_label.find('/') != std::string_view::npos) return Invalid("label contains '/'");

  ParsedOtpauth parsed;
  bool have_secret = false, have_issuer = false, have_algorithm = false, have_digits = false,
       have_period = false;
  std::string issuer_param;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view item = query.substr(pos, amp - pos);
    pos = amp + 1;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Invalid("malformed parameter (expected key=value)");
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    bool* seen = nullptr;
    if (key == "secret") {
      seen = &have_secret;
    } else if (key == "issuer") {
      seen = &have_issuer;
    } else if (key == "algorithm") {
      seen = &have_algorithm;
    } else if (key == "digits") {
      seen = &have_digits;
    } else if (key == "period") {
      seen = &have_period;
    } else {
      Result<std::string> name = DecodePlain(key, "parameter name");
      return Invalid("unknown parameter '" + (name.ok() ? *name : std::string("?")) +
                     "' (allowed: secret, issuer, algorithm, digits, period)");
    }
    if (*seen) return Invalid("parameter '" + std::string(key) + "' given twice");
    *seen = true;

    if (key == "secret") {
      SecretBuffer text;
      Status st = PercentDecode(value, "secret", text);
      if (!st.ok()) return st.WithContext("otpauth URI");
      Result<SecretBuffer> bytes = Base32Decode(text.view());
      if (!bytes.ok()) return bytes.status().WithContext("otpauth URI: secret");
      parsed.secret = std::move(bytes).value();
    } else if (key == "issuer") {
      Result<std::string> decoded = DecodePlain(value, "issuer");
      if (!decoded.ok()) return decoded.status().WithContext("otpauth URI");
      issuer_param = std::move(decoded).value();
      if (issuer_param.empty()) return Invalid("issuer parameter is empty");
    } else if (key == "algorithm") {
      Result<std::string> decoded = DecodePlain(value, "algorithm");
      if (!decoded.ok()) return decoded.status().WithContext("otpauth URI");
      Result<TotpAlgorithm> algorithm = ParseTotpAlgorithm(*decoded);
      if (!algorithm.ok()) return algorithm.status().WithContext("otpauth URI");
      parsed.params.algorithm = *algorithm;
    } else {
      int number = 0;
      if (!ParseSmallInt(value, number)) {
        return Invalid("parameter '" + std::string(key) + "' must be a positive whole number");
      }
      (key == "digits" ? parsed.params.digits : parsed.params.period) = number;
    }
  }
  if (!have_secret) return Invalid("missing secret parameter");
  if (parsed.secret.size() < kTotpMinSecretBytes) {
    return Invalid("secret is too short (" + std::to_string(parsed.secret.size() * 8) +
                   " bits; at least " + std::to_string(kTotpMinSecretBytes * 8) + " needed)");
  }
  Status valid = ValidateTotpParams(parsed.params);
  if (!valid.ok()) return valid.WithContext("otpauth URI");

  // Label: "ISSUER:ACCOUNT" split at the literal ':' (a ':' inside either part
  // is encoded as %3A), or "ACCOUNT", or "ISSUER%3AACCOUNT" when the issuer
  // parameter says where the issuer ends.
  std::string label_issuer;
  const size_t colon = raw_label.find(':');
  if (colon != std::string_view::npos) {
    if (raw_label.find(':', colon + 1) != std::string_view::npos) {
      return Invalid("label has more than one ':' (encode a ':' in a name as %3A)");
    }
    Result<std::string> issuer = DecodePlain(raw_label.substr(0, colon), "label issuer");
    if (!issuer.ok()) return issuer.status().WithContext("otpauth URI");
    Result<std::string> account = DecodePlain(raw_label.substr(colon + 1), "label account");
    if (!account.ok()) return account.status().WithContext("otpauth URI");
    if (issuer->empty()) return Invalid("label has an empty issuer before ':'");
    label_issuer = std::move(issuer).value();
    parsed.account = std::move(account).value();
  } else {
    Result<std::string> label = DecodePlain(raw_label, "label");
    if (!label.ok()) return label.status().WithContext("otpauth URI");
    const std::string prefix = issuer_param + ":";
    if (have_issuer && label->compare(0, prefix.size(), prefix) == 0) {
      label_issuer = issuer_param;
      parsed.account = label->substr(prefix.size());
    } else {
      parsed.account = std::move(label).value();
    }
  }
  // The Key Uri Format allows spaces before the account name.
  const size_t first = parsed.account.find_first_not_of(' ');
  parsed.account.erase(0, first == std::string::npos ? parsed.account.size() : first);
  if (parsed.account.empty()) return Invalid("label has no account name");
  if (have_issuer && !label_issuer.empty() && label_issuer != issuer_param) {
    return Invalid("issuer in the label ('" + label_issuer +
                   "') differs from the issuer parameter ('" + issuer_param + "')");
  }
  parsed.issuer = have_issuer ? issuer_param : label_issuer;
  return parsed;
}

}  // namespace sesame
