// crypt(3) hashes imported from /etc/shadow, verified with libxcrypt.
//
// MUST rules:
//  - only the prefixes in kAccepted reach crypt_rn; MD5, DES and anything
//    else are refused (never verified, never imported);
//  - crypt_rn gets a heap `struct crypt_data` (32 KiB: too big for a PAM
//    host's stack), zeroed before use and wiped (WipeMemory) before it is
//    freed: it holds the password and the computed hash;
//  - the password is copied only into a SecretBuffer (which NUL-terminates
//    it); a password with a NUL byte can never match and is not hashed;
//  - the computed hash is compared with CRYPTO_memcmp after a length check,
//    never with strcmp, memcmp or ==;
//  - crypt_rn failing (NULL, or a "*" failure token) is kCorrupt, never
//    "no match": a hash we cannot use must be visible, not look like a
//    wrong password;
//  - no password and no hash text in a Status message or a log line.
#include "core/crypto/crypt_hash.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "core/base/secret.h"

namespace sesame {
namespace {

struct Accepted {
  std::string_view prefix;
  const char* name;
};

constexpr Accepted kAccepted[] = {
    {"$y$", "yescrypt"},    {"$gy$", "gost-yescrypt"}, {"$7$", "scrypt"},  {"$6$", "sha512crypt"},
    {"$5$", "sha256crypt"}, {"$2b$", "bcrypt"},        {"$2a$", "bcrypt"}, {"$2y$", "bcrypt"},
};

const Accepted* FindAccepted(std::string_view hash) {
  for (const Accepted& a : kAccepted)
    if (hash.substr(0, a.prefix.size()) == a.prefix) return &a;
  return nullptr;
}

// The alphabet crypt(3) encodes hashes and most salts in.
bool IsCryptB64(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// DES: 13 characters (2 salt, 11 hash); BSDi extended DES: "_" and 19.
bool LooksLikeDes(std::string_view field) {
  if (field.size() == 13) {
    for (char c : field)
      if (!IsCryptB64(c)) return false;
    return true;
  }
  return field.size() == 20 && field[0] == '_';
}

// The shape crypt(3) writes for an accepted prefix `a`: printable ASCII
// without ':' or spaces, shorter than CRYPT_OUTPUT_SIZE, ending in a
// non-empty hash field in the crypt alphabet; bcrypt exactly
// "$2x$NN$" and 53 characters.
bool WellFormed(std::string_view hash, const Accepted& a) {
  if (hash.size() >= CRYPT_OUTPUT_SIZE) return false;
  for (char c : hash)
    if (c <= ' ' || c > '~' || c == ':') return false;
  if (a.prefix[1] == '2') {
    if (hash.size() != 60 || !IsDigit(hash[4]) || !IsDigit(hash[5]) || hash[6] != '$') return false;
    int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 31) return false;
    for (char c : hash.substr(7))
      if (!IsCryptB64(c)) return false;
    return true;
  }
  size_t last = hash.rfind('$');
  if (last < a.prefix.size()) return false;  // no field between setting and hash
  std::string_view tail = hash.substr(last + 1);
  if (tail.empty()) return false;
  for (char c : tail)
    if (!IsCryptB64(c)) return false;
  return true;
}

Status Refused(const std::string& why) { return Status(Code::kInvalidArgument, why); }

Status Unusable(const std::string& why) {
  return Status(Code::kCorrupt, "stored crypt hash is not usable: " + why);
}

// Owns the crypt_rn work area: zeroed on allocation, wiped before free.
struct CryptDataWiper {
  void operator()(crypt_data* data) const {
    WipeMemory(data, sizeof *data);
    delete data;
  }
};
using CryptData = std::unique_ptr<crypt_data, CryptDataWiper>;

const char* CryptErrorText(int err) {
  switch (err) {
    case EINVAL:
      return "crypt(3) rejects its setting (bad parameters or salt, or an algorithm this "
             "libxcrypt does not support)";
    case ERANGE:
      return "crypt(3) finds it too long";
    case 0:
      return "crypt(3) failed without saying why";
    default:
      return "crypt(3) failed";
  }
}

}  // namespace

bool IsCryptHash(std::string_view hash) { return FindAccepted(hash) != nullptr; }

const char* CryptHashName(std::string_view hash) {
  const Accepted* a = FindAccepted(hash);
  return a != nullptr ? a->name : "unknown";
}

Status CheckImportableHash(std::string_view field) {
  if (!field.empty() && field[0] == '!') return Refused("locked (starts with '!')");
  if (field.empty() || field[0] == '*') return Refused("no password ('*' or empty)");
  if (const Accepted* a = FindAccepted(field)) {
    if (!WellFormed(field, *a)) return Refused(std::string("malformed ") + a->name + " hash");
    return Status::Ok();
  }
  if (field.substr(0, 3) == "$1$" || field.substr(0, 4) == "$md5" || LooksLikeDes(field))
    return Refused("MD5/DES hashes are too weak to adopt; reset the password instead");
  return Refused("unknown hash format");
}

Result<bool> VerifyCryptHash(std::string_view hash, std::string_view password) {
  if (!IsCryptHash(hash)) return Unusable("not a crypt(3) hash we accept");
  if (hash.size() >= CRYPT_OUTPUT_SIZE) return Unusable("longer than crypt(3) writes");
  if (hash.find('\0') != std::string_view::npos) return Unusable("it contains a NUL byte");
  // crypt(3) sees a C string: no stored hash can come from these.
  if (password.find('\0') != std::string_view::npos) return false;
  if (password.size() >= CRYPT_MAX_PASSPHRASE_SIZE) return false;

  const std::string setting(hash);                  // NUL-terminated; a hash, not a secret
  SecretBuffer phrase(password);                    // NUL-terminated, wiped on every path
  CryptData data(new (std::nothrow) crypt_data());  // value-initialized: zeroed
  if (data == nullptr) return Status(Code::kUnavailable, "crypt(3): cannot allocate its work area");

  errno = 0;
  const char* out = crypt_rn(phrase.data(), setting.c_str(), data.get(), sizeof(crypt_data));
  const int err = errno;
  if (out == nullptr || out[0] == '*') {
    if (err == ENOMEM) return Status(Code::kUnavailable, "crypt(3): out of memory");
    return Unusable(CryptErrorText(err));
  }
  // The output's length depends on the setting only, never on the password.
  const size_t out_len = strnlen(out, CRYPT_OUTPUT_SIZE);
  if (out_len != hash.size()) return Unusable("it is not in the form crypt(3) writes");
  return CRYPTO_memcmp(out, hash.data(), out_len) == 0;
}

}  // namespace sesame
