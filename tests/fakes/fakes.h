// Test doubles for the side-effect interfaces: time and randomness made
// repeatable, logs captured. Only Clock, Random and Logger are faked; stores,
// files and PAM are always the real thing.
#ifndef SESAME_TESTS_FAKES_FAKES_H_
#define SESAME_TESTS_FAKES_FAKES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/base/clock.h"
#include "core/base/logger.h"
#include "core/base/random.h"
#include "core/base/status.h"

namespace sesame::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now = 1700000000) : now_(now) {}
  int64_t Now() const override { return now_; }
  int64_t MonotonicMillis() const override { return mono_ms_; }
  void SleepMillis(int64_t ms) const override { mono_ms_ += ms; }
  void Advance(int64_t seconds) {
    now_ += seconds;
    mono_ms_ += seconds * 1000;
  }
  void Set(int64_t now) { now_ = now; }

 private:
  int64_t now_;
  mutable int64_t mono_ms_ = 0;
};

// Deterministic bytes: a simple counter-based stream from a seed.
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(uint64_t seed = 42) : state_(seed) {}
  Status Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
      out[i] = static_cast<uint8_t>(state_ >> 56);
    }
    return Status::Ok();
  }

 private:
  uint64_t state_;
};

// Exactly the bytes a test scripts, in order, however the caller splits
// its requests; after the script, `filler` bytes. A request that would go
// past `limit` bytes in all fails (kUnavailable) and gives nothing, so a
// caller that keeps drawing (a broken rejection loop) fails instead of
// hanging, and a test can fail a chosen draw.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::vector<uint8_t> script, uint8_t filler = 0xff,
                          size_t limit = 1 << 20)
      : script_(std::move(script)), filler_(filler), limit_(limit) {}
  Status Fill(uint8_t* out, size_t n) override {
    ++calls_;
    if (n > limit_ - served_) return Status(Code::kUnavailable, "scripted random: no more bytes");
    for (size_t i = 0; i < n; ++i, ++served_)
      out[i] = served_ < script_.size() ? script_[served_] : filler_;
    return Status::Ok();
  }
  size_t served() const { return served_; }  // bytes given so far
  int calls() const { return calls_; }       // Fill calls, failed ones included

 private:
  std::vector<uint8_t> script_;
  uint8_t filler_;
  size_t limit_;
  size_t served_ = 0;
  int calls_ = 0;
};

class RecordingLogger final : public Logger {
 public:
  explicit RecordingLogger(bool debug = true) : debug_(debug) {}
  void Log(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(level, std::string(message));
  }
  bool debug_enabled() const override { return debug_; }
  std::vector<std::pair<LogLevel, std::string>> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.clear();
  }
  bool Contains(std::string_view needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_)
      if (l.second.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string Joined() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto& l : lines_) all += l.second + "\n";
    return all;
  }

 private:
  bool debug_;
  mutable std::mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

}  // namespace sesame::testing

#endif  // SESAME_TESTS_FAKES_FAKES_H_
