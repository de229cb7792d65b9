#include "core/base/secret.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace sesame {

void WipeMemory(void* p, size_t n) {
  if (p != nullptr && n > 0) OPENSSL_cleanse(p, n);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBuffer::SecretBuffer(std::string_view bytes) { Assign(bytes.data(), bytes.size()); }

SecretBuffer::SecretBuffer(const char* data, size_t size) { Assign(data, size); }

SecretBuffer::~SecretBuffer() { Clear(); }

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = 0;
  other.capacity_ = 0;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
  }
  return *this;
}

void SecretBuffer::Reserve(size_t capacity) {
  if (capacity <= capacity_ && data_ != nullptr) return;
  char* fresh = static_cast<char*>(std::malloc(capacity + 1));
  if (fresh == nullptr) throw std::bad_alloc();
  if (data_ != nullptr) {
    std::memcpy(fresh, data_, size_);
    WipeMemory(data_, capacity_ + 1);
    std::free(data_);
  }
  data_ = fresh;
  capacity_ = capacity;
  data_[size_] = '\0';
}

void SecretBuffer::Assign(const char* data, size_t size) {
  Clear();
  Append(data, size);
}

void SecretBuffer::Append(const char* data, size_t size) {
  if (size == 0 && data_ != nullptr) return;
  size_t want = size_ + size;
  if (want > capacity_ || data_ == nullptr) {
    size_t grow = capacity_ * 2;
    Reserve(want > grow ? want : grow);
  }
  if (size > 0) std::memcpy(data_ + size_, data, size);
  size_ = want;
  data_[size_] = '\0';
}

void SecretBuffer::Resize(size_t size) {
  if (size > size_) {
    Reserve(size);
    std::memset(data_ + size_, 0, size - size_ + 1);
  } else if (data_ != nullptr) {
    WipeMemory(data_ + size, size_ - size);
    data_[size] = '\0';
  }
  size_ = size;
}

void SecretBuffer::Clear() {
  if (data_ != nullptr) {
    WipeMemory(data_, capacity_ + 1);
    std::free(data_);
  }
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

}  // namespace sesame
