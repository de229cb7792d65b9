// SecretBuffer: bytes that are a secret (password, key, code).
//
// MUST rules:
//  - not copyable; moving leaves the source empty;
//  - the bytes are wiped (OPENSSL_cleanse) on destruction, on Clear() and
//    before any reallocation;
//  - compare only with ConstantTimeEquals;
//  - never pass to a logger, a Status message or argv.
#ifndef SESAME_CORE_BASE_SECRET_H_
#define SESAME_CORE_BASE_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sesame {

class SecretBuffer {
 public:
  SecretBuffer() = default;
  explicit SecretBuffer(std::string_view bytes);
  SecretBuffer(const char* data, size_t size);
  ~SecretBuffer();

  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  SecretBuffer(SecretBuffer&& other) noexcept;
  SecretBuffer& operator=(SecretBuffer&& other) noexcept;

  // Replaces the contents (wiping the old ones).
  void Assign(const char* data, size_t size);
  void Append(const char* data, size_t size);
  // Resizes to `size` bytes (new bytes are zero); wipes anything dropped.
  void Resize(size_t size);
  void Clear();

  const char* data() const { return data_ ? data_ : ""; }
  char* mutable_data() { return data_; }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(data()); }
  uint8_t* mutable_bytes() { return reinterpret_cast<uint8_t*>(data_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return std::string_view(data(), size_); }

 private:
  void Reserve(size_t capacity);

  char* data_ = nullptr;  // NUL-terminated when non-null
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Constant-time comparison (time depends on the lengths only).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Wipes memory in a way the compiler cannot elide.
void WipeMemory(void* p, size_t n);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_SECRET_H_
