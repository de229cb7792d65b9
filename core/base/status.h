// Status and Result<T>: errors are values. No exception crosses a core API.
//
// A Status carries a Code (what kind of failure, used to pick a PAM return
// code or a tool exit code) and a message a person can act on: it names the
// file, the line, the user or the setting that is wrong and says what to do.
// A message MUST NOT contain a secret (password, code, key material).
#ifndef SESAME_CORE_BASE_STATUS_H_
#define SESAME_CORE_BASE_STATUS_H_

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sesame {

enum class Code {
  kOk = 0,
  kInvalidArgument,   // bad input from a person or a file (config, argument)
  kNotFound,          // no such user / file / record
  kAlreadyExists,     // record exists already
  kPermissionDenied,  // unsafe file ownership/mode, not root, not allowed
  kUnavailable,       // store, key, config or a resource cannot be used now
  kBusy,              // timed out waiting for a shared resource (argon2 slot, db lock)
  kCorrupt,           // stored data is malformed (bad PHC string, bad schema)
  kAuthFailed,        // secret did not match
  kAborted,           // conversation aborted (Ctrl-C, Ctrl-D, conv error)
  kInternal,          // a bug or an unexpected library failure
};

// Name of a code for logs and JSON ("invalid-argument", ...).
const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status(Code::kInternal, "Result built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sesame

#define SESAME_RETURN_IF_ERROR(expr) \
  do {                               \
    ::sesame::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

#endif  // SESAME_CORE_BASE_STATUS_H_
