#include "core/policy/password_policy.h"

#include <pwquality.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/base/input_check.h"
#include "core/base/safe_file.h"

namespace sesame {
namespace {

constexpr size_t kMaxBannedFileBytes = size_t{16} * 1024 * 1024;
constexpr size_t kMinSubstringWord = 4;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status Bad(const std::string& why) {
  return Status(Code::kInvalidArgument, "BAD PASSWORD: " + why);
}

// Wipes a std::string's bytes when it goes out of scope.
struct Wiped {
  std::string& text;
  ~Wiped() { WipeMemory(text.data(), text.size()); }
};

Status CheckBanned(const std::string& path, std::string_view password, TrustedFileReader& reader) {
  Result<std::string> text = reader.Read(path, "banned passwords file", kMaxBannedFileBytes);
  if (!text.ok())
    return text.status().WithContext("cannot check banned_passwords_file; refusing the password");
  // A lower-case copy of the new password, and of each word (a word that
  // matches is a piece of it): both wiped, whatever path leaves.
  std::string lowered = Lower(password);
  Wiped wipe_lowered{lowered};
  std::string_view all = text.value();
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string_view::npos) end = all.size();
    std::string_view word = all.substr(pos, end - pos);
    while (!word.empty() && (word.back() == '\r' || word.back() == ' ' || word.back() == '\t'))
      word.remove_suffix(1);
    while (!word.empty() && (word.front() == ' ' || word.front() == '\t')) word.remove_prefix(1);
    if (!word.empty() && word.front() != '#') {
      std::string w = Lower(word);
      Wiped wipe_word{w};
      bool hit =
          w.size() >= kMinSubstringWord ? lowered.find(w) != std::string::npos : lowered == w;
      if (hit) return Bad("it contains a banned word (banned_passwords_file)");
    }
    pos = end + 1;
  }
  return Status::Ok();
}

// libpwquality, with the system's /etc/security/pwquality.conf.
Status CheckQuality(const PolicySubject& s) {
  pwquality_settings_t* settings = pwquality_default_settings();
  if (settings == nullptr) return Status(Code::kInternal, "libpwquality: out of memory");
  void* aux = nullptr;
  // A missing pwquality.conf is fine (defaults); a broken one is reported.
  int rc = pwquality_read_config(settings, nullptr, &aux);
  if (rc != 0 && rc != PWQ_ERROR_CFGFILE_OPEN) {
    char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
    std::string msg = pwquality_strerror(buf, sizeof buf, rc, aux);
    pwquality_free_settings(settings);
    return Status(Code::kUnavailable,
                  "cannot read /etc/security/pwquality.conf: " + msg + "; refusing the password");
  }
  std::string new_pw(s.new_password);
  std::string user(s.user);
  std::string old = s.old_password != nullptr ? std::string(s.old_password->view()) : "";
  aux = nullptr;
  rc = pwquality_check(settings, new_pw.c_str(), old.empty() ? nullptr : old.c_str(), user.c_str(),
                       &aux);
  WipeMemory(new_pw.data(), new_pw.size());
  WipeMemory(old.data(), old.size());
  Status result = Status::Ok();
  if (rc < 0) {
    char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
    std::string msg = pwquality_strerror(buf, sizeof buf, rc, aux);
    if (rc == PWQ_ERROR_CRACKLIB_CHECK && aux == nullptr) {
      result =
          Status(Code::kUnavailable, "the dictionary check of libpwquality failed (" + msg +
                                         "); install cracklib-runtime, or set dictcheck = 0 in "
                                         "/etc/security/pwquality.conf; refusing the password");
    } else {
      result = Bad(msg + " (password_quality)");
    }
  }
  pwquality_free_settings(settings);
  return result;
}

}  // namespace

size_t Utf8Length(std::string_view text) {
  size_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

Status CheckPasswordPolicy(const Config& config, PasswordHasher& hasher, const PolicySubject& s,
                           TrustedFileReader* reader) {
  Status input = CheckNewPassword(s.new_password);
  if (!input.ok()) return Bad(input.message());
  if (Utf8Length(s.new_password) < static_cast<size_t>(config.password_min_length))
    return Bad("it is shorter than " + std::to_string(config.password_min_length) +
               " characters (password_min_length)");
  if (s.old_password != nullptr && ConstantTimeEquals(s.old_password->view(), s.new_password))
    return Bad("it is the same as the current password");
  if (!config.banned_passwords_file.empty()) {
    TrustedFileReader direct;
    SESAME_RETURN_IF_ERROR(CheckBanned(config.banned_passwords_file, s.new_password,
                                       reader != nullptr ? *reader : direct));
  }
  if (config.password_quality) SESAME_RETURN_IF_ERROR(CheckQuality(s));

  if (s.old_password == nullptr && !s.current_hash.empty()) {
    Result<bool> same = hasher.Verify(s.current_hash, s.new_password);
    if (!same.ok() && same.status().code() != Code::kCorrupt) return same.status();
    if (same.ok() && same.value()) return Bad("it is the same as the current password");
  }
  if (s.history != nullptr && config.password_history > 0) {
    size_t n = std::min(s.history->size(), static_cast<size_t>(config.password_history));
    for (size_t i = 0; i < n; ++i) {
      Result<bool> reused = hasher.Verify((*s.history)[i], s.new_password);
      if (!reused.ok() && reused.status().code() != Code::kCorrupt) return reused.status();
      if (reused.ok() && reused.value())
        return Bad("it was used before; choose one you have not used in your last " +
                   std::to_string(config.password_history) + " passwords (password_history)");
    }
  }
  return Status::Ok();
}

}  // namespace sesame
