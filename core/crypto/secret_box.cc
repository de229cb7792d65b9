// SecretBox: AES-256-GCM at rest and HKDF subkeys.
//
// MUST rules:
//  - never use the host key directly: every use goes through DeriveSubkey
//    with its own purpose string;
//  - a nonce is 96 bits from Random for every Seal, never a counter, never
//    reused, never chosen by a caller of Seal;
//  - the user name (or whatever names the owner) is the associated data, so a
//    sealed value moved to another row does not open;
//  - Open returns no plaintext unless the tag verified; every failure to open
//    is kCorrupt with the same message (no oracle on which part was wrong),
//    and no input (any length, any bytes) may crash or over-read;
//  - keys, subkeys and plaintexts live only in SecretBuffer (wiped); OpenSSL
//    contexts are freed (and so cleansed) on every path;
//  - no key, plaintext or sealed value in a Status message.
#include "core/crypto/secret_box.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <climits>
#include <cstdint>
#include <memory>

#include "core/base/base64.h"
#include "core/crypto/key_file.h"

namespace sesame {
namespace {

constexpr std::string_view kSealedPrefix = "v1:";
constexpr size_t kAesKeyBytes = 32;
constexpr size_t kMaxRawBytes = 1 << 20;  // far above any use; keeps lengths in int range
// Base64 length of the largest payload Seal can produce, rounded up.
constexpr size_t kMaxSealedChars =
    kSealedPrefix.size() + (kGcmNonceBytes + kMaxSealedPlaintextBytes + kGcmTagBytes) * 4 / 3 + 4;

constexpr char kDoesNotOpen[] =
    "sealed secret does not open (wrong key file, or the value was moved or altered)";

Status DoesNotOpen() { return Status(Code::kCorrupt, kDoesNotOpen); }

Status OpenSslFailure(const char* what) {
  return Status(Code::kInternal, std::string("OpenSSL ") + what + " failed");
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Status CheckAesArgs(const SecretBuffer& key, std::string_view nonce, size_t data_size,
                    size_t aad_size) {
  if (key.size() != kAesKeyBytes)
    return Status(Code::kInvalidArgument, "AES-256-GCM key must be 32 bytes");
  if (nonce.size() != kGcmNonceBytes)
    return Status(Code::kInvalidArgument, "AES-256-GCM nonce must be 12 bytes");
  if (data_size > kMaxRawBytes || aad_size > kMaxRawBytes)
    return Status(Code::kInvalidArgument, "AES-256-GCM input too large");
  return Status::Ok();
}

Status CheckHostKey(const SecretBuffer& host_key) {
  if (host_key.size() != kHostKeyBytes)
    return Status(Code::kInvalidArgument, "host key must be exactly 32 bytes");
  return Status::Ok();
}

}  // namespace

Result<SecretBuffer> HkdfSha256(const SecretBuffer& ikm, std::string_view salt,
                                std::string_view info, size_t length) {
  if (ikm.empty()) return Status(Code::kInvalidArgument, "HKDF input key is empty");
  if (length == 0 || length > size_t{255} * 32)
    return Status(Code::kInvalidArgument, "HKDF output length must be 1..8160 bytes");
  if (salt.size() > kMaxRawBytes || info.size() > kMaxRawBytes)
    return Status(Code::kInvalidArgument, "HKDF input too large");

  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return OpenSslFailure("HKDF fetch");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return OpenSslFailure("HKDF context");

  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                                  ikm.size());
  if (!salt.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  if (!info.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();

  SecretBuffer out;
  out.Resize(length);
  if (EVP_KDF_derive(ctx.get(), out.mutable_bytes(), length, params) != 1) {
    out.Clear();
    return OpenSslFailure("HKDF derive");
  }
  return out;
}

Result<SecretBuffer> DeriveSubkey(const SecretBuffer& host_key, std::string_view purpose) {
  SESAME_RETURN_IF_ERROR(CheckHostKey(host_key));
  if (purpose.empty()) return Status(Code::kInvalidArgument, "subkey purpose is empty");
  return HkdfSha256(host_key, std::string_view(), purpose, kSubkeyBytes);
}

std::string HmacSha256Hex(const SecretBuffer& key, std::string_view message, size_t bytes) {
  if (key.empty() || bytes < 1 || bytes > 32) return "";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  std::string hex;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U8(message), message.size(), mac,
           &mac_len) != nullptr &&
      mac_len >= bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex.reserve(bytes * 2);
    for (size_t i = 0; i < bytes; ++i) {
      hex.push_back(kHex[mac[i] >> 4]);
      hex.push_back(kHex[mac[i] & 15]);
    }
  }
  WipeMemory(mac, sizeof mac);
  return hex;
}

Result<std::string> AesGcmSealRaw(const SecretBuffer& key, std::string_view nonce,
                                  std::string_view plaintext, std::string_view associated_data) {
  SESAME_RETURN_IF_ERROR(CheckAesArgs(key, nonce, plaintext.size(), associated_data.size()));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslFailure("cipher context");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes(), U8(nonce)) != 1)
    return OpenSslFailure("AES-256-GCM init");

  int len = 0;
  if (!associated_data.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(associated_data),
                                                    static_cast<int>(associated_data.size())) != 1)
    return OpenSslFailure("AES-256-GCM associated data");

  std::string out(plaintext.size() + kGcmTagBytes, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  size_t done = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, U8(plaintext),
                          static_cast<int>(plaintext.size())) != 1)
      return OpenSslFailure("AES-256-GCM encrypt");
    done = static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), dst + done, &len) != 1)
    return OpenSslFailure("AES-256-GCM final");
  done += static_cast<size_t>(len);
  if (done != plaintext.size()) return OpenSslFailure("AES-256-GCM length check");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          dst + done) != 1)
    return OpenSslFailure("AES-256-GCM tag");
  return out;
}

Result<SecretBuffer> AesGcmOpenRaw(const SecretBuffer& key, std::string_view nonce,
                                   std::string_view ciphertext_and_tag,
                                   std::string_view associated_data) {
  SESAME_RETURN_IF_ERROR(
      CheckAesArgs(key, nonce, ciphertext_and_tag.size(), associated_data.size()));
  if (ciphertext_and_tag.size() < kGcmTagBytes) return DoesNotOpen();
  const size_t ct_size = ciphertext_and_tag.size() - kGcmTagBytes;
  std::string_view ciphertext = ciphertext_and_tag.substr(0, ct_size);
  // OpenSSL's ctrl takes a non-const pointer; give it a copy of the tag.
  unsigned char tag[kGcmTagBytes];
  for (size_t i = 0; i < kGcmTagBytes; ++i)
    tag[i] = static_cast<unsigned char>(ciphertext_and_tag[ct_size + i]);

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslFailure("cipher context");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes(), U8(nonce)) != 1)
    return OpenSslFailure("AES-256-GCM init");

  int len = 0;
  if (!associated_data.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(associated_data),
                                                    static_cast<int>(associated_data.size())) != 1)
    return OpenSslFailure("AES-256-GCM associated data");

  SecretBuffer out;
  out.Resize(ct_size);
  size_t done = 0;
  if (ct_size > 0) {
    if (EVP_DecryptUpdate(ctx.get(), out.mutable_bytes(), &len, U8(ciphertext),
                          static_cast<int>(ct_size)) != 1) {
      out.Clear();
      return OpenSslFailure("AES-256-GCM decrypt");
    }
    done = static_cast<size_t>(len);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes), tag) !=
      1) {
    out.Clear();
    return OpenSslFailure("AES-256-GCM tag");
  }
  // A scratch block for Final: GCM writes nothing here, but never hand
  // OpenSSL a pointer past the end of `out`.
  unsigned char tail[16];
  if (EVP_DecryptFinal_ex(ctx.get(), tail, &len) != 1 || len != 0 || done != ct_size) {
    out.Clear();
    return DoesNotOpen();
  }
  return out;
}

Result<std::string> Seal(const SecretBuffer& host_key, const SecretBuffer& plaintext,
                         std::string_view associated_data, Random& random) {
  SESAME_RETURN_IF_ERROR(CheckHostKey(host_key));
  if (plaintext.size() > kMaxSealedPlaintextBytes)
    return Status(Code::kInvalidArgument, "secret to seal is larger than 4096 bytes");
  Result<SecretBuffer> subkey = DeriveSubkey(host_key, kTotpSecretPurpose);
  if (!subkey.ok()) return subkey.status();

  uint8_t nonce_bytes[kGcmNonceBytes];
  Status filled = random.Fill(nonce_bytes, sizeof(nonce_bytes));
  if (!filled.ok()) return filled.WithContext("cannot draw a nonce to seal a secret");
  std::string payload(reinterpret_cast<const char*>(nonce_bytes), sizeof(nonce_bytes));

  Result<std::string> sealed = AesGcmSealRaw(*subkey, payload, plaintext.view(), associated_data);
  if (!sealed.ok()) return sealed.status();
  payload += *sealed;
  return std::string(kSealedPrefix) + Base64Encode(payload);
}

Result<SecretBuffer> Open(const SecretBuffer& host_key, std::string_view sealed,
                          std::string_view associated_data) {
  SESAME_RETURN_IF_ERROR(CheckHostKey(host_key));
  if (sealed.size() > kMaxSealedChars || sealed.substr(0, kSealedPrefix.size()) != kSealedPrefix)
    return DoesNotOpen();
  std::string payload;
  if (!Base64Decode(sealed.substr(kSealedPrefix.size()), &payload)) return DoesNotOpen();
  if (payload.size() < kGcmNonceBytes + kGcmTagBytes) return DoesNotOpen();
  Result<SecretBuffer> subkey = DeriveSubkey(host_key, kTotpSecretPurpose);
  if (!subkey.ok()) return subkey.status();
  std::string_view all(payload);
  return AesGcmOpenRaw(*subkey, all.substr(0, kGcmNonceBytes), all.substr(kGcmNonceBytes),
                       associated_data);
}

}  // namespace sesame
